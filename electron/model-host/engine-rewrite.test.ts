// Models as import and download install them (onnx-rewrite.ts): weights moved into a data file
// answer exactly as before; 4-bit MatMulNBits on int8 activations stays within the stated bound
// of the float32 computation and keeps the engine's guarantees (cache reuse equals a cold run,
// a seed replays the answer).
import { cp, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeMirror } from '../../scripts/make-model/mirrors.ts';
import { rewriteOnnxForEngine } from '../model-files/onnx-rewrite.ts';
import type { ChatMessage, SeededSamplingParams } from '../shared/model-host-protocol.ts';
import { onnxFilePath } from '../shared/model-layout.ts';
import { Engine } from './engine.ts';

const MESSAGES: ChatMessage[] = [{ role: 'user', content: 'Hello, 龙! Which token comes next?' }];
const GREEDY: SeededSamplingParams = { temperature: 0, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1, maxNewTokens: 12, seed: 0 };
const SAMPLED: SeededSamplingParams = { temperature: 0.9, topK: 40, topP: 0.95, minP: 0.02, repetitionPenalty: 1.1, maxNewTokens: 16, seed: 77 };
/** The stated bound of onnx-rewrite.ts's Q4_ACCURACY_LEVEL: relative gap of the top candidates' probabilities. */
const INT8_ACTIVATION_BOUND = 0.05;

let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'jielong-engine-rewrite-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

type Run = { tokenId: number; text: string; candidates: { tokenId: number; probability: number }[] }[];

async function withEngine<T>(modelDir: string, dtype: 'fp32' | 'q4', use: (engine: Engine, externalData: boolean) => Promise<T>): Promise<T> {
  const engine = new Engine();
  const info = await engine.load({ modelDir, dtype, device: 'cpu' }, () => undefined);
  try {
    return await use(engine, info.graph.externalData);
  } finally {
    await engine.unload();
  }
}

async function run(engine: Engine, messages: ChatMessage[], params: SeededSamplingParams, reuseCache = false): Promise<Run> {
  const tokens: Run = [];
  await engine.generate(
    { requestId: 'r', messages, params, candidates: 8, reuseCache },
    { onPrefill: () => undefined, onToken: (event) => tokens.push({ tokenId: event.tokenId, text: event.text, candidates: event.candidates ?? [] }), isCancelled: () => false },
  );
  return tokens;
}

async function copyOf(from: string, name: string): Promise<string> {
  const to = path.join(root, name);
  await cp(from, to, { recursive: true });
  return to;
}

describe('models rewritten as the app installs them', () => {
  it.each(['fp32', 'q4'] as const)('%s with its weights moved into a data file answers as the inline file did, token for token and probability for probability', async (dtype) => {
    const inline = path.join(root, `inline-${dtype}`);
    await makeMirror({ catalogId: 'qwen2.5-0.5b-instruct', dtype, outDir: inline, seed: 5 });
    const external = await copyOf(inline, `external-${dtype}`);
    const file = path.join(external, onnxFilePath(dtype));
    expect(await rewriteOnnxForEngine(file, file, { minInlineBytes: 0, q4AccuracyLevel: null, lastPositionLogits: false })).toMatchObject({ movedTensors: expect.any(Number), retunedNodes: 0 });

    const before = await withEngine(inline, dtype, async (engine, externalData) => ({ tokens: await run(engine, MESSAGES, GREEDY), externalData }));
    const after = await withEngine(external, dtype, async (engine, externalData) => ({ tokens: await run(engine, MESSAGES, GREEDY), externalData }));
    expect([before.externalData, after.externalData]).toEqual([false, true]);
    expect(after.tokens).toHaveLength(GREEDY.maxNewTokens);
    expect(after.tokens).toEqual(before.tokens);
  });

  it.each(['fp32', 'q4'] as const)('%s with the LM head on the last position only: the same tokens, probabilities within float rounding, in prefill and decode', async (dtype) => {
    const full = path.join(root, `inline-${dtype}`);
    const sliced = await copyOf(full, `sliced-${dtype}`);
    const file = path.join(sliced, onnxFilePath(dtype));
    expect(await rewriteOnnxForEngine(file, file, { minInlineBytes: Infinity, q4AccuracyLevel: null })).toMatchObject({ lastPositionLogits: true, data: null });

    const before = await withEngine(full, dtype, (engine) => run(engine, MESSAGES, GREEDY));
    const after = await withEngine(sliced, dtype, (engine) => run(engine, MESSAGES, GREEDY));
    expect(after.map((t) => t.tokenId)).toEqual(before.map((t) => t.tokenId));
    for (const [i, token] of after.entries()) {
      for (const [j, c] of token.candidates.entries()) expect(Math.abs(c.probability / before[i]!.candidates[j]!.probability - 1)).toBeLessThan(1e-5);
    }
  });

  it('q4 on int8 activations: the first token within the stated bound of float32, cache reuse equal to a cold run, a seed replayed', async () => {
    const exact = path.join(root, 'q4-float32-activations');
    await makeMirror({ catalogId: 'qwen2.5-0.5b-instruct', dtype: 'q4', outDir: exact, seed: 5 });
    const int8 = await copyOf(exact, 'q4-int8-activations');
    const file = path.join(int8, onnxFilePath('q4'));
    expect((await rewriteOnnxForEngine(file, file))?.retunedNodes).toBeGreaterThan(0);

    const reference = await withEngine(exact, 'q4', (engine) => run(engine, MESSAGES, { ...GREEDY, maxNewTokens: 1 }));
    await withEngine(int8, 'q4', async (engine) => {
      const first = await run(engine, MESSAGES, { ...GREEDY, maxNewTokens: 1 });
      const gaps = reference[0]!.candidates.map((c) => {
        const other = first[0]!.candidates.find((d) => d.tokenId === c.tokenId);
        return other ? Math.abs(other.probability / c.probability - 1) : Infinity;
      });
      expect(Math.max(...gaps), 'largest relative gap of the top-8 probabilities').toBeLessThan(INT8_ACTIVATION_BOUND);
      // The same arithmetic on a different machine state: the engine's own guarantees hold.
      const answer = await run(engine, MESSAGES, GREEDY);
      const turn2: ChatMessage[] = [...MESSAGES, { role: 'assistant', content: answer.map((t) => t.text).join('') }, { role: 'user', content: '再来一个成语接龙。' }];
      const warm = await run(engine, turn2, GREEDY, true);
      const cold = await run(engine, turn2, GREEDY, false);
      expect(warm.map((t) => t.tokenId)).toEqual(cold.map((t) => t.tokenId));
      expect(await run(engine, MESSAGES, SAMPLED)).toEqual(await run(engine, MESSAGES, SAMPLED));
    });
  });
});
