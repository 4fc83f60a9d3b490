// An answer's token record through the services, against real storage and a real model host
// on the bundled tiny model: what the token events showed is what the record reads back.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallName, CallOutput, EventPayload } from '../shared/contract.ts';
import { PROBABILITY_PRECISION } from '../shared/token-record.ts';
import { createAppServices, type AppServices } from './app-services.ts';
import { nodeHostSpawner } from './node-host-process.ts';

const BUNDLED_MODELS = fileURLToPath(new URL('../../resources/models', import.meta.url));

describe('token records of real answers', () => {
  let dataDir: string;
  let app: AppServices;
  const tokens: EventPayload<'generation.token'>[] = [];

  async function call<N extends CallName>(name: N, input: unknown): Promise<CallOutput<N>> {
    const result = await app.dispatch(name, input);
    if (!result.ok) throw new Error(`${name} failed: ${result.error.code}: ${result.error.message}`);
    return result.value as CallOutput<N>;
  }

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'jielong-token-record-'));
    app = createAppServices({ dataDir, bundledModelsDir: BUNDLED_MODELS, spawnHost: nodeHostSpawner() });
    app.events.subscribe((name, payload) => {
      if (name === 'generation.token') tokens.push(payload as EventPayload<'generation.token'>);
    });
    await app.loadDefaultModel();
  });
  afterAll(async () => {
    await app.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('reads back the tokens, candidates and probabilities the answer was shown with', async () => {
    await call('settings.update', { candidates: 5, defaultSampling: { temperature: 0.8, topK: 20, topP: 0.95, minP: 0, repetitionPenalty: 1.1, maxNewTokens: 40 } });
    const started = await call('chat.send', { newConversation: {}, content: '你好，写一首诗' });
    await app.chat.idle();
    const shown = tokens.filter((event) => event.messageId === started.assistantMessage.id);
    const record = await call('messages.tokenRecord', { messageId: started.assistantMessage.id });
    const answer = (await call('messages.activePath', { conversationId: started.conversationId })).messages.at(-1)!;

    expect(shown.length).toBeGreaterThan(0);
    expect(record?.tokens.map((token) => token.tokenId)).toEqual(shown.map((event) => event.tokenId));
    expect(record!.tokens.reduce((sum, token) => sum + token.textLength, 0)).toBe(answer.content.length);
    record!.tokens.forEach((token, i) => {
      const event = shown[i]!;
      expect(token.textLength).toBe(event.text.length);
      expect(Math.abs(token.probability - event.probability)).toBeLessThanOrEqual(PROBABILITY_PRECISION);
      expect(Math.abs(token.modelProbability! - event.modelProbability!)).toBeLessThanOrEqual(PROBABILITY_PRECISION);
      expect(token.candidates.map((c) => [c.tokenId, c.text])).toEqual(event.candidates!.map((c) => [c.tokenId, c.text]));
      expect(token.decodeMs).toBeCloseTo(event.decodeMs!, 3);
    });
    // A question has no record.
    expect(await call('messages.tokenRecord', { messageId: started.userMessage.id })).toBeNull();
  });
});
