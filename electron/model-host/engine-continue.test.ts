// Continuing an answer from its tokens, and branching from one of them, on the bundled tiny
// model: the engine feeds the answer so far after the prompt, reusing the cache up to it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_MODEL_DIR } from '../../scripts/testing/model-fixtures.ts';
import type { ChatMessage, GenerationStats, HostEventOf, SeededSamplingParams } from '../shared/model-host-protocol.ts';
import { Engine, type GenerateRequest } from './engine.ts';

const greedy: SeededSamplingParams = { temperature: 0, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1, maxNewTokens: 16, seed: 0 };
const messages: ChatMessage[] = [{ role: 'user', content: 'Tell me about dragons, 龙.' }];

type Token = Omit<HostEventOf<'token'>, 'type' | 'requestId'>;

describe('continuing from a forced answer prefix', () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = new Engine();
    await engine.load({ modelDir: DEMO_MODEL_DIR, dtype: 'fp32', device: 'cpu' }, () => undefined);
  });
  afterAll(async () => engine.unload());

  async function run(extra: Partial<GenerateRequest>, params = greedy): Promise<{ tokens: Token[]; stats: GenerationStats; cachedTokens: number }> {
    const tokens: Token[] = [];
    let cachedTokens = -1;
    const stats = await engine.generate(
      { requestId: 'r', messages, params, candidates: 5, reuseCache: true, ...extra },
      { onPrefill: (event) => (cachedTokens = event.cachedTokens), onToken: (event) => tokens.push(event), isCancelled: () => false },
    );
    return { tokens, stats, cachedTokens };
  }

  it('goes on as a cold run over prompt + prefix does, reusing the cache up to the prefix', async () => {
    const whole = await run({ reuseCache: false }, { ...greedy, maxNewTokens: 24 });
    const ids = whole.tokens.map((token) => token.tokenId);
    expect(ids.length).toBe(24);
    const promptTokens = whole.stats.promptTokens;

    // The cache holds prompt + answer: continuing after 10 of its tokens reuses all of those but
    // the last, which is fed again for the logits of the next position.
    const continued = await run({ answerPrefix: ids.slice(0, 10) }, { ...greedy, maxNewTokens: 14 });
    expect(continued.cachedTokens).toBe(promptTokens + 10 - 1);
    expect(continued.tokens.map((token) => token.tokenId)).toEqual(ids.slice(10));

    // A cold run over the same prompt + prefix says the same.
    const cold = await run({ answerPrefix: ids.slice(0, 10), reuseCache: false }, { ...greedy, maxNewTokens: 14 });
    expect(cold.cachedTokens).toBe(0);
    expect(cold.tokens.map((token) => token.tokenId)).toEqual(ids.slice(10));
    // The text of the continuation is the rest of the whole answer's text.
    expect(whole.tokens.slice(10).map((t) => t.text).join('')).toBe(continued.tokens.map((t) => t.text).join(''));
  });

  it('branching from the 3rd token keeps the first two, takes the chosen candidate, and the cache covers the two', async () => {
    const first = await run({ reuseCache: false });
    const third = first.tokens[2]!;
    const other = third.candidates!.find((candidate) => candidate.tokenId !== third.tokenId)!;
    const branch = await run({ answerPrefix: first.tokens.slice(0, 2).map((t) => t.tokenId), forceFirstToken: other.tokenId });
    expect(branch.cachedTokens).toBe(first.stats.promptTokens + 2 - 1);
    expect(branch.tokens[0]!.tokenId).toBe(other.tokenId);
    // Reported with the distribution the model gave at that position: the same candidates.
    expect(branch.tokens[0]!.candidates!.map((c) => c.tokenId)).toEqual(third.candidates!.map((c) => c.tokenId));
    expect(branch.tokens[0]!.probability).toBeCloseTo(other.probability, 9);
    // Greedy goes on from the new token as a cold run over the new prefix does.
    const cold = await run({ answerPrefix: [...first.tokens.slice(0, 2).map((t) => t.tokenId), other.tokenId], reuseCache: false }, { ...greedy, maxNewTokens: 15 });
    expect(branch.tokens.slice(1).map((t) => t.tokenId)).toEqual(cold.tokens.map((t) => t.tokenId));
  });

  it('refuses a token the model does not have', async () => {
    await expect(run({ answerPrefix: [10_000_000] })).rejects.toMatchObject({ code: 'invalid_request' });
  });
});
