import { cp, mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import onnxProto from 'onnx-proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeMirror } from '../../scripts/make-model/mirrors.ts';
import { sha256File } from './file-hash.ts';
import { rewriteOnnxForEngine } from './onnx-rewrite.ts';
import { OnnxFormatError, readOnnxGraphOutline } from './onnx-graph.ts';

const { onnx } = onnxProto;

let root: string;
let inline: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'jielong-external-data-'));
  inline = path.join(root, 'inline');
  // Qwen-shaped: a tied embedding, biases, GroupQueryAttention-free q4 MatMulNBits weights.
  await makeMirror({ catalogId: 'qwen2.5-0.5b-instruct', dtype: ['fp32', 'q4'], outDir: inline, seed: 3 });
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function copyWithoutOnnx(to: string): Promise<void> {
  await cp(inline, to, { recursive: true, filter: (file) => !file.endsWith('.onnx') });
}

function graphOf(bytes: Buffer): onnxProto.onnx.IGraphProto {
  return onnx.ModelProto.decode(bytes).graph ?? {};
}

describe('rewriteOnnxForEngine', () => {
  it.each(['fp32', 'q4'] as const)('%s: moves every large initializer, byte for byte and page-aligned, the graph otherwise unchanged', async (dtype) => {
    const file = dtype === 'fp32' ? 'model.onnx' : 'model_q4.onnx';
    const external = path.join(root, `external-${dtype}`);
    await copyWithoutOnnx(external);
    const result = await rewriteOnnxForEngine(path.join(inline, 'onnx', file), path.join(external, 'onnx', file), { minInlineBytes: 0, q4AccuracyLevel: null, lastPositionLogits: false });

    expect(result).not.toBeNull();
    expect(result!.data!.name).toBe(`${file}_data`);
    expect(result!.onnx.sha256).toBe(await sha256File(path.join(external, 'onnx', file)));
    expect(result!.data!.sha256).toBe(await sha256File(path.join(external, 'onnx', result!.data!.name)));
    expect((await readOnnxGraphOutline(path.join(external, 'onnx', file))).externalDataFiles).toEqual([result!.data!.name]);

    const beforeGraph = graphOf(await readFile(path.join(inline, 'onnx', file)));
    const afterGraph = graphOf(await readFile(path.join(external, 'onnx', file)));
    expect(JSON.stringify([afterGraph.node, afterGraph.input, afterGraph.output])).toBe(JSON.stringify([beforeGraph.node, beforeGraph.input, beforeGraph.output]));
    const before = beforeGraph.initializer ?? [];
    const after = afterGraph.initializer ?? [];
    const data = await readFile(path.join(external, 'onnx', result!.data!.name));
    expect(after.map((t) => t.name)).toEqual(before.map((t) => t.name));
    let moved = 0;
    for (const [i, tensor] of after.entries()) {
      const original = before[i]!;
      const raw = original.rawData ?? new Uint8Array();
      expect((tensor.dims ?? []).map(Number)).toEqual((original.dims ?? []).map(Number));
      expect(tensor.dataType).toBe(original.dataType);
      if (raw.length < 1024) {
        expect(Buffer.from(tensor.rawData ?? [])).toEqual(Buffer.from(raw));
        continue;
      }
      moved++;
      const entries = Object.fromEntries((tensor.externalData ?? []).map((e) => [e.key, e.value]));
      expect(tensor.dataLocation).toBe(onnx.TensorProto.DataLocation.EXTERNAL);
      expect(tensor.rawData?.length ?? 0).toBe(0);
      expect(entries.location).toBe(result!.data!.name);
      expect(Number(entries.offset) % 4096).toBe(0);
      expect(Number(entries.length)).toBe(raw.length);
      expect(data.subarray(Number(entries.offset), Number(entries.offset) + Number(entries.length)).equals(Buffer.from(raw))).toBe(true);
    }
    expect(moved).toBe(result!.movedTensors);
    expect(moved).toBeGreaterThan(10);
  });

  it('rewrites a file in place, and leaves a file that already uses external data or holds little where it is', async () => {
    const dir = path.join(root, 'in-place');
    await copyWithoutOnnx(dir);
    const file = path.join(dir, 'onnx', 'model_q4.onnx');
    await cp(path.join(inline, 'onnx', 'model_q4.onnx'), file);
    const original = await sha256File(file);

    expect(await rewriteOnnxForEngine(file, file, { minInlineBytes: Number.MAX_SAFE_INTEGER, q4AccuracyLevel: null, lastPositionLogits: false })).toBeNull();
    expect(await sha256File(file)).toBe(original);

    const result = await rewriteOnnxForEngine(file, file, { minInlineBytes: 0, q4AccuracyLevel: null, lastPositionLogits: false });
    expect(result?.onnx.sha256).toBe(await sha256File(file));
    expect(result!.onnx.size).toBeLessThan(result!.data!.size);
    const rewritten = await sha256File(file);
    expect(await rewriteOnnxForEngine(file, file, { minInlineBytes: 0, q4AccuracyLevel: null, lastPositionLogits: false })).toBeNull();
    expect(await sha256File(file)).toBe(rewritten);
    expect((await readdir(path.join(dir, 'onnx'))).sort()).toEqual(['model_q4.onnx', 'model_q4.onnx_data']);
  });

  it('refuses a file cut short or not protobuf, and writes nothing', async () => {
    const dir = path.join(root, 'broken');
    await copyWithoutOnnx(dir);
    const cut = path.join(dir, 'onnx', 'model.onnx');
    await cp(path.join(inline, 'onnx', 'model.onnx'), cut);
    await truncate(cut, 300_000);
    await expect(rewriteOnnxForEngine(cut, path.join(dir, 'onnx', 'out.onnx'), { minInlineBytes: 0 })).rejects.toThrow(OnnxFormatError);
    const junk = path.join(dir, 'onnx', 'junk.onnx');
    await writeFile(junk, Buffer.from([0x0f, 0xff, 0xff, 0xff]));
    await expect(rewriteOnnxForEngine(junk, path.join(dir, 'onnx', 'out.onnx'), { minInlineBytes: 0 })).rejects.toThrow(OnnxFormatError);
    expect((await readdir(path.join(dir, 'onnx'))).sort()).toEqual(['junk.onnx', 'model.onnx']);
  });

  it('sets accuracy_level 4 on 4-bit MatMulNBits nodes only, changing nothing else, with or without moving the weights', async () => {
    const nodes = async (file: string) => (graphOf(await readFile(file)).node ?? []).map((n) => ({ op: n.opType, attributes: Object.fromEntries((n.attribute ?? []).map((a) => [a.name, Number(a.i)])), inputs: n.input }));
    const dir = path.join(root, 'retuned');
    await copyWithoutOnnx(dir);
    const original = path.join(inline, 'onnx', 'model_q4.onnx');
    const before = await nodes(original);
    const q4Nodes = before.filter((n) => n.op === 'MatMulNBits' && n.attributes.bits === 4);
    expect(q4Nodes.length).toBeGreaterThan(5);
    expect(q4Nodes.every((n) => (n.attributes.accuracy_level ?? 0) === 0)).toBe(true);

    // Weights left inline (too few bytes to move): only the nodes change.
    const inlineTarget = path.join(dir, 'onnx', 'model_q4.onnx');
    const retuned = await rewriteOnnxForEngine(original, inlineTarget, { minInlineBytes: Infinity, lastPositionLogits: false });
    expect(retuned).toMatchObject({ data: null, movedTensors: 0, retunedNodes: q4Nodes.length });
    const after = await nodes(inlineTarget);
    expect(after.map((n) => ({ ...n, attributes: { ...n.attributes, accuracy_level: undefined } }))).toEqual(before.map((n) => ({ ...n, attributes: { ...n.attributes, accuracy_level: undefined } })));
    expect(after.filter((n) => n.op === 'MatMulNBits').map((n) => n.attributes.accuracy_level)).toEqual(q4Nodes.map(() => 4));
    expect(graphOf(await readFile(inlineTarget)).initializer).toEqual(graphOf(await readFile(original)).initializer);
    expect(await rewriteOnnxForEngine(inlineTarget, inlineTarget, { minInlineBytes: Infinity, lastPositionLogits: false })).toBeNull();

    // A file whose weights are already external: the graph is rewritten, the data file is not touched.
    const external = path.join(dir, 'onnx', 'external.onnx');
    const moved = await rewriteOnnxForEngine(original, external, { minInlineBytes: 0, q4AccuracyLevel: null, lastPositionLogits: false });
    const dataHash = await sha256File(path.join(dir, 'onnx', moved!.data!.name));
    expect(await rewriteOnnxForEngine(external, external, { minInlineBytes: 0, lastPositionLogits: false })).toMatchObject({ data: null, movedTensors: 0, retunedNodes: q4Nodes.length });
    expect(await sha256File(path.join(dir, 'onnx', moved!.data!.name))).toBe(dataHash);
    expect((await nodes(external)).filter((n) => n.op === 'MatMulNBits').every((n) => n.attributes.accuracy_level === 4)).toBe(true);

    // 8-bit MatMulNBits and float32 graphs have nothing to retune.
    expect(await rewriteOnnxForEngine(path.join(inline, 'onnx', 'model.onnx'), path.join(dir, 'onnx', 'fp32.onnx'), { minInlineBytes: Infinity, lastPositionLogits: false })).toBeNull();
  });

  it('slices the LM head input to the last position in a graph without num_logits_to_keep, and leaves a graph with it alone', async () => {
    const dir = path.join(root, 'sliced');
    await copyWithoutOnnx(dir);
    const target = path.join(dir, 'onnx', 'model.onnx');
    const result = await rewriteOnnxForEngine(path.join(inline, 'onnx', 'model.onnx'), target, { minInlineBytes: Infinity });
    expect(result).toMatchObject({ data: null, lastPositionLogits: true, retunedNodes: 0 });
    const graph = graphOf(await readFile(target));
    const head = graph.node!.find((n) => n.output!.includes('logits'))!;
    const slice = graph.node!.find((n) => n.opType === 'Slice' && n.output![0] === head.input![0])!;
    expect(slice).toBeDefined();
    const before = graphOf(await readFile(path.join(inline, 'onnx', 'model.onnx')));
    const originalHead = before.node!.find((n) => n.output!.includes('logits'))!;
    expect(slice.input![0]).toBe(originalHead.input![0]);
    expect(head.input!.slice(1)).toEqual(originalHead.input!.slice(1));
    const bounds = Object.fromEntries(graph.initializer!.filter((t) => slice.input!.includes(t.name!)).map((t) => [t.name, Buffer.from(t.rawData!).readBigInt64LE()]));
    expect(slice.input!.slice(1).map((name) => bounds[name])).toEqual([-1n, 0x7fffffffffffffffn, 1n]);
    expect(graph.node!.length).toBe(before.node!.length + 1);
    expect(await rewriteOnnxForEngine(target, target, { minInlineBytes: Infinity })).toBeNull();

    const keeps = path.join(root, 'keeps-logits');
    await makeMirror({ catalogId: 'llama-3.2-1b-instruct', dtype: 'fp32', outDir: keeps, seed: 3, numLogitsToKeep: true });
    const file = path.join(keeps, 'onnx', 'model.onnx');
    expect(await rewriteOnnxForEngine(file, file, { minInlineBytes: Infinity })).toBeNull();
  });
});
