// The engine on every graph style a real export uses, through the generated mirrors
// (scripts/make-model/mirrors.ts): what the engine feeds (position_ids and where they start,
// the attention mask or none, num_logits_to_keep, a float16 cache, external data split in
// chunks) must give the first token's distribution that the plain TypeScript reference
// computes for the same prompt, and a cached second turn must equal a cold one.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { AutoTokenizer } from '@huggingface/transformers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emptyFamilyCache, FamilyReference } from '../../scripts/make-model/family-reference.ts';
import { makeMirror, MIRROR_SPECS, mirrorSpec, type FamilyDtype, type MakeMirrorOptions } from '../../scripts/make-model/mirrors.ts';
import type { ChatMessage, SeededSamplingParams } from '../shared/model-host-protocol.ts';
import { Engine } from './engine.ts';

const SEED = 0;
const CANDIDATES = 8;
/** temperature 1 and no truncation: the candidates' probabilities are the softmax of the logits. */
const plain: SeededSamplingParams = { temperature: 1, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1, maxNewTokens: 1, seed: 1 };
const greedy: SeededSamplingParams = { temperature: 0, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1, maxNewTokens: 10, seed: 0 };

/**
 * Largest relative gap allowed between a candidate's probability and the reference's. The
 * reference mirrors each dtype's arithmetic (dequantized weights, float16-rounded weights), so
 * what is left is float32 against float64 sums and, in float16 graphs, float16 activations and
 * cache. Measured: at most 1.8e-6 for fp32/q4/q8, 1.4e-3 for q4f16; the bounds are ~10x that.
 * A wrong position, mask or cache moves these probabilities by percents.
 */
const PROBABILITY_TOLERANCE: Record<FamilyDtype, number> = { fp32: 2e-5, q4: 2e-5, q8: 2e-5, fp16: 1.5e-2, q4f16: 1.5e-2 };

const MESSAGES: ChatMessage[] = [{ role: 'user', content: 'Hello, 龙! Which token comes next?' }];
const TURN_2 = (answer: string): ChatMessage[] => [...MESSAGES, { role: 'assistant', content: answer }, { role: 'user', content: '再来一个成语接龙。' }];

interface Variant {
  name: string;
  mirror: string;
  dtype: FamilyDtype;
  extra?: Partial<MakeMirrorOptions>;
}

const variants: Variant[] = [
  ...Object.values(MIRROR_SPECS).flatMap((spec) => spec.dtypes.map((dtype): Variant => ({ name: `${spec.name} ${dtype}`, mirror: spec.name, dtype }))),
  // Weights split over model_q4.onnx_data and model_q4.onnx_data_1.
  { name: 'llama-3.2-1b-instruct q4, external data in two chunks', mirror: 'llama-3.2-1b-instruct', dtype: 'q4', extra: { externalDataChunks: 2 } },
  { name: 'qwen3-gqa-rotary q4f16 with num_logits_to_keep', mirror: 'qwen3-gqa-rotary', dtype: 'q4f16', extra: { numLogitsToKeep: true } },
  { name: 'llama-3.2-1b-instruct fp32 with num_logits_to_keep', mirror: 'llama-3.2-1b-instruct', dtype: 'fp32', extra: { numLogitsToKeep: true } },
];

let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'jielong-engine-exports-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function run(engine: Engine, messages: ChatMessage[], params: SeededSamplingParams, reuseCache: boolean) {
  const tokens: { tokenId: number; text: string; candidates: { tokenId: number; probability: number }[] }[] = [];
  const stats = await engine.generate(
    { requestId: 'r', messages, params, candidates: CANDIDATES, reuseCache },
    { onPrefill: () => undefined, onToken: (event) => tokens.push({ tokenId: event.tokenId, text: event.text, candidates: event.candidates ?? [] }), isCancelled: () => false },
  );
  return { tokens, stats, ids: tokens.map((t) => t.tokenId), text: tokens.map((t) => t.text).join('') };
}

describe.each(variants)('$name', ({ name, mirror, dtype, extra }) => {
  it('feeds the graph what it takes: the first token matches the reference, and the cache matches a cold run', async () => {
    const spec = mirrorSpec(mirror);
    const modelDir = path.join(root, name.replace(/[^a-z0-9.-]+/gi, '_'));
    await makeMirror({ catalogId: mirror, dtype, outDir: modelDir, seed: SEED, ...extra });
    // One token per pass: q8 graphs quantize activations per call, so only equal pieces compare exactly.
    const engine = new Engine({ prefillChunkTokens: dtype === 'q8' ? 1 : 128 });
    const info = await engine.load({ modelDir, dtype, device: 'cpu' }, () => undefined);
    try {
      expect(info.graph.style).toBe(spec.style);
      expect(info.graph.kvDtype).toBe(dtype === 'q4f16' || dtype === 'fp16' ? 'float16' : 'float32');
      expect(info.graph.inputs.includes('num_logits_to_keep')).toBe(extra?.numLogitsToKeep === true);
      expect(info.graph.inputs.includes('attention_mask')).toBe(spec.attentionMask !== false);

      const first = await run(engine, MESSAGES, plain, false);
      const tokenizer = await AutoTokenizer.from_pretrained(modelDir);
      const rendered = tokenizer.apply_chat_template(MESSAGES, { add_generation_prompt: true, tokenize: false }) as unknown as string;
      const promptIds = tokenizer.encode(rendered, { add_special_tokens: false });
      expect(first.stats.promptTokens).toBe(promptIds.length);
      const reference = new FamilyReference(spec.tiny, SEED, { dtype, signedQ8: spec.style === 'optimum', positionOffset: spec.positionOffset ?? 0 });
      // q8: the reference fed one token at a time too, so both quantize the same rows together.
      const referenceCache = emptyFamilyCache(spec.tiny);
      const logits = dtype === 'q8' ? promptIds.map((id) => reference.forward([id], referenceCache)[0]!).at(-1)! : reference.forward(promptIds).at(-1)!;
      const max = logits.reduce((m, v) => Math.max(m, v), -Infinity);
      const exps = Array.from(logits, (v) => Math.exp(v - max));
      const total = exps.reduce((a, b) => a + b, 0);
      const candidates = first.tokens[0]!.candidates;
      expect(candidates).toHaveLength(CANDIDATES);
      const worst = Math.max(...candidates.map((c) => Math.abs(c.probability / (exps[c.tokenId]! / total) - 1)));
      expect(worst, `largest relative probability gap from the reference`).toBeLessThan(PROBABILITY_TOLERANCE[dtype]);

      const answer = await run(engine, MESSAGES, greedy, false);
      const warm = await run(engine, TURN_2(answer.text), greedy, true);
      const cold = await run(engine, TURN_2(answer.text), greedy, false);
      expect(warm.stats.cachedTokens).toBeGreaterThan(0);
      expect(warm.ids).toEqual(cold.ids);
    } finally {
      await engine.unload();
    }
  });
});
