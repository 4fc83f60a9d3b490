// The checks import and download verification run on a model folder: the ONNX outline reader
// on real, truncated, garbage and hand-built graphs, and the folder inspection on the demo
// model, a multi-dtype model and every bad folder from the engine's fixtures.
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import onnxProto from 'onnx-proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeModel } from '../../scripts/make-model/make-model.ts';
import { DEMO_MODEL_DIR, makeBadModelFolders } from '../../scripts/testing/model-fixtures.ts';
import { gitBlobIdOf, gitBlobIdOfFile, sha256File, sha256Of } from './file-hash.ts';
import { dtypesInFolder, inspectModelFolder, verifyModelDtype } from './model-folder-inspect.ts';
import { kvCacheLayers, OnnxFormatError, readOnnxGraphOutline } from './onnx-graph.ts';

const { onnx } = onnxProto;
let root: string;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'jielong-model-files-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A ModelProto with the given graph inputs and one initializer stored at `location` outside the file. */
function graphWithExternalData(inputs: string[], location: string): Uint8Array {
  return onnx.ModelProto.encode({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    producerName: 'test',
    // The engine's own check refuses .onnx files under 1 KB.
    docString: 'x'.repeat(2048),
    graph: {
      name: 'g',
      input: inputs.map((name) => ({ name })),
      output: [{ name: 'logits' }],
      initializer: [
        { name: 'w', dims: [4], dataType: onnx.TensorProto.DataType.FLOAT, dataLocation: onnx.TensorProto.DataLocation.EXTERNAL, externalData: [{ key: 'location', value: location }, { key: 'length', value: '16' }] },
        { name: 'b', dims: [1], dataType: onnx.TensorProto.DataType.FLOAT, rawData: new Uint8Array(4) },
      ],
    },
  }).finish();
}

async function demoCopy(name: string): Promise<string> {
  const dir = path.join(root, name);
  await cp(DEMO_MODEL_DIR, dir, { recursive: true });
  return dir;
}

describe('readOnnxGraphOutline', () => {
  it('reads the demo model: IR version, opset, inputs with one KV pair per layer, outputs', async () => {
    const outline = await readOnnxGraphOutline(path.join(DEMO_MODEL_DIR, 'onnx', 'model.onnx'));
    expect(outline.irVersion).toBe(8);
    expect(outline.opsetImports).toContainEqual({ domain: '', version: 17 });
    expect(outline.inputs.slice(0, 3)).toEqual(['input_ids', 'attention_mask', 'position_ids']);
    expect(kvCacheLayers(outline)).toBe(2);
    expect(outline.outputs[0]).toBe('logits');
    expect(outline.externalDataFiles).toEqual([]);
    expect(outline.initializerCount).toBeGreaterThan(10);
  });

  it('names the external-data files initializers point to', async () => {
    const file = path.join(root, 'external.onnx');
    await writeFile(file, graphWithExternalData(['input_ids', 'past_key_values.0.key'], 'external.onnx_data'));
    const outline = await readOnnxGraphOutline(file);
    expect(outline.externalDataFiles).toEqual(['external.onnx_data']);
    expect(outline.initializerCount).toBe(2);
  });

  it('refuses the demo model cut at any point as truncated', async () => {
    const bytes = await readFile(path.join(DEMO_MODEL_DIR, 'onnx', 'model.onnx'));
    const file = path.join(root, 'cut.onnx');
    for (const fraction of [0.001, 0.1, 0.5, 0.9, 0.9999]) {
      await writeFile(file, bytes.subarray(0, Math.floor(bytes.length * fraction)));
      const error = await readOnnxGraphOutline(file).catch((e: unknown) => e);
      expect(error, `cut at ${fraction}`).toBeInstanceOf(OnnxFormatError);
      expect((error as OnnxFormatError).kind).toBe('truncated');
    }
  });

  it('never accepts random bytes as a model', async () => {
    const file = path.join(root, 'random.onnx');
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 0, maxLength: 4096 }), async (bytes) => {
        await writeFile(file, bytes);
        const error = await readOnnxGraphOutline(file).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(OnnxFormatError);
      }),
      { numRuns: 300 },
    );
  });
});

describe('file hashes', () => {
  it('sha256 and git blob ids match the in-memory ones (git hash-object for "hello\\n")', async () => {
    const file = path.join(root, 'hello.txt');
    await writeFile(file, 'hello\n');
    expect(await gitBlobIdOfFile(file)).toBe('ce013625030ba8dba906f756967f9e9ca394464a');
    expect(gitBlobIdOf(Buffer.from('hello\n'))).toBe('ce013625030ba8dba906f756967f9e9ca394464a');
    expect(await sha256File(file)).toBe(sha256Of(Buffer.from('hello\n')));
    expect(await sha256File(file)).toBe('5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03');
  });
});

