// Real model runs on the bundled tiny model, in this process (the process boundary is
// tested in services/model-host-client.test.ts).
import { AutoTokenizer, type PreTrainedTokenizer } from '@huggingface/transformers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_MODEL_DIR } from '../../scripts/testing/model-fixtures.ts';
import { ModelHostError } from '../shared/model-host-error.ts';
import type { ChatMessage, GenerationStats, HostEventOf, SeededSamplingParams } from '../shared/model-host-protocol.ts';
import { Engine, type GenerateRequest } from './engine.ts';

const greedy: SeededSamplingParams = { temperature: 0, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1, maxNewTokens: 24, seed: 0 };
const sampled: SeededSamplingParams = { temperature: 1, topK: 40, topP: 0.95, minP: 0.02, repetitionPenalty: 1.1, maxNewTokens: 24, seed: 3 };

interface Run {
  tokens: HostEventOf<'token'>[];
  prefill: { promptTokens: number; cachedTokens: number; droppedMessages: number } | null;
  stats: GenerationStats;
  text: string;
  ids: number[];
}

async function run(engine: Engine, messages: ChatMessage[], params: SeededSamplingParams, extra: Partial<GenerateRequest> = {}, cancelAfter?: number): Promise<Run> {
  const tokens: HostEventOf<'token'>[] = [];
  let prefill: Run['prefill'] = null;
  const stats = await engine.generate(
    { requestId: 'r', messages, params, candidates: 0, reuseCache: true, ...extra },
    {
      onPrefill: (event) => (prefill = event),
      onToken: (event) => tokens.push({ type: 'token', requestId: 'r', ...event }),
      isCancelled: () => cancelAfter !== undefined && tokens.length >= cancelAfter,
    },
  );
  return { tokens, prefill, stats, text: tokens.map((t) => t.text).join(''), ids: tokens.map((t) => t.tokenId) };
}

const conversation: ChatMessage[] = [
  { role: 'system', content: 'You are a tiny random model.' },
  { role: 'user', content: 'Hello! 你好，模型。Tell me a story about a dragon 🐉.' },
];

