// The generated folder as the app uses it: loaded offline by transformers.js 4 with its
// tokenizer, chat template and fp32/q8/q4 model files.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { AutoModelForCausalLM, AutoTokenizer, env, type PreTrainedModel, type PreTrainedTokenizer, type Tensor } from '@huggingface/transformers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeModel, PRESETS, type ModelDtype } from './make-model.ts';
import { greedyDecode, ReferenceModel } from './reference.ts';
import { makeTempDir, maxAbsDifference, relativeRmsError } from './test-support.ts';
import { SPECIAL_TOKEN_IDS } from './tokenizer.ts';

const arch = PRESETS.tiny.architecture;
const SEED = 0;
const IM_END = SPECIAL_TOKEN_IDS['<|im_end|>'];
const MESSAGES = [
  { role: 'system', content: 'You are Jielong.' },
  { role: 'user', content: '你好！Tell me a story about a dragon 🐉.' },
];

let dir: string;
let cleanup: () => Promise<void>;
let tokenizer: PreTrainedTokenizer;
const models: Partial<Record<ModelDtype, PreTrainedModel>> = {};

interface ChatInputs {
  input_ids: Tensor;
  attention_mask: Tensor;
}

beforeAll(async () => {
  const temp = await makeTempDir('jielong-transformers-');
  dir = temp.dir;
  cleanup = temp.cleanup;
  await makeModel({ preset: 'tiny', seed: SEED, outDir: path.join(dir, 'model') });
  env.allowRemoteModels = false;
  env.cacheDir = path.join(dir, 'cache');
  // Nothing may touch the network: a remote lookup would fail here instead of hanging.
  env.fetch = () => Promise.reject(new Error('network access during an offline load'));
  tokenizer = await AutoTokenizer.from_pretrained(path.join(dir, 'model'));
});

afterAll(async () => {
  await Promise.all(Object.values(models).map((model) => model.dispose()));
  await cleanup();
});

async function model(dtype: ModelDtype): Promise<PreTrainedModel> {
  models[dtype] ??= await AutoModelForCausalLM.from_pretrained(path.join(dir, 'model'), { dtype, device: 'cpu' });
  return models[dtype];
}

function chatInputs(): ChatInputs {
  return tokenizer.apply_chat_template(MESSAGES, { add_generation_prompt: true, return_dict: true }) as unknown as ChatInputs;
}

function ids(tensor: Tensor): number[] {
  return Array.from(tensor.data as BigInt64Array, Number);
}

/** [position] rows of one sequence's logits. */
async function logitRows(dtype: ModelDtype, inputs: ChatInputs): Promise<Float32Array[]> {
  const output = (await (await model(dtype))(inputs)) as { logits: Tensor };
  const [batch, length, vocab] = output.logits.dims as [number, number, number];
  expect([batch, length, vocab]).toEqual([1, inputs.input_ids.dims[1], arch.vocabSize]);
  const data = output.logits.data as Float32Array;
  return Array.from({ length }, (_, i) => data.slice(i * vocab, (i + 1) * vocab));
}

describe('transformers.js loads the generated folder offline', () => {
  it('renders the ChatML template and tokenizes it with single-id special tokens', () => {
    const text = tokenizer.apply_chat_template(MESSAGES, { add_generation_prompt: true, tokenize: false });
    expect(text).toBe(
      '<|im_start|>system\nYou are Jielong.<|im_end|>\n<|im_start|>user\n你好！Tell me a story about a dragon 🐉.<|im_end|>\n<|im_start|>assistant\n',
    );
    const promptIds = ids(chatInputs().input_ids);
    expect(promptIds.filter((id) => id === SPECIAL_TOKEN_IDS['<|im_start|>'])).toHaveLength(3);
    expect(promptIds.filter((id) => id === IM_END)).toHaveLength(2);
    expect(tokenizer.decode(promptIds)).toBe(text);
  });

  it('runs the fp32 model: logits [1, tokens, vocab] equal to the TypeScript reference', async () => {
    const inputs = chatInputs();
    const rows = await logitRows('fp32', inputs);
    const expected = ReferenceModel.forDtype(arch, SEED, 'fp32').forward(ids(inputs.input_ids));
    rows.forEach((row, i) => expect(maxAbsDifference(row, expected[i] as Float32Array), `position ${i}`).toBeLessThan(1e-4));
  });

  it('generates greedily, through its KV cache, what the reference generates, and babbles', async () => {
    const inputs = chatInputs();
    const prompt = ids(inputs.input_ids);
    const output = (await (await model('fp32')).generate({ ...inputs, max_new_tokens: 40, do_sample: false })) as Tensor;
    const generated = ids(output).slice(prompt.length);
    let expected = greedyDecode(ReferenceModel.forDtype(arch, SEED, 'fp32'), prompt, 40);
    // generate() stops after <|im_end|> (generation_config's eos_token_id).
    if (expected.includes(IM_END)) expected = expected.slice(0, expected.indexOf(IM_END) + 1);
    expect(generated).toEqual(expected);
    // Measured: 40 tokens, 32 distinct, for this prompt and seed 0.
    expect(generated.length).toBe(40);
    expect(new Set(generated).size).toBeGreaterThanOrEqual(15);
  });

  // q8 and q4 are held to fp32 by the relative size of their logit error, ||q - fp32|| / ||fp32||.
  // Rounding a uniform weight to 15 levels (q4) leaves a ~7% error per weight, to 255
  // levels (q8) ~0.4%; q8 also rounds activations to int8. A token's logits pass through 15
  // quantized matrix products (7 per layer, then the LM head), so errors of ~27% (q4) and
  // ~2% (q8) are expected; measured here 2.4% (q8) and 29% (q4). The bounds are 2x and 1.5x
  // those, for other CPUs' kernels; logits of an unrelated model would be ~140% off.
  it.each([
    ['q8', 0.05],
    ['q4', 0.45],
  ] as const)('loads %s with its dtype and stays near the fp32 logits (relative error < %s)', async (dtype, bound) => {
    const inputs = chatInputs();
    const fp32 = await logitRows('fp32', inputs);
    const quantized = await logitRows(dtype, inputs);
    const error = relativeRmsError(quantized, fp32);
    expect(error).toBeLessThan(bound);
    // Not the fp32 file under another name.
    expect(error).toBeGreaterThan(1e-3);
  });

  it('agrees with config.json, generation_config.json and jielong.json on sizes and ids', async () => {
    const read = async (file: string): Promise<Record<string, unknown>> =>
      JSON.parse(await readFile(path.join(dir, 'model', file), 'utf8')) as Record<string, unknown>;
    const config = await read('config.json');
    const generation = await read('generation_config.json');
    const manifest = await read('jielong.json');
    expect(tokenizer.get_vocab().size).toBe(config['vocab_size']);
    expect(tokenizer.eos_token).toBe('<|im_end|>');
    expect(tokenizer.eos_token_id).toBe(IM_END);
    expect(config['eos_token_id']).toBe(IM_END);
    expect(generation['eos_token_id']).toBe(IM_END);
    expect(manifest).toEqual({
      id: 'jielong-tiny-random',
      name: PRESETS.tiny.title,
      description: expect.stringContaining('random weights') as unknown,
      dtypes: ['fp32', 'q8', 'q4'],
      contextLength: arch.maxPositionEmbeddings,
    });
  });
});
