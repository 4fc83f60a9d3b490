// Each family's mirror folder as the app loads it: transformers.js 4.3.1
// AutoModelForCausalLM.from_pretrained(dir, { dtype, device: 'cpu', local_files_only: true }),
// then model.forward, held to the TypeScript reference; and what forward does per style.
import path from 'node:path';
import { AutoModelForCausalLM, AutoTokenizer, env, Tensor, type PreTrainedModel, type PreTrainedTokenizer } from '@huggingface/transformers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toFloat32 } from './family-test-support.ts';
import { FamilyReference } from './family-reference.ts';
import { makeFamilyPreset, makeMirror, mirrorSpec, type FamilyDtype } from './mirrors.ts';
import { makeTempDir, maxAbsDifference, relativeRmsError } from './test-support.ts';

const SEED = 5;
const MESSAGES = [{ role: 'user', content: 'Tell me a story about a dragon.' }];
/** transformers.js runs the same onnxruntime as the direct tests: same bounds (see mirrors.test.ts). */
const EXACT_ABS_TOLERANCE = 5e-5;
const Q8_RELATIVE_TOLERANCE = 1e-4;
const HALF_RELATIVE_TOLERANCE = 5e-3;

interface Family {
  mirror: string;
  dtype: FamilyDtype;
  numLogitsToKeep?: boolean;
}

const FAMILIES: Family[] = [
  { mirror: 'smollm2-135m-instruct', dtype: 'q4' }, // llama, optimum
  { mirror: 'qwen2.5-0.5b-instruct', dtype: 'q8' }, // qwen2, optimum
  { mirror: 'llama-3.2-1b-instruct', dtype: 'q4', numLogitsToKeep: true }, // llama3 rope, gqa-fused, external data
  { mirror: 'gemma-3-1b-it', dtype: 'q4' }, // gemma3_text, gqa-fused, external data
  { mirror: 'qwen3-gqa-rotary', dtype: 'q4f16' }, // qwen3, gqa-rotary, float16 KV + logits
  { mirror: 'gemma3-nomask', dtype: 'fp32' }, // gemma3_text, optimum, no attention_mask
];

let root: string;
let cleanup: () => Promise<void>;
const loaded = new Map<string, { model: PreTrainedModel; tokenizer: PreTrainedTokenizer }>();

beforeAll(async () => {
  const temp = await makeTempDir('jielong-mirrors-tjs-');
  root = temp.dir;
  cleanup = temp.cleanup;
  env.allowRemoteModels = false;
  env.cacheDir = path.join(root, 'cache');
  env.fetch = () => Promise.reject(new Error('network access during an offline load'));
  for (const f of FAMILIES) {
    const dir = path.join(root, f.mirror);
    await makeMirror({ catalogId: f.mirror, dtype: f.dtype, seed: SEED, outDir: dir, numLogitsToKeep: f.numLogitsToKeep });
    const tokenizer = await AutoTokenizer.from_pretrained(dir);
    const model = await AutoModelForCausalLM.from_pretrained(dir, { dtype: f.dtype, device: 'cpu', local_files_only: true });
    loaded.set(f.mirror, { model, tokenizer });
  }
}, 120_000);

afterAll(async () => {
  await Promise.all([...loaded.values()].map(({ model }) => model.dispose()));
  await cleanup();
});

interface ChatInputs {
  input_ids: Tensor;
  attention_mask: Tensor;
}

function get(mirror: string): { model: PreTrainedModel; tokenizer: PreTrainedTokenizer; inputs: ChatInputs; ids: number[] } {
  const entry = loaded.get(mirror);
  if (!entry) throw new Error(`${mirror} not loaded`);
  const inputs = entry.tokenizer.apply_chat_template(MESSAGES, { add_generation_prompt: true, return_dict: true }) as unknown as ChatInputs;
  return { ...entry, inputs, ids: Array.from(inputs.input_ids.data as BigInt64Array, Number) };
}

function rows(logits: Tensor, vocab: number): Float32Array[] {
  const data = toFloat32(logits as unknown as Parameters<typeof toFloat32>[0]);
  return Array.from({ length: logits.dims[1] as number }, (_, s) => data.slice(s * vocab, (s + 1) * vocab));
}