describe('inspectModelFolder', () => {
  it('accepts the demo model with the files the engine reads', async () => {
    const report = await inspectModelFolder(DEMO_MODEL_DIR);
    expect(report.refused).toEqual([]);
    expect(report.usable).toEqual([
      { dtype: 'fp32', files: ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'generation_config.json', 'onnx/model.onnx'], weightBytes: 525_754 },
    ]);
    expect(report.contextLength).toBe(2048);
  });

  it("reads the model's recommended sampling and a chat_template.jinja that stands in for a missing template", async () => {
    const dir = await demoCopy('template-file');
    const tokenizerConfig = JSON.parse(await readFile(path.join(dir, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
    delete tokenizerConfig['chat_template'];
    await writeFile(path.join(dir, 'tokenizer_config.json'), JSON.stringify(tokenizerConfig));
    await expect(verifyModelDtype(dir, 'fp32')).rejects.toMatchObject({ code: 'no_chat_template' });

    const template = "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}{% endfor %}<|assistant|>";
    await writeFile(path.join(dir, 'chat_template.jinja'), template);
    await writeFile(path.join(dir, 'generation_config.json'), JSON.stringify({ eos_token_id: 2, do_sample: true, temperature: 0.6, top_p: 0.9, top_k: -3 }));
    const verified = await verifyModelDtype(dir, 'fp32');
    expect(verified.chatTemplateFile).toBe(template);
    expect(verified.files).toContain('chat_template.jinja');
    expect(verified.generationDefaults).toEqual({ sampling: { temperature: 0.6, topP: 0.9 }, ignored: [{ key: 'top_k', reason: 'topK must be 0 (off) or more' }] });

    await writeFile(path.join(dir, 'chat_template.jinja'), '{% if %}');
    await expect(verifyModelDtype(dir, 'fp32')).rejects.toThrow("The model's chat template (in chat_template.jinja) cannot be used: it has a syntax error");
  });

  it('finds every dtype of a multi-dtype folder', async () => {
    const dir = path.join(root, 'multi');
    await makeModel({ preset: 'tiny', dtype: ['fp32', 'q8', 'q4'], outDir: dir });
    expect(await dtypesInFolder(dir)).toEqual(['fp32', 'q8', 'q4']);
    const report = await inspectModelFolder(dir);
    expect(report.usable.map((u) => u.dtype)).toEqual(['fp32', 'q8', 'q4']);
    expect(report.usable.find((u) => u.dtype === 'q8')!.files).toContain('onnx/model_quantized.onnx');
  });

  it('refuses each bad folder from the engine fixtures with its reason', async () => {
    const bad = await makeBadModelFolders();
    try {
      for (const folder of bad.folders) {
        const report = await inspectModelFolder(folder.dir);
        expect(report.usable, folder.name).toEqual([]);
        expect(report.refused[0]?.reason, folder.name).toMatch(folder.expect);
      }
    } finally {
      await bad.cleanup();
    }
  });

  it('requires the external data an ONNX graph points to, and refuses a pointer out of the folder', async () => {
    const dir = await demoCopy('external');
    const onnxFile = path.join(dir, 'onnx', 'model.onnx');
    const inputs = ['input_ids', 'attention_mask', 'past_key_values.0.key', 'past_key_values.0.value', 'past_key_values.1.key', 'past_key_values.1.value'];
    await writeFile(onnxFile, graphWithExternalData(inputs, 'model.onnx_weights'));
    await expect(verifyModelDtype(dir, 'fp32')).rejects.toThrow(/onnx\/model\.onnx_weights is missing .*the ONNX graph stores its weights there/);
    await writeFile(path.join(dir, 'onnx', 'model.onnx_weights'), Buffer.alloc(16));
    const verified = await verifyModelDtype(dir, 'fp32');
    expect(verified.files).toContain('onnx/model.onnx_weights');
    await writeFile(onnxFile, graphWithExternalData(inputs, '../../secrets'));
    await expect(verifyModelDtype(dir, 'fp32')).rejects.toThrow(/points its weights at "\.\.\/\.\.\/secrets", outside the model's onnx folder/);
  });

  it('refuses a graph without a KV cache and a model without an end-of-sequence token', async () => {
    const dir = await demoCopy('no-cache');
    await writeFile(path.join(dir, 'onnx', 'model.onnx'), graphWithExternalData(['input_ids'], 'model.onnx_data'));
    await writeFile(path.join(dir, 'onnx', 'model.onnx_data'), Buffer.alloc(16));
    await expect(verifyModelDtype(dir, 'fp32')).rejects.toThrow(/no past_key_values inputs/);

    const noEos = await demoCopy('no-eos');
    for (const file of ['config.json', 'generation_config.json']) {
      const json = JSON.parse(await readFile(path.join(noEos, file), 'utf8')) as Record<string, unknown>;
      delete json['eos_token_id'];
      await writeFile(path.join(noEos, file), JSON.stringify(json));
    }
    await expect(verifyModelDtype(noEos, 'fp32')).rejects.toThrow(/no end-of-sequence token/);
  });

  it('refuses graphs of another kind with what it found and what Jielong runs', async () => {
    const cache = ['past_key_values.0.key', 'past_key_values.0.value', 'past_key_values.1.key', 'past_key_values.1.value'];
    const kinds: Array<[string, string[], RegExp]> = [
      ['encoder-decoder', ['input_ids', 'encoder_hidden_states', 'encoder_attention_mask', ...cache], /the decoder half of an encoder-decoder model \(its graph takes encoder_hidden_states\)/],
      ['vision-language', ['input_ids', 'pixel_values', 'attention_mask', ...cache], /a vision-language model \(its graph takes pixel_values\)/],
      ['embeddings-in', ['inputs_embeds', 'attention_mask', ...cache], /takes embeddings from another graph/],
    ];
    for (const [name, inputs, found] of kinds) {
      const dir = await demoCopy(`kind-${name}`);
      await writeFile(path.join(dir, 'onnx', 'model.onnx'), graphWithExternalData(inputs, 'model.onnx_data'));
      await writeFile(path.join(dir, 'onnx', 'model.onnx_data'), Buffer.alloc(16));
      const report = await inspectModelFolder(dir);
      expect(report.usable, name).toEqual([]);
      expect(report.refused[0]?.reason, name).toMatch(found);
      expect(report.refused[0]?.reason, name).toContain('Jielong runs text-only decoder models');
    }
  });

  it('says the folder does not exist', async () => {
    await expect(inspectModelFolder(path.join(root, 'nope'))).rejects.toThrow(/No model folder at/);
  });
});
