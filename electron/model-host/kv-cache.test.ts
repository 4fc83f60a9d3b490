// The cache buffers without a model: each simulated pass writes what a graph would (the
// concatenated cache, or the new positions in place), and what the next pass is fed must be
// exactly the positions held, across growth past a buffer's capacity and after crops.
import { Tensor } from '@huggingface/transformers';
import type * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { KvBuffers, restride, type CacheBinding, type CacheSlot } from './kv-cache.ts';

const HEADS = 3;
const HEAD_DIM = 2;
const slots: CacheSlot[] = [
  { name: 'past_key_values.0.key', output: 'present.0.key', type: 'float32', heads: HEADS, headDim: HEAD_DIM },
  { name: 'past_key_values.0.value', output: 'present.0.value', type: 'float32', heads: HEADS, headDim: HEAD_DIM },
];

/** The value a graph would store for (slot, head, position, element). */
const valueAt = (slot: number, head: number, position: number, element: number): number => slot * 1e6 + head * 1e4 + position * 10 + element;

/** Reads a [1, heads, rows, headDim] tensor's first `positions` positions as nested arrays. */
function positionsOf(tensor: ort.Tensor, positions: number): number[][][] {
  const rows = tensor.dims[2]!;
  const data = tensor.data as Float32Array;
  return Array.from({ length: HEADS }, (_, h) => Array.from({ length: positions }, (_, p) => Array.from(data.subarray((h * rows + p) * HEAD_DIM, (h * rows + p + 1) * HEAD_DIM))));
}

const expected = (slot: number, positions: number): number[][][] =>
  Array.from({ length: HEADS }, (_, h) => Array.from({ length: positions }, (_, p) => Array.from({ length: HEAD_DIM }, (_, e) => valueAt(slot, h, p, e))));

/** One forward pass as the graph does it: feeds `count` positions, checks the past it was given. */
function pass(kv: KvBuffers, count: number): void {
  const feeds: Record<string, ort.Tensor> = {};
  const fetches: Record<string, ort.Tensor | null> = {};
  const past = kv.length;
  kv.bind(count, feeds, fetches);
  slots.forEach((slot, s) => {
    const input = feeds[slot.name]!;
    const output = fetches[slot.output]!;
    expect(positionsOf(input, past)).toEqual(expected(s, past));
    const rows = output.dims[2]!;
    expect(rows).toBeGreaterThanOrEqual(past + count);
    const data = output.data as Float32Array;
    // concat: the graph writes the past again, then the new positions; shared: only the new ones.
    const from = kv.binding === 'concat' ? 0 : past;
    for (let h = 0; h < HEADS; h++) for (let p = from; p < past + count; p++) for (let e = 0; e < HEAD_DIM; e++) data[(h * rows + p) * HEAD_DIM + e] = valueAt(s, h, p, e);
  });
  kv.advance(count);
}

describe.each<CacheBinding>(['concat', 'shared'])('KvBuffers (%s)', (binding) => {
  it('feeds every held position, across growth, crops and resets', () => {
    const kv = new KvBuffers(slots, binding, 2048);
    pass(kv, 100);
    for (let i = 0; i < 300; i++) pass(kv, 1); // grows past 256 positions
    pass(kv, 200); // and again, by a multi-position pass
    expect(kv.length).toBe(600);
    kv.crop(37);
    pass(kv, 1);
    pass(kv, 5);
    expect(kv.length).toBe(43);
    kv.reset();
    pass(kv, 3);
    expect(kv.length).toBe(3);
  });

  it('binds the same memory as past and present only when shared', () => {
    const kv = new KvBuffers(slots, binding, 2048);
    pass(kv, 4);
    const feeds: Record<string, ort.Tensor> = {};
    const fetches: Record<string, ort.Tensor | null> = {};
    kv.bind(1, feeds, fetches);
    const same = (feeds[slots[0]!.name]!.data as Float32Array).buffer === (fetches[slots[0]!.output]!.data as Float32Array).buffer;
    expect(same).toBe(binding === 'shared');
    expect(feeds[slots[0]!.name]!.dims[2]).toBe(binding === 'shared' ? 256 : 4);
  });
});

describe('restride', () => {
  it('keeps the first positions of every head in place, exactly as Tensor.slice does', () => {
    const data = Float32Array.from({ length: 1 * 3 * 5 * 4 }, (_, i) => i);
    const sliced = new Tensor('float32', data.slice(), [1, 3, 5, 4]).slice(null, null, [0, 2], null);
    restride(data, data, 3, 4, 2, 5, 2);
    expect(Array.from(data.subarray(0, 3 * 2 * 4))).toEqual(Array.from(sliced.data as Float32Array));
  });

  it('moves float16 bits unchanged into longer rows', () => {
    const bits = Uint16Array.from({ length: 2 * 3 * 2 }, (_, i) => 0x3c00 + i);
    const into = new Uint16Array(2 * 4 * 2);
    restride(bits, into, 2, 2, 3, 3, 4);
    expect(Array.from(into)).toEqual([0x3c00, 0x3c01, 0x3c02, 0x3c03, 0x3c04, 0x3c05, 0, 0, 0x3c06, 0x3c07, 0x3c08, 0x3c09, 0x3c0a, 0x3c0b, 0, 0]);
  });
});
