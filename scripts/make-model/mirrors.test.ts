// Every style x architecture x dtype that a catalog mirror uses (plus qwen3 q4f16 and the
// gemma3 no-mask export), run by onnxruntime-node and held to the TypeScript reference:
// prefill logits, cached decode = uncached, external data, byte reproducibility.
import { readFile } from 'node:fs/promises';
import onnxProto from 'onnx-proto';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emptyFamilyCache, FamilyReference } from './family-reference.ts';
import { runFamily } from './family-test-support.ts';
import { CATALOG_MIRRORS, FAMILY_DTYPES, FAMILY_ONNX_FILE_NAMES, FAMILY_PRESETS, makeMirror, mirrorFiles, mirrorSpec, type FamilyDtype } from './mirrors.ts';
import { makeTempDir, maxAbsDifference, relativeRmsError } from './test-support.ts';

const SEED = 3;
/** Special tokens, bytes, merges and the last id; 23 tokens, longer than gemma's 4-key window. */
const PROMPT = [1, 413, 13, 75, 104, 318, 114, 36, 35, 356, 420, 511, 269, 153, 3, 258, 259, 2, 13, 1, 291, 352, 13];
const DECODE_STEPS = 3;

// Tolerances: ~10x what was measured on x86-64 (onnxruntime-node 1.30), for other CPUs' kernels.
/** fp32 and q4 (MatMulNBits accuracy 0 dequantizes and multiplies in fp32): float32 rounding only; measured max 4.8e-6 on logits of magnitude ~3. */
const EXACT_ABS_TOLERANCE = 5e-5;
/** q8 (relative RMS): the reference emulates DynamicQuantizeLinear + MatMulInteger; float64 vs float32 activations could move a rare code by one step; measured 2.4e-7. */
const Q8_RELATIVE_TOLERANCE = 1e-4;
/** fp16/q4f16 (relative RMS): the graph computes in float16 (11-bit mantissa) through every layer, the reference only rounds the weights; measured 1.1e-3. */
const HALF_RELATIVE_TOLERANCE = 5e-3;
/** Cached decode vs an uncached prefill of the same tokens, float32 graphs. */
const CACHE_ABS_TOLERANCE = 2e-5;

interface Combo {
  mirror: string;
  dtype: FamilyDtype;
}

const COMBOS: Combo[] = [
  ...Object.values(CATALOG_MIRRORS).flatMap((spec) => spec.dtypes.map((dtype) => ({ mirror: spec.name, dtype }))),
  { mirror: 'qwen3-gqa-rotary', dtype: 'q4f16' },
  // Not catalog dtypes: the other float16 file and fp32 of the builder style.
  { mirror: 'llama-3.2-1b-instruct', dtype: 'fp16' },
  { mirror: 'llama-3.2-1b-instruct', dtype: 'fp32' },
  { mirror: 'gemma-3-1b-it', dtype: 'fp32' },
  { mirror: 'gemma3-nomask', dtype: 'fp32' },
  { mirror: 'gemma3-nomask', dtype: 'q4' },
];

let root: string;
let cleanup: () => Promise<void>;
const sessions = new Map<string, ort.InferenceSession>();
const key = (c: Combo): string => `${c.mirror}/${c.dtype}`;

beforeAll(async () => {
  const temp = await makeTempDir('jielong-mirrors-');
  root = temp.dir;
  cleanup = temp.cleanup;
  const byMirror = new Map<string, FamilyDtype[]>();
  for (const c of COMBOS) byMirror.set(c.mirror, [...(byMirror.get(c.mirror) ?? []), c.dtype]);
  for (const [mirror, dtypes] of byMirror) await makeMirror({ catalogId: mirror, dtype: dtypes, seed: SEED, outDir: path.join(root, mirror) });
  for (const c of COMBOS) {
    sessions.set(key(c), await ort.InferenceSession.create(path.join(root, c.mirror, 'onnx', FAMILY_ONNX_FILE_NAMES[c.dtype])));
  }
}, 120_000);

afterAll(async () => {
  await Promise.all([...sessions.values()].map((s) => s.release()));
  await cleanup();
});

