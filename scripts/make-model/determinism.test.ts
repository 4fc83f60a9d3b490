// Same arguments, same bytes: twice in a row, and against the demo model committed under
// resources/, so that the bundled folder cannot drift from its generator. Also checks that
// the hand-streamed protobuf parses back into the graph and weights it should hold.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import onnxProto from 'onnx-proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeModel, PRESETS } from './make-model.ts';
import { makeTempDir } from './test-support.ts';
import { generateWeight, weightSpecs } from './weights.ts';

const { onnx } = onnxProto;
const DEMO_DIR = fileURLToPath(new URL('../../resources/models/jielong-tiny-random', import.meta.url));
/** How resources/models/jielong-tiny-random was made (its README.md says so too). */
const DEMO_OPTIONS = { preset: 'tiny', dtype: 'fp32', seed: 0 } as const;

let root: string;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  const temp = await makeTempDir('jielong-determinism-');
  root = temp.dir;
  cleanup = temp.cleanup;
});

afterAll(async () => {
  await cleanup();
});

/** Relative path -> contents of every file under `dir`. */
async function readTree(dir: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const full = path.join(entry.parentPath, entry.name);
    files.set(path.relative(dir, full).split(path.sep).join('/'), await readFile(full));
  }
  return files;
}

function expectSameTree(actual: Map<string, Buffer>, expected: Map<string, Buffer>): void {
  expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
  for (const [file, bytes] of expected) {
    expect(actual.get(file)?.equals(bytes), `${file} differs`).toBe(true);
  }
}

describe('determinism', () => {
  it('writes byte-identical folders for the same arguments', async () => {
    await makeModel({ preset: 'tiny', seed: 3, outDir: path.join(root, 'first') });
    await makeModel({ preset: 'tiny', seed: 3, dtype: ['q4', 'fp32', 'q8'], outDir: path.join(root, 'second') });
    const first = await readTree(path.join(root, 'first'));
    expect(first.size).toBe(9);
    expectSameTree(await readTree(path.join(root, 'second')), first);
  });

  it('changes the weights, and only the weights, with the seed', async () => {
    await makeModel({ preset: 'tiny', dtype: 'fp32', seed: 4, outDir: path.join(root, 'seed-4') });
    await makeModel({ preset: 'tiny', dtype: 'fp32', seed: 5, outDir: path.join(root, 'seed-5') });
    const four = await readTree(path.join(root, 'seed-4'));
    const five = await readTree(path.join(root, 'seed-5'));
    for (const file of ['tokenizer.json', 'tokenizer_config.json', 'config.json', 'generation_config.json', 'jielong.json']) {
      expect(five.get(file)?.equals(four.get(file) as Buffer), file).toBe(true);
    }
    expect(five.get('onnx/model.onnx')?.equals(four.get('onnx/model.onnx') as Buffer)).toBe(false);
    expect(five.get('onnx/model.onnx')?.length).toBe(four.get('onnx/model.onnx')?.length);
  });

  it('matches the demo model committed in resources/models/jielong-tiny-random', async () => {
    const outDir = path.join(root, 'demo');
    await makeModel({ ...DEMO_OPTIONS, outDir });
    // If this fails after a generator change, regenerate the demo with the command in its README.md.
    expectSameTree(await readTree(DEMO_DIR), await readTree(outDir));
  });

  it('removes model files of dtypes it was not asked for, so the folder stays consistent', async () => {
    const outDir = path.join(root, 'narrowed');
    await makeModel({ preset: 'tiny', outDir });
    await makeModel({ preset: 'tiny', dtype: 'q4', outDir });
    expect([...(await readTree(outDir)).keys()].filter((file) => file.startsWith('onnx/'))).toEqual(['onnx/model_q4.onnx']);
  });
});

describe('the streamed ONNX file', () => {
  it('parses back into the decoder contract and the seeded weights', async () => {
    const outDir = path.join(root, 'parse');
    await makeModel({ preset: 'tiny', dtype: 'fp32', seed: 9, outDir });
    const model = onnx.ModelProto.decode(await readFile(path.join(outDir, 'onnx', 'model.onnx')));
    expect(Number(model.irVersion)).toBe(8);
    expect(model.opsetImport.map((o) => [o.domain, Number(o.version)])).toEqual([['', 17]]);

    const graph = model.graph as InstanceType<typeof onnx.GraphProto>;
    const layers = PRESETS.tiny.architecture.numHiddenLayers;
    const cacheNames = (prefix: string): string[] =>
      Array.from({ length: layers }, (_, i) => [`${prefix}.${i}.key`, `${prefix}.${i}.value`]).flat();
    expect(graph.input.map((i) => i.name)).toEqual(['input_ids', 'attention_mask', 'position_ids', ...cacheNames('past_key_values')]);
    expect(graph.output.map((o) => o.name)).toEqual(['logits', ...cacheNames('present')]);

    const initializers = new Map(graph.initializer.map((t) => [t.name, t]));
    for (const spec of weightSpecs(PRESETS.tiny.architecture)) {
      const tensor = initializers.get(spec.name);
      expect(tensor, spec.name).toBeDefined();
      expect(tensor?.dims?.map(Number), spec.name).toEqual(spec.shape);
      const expected = generateWeight(spec, 9);
      const raw = tensor?.rawData as Uint8Array;
      expect(Buffer.from(raw).equals(Buffer.from(expected.buffer)), `${spec.name} raw data`).toBe(true);
    }
  });
});