describe.each(FAMILIES)('transformers.js loads the $mirror mirror ($dtype)', ({ mirror, dtype }) => {
  const spec = mirrorSpec(mirror);
  const arch = spec.tiny;

  it('model.forward gives the reference logits (positions filled by transformers.js where the graph takes them)', async () => {
    const { model, inputs, ids } = get(mirror);
    const output = (await model.forward({ ...inputs })) as { logits: Tensor };
    expect(output.logits.dims).toEqual([1, ids.length, arch.vocabSize]);
    expect(output.logits.type).toBe(dtype === 'q4f16' || dtype === 'fp16' ? 'float16' : 'float32');
    const reference = new FamilyReference(arch, SEED, { dtype, signedQ8: spec.style === 'optimum', positionOffset: spec.positionOffset ?? 0 });
    const expected = reference.forward(ids);
    const actual = rows(output.logits, arch.vocabSize);
    if (dtype === 'fp32' || dtype === 'q4') {
      actual.forEach((row, i) => expect(maxAbsDifference(row, expected[i] as Float32Array), `row ${i}`).toBeLessThan(EXACT_ABS_TOLERANCE));
    } else {
      expect(relativeRmsError(actual, expected)).toBeLessThan(dtype === 'q8' ? Q8_RELATIVE_TOLERANCE : HALF_RELATIVE_TOLERANCE);
    }
  });

  it('generates with its KV cache (greedy) the tokens the reference picks', async () => {
    const { model, inputs, ids } = get(mirror);
    const output = (await model.generate({ ...inputs, max_new_tokens: 6, do_sample: false })) as Tensor;
    const generated = Array.from(output.data as BigInt64Array, Number).slice(ids.length);
    expect(generated.length).toBeGreaterThan(0);
    if (dtype === 'fp32' || dtype === 'q4') {
      const reference = new FamilyReference(arch, SEED, { dtype, positionOffset: spec.positionOffset ?? 0 });
      const expected: number[] = [];
      const sequence = [...ids];
      for (const _ of generated) {
        const last = reference.forward(sequence).at(-1) as Float32Array;
        let best = 0;
        for (let i = 1; i < last.length; i++) if ((last[i] as number) > (last[best] as number)) best = i;
        expected.push(best);
        sequence.push(best);
      }
      expect(generated).toEqual(expected);
    }
  });
});

describe('external data through transformers.js', () => {
  it('loads a folder whose weights are split over .onnx_data and .onnx_data_1 (config lists 2 chunks)', async () => {
    const dir = path.join(root, 'gemma-split');
    const result = await makeMirror({ catalogId: 'gemma-3-1b-it', seed: SEED, outDir: dir, externalDataChunks: 2 });
    expect(Object.keys(result.files)).toEqual(expect.arrayContaining(['onnx/model_q4.onnx_data', 'onnx/model_q4.onnx_data_1']));
    const model = await AutoModelForCausalLM.from_pretrained(dir, { dtype: 'q4', device: 'cpu', local_files_only: true });
    try {
      const { inputs, ids } = get('gemma-3-1b-it');
      const split = (await model.forward({ ...inputs })) as { logits: Tensor };
      const single = (await get('gemma-3-1b-it').model.forward({ ...inputs })) as { logits: Tensor };
      const vocab = mirrorSpec('gemma-3-1b-it').tiny.vocabSize;
      expect(split.logits.dims).toEqual([1, ids.length, vocab]);
      expect(maxAbsDifference(split.logits.data as Float32Array, single.logits.data as Float32Array)).toBe(0);
    } finally {
      await model.dispose();
    }
  });

  it('makeFamilyPreset writes the non-catalog presets', async () => {
    const result = await makeFamilyPreset({ preset: 'gemma3-nomask', dtype: 'fp32', seed: SEED, outDir: path.join(root, 'preset') });
    expect(result.dtypes).toEqual(['fp32']);
    expect(result.files['onnx/model.onnx']).toBeGreaterThan(0);
  });
});

describe('what transformers.js forward does with each style', () => {
  it('without an attention_mask it fills no position_ids, so every graph misses an input', async () => {
    // forward fills position_ids only from an attention_mask (modeling_utils.js decoder_forward),
    // and passes through only the inputs the session declares.
    const missing: Record<string, string> = {};
    for (const f of FAMILIES) {
      const { model, inputs } = get(f.mirror);
      const error = await model.forward({ input_ids: inputs.input_ids }).then(
        () => 'none',
        (e: unknown) => /Missing the following inputs: ([\w_, ]+)/.exec((e as Error).message)?.[1] ?? (e as Error).message,
      );
      missing[f.mirror] = error;
    }
    expect(missing).toEqual({
      'smollm2-135m-instruct': 'attention_mask, position_ids',
      'qwen2.5-0.5b-instruct': 'attention_mask, position_ids',
      'llama-3.2-1b-instruct': 'attention_mask',
      'gemma-3-1b-it': 'attention_mask',
      'qwen3-gqa-rotary': 'attention_mask, position_ids',
      'gemma3-nomask': 'position_ids',
    });
  });

  it('fills num_logits_to_keep = 0 in forward (all positions); an explicit 1 keeps the last row', async () => {
    const { model, inputs, ids } = get('llama-3.2-1b-instruct');
    expect(model.sessions['model']?.inputNames).toContain('num_logits_to_keep');
    const all = (await model.forward({ ...inputs })) as { logits: Tensor };
    expect(all.logits.dims[1]).toBe(ids.length);
    const last = (await model.forward({ ...inputs, num_logits_to_keep: new Tensor('int64', [1n], []) })) as { logits: Tensor };
    expect(last.logits.dims[1]).toBe(1);
    const vocab = mirrorSpec('llama-3.2-1b-instruct').tiny.vocabSize;
    expect(maxAbsDifference(rows(last.logits, vocab)[0] as Float32Array, rows(all.logits, vocab).at(-1) as Float32Array)).toBeLessThan(1e-5);
  });
});