function compare(dtype: FamilyDtype, actual: Float32Array[], expected: Float32Array[], what: string): void {
  expect(actual.length, what).toBe(expected.length);
  if (dtype === 'fp32' || dtype === 'q4') {
    actual.forEach((row, i) => expect(maxAbsDifference(row, expected[i] as Float32Array), `${what} row ${i}`).toBeLessThan(EXACT_ABS_TOLERANCE));
  } else {
    const bound = dtype === 'q8' ? Q8_RELATIVE_TOLERANCE : HALF_RELATIVE_TOLERANCE;
    expect(relativeRmsError(actual, expected), what).toBeLessThan(bound);
  }
}

describe.each(COMBOS)('$mirror $dtype', ({ mirror, dtype }) => {
  const spec = mirrorSpec(mirror);
  const arch = spec.tiny;
  const positionOffset = spec.positionOffset ?? 0;
  const reference = new FamilyReference(arch, SEED, { dtype, signedQ8: spec.style === 'optimum', positionOffset });

  it('matches the TypeScript reference: prefill, then cached 1-token decode steps', async () => {
    const session = sessions.get(key({ mirror, dtype })) as ort.InferenceSession;
    const split = PROMPT.length - DECODE_STEPS;
    const cache = emptyFamilyCache(arch);
    let run = await runFamily(session, arch, PROMPT.slice(0, split), { positionOffset });
    compare(dtype, run.logits, reference.forward(PROMPT.slice(0, split), cache), 'prefill');
    const cached: Float32Array[] = [];
    const expected: Float32Array[] = [];
    for (let position = split; position < PROMPT.length; position++) {
      const token = PROMPT[position] as number;
      run = await runFamily(session, arch, [token], { past: run.present, positionOffset });
      cached.push(...run.logits);
      expected.push(...reference.forward([token], cache));
    }
    compare(dtype, cached, expected, 'decode');
    expect(run.present['past_key_values.0.key']?.dims).toEqual([1, arch.numKeyValueHeads, PROMPT.length, arch.headDim]);

    // Cached decode against one uncached prefill of the whole prompt.
    const uncached = (await runFamily(session, arch, PROMPT, { positionOffset })).logits.slice(split);
    if (dtype === 'q8') {
      // DynamicQuantizeLinear's range spans the whole call, so a 1-token step and a 23-token
      // prefill quantize the same row differently: close, never equal (measured 0.023-0.034).
      expect(relativeRmsError(cached, uncached)).toBeLessThan(0.1);
    } else if (dtype === 'fp32' || dtype === 'q4') {
      cached.forEach((row, i) => expect(maxAbsDifference(row, uncached[i] as Float32Array)).toBeLessThan(CACHE_ABS_TOLERANCE));
    } else {
      expect(relativeRmsError(cached, uncached)).toBeLessThan(HALF_RELATIVE_TOLERANCE);
    }
  });
});

describe('every dtype of every style and architecture (prefill only)', () => {
  // One mirror per distinct (architecture, style, mask) triple; all five dtypes of each.
  const sweep = ['smollm2-135m-instruct', 'qwen2.5-0.5b-instruct', 'llama-3.2-1b-instruct', 'gemma-3-1b-it', 'qwen3-gqa-rotary', 'gemma3-nomask'] as const;
  it.each(sweep)('%s', async (mirror) => {
    const spec = mirrorSpec(mirror);
    const dir = path.join(root, 'sweep', mirror);
    await makeMirror({ catalogId: mirror, dtype: [...FAMILY_DTYPES], seed: SEED, outDir: dir });
    const prompt = PROMPT.slice(0, 12);
    for (const dtype of FAMILY_DTYPES) {
      const session = await ort.InferenceSession.create(path.join(dir, 'onnx', FAMILY_ONNX_FILE_NAMES[dtype]));
      try {
        const run = await runFamily(session, spec.tiny, prompt, { positionOffset: spec.positionOffset ?? 0 });
        const reference = new FamilyReference(spec.tiny, SEED, { dtype, signedQ8: spec.style === 'optimum', positionOffset: spec.positionOffset ?? 0 });
        compare(dtype, run.logits, reference.forward(prompt), `${dtype} prefill`);
      } finally {
        await session.release();
      }
    }
  });
  it('covers the non-catalog presets', () => expect(sweep).toEqual(expect.arrayContaining(Object.keys(FAMILY_PRESETS))));
});

