// What the fuzzes over every call of the contract share (services/api.test.ts through the
// dispatch, main/call-channel.test.ts through the Electron channel): inputs, and the real
// services over a temporary folder, which must never start a model host.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { createAppServices, type AppServices } from '../services/app-services.ts';

/** Anything at all, and records shaped like real inputs (so that some pass the schemas and reach the services). */
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

export interface FuzzServices {
  services: AppServices;
  /** How many times something tried to start a model host (the fuzz expects none). */
  spawned(): number;
  close(): Promise<void>;
}

export async function startFuzzServices(): Promise<FuzzServices> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'jielong-fuzz-'));
  let spawned = 0;
  const services = createAppServices({
    dataDir,
    bundledModelsDir: path.join(dataDir, 'no-models'),
    spawnHost: () => {
      spawned++;
      throw new Error('the fuzz must not start a model host');
    },
  });
  return {
    services,
    spawned: () => spawned,
    close: async () => {
      await services.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
