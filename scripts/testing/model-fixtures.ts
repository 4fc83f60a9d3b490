// Model folders for tests: the bundled demo model, and broken copies of it, one per way a
// downloaded or imported model can be wrong. Shared by the engine, download and import tests.
import { cp, mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import onnxProto from 'onnx-proto';

export const DEMO_MODEL_DIR = fileURLToPath(new URL('../../resources/models/jielong-tiny-random', import.meta.url));

export interface BadModelFolder {
  name: string;
  dir: string;
  /** What the error message must mention. */
  expect: RegExp;
}

async function copyDemo(root: string, name: string): Promise<string> {
  const dir = path.join(root, name);
  await cp(DEMO_MODEL_DIR, dir, { recursive: true });
  return dir;
}

async function editJson(file: string, edit: (value: Record<string, unknown>) => void): Promise<void> {
  const value = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  edit(value);
  await writeFile(file, JSON.stringify(value, null, 2));
}

/** Makes every kind of broken model folder under a fresh temporary directory. */
export async function makeBadModelFolders(): Promise<{ root: string; folders: BadModelFolder[]; cleanup(): Promise<void> }> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'jielong-bad-models-'));
  const folders: BadModelFolder[] = [];
  const add = async (name: string, expect: RegExp, damage: (dir: string) => Promise<void>): Promise<void> => {
    const dir = await copyDemo(root, name);
    await damage(dir);
    folders.push({ name, dir, expect });
  };
  const onnx = (dir: string) => path.join(dir, 'onnx', 'model.onnx');

  await add('missing-onnx', /model\.onnx is missing/, (dir) => rm(onnx(dir)));
  await add('truncated-onnx', /could not be loaded|truncated|does not run/i, async (dir) => {
    const bytes = await readFile(onnx(dir));
    await truncate(onnx(dir), Math.floor(bytes.length / 2));
  });
  await add('garbage-onnx', /could not be loaded|does not run/i, async (dir) => {
    const garbage = Buffer.alloc(64 * 1024);
    for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 2654435761) >>> 24;
    await writeFile(onnx(dir), garbage);
  });
  await add('lfs-pointer', /Git LFS pointer/, (dir) =>
    writeFile(onnx(dir), 'version https://git-lfs.github.com/spec/v1\noid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 12345\n'),
  );
  await add('missing-tokenizer', /missing tokenizer\.json/, (dir) => rm(path.join(dir, 'tokenizer.json')));
  await add('missing-tokenizer-config', /missing tokenizer_config\.json/, (dir) => rm(path.join(dir, 'tokenizer_config.json')));
  await add('layer-mismatch', /config\.json says 3 layers but the ONNX graph has 2/, (dir) =>
    editJson(path.join(dir, 'config.json'), (config) => {
      config['num_hidden_layers'] = 3;
    }),
  );
  await add('missing-external-data', /model\.onnx_data is missing/, (dir) =>
    editJson(path.join(dir, 'config.json'), (config) => {
      config['transformers.js_config'] = { use_external_data_format: 1 };
    }),
  );
  await add('broken-chat-template', /chat template \(in tokenizer_config\.json\) cannot be used: it has a syntax error/, (dir) =>
    editJson(path.join(dir, 'tokenizer_config.json'), (config) => {
      config['chat_template'] = '{% for message in messages %}{{ message.content }}';
    }),
  );
  await add('no-chat-template', /has no chat template \(none in tokenizer_config\.json, no chat_template\.jinja\): choose one for it/, (dir) =>
    editJson(path.join(dir, 'tokenizer_config.json'), (config) => {
      delete config['chat_template'];
    }),
  );
  // A seq2seq export's decoder: it takes the encoder's output besides its own cache.
  await add('encoder-decoder-graph', /encoder-decoder model \(its graph takes encoder_hidden_states\)\. Jielong runs text-only decoder models/, (dir) =>
    writeFile(onnx(dir), decoderGraphTaking(['input_ids', 'encoder_hidden_states', 'past_key_values.0.key', 'past_key_values.0.value', 'past_key_values.1.key', 'past_key_values.1.value'])),
  );
  return { root, folders, cleanup: () => rm(root, { recursive: true, force: true }) };
}

/** An ONNX file whose graph takes `inputs` and returns logits: enough for the outline checks, never run. */
function decoderGraphTaking(inputs: string[]): Uint8Array {
  const { onnx } = onnxProto;
  return onnx.ModelProto.encode({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    producerName: 'jielong test fixture',
    // Model files under 1 KB are refused as truncated before their graph is read.
    docString: 'x'.repeat(2048),
    graph: { name: 'g', input: inputs.map((name) => ({ name })), output: [{ name: 'logits' }], node: [{ opType: 'Identity', input: ['input_ids'], output: ['logits'] }] },
  }).finish();
}