describe('Engine on the bundled tiny model', () => {
  let engine: Engine;
  let tokenizer: PreTrainedTokenizer;

  beforeAll(async () => {
    engine = new Engine();
    await engine.load({ modelDir: DEMO_MODEL_DIR, dtype: 'fp32', device: 'cpu' }, () => undefined);
    tokenizer = await AutoTokenizer.from_pretrained(DEMO_MODEL_DIR);
  });
  afterAll(async () => engine.unload());

  it('reports what it loaded', () => {
    const info = engine.info!;
    expect(info.contextLength).toBeGreaterThan(100);
    expect(info.vocabSize).toBe(tokenizer.get_vocab().size);
    expect(info.modelFileBytes).toBeGreaterThan(10_000);
  });

  it('streams text that equals the decoded tokens, with stats', async () => {
    const result = await run(engine, conversation, { ...greedy, maxNewTokens: 40 }, { reuseCache: false });
    expect(result.tokens.length).toBeGreaterThan(0);
    expect(result.text).toBe(tokenizer.decode(result.ids, { skip_special_tokens: true }));
    expect(new Set(result.ids).size).toBeGreaterThan(5); // the demo model babbles, it does not repeat one token
    const { stats } = result;
    expect(stats.decodeTokens).toBe(result.tokens.length);
    expect(['eos', 'max_tokens']).toContain(stats.stopReason);
    if (stats.stopReason === 'max_tokens') expect(stats.decodeTokens).toBe(40);
    expect(stats.promptTokens).toBe(result.prefill!.promptTokens);
    expect(stats.cachedTokens).toBe(0);
    expect(stats.timeToFirstTokenMs).toBeGreaterThanOrEqual(stats.prefillMs);
    expect(stats.decodeTokensPerSecond).toBeGreaterThan(0);
  });

  it('greedy with a reused cache equals greedy from scratch', async () => {
    const cold = await run(engine, conversation, greedy, { reuseCache: false });
    const warm = await run(engine, conversation, greedy);
    expect(warm.stats.cachedTokens).toBe(cold.stats.promptTokens - 1);
    expect(warm.ids).toEqual(cold.ids);
  });

  it('turn 2 with the cache equals turn 2 without', async () => {
    const turn1 = await run(engine, conversation, greedy, { reuseCache: false });
    const turn2Messages: ChatMessage[] = [...conversation, { role: 'assistant', content: turn1.text }, { role: 'user', content: 'And then? 然后呢？' }];
    const withCache = await run(engine, turn2Messages, greedy);
    expect(withCache.stats.cachedTokens).toBeGreaterThan(turn1.stats.promptTokens);
    const withoutCache = await run(engine, turn2Messages, greedy, { reuseCache: false });
    expect(withoutCache.stats.cachedTokens).toBe(0);
    expect(withCache.ids).toEqual(withoutCache.ids);
  });

  it('reads its own answer back as the ids it chose, so the cache covers the whole answer', async () => {
    const turn1 = await run(engine, conversation, greedy, { reuseCache: false });
    expect(turn1.stats.stopReason).toBe('max_tokens');
    const turn2Messages: ChatMessage[] = [...conversation, { role: 'assistant', content: turn1.text }, { role: 'user', content: 'And then? 然后呢？' }];
    const turn2 = await run(engine, turn2Messages, greedy);
    // Every token fed so far is reused: the prompt and all answer tokens but the last (never fed).
    expect(turn2.stats.cachedTokens).toBe(turn1.stats.promptTokens + turn1.stats.decodeTokens - 1);

    // The same text in an engine that did not write it is tokenized from scratch: other ids.
    const fresh = new Engine();
    await fresh.load({ modelDir: DEMO_MODEL_DIR, dtype: 'fp32', device: 'cpu' }, () => undefined);
    const elsewhere = await run(fresh, turn2Messages, greedy);
    await fresh.unload();
    expect(elsewhere.stats.promptTokens).not.toBe(turn2.stats.promptTokens);

    // A regenerate of turn 2 (its answer dropped) still reads turn 1's answer as produced.
    const regenerated = await run(engine, turn2Messages, greedy);
    expect(regenerated.stats.cachedTokens).toBe(turn2.stats.promptTokens - 1);
    expect(regenerated.ids).toEqual(turn2.ids);
  });

  it('detects a changed prefix after an edit and answers as a cold run does', async () => {
    const original = await run(engine, conversation, greedy, { reuseCache: false });
    const edited: ChatMessage[] = [conversation[0]!, { role: 'user', content: 'Hello! A different question about 接龙.' }];
    const afterEdit = await run(engine, edited, greedy);
    // Only the shared start (system prompt and the start of the user turn) can be reused.
    expect(afterEdit.stats.cachedTokens).toBeGreaterThan(0);
    expect(afterEdit.stats.cachedTokens).toBeLessThan(original.stats.promptTokens);
    const cold = await run(engine, edited, greedy, { reuseCache: false });
    expect(afterEdit.ids).toEqual(cold.ids);
  });

  it('regenerating with a seed reuses the prompt and repeats; another seed differs', async () => {
    const first = await run(engine, conversation, { ...sampled, seed: 1234 }, { reuseCache: false });
    const again = await run(engine, conversation, { ...sampled, seed: 1234 });
    const other = await run(engine, conversation, { ...sampled, seed: 99 });
    expect(again.stats.cachedTokens).toBe(first.stats.promptTokens - 1);
    expect(again.ids).toEqual(first.ids);
    expect(first.stats.seed).toBe(1234);
    expect(other.ids).not.toEqual(first.ids);
  });

  it('carries the top candidates with probabilities that match the chosen token', async () => {
    const result = await run(engine, conversation, { ...sampled, seed: 5 }, { candidates: 5 });
    for (const token of result.tokens) {
      const candidates = token.candidates!;
      expect(candidates.length).toBeGreaterThan(0);
      expect(candidates.length).toBeLessThanOrEqual(5);
      for (let i = 1; i < candidates.length; i++) expect(candidates[i - 1]!.probability).toBeGreaterThanOrEqual(candidates[i]!.probability);
      const total = candidates.reduce((sum, c) => sum + c.probability, 0);
      expect(total).toBeLessThanOrEqual(1 + 1e-9);
      const chosen = candidates.find((c) => c.tokenId === token.tokenId);
      if (chosen) expect(chosen.probability).toBeCloseTo(token.probability, 9);
      else expect(token.probability).toBeLessThanOrEqual(candidates.at(-1)!.probability);
    }
  });

  it('stops on cancel between tokens', async () => {
    const result = await run(engine, conversation, { ...greedy, maxNewTokens: 200 }, {}, 3);
    expect(result.stats.stopReason).toBe('cancelled');
    expect(result.tokens.length).toBe(3);
  });

  it('drops the oldest turns to fit the context and says so', async () => {
    const contextLength = engine.info!.contextLength;
    const long = 'word '.repeat(Math.ceil(contextLength / 4));
    const messages: ChatMessage[] = [
      { role: 'system', content: 'sys' },
      { role: 'user', content: long },
      { role: 'assistant', content: long },
      { role: 'user', content: 'short question' },
    ];
    const result = await run(engine, messages, { ...greedy, maxNewTokens: 8 });
    expect(result.stats.droppedMessages).toBe(2);
    expect(result.stats.promptTokens + 8).toBeLessThanOrEqual(contextLength);
  });

  it('refuses a last message longer than the context with context_full', async () => {
    const contextLength = engine.info!.contextLength;
    const messages: ChatMessage[] = [{ role: 'user', content: 'x'.repeat(contextLength * 4) }];
    const error = await run(engine, messages, greedy).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelHostError);
    expect((error as ModelHostError).code).toBe('context_full');
  });
});

describe('chunked prefill', () => {
  it('feeding a long prompt in chunks gives the same answer as one pass', async () => {
    const { PREFILL_CHUNK_TOKENS } = await import('./engine.ts');
    const chunked = new Engine();
    const whole = new Engine({ prefillChunkTokens: 100_000 });
    for (const engine of [chunked, whole]) await engine.load({ modelDir: DEMO_MODEL_DIR, dtype: 'fp32', device: 'cpu' }, () => undefined);
    const long: ChatMessage[] = [{ role: 'user', content: '接龙是一个词语游戏。'.repeat(20) }];
    const a = await run(chunked, long, { ...greedy, maxNewTokens: 16 }, { reuseCache: false, candidates: 3 });
    const b = await run(whole, long, { ...greedy, maxNewTokens: 16 }, { reuseCache: false, candidates: 3 });
    expect(a.stats.promptTokens).toBeGreaterThan(PREFILL_CHUNK_TOKENS * 2);
    expect(a.ids).toEqual(b.ids);
    a.tokens.forEach((token, i) => expect(token.probability).toBeCloseTo(b.tokens[i]!.probability, 4));
    for (const engine of [chunked, whole]) await engine.unload();
  });
});