/** Op type -> count in a written .onnx (external data needs no loading to read the graph). */
async function opHistogram(file: string): Promise<Record<string, number>> {
  const model = onnxProto.onnx.ModelProto.decode(await readFile(file));
  const counts: Record<string, number> = {};
  for (const node of model.graph?.node ?? []) counts[node.opType as string] = (counts[node.opType as string] ?? 0) + 1;
  return counts;
}

describe('graph inputs and outputs per style', () => {
  it('uses the ops of the real exports', async () => {
    const file = (mirror: string, dtype: FamilyDtype): string => path.join(root, mirror, 'onnx', FAMILY_ONNX_FILE_NAMES[dtype]);
    const layers = (mirror: string): number => mirrorSpec(mirror).tiny.numHiddenLayers;
    // Llama-3.2-1B-Instruct: a GQA per layer, two skip-norms per layer, no rotary ops, head via Transpose.
    const llama = await opHistogram(file('llama-3.2-1b-instruct', 'q4'));
    expect(llama).toMatchObject({ GroupQueryAttention: layers('llama-3.2-1b-instruct'), SkipSimplifiedLayerNormalization: 2 * layers('llama-3.2-1b-instruct'), Transpose: 1 });
    expect(llama['RotaryEmbedding']).toBeUndefined();
    expect(llama['MatMulNBits']).toBe(7 * layers('llama-3.2-1b-instruct'));
    // gemma-3-1b-it-ONNX: 6 SimplifiedLayerNormalization per layer + the final one.
    const gemma = await opHistogram(file('gemma-3-1b-it', 'q4'));
    expect(gemma).toMatchObject({ GroupQueryAttention: layers('gemma-3-1b-it'), SimplifiedLayerNormalization: 6 * layers('gemma-3-1b-it') + 1 });
    expect(gemma['SkipSimplifiedLayerNormalization']).toBeUndefined();
    // Qwen3-0.6B-ONNX: GQA with separate RotaryEmbedding ops (queries and keys).
    const qwen3 = await opHistogram(file('qwen3-gqa-rotary', 'q4f16'));
    expect(qwen3).toMatchObject({ GroupQueryAttention: layers('qwen3-gqa-rotary'), RotaryEmbedding: 2 * layers('qwen3-gqa-rotary') });
    // Optimum plain ops; q8 as transformers.js' quantizer writes it.
    const qwen2 = await opHistogram(file('qwen2.5-0.5b-instruct', 'q8'));
    expect(qwen2).toMatchObject({ DynamicQuantizeLinear: 7 * layers('qwen2.5-0.5b-instruct'), MatMulInteger: 7 * layers('qwen2.5-0.5b-instruct'), Softmax: layers('qwen2.5-0.5b-instruct') });
    expect(qwen2['GroupQueryAttention']).toBeUndefined();
  });

  it('declares the inputs the real exports have', () => {
    const names = (mirror: string, dtype: FamilyDtype): string[] => sessions.get(`${mirror}/${dtype}`)?.inputNames.filter((n) => !n.startsWith('past_')) ?? [];
    expect(names('qwen2.5-0.5b-instruct', 'q8')).toEqual(['input_ids', 'attention_mask', 'position_ids']);
    expect(names('llama-3.2-1b-instruct', 'q4')).toEqual(['input_ids', 'attention_mask']);
    expect(names('gemma-3-1b-it', 'q4')).toEqual(['input_ids', 'attention_mask']);
    expect(names('qwen3-gqa-rotary', 'q4f16')).toEqual(['input_ids', 'attention_mask', 'position_ids']);
    expect(names('gemma3-nomask', 'fp32')).toEqual(['input_ids', 'position_ids']);
    const q4f16 = sessions.get('qwen3-gqa-rotary/q4f16') as ort.InferenceSession;
    const types = Object.fromEntries([...q4f16.inputMetadata, ...q4f16.outputMetadata].map((m) => [m.name, m.isTensor ? m.type : '']));
    expect([types['past_key_values.0.key'], types['present.0.value'], types['logits']]).toEqual(['float16', 'float16', 'float16']);
  });
});

