// The keys and values of the positions fed so far, kept in buffers that live across tokens
// and requests. onnxruntime-node writes outputs into tensors handed to it as fetches, so no
// pass allocates its cache outputs: a GroupQueryAttention graph reads and writes one buffer in
// place (the op shares past and present when both are the same memory); a graph that
// concatenates (present = past + new) reads one buffer and writes the other, and they swap.
//
// The prompt cache on top keeps the token ids those positions hold. transformers.js does no
// prefix check on a reused cache, so this module does: on a new prompt it keeps only the
// longest common prefix (an edit, a regenerate or a branch switch changes the tail; a template
// may re-render history differently).
import * as ort from 'onnxruntime-node';

export type CacheDtype = 'float32' | 'float16';

/** One `past_key_values.N.key|value` input and the `present.N.key|value` output that continues it. */
export interface CacheSlot {
  name: string;
  output: string;
  type: CacheDtype;
  heads: number;
  headDim: number;
}

/**
 * `shared`: one [1, heads, capacity, headDim] buffer per slot, bound as past and present
 * (GroupQueryAttention writes the new positions in place and reads the length from the mask).
 * `concat`: two buffers per slot holding [1, heads, length, headDim] packed; a pass reads one
 * and writes the other, one position longer.
 */
export type CacheBinding = 'shared' | 'concat';

type CacheData = Float32Array | Uint16Array;

/** Buffers grow by whole steps of this many positions, so a long answer reallocates rarely. */
const GROWTH_POSITIONS = 256;

export function commonPrefixLength(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

/**
 * Moves each head's first `keep` positions from rows `fromStride` long to rows `toStride`
 * long, one block copy per head. Shrinking (toStride < fromStride) works in place; growing
 * writes into `to`.
 */
export function restride(from: CacheData, to: CacheData, heads: number, headDim: number, keep: number, fromStride: number, toStride: number): void {
  const block = keep * headDim;
  if (from === to) {
    if (toStride > fromStride) throw new Error('restride: growing rows needs a new buffer');
    for (let h = 1; h < heads; h++) to.copyWithin(h * toStride * headDim, h * fromStride * headDim, h * fromStride * headDim + block);
    return;
  }
  for (let h = 0; h < heads; h++) to.set(from.subarray(h * fromStride * headDim, h * fromStride * headDim + block), h * toStride * headDim);
}

const newData = (type: CacheDtype, length: number): CacheData => (type === 'float16' ? new Uint16Array(length) : new Float32Array(length));

/** The cache's keys and values, and how the next forward pass binds them. */
export class KvBuffers {
  /** Positions held. */
  length = 0;
  private capacity = 0;
  /** [buffer][slot]: `shared` uses buffer 0 only; `concat` reads `current` and writes the other. */
  private data: CacheData[][] = [[], []];
  private current = 0;
  /** `shared`: the full-capacity tensors, rebuilt only when the buffers grow. */
  private sharedTensors: ort.Tensor[] = [];

  constructor(
    readonly slots: readonly CacheSlot[],
    readonly binding: CacheBinding,
    /** The model's context: no buffer grows past it. */
    private readonly maxPositions: number,
  ) {}

  /** Adds the past inputs to `feeds` and the present outputs to `fetches` for a pass that feeds `count` positions. */
  bind(count: number, feeds: Record<string, ort.Tensor>, fetches: Record<string, ort.Tensor | null>): void {
    this.reserve(this.length + count);
    const total = this.length + count;
    this.slots.forEach((slot, i) => {
      if (this.binding === 'shared') {
        feeds[slot.name] = this.sharedTensors[i]!;
        fetches[slot.output] = this.sharedTensors[i]!;
        return;
      }
      const size = slot.heads * slot.headDim;
      feeds[slot.name] = this.view(slot, this.data[this.current]![i]!, this.length, size);
      fetches[slot.output] = this.view(slot, this.data[1 - this.current]![i]!, total, size);
    });
  }

  /** After a pass bound with `bind(count)` ran: its positions are now held. */
  advance(count: number): void {
    if (this.binding === 'concat') this.current = 1 - this.current;
    this.length += count;
  }

  /** Keeps the first `keep` positions. */
  crop(keep: number): void {
    if (keep > this.length) throw new Error(`Cannot crop a cache of ${this.length} positions to ${keep}`);
    if (this.binding === 'concat') {
      this.slots.forEach((slot, i) => {
        const data = this.data[this.current]![i]!;
        restride(data, data, slot.heads, slot.headDim, keep, this.length, keep);
      });
    }
    this.length = keep;
  }

  /** Forgets every position; the buffers stay for the next request. */
  reset(): void {
    this.length = 0;
  }

  private view(slot: CacheSlot, data: CacheData, positions: number, size: number): ort.Tensor {
    return new ort.Tensor(slot.type, data.subarray(0, positions * size) as Float32Array, [1, slot.heads, positions, slot.headDim]);
  }

  private reserve(positions: number): void {
    if (positions <= this.capacity) return;
    const capacity = Math.max(positions, Math.min(this.maxPositions, Math.ceil(positions / GROWTH_POSITIONS) * GROWTH_POSITIONS));
    const grown: CacheData[][] = [[], []];
    this.slots.forEach((slot, i) => {
      const size = slot.heads * capacity * slot.headDim;
      const held = this.data[this.current]![i];
      const into = newData(slot.type, size);
      // shared: rows are `capacity` long, so they move; concat: rows are `length` long, packed.
      if (held && this.length > 0) {
        if (this.binding === 'shared') restride(held, into, slot.heads, slot.headDim, this.length, this.capacity, capacity);
        else into.set(held.subarray(0, slot.heads * this.length * slot.headDim));
      }
      grown[0]!.push(into);
      if (this.binding === 'concat') grown[1]!.push(newData(slot.type, size));
    });
    this.data = grown;
    this.current = 0;
    this.capacity = capacity;
    if (this.binding === 'shared') {
      this.sharedTensors = this.slots.map((slot, i) => new ort.Tensor(slot.type, this.data[0]![i]! as Float32Array, [1, slot.heads, capacity, slot.headDim]));
    }
  }
}

export class PromptCache {
  /** The tokens whose keys and values the buffers hold, in order. */
  private ids: number[] = [];

  constructor(readonly kv: KvBuffers) {}

  /** Token ids the cache currently holds. */
  get tokenIds(): readonly number[] {
    return this.ids;
  }

  /**
   * Makes the cache a prefix of `promptIds` and returns its length. At least one prompt token
   * is always left to feed, because the next token's logits come from the last fed position.
   */
  reuseFor(promptIds: readonly number[]): number {
    const keep = Math.min(commonPrefixLength(this.ids, promptIds), promptIds.length - 1);
    if (keep <= 0) {
      this.clear();
      return 0;
    }
    if (keep < this.ids.length) {
      this.kv.crop(keep);
      this.ids = this.ids.slice(0, keep);
    }
    return keep;
  }

  /** Records the ids a forward pass just fed (its keys and values are in the buffers). */
  append(fedIds: readonly number[]): void {
    for (const id of fedIds) this.ids.push(id);
  }

  clear(): void {
    this.kv.reset();
    this.ids = [];
  }
}
