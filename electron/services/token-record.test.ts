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

  it('branching from the 3rd token makes a sibling that keeps the first two tokens and starts with the chosen one', async () => {
    const started = await call('chat.send', { newConversation: { sampling: { seed: 11 } }, content: '床前明月光，' });
    await app.chat.idle();
    const original = (await call('messages.tokenRecord', { messageId: started.assistantMessage.id }))!;
    const third = original.tokens[2]!;
    const other = third.candidates.find((candidate) => candidate.tokenId !== third.tokenId)!;
    const branch = await call('chat.branch', { messageId: started.assistantMessage.id, index: 2, tokenId: other.tokenId });
    await app.chat.idle();
    const record = (await call('messages.tokenRecord', { messageId: branch.assistantMessage.id }))!;
    expect(record.tokens.slice(0, 2).map((t) => t.tokenId)).toEqual(original.tokens.slice(0, 2).map((t) => t.tokenId));
    expect(record.tokens[2]!.tokenId).toBe(other.tokenId);
    const path = await call('messages.activePath', { conversationId: started.conversationId });
    const answer = path.messages.at(-1)!;
    expect(answer.id).toBe(branch.assistantMessage.id);
    expect(answer.siblingCount).toBe(2);
    expect(answer.stats).toMatchObject({ forkedAt: 2, forkedFrom: started.assistantMessage.id });
    const firstTwo = original.tokens.slice(0, 2).reduce((sum, t) => sum + t.textLength, 0);
    const originalText = (await call('messages.siblings', { messageId: branch.assistantMessage.id })).messages[0]!.content;
    expect(answer.content.slice(0, firstTwo)).toBe(originalText.slice(0, firstTwo));
    expect(record.tokens.reduce((sum, t) => sum + t.textLength, 0)).toBe(answer.content.length);
  });

  it('continue after max tokens appends to the same answer, its record too', async () => {
    const started = await call('chat.send', { newConversation: { sampling: { seed: 12, maxNewTokens: 3 } }, content: '床前明月光，' });
    await app.chat.idle();
    const before = (await call('messages.activePath', { conversationId: started.conversationId })).messages.at(-1)!;
    expect(before.stats?.stopReason, `answer: ${JSON.stringify(before.content)} ${JSON.stringify(before.stats)}`).toBe('max_tokens');
    const continued = await call('chat.continue', { messageId: before.id });
    expect(continued.assistantMessage.id).toBe(before.id);
    await app.chat.idle();
    const after = (await call('messages.activePath', { conversationId: started.conversationId })).messages.at(-1)!;
    expect(after.id).toBe(before.id);
    expect(after.content.startsWith(before.content)).toBe(true);
    expect(after.content.length).toBeGreaterThan(before.content.length);
    expect(after.stats).toMatchObject({ continuedAt: before.stats!.decodeTokens });
    const record = (await call('messages.tokenRecord', { messageId: after.id }))!;
    expect(record.tokens.length).toBe(Number(before.stats!.decodeTokens) + Number(after.stats!.decodeTokens));
    expect(record.tokens.reduce((sum, t) => sum + t.textLength, 0)).toBe(after.content.length);
    // A question cannot be continued.
    const refused = await app.dispatch('chat.continue', { messageId: started.userMessage.id });
    expect(refused).toMatchObject({ ok: false, error: { code: 'invalid_input' } });
  });

  it('the sampler view of a token replays it: its last stage holds the candidates the token was drawn from', async () => {
    const started = await call('chat.send', { newConversation: { sampling: { seed: 5, topK: 12, topP: 0.9, minP: 0.02 } }, content: '春眠不觉晓，' });
    await app.chat.idle();
    const record = (await call('messages.tokenRecord', { messageId: started.assistantMessage.id }))!;
    const stages = await call('messages.samplerStages', { messageId: started.assistantMessage.id, index: 2 });
    expect(stages.map((stage) => stage.name)).toEqual(['penalty', 'temperature', 'top-k', 'top-p', 'min-p']);
    expect(stages[2]!.kept).toBeLessThanOrEqual(12);
    const last = stages.at(-1)!;
    const candidates = record.tokens[2]!.candidates;
    expect(last.top.slice(0, candidates.length).map((t) => t.tokenId)).toEqual(candidates.map((c) => c.tokenId));
    last.top.slice(0, candidates.length).forEach((t, i) => expect(Math.abs(t.probability - candidates[i]!.probability)).toBeLessThanOrEqual(PROBABILITY_PRECISION + 1e-9));
  });
});