describe('external data and reproducibility', () => {
  it('writes the real file names, and a split .onnx_data_1 chunk that onnxruntime loads', async () => {
    const spec = CATALOG_MIRRORS['llama-3.2-1b-instruct'];
    const dir = path.join(root, 'llama-split');
    const result = await makeMirror({ catalogId: spec.name, dtype: 'q4', seed: SEED, outDir: dir, externalDataChunks: 2 });
    expect(mirrorFiles(spec, 'q4')).toEqual(['onnx/model_q4.onnx', 'onnx/model_q4.onnx_data']);
    expect(Object.keys(result.files).filter((f) => f.startsWith('onnx/'))).toEqual(
      expect.arrayContaining(['onnx/model_q4.onnx', 'onnx/model_q4.onnx_data', 'onnx/model_q4.onnx_data_1']),
    );
    const config = JSON.parse(await readFile(path.join(dir, 'config.json'), 'utf8')) as Record<string, Record<string, unknown>>;
    const chunks = Object.keys(result.files).filter((f) => f.startsWith('onnx/model_q4.onnx_data')).length;
    expect(config['transformers.js_config']?.['use_external_data_format']).toEqual({ 'model_q4.onnx': chunks });
    // The .onnx holds the graph, not the weights.
    expect(result.files['onnx/model_q4.onnx']).toBeLessThan((result.files['onnx/model_q4.onnx_data'] as number) / 2);
    const session = await ort.InferenceSession.create(path.join(dir, 'onnx', 'model_q4.onnx'));
    try {
      const split = await runFamily(session, spec.tiny, PROMPT);
      const single = await runFamily(sessions.get('llama-3.2-1b-instruct/q4') as ort.InferenceSession, spec.tiny, PROMPT);
      split.logits.forEach((row, i) => expect(maxAbsDifference(row, single.logits[i] as Float32Array)).toBe(0));
    } finally {
      await session.release();
    }
  });

  it('writes the same bytes for the same arguments', async () => {
    const again = path.join(root, 'again');
    for (const mirror of ['llama-3.2-1b-instruct', 'qwen3-gqa-rotary', 'qwen2.5-0.5b-instruct']) {
      const first = await makeMirror({ catalogId: mirror, seed: SEED, outDir: path.join(again, `${mirror}-1`) });
      const second = await makeMirror({ catalogId: mirror, seed: SEED, outDir: path.join(again, `${mirror}-2`) });
      expect(Object.keys(second.files)).toEqual(Object.keys(first.files));
      for (const file of Object.keys(first.files)) {
        const [a, b] = await Promise.all([readFile(path.join(first.outDir, file)), readFile(path.join(second.outDir, file))]);
        expect(a.equals(b), `${mirror}: ${file}`).toBe(true);
      }
      const other = await makeMirror({ catalogId: mirror, seed: SEED + 1, outDir: path.join(again, `${mirror}-3`) });
      const weights = Object.keys(other.files).find((f) => f.endsWith('_data') || (f.endsWith('.onnx') && !mirrorSpec(mirror).externalData.length)) as string;
      const [a, b] = await Promise.all([readFile(path.join(first.outDir, weights)), readFile(path.join(other.outDir, weights))]);
      expect(a.equals(b), `${mirror}: another seed, other weights`).toBe(false);
    }
  });
});

describe('num_logits_to_keep', () => {
  it('returns logits for the last N positions only, and all of them for 0', async () => {
    const spec = CATALOG_MIRRORS['llama-3.2-1b-instruct'];
    const dir = path.join(root, 'llama-logits');
    await makeMirror({ catalogId: spec.name, dtype: 'q4', seed: SEED, outDir: dir, numLogitsToKeep: true });
    const session = await ort.InferenceSession.create(path.join(dir, 'onnx', 'model_q4.onnx'));
    try {
      expect(session.inputNames).toContain('num_logits_to_keep');
      const all = await runFamily(session, spec.tiny, PROMPT, { numLogitsToKeep: 0 });
      const last2 = await runFamily(session, spec.tiny, PROMPT, { numLogitsToKeep: 2 });
      expect(all.logits.length).toBe(PROMPT.length);
      expect(last2.logits.length).toBe(2);
      last2.logits.forEach((row, i) => expect(maxAbsDifference(row, all.logits[PROMPT.length - 2 + i] as Float32Array)).toBeLessThan(1e-5));
    } finally {
      await session.release();
    }
  });
});
