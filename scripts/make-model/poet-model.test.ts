// The committed Jielong Poet model (resources/models/jielong-poet) as the engine's loaders see
// it, and make:model's TypeScript reference forward on the weights in its ONNX file held to
// the logits PyTorch computed when it was trained (poet-probe.json, written by train:demo).
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AutoTokenizer, type PreTrainedTokenizer } from '@huggingface/transformers';
import * as ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkChatTemplate, renderChatTemplate, modelChatTemplate } from '../../electron/model-files/chat-template-check.ts';
import { architectureFrom } from './poet-model.ts';
import { POET_FIXED_TOKENS, POET_SPECIAL } from './poet-tokenizer.ts';
import { ReferenceModel } from './reference.ts';
import type { Architecture } from './presets.ts';
import { runDecoder } from './test-support.ts';
import { weightSpecs } from './weights.ts';

const POET_DIR = fileURLToPath(new URL('../../resources/models/jielong-poet', import.meta.url));
const ONNX_FILE = path.join(POET_DIR, 'onnx', 'model.onnx');
const probe = JSON.parse(readFileSync(new URL('./poet-probe.json', import.meta.url), 'utf8')) as {
  prompt: string;
  answer: string;
  ids: number[];
  top: [number, number][][];
  last: number[];
};
/**
 * PyTorch (float32, its own summation order) against the reference (float64 accumulation) and
 * onnxruntime: logits up to ±18 agree to 6e-6 here (the probe keeps 6 decimals); 1e-3 leaves room for other CPUs.
 */
const LOGIT_TOLERANCE = 1e-3;

/** The weights as the ONNX file stores them (float32 initializers by name). */
async function onnxWeights(arch: Architecture): Promise<Map<string, Float32Array>> {
  const model = onnxProto.onnx.ModelProto.decode(await readFile(ONNX_FILE));
  const byName = new Map((model.graph?.initializer ?? []).map((t) => [t.name, t]));
  const weights = new Map<string, Float32Array>();
  for (const spec of weightSpecs(arch)) {
    const raw = byName.get(spec.name)?.rawData;
    if (!raw) throw new Error(`model.onnx has no initializer ${spec.name}`);
    weights.set(spec.name, new Float32Array(new Uint8Array(raw).buffer)); // a copy: the file's bytes need not be aligned
  }
  return weights;
}

function expectCloseToPyTorch(rows: ArrayLike<number>[]): void {
  expect(rows.length).toBe(probe.ids.length);
  let worst = 0;
  probe.top.forEach((pairs, position) => {
    for (const [id, logit] of pairs) worst = Math.max(worst, Math.abs((rows[position]![id] as number) - logit));
  });
  const last = rows.at(-1)!;
  probe.last.forEach((logit, id) => {
    worst = Math.max(worst, Math.abs((last[id] as number) - logit));
  });
  expect(worst).toBeLessThan(LOGIT_TOLERANCE);
}

describe('Jielong Poet tokenizer and chat template', () => {
  let tokenizer: PreTrainedTokenizer;
  const config = JSON.parse(readFileSync(path.join(POET_DIR, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;

  beforeAll(async () => {
    tokenizer = await AutoTokenizer.from_pretrained(POET_DIR);
  });

  it('turns a rendered chat into the ids the model was trained on', () => {
    const rendered = tokenizer.apply_chat_template([{ role: 'user', content: probe.prompt }], { tokenize: false, add_generation_prompt: true }) as string;
    expect(tokenizer.encode(rendered + probe.answer, { add_special_tokens: false })).toEqual(probe.ids);
  });

  it('decodes Chinese without spaces, and reads half-width punctuation as the poems write it', () => {
    const ids = tokenizer.encode('床前明月光,疑是地上霜.', { add_special_tokens: false });
    expect(ids).toHaveLength(12);
    expect(tokenizer.decode(ids)).toBe('床前明月光，疑是地上霜。');
  });

  it('maps characters outside the vocabulary to <unk>', () => {
    const ids = tokenizer.encode('月🐉光', { add_special_tokens: false });
    expect(ids[1]).toBe(POET_SPECIAL.unk);
    expect(tokenizer.decode(ids)).toBe(`月${POET_FIXED_TOKENS[POET_SPECIAL.unk]}光`);
    expect(tokenizer.decode([ids[0]!, POET_SPECIAL.imEnd], { skip_special_tokens: true })).toBe('月');
  });

  it('passes the engine’s chat template check and renders only the last user message, for the answer to continue', () => {
    expect(() => checkChatTemplate(config)).not.toThrow();
    const rendered = renderChatTemplate(modelChatTemplate(config), config, [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: '《春晓》' },
      { role: 'assistant', content: '春眠不觉晓，' },
      { role: 'user', content: '  白日依山尽，\n' },
    ]);
    expect(rendered).toBe('<|im_start|>白日依山尽，');
  });
});

describe('Jielong Poet forward passes', () => {
  const arch = architectureFrom(JSON.parse(readFileSync(path.join(POET_DIR, 'config.json'), 'utf8')) as Record<string, number>);

  it('TypeScript reference on the ONNX weights equals PyTorch within the tolerance', async () => {
    const reference = new ReferenceModel(arch, await onnxWeights(arch));
    expectCloseToPyTorch(reference.forward(probe.ids));
  });

  it('onnxruntime on the ONNX file equals PyTorch within the tolerance', async () => {
    const session = await ort.InferenceSession.create(ONNX_FILE);
    try {
      const { logits } = await runDecoder(session, arch, [probe.ids]);
      expectCloseToPyTorch(logits[0]!);
    } finally {
      await session.release();
    }
  });
});
