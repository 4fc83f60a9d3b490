// A model whose weights were moved into a data file (as import and download install models)
// answers exactly as the file it came from: same tokens, same probabilities.
import { cp, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeMirror } from '../../scripts/make-model/mirrors.ts';
import { externalizeWeights } from '../model-files/onnx-external-data.ts';
import type { ChatMessage, SeededSamplingParams } from '../shared/model-host-protocol.ts';
import { onnxFilePath } from '../shared/model-layout.ts';
import { Engine } from './engine.ts';

const MESSAGES: ChatMessage[] = [{ role: 'user', content: 'Hello, 龙! Which token comes next?' }];
const GREEDY: SeededSamplingParams = { temperature: 0, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1, maxNewTokens: 12, seed: 0 };

let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'jielong-external-weights-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function answer(modelDir: string, dtype: 'fp32' | 'q4') {
  const engine = new Engine();
  const info = await engine.load({ modelDir, dtype, device: 'cpu' }, () => undefined);
  try {
    const tokens: { tokenId: number; candidates: unknown }[] = [];
    await engine.generate(
      { requestId: 'r', messages: MESSAGES, params: GREEDY, candidates: 5, reuseCache: false },
      { onPrefill: () => undefined, onToken: (event) => tokens.push({ tokenId: event.tokenId, candidates: event.candidates }), isCancelled: () => false },
    );
    return { tokens, externalData: info.graph.externalData };
  } finally {
    await engine.unload();
  }
}

describe('a model with its weights in a data file', () => {
  it.each(['fp32', 'q4'] as const)('%s: answers as the inline file did, token for token and probability for probability', async (dtype) => {
    const inline = path.join(root, `inline-${dtype}`);
    await makeMirror({ catalogId: 'qwen2.5-0.5b-instruct', dtype, outDir: inline, seed: 5 });
    const external = path.join(root, `external-${dtype}`);
    await cp(inline, external, { recursive: true });
    const file = path.join(external, onnxFilePath(dtype));
    expect(await externalizeWeights(file, file, { minInlineBytes: 0 })).not.toBeNull();

    const [before, after] = [await answer(inline, dtype), await answer(external, dtype)];
    expect(before.externalData).toBe(false);
    expect(after.externalData).toBe(true);
    expect(after.tokens).toHaveLength(GREEDY.maxNewTokens);
    expect(after.tokens).toEqual(before.tokens);
  });
});
