// Inputs for fuzzing the contract's calls: anything at all, and records shaped like real
// inputs (so that some of them pass the schemas and reach the services). Used by the dispatch's
// fuzz (services/api.test.ts) and the Electron call channel's (main/call-channel.test.ts).
import fc from 'fast-check';

export const anyCallInput = fc.oneof(
  fc.anything(),
  fc.record({ id: fc.oneof(fc.string(), fc.integer()), title: fc.oneof(fc.string(), fc.constant(null)) }),
  fc.record({ conversationId: fc.string(), content: fc.string() }),
  fc.record({ query: fc.string({ unit: 'grapheme' }), limit: fc.integer(), offset: fc.integer() }),
  fc.record({ sampling: fc.dictionary(fc.string(), fc.oneof(fc.double(), fc.string())) }),
  fc.record({ text: fc.string() }),
  // The OpenAI-compatible API's settings (api.status and api.newKey take {}).
  fc.record({
    api: fc.record({
      enabled: fc.boolean(),
      port: fc.oneof(fc.integer({ min: -5, max: 70_000 }), fc.double()),
      allowNetwork: fc.boolean(),
      keyHash: fc.oneof(fc.constant(null), fc.string(), fc.stringMatching(/^[0-9a-f]{64}$/)),
      corsOrigins: fc.array(fc.oneof(fc.string(), fc.webUrl()), { maxLength: 3 }),
      storeConversations: fc.boolean(),
    }),
  }),
  fc.constant({}),
);
