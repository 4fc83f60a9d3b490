// The keys and values of the last request, kept for the next one. transformers.js does no
// prefix check on a reused cache, so this module does: it keeps the token ids the cache
// holds, and on a new prompt keeps only the longest common prefix (an edit, a regenerate or
// a branch switch changes the tail; a template may re-render history differently).
import * as ort from 'onnxruntime-node';

/** `past_key_values.N.key|value` -> the tensor to feed; float32 or float16 (Uint16Array bits). */
export type PastKeyValues = Record<string, ort.Tensor>;

export function commonPrefixLength(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

type TypedData = Float32Array | Uint16Array | Int8Array | Uint8Array;

/**
 * Keeps the first `keep` positions of a [batch, heads, sequence, headDim] cache tensor.
 * One block copy per (batch, head): Tensor.slice copies element by element, which took
 * ~0.5 s for a 30-layer model at 700 positions.
 */
export function cropSequence(tensor: ort.Tensor, keep: number): ort.Tensor {
  const [batch, heads, length, headDim] = tensor.dims as [number, number, number, number];
  if (tensor.dims.length !== 4 || keep > length) throw new Error(`Cannot crop a cache tensor of shape [${tensor.dims.join(', ')}] to ${keep}`);
  const source = tensor.data as TypedData;
  const Data = source.constructor as new (length: number) => TypedData;
  const out = new Data(batch * heads * keep * headDim);
  const block = keep * headDim;
  for (let i = 0; i < batch * heads; i++) {
    const from = i * length * headDim;
    out.set(source.subarray(from, from + block), i * block);
  }
  return new ort.Tensor(tensor.type as 'float32', out as Float32Array, [batch, heads, keep, headDim]);
}

export class PromptCache {
  private past: PastKeyValues | null = null;
  /** The tokens whose keys and values `past` holds, in order. */
  private ids: number[] = [];

  /** Token ids the cache currently holds. */
  get tokenIds(): readonly number[] {
    return this.ids;
  }

  get pastKeyValues(): PastKeyValues | undefined {
    return this.past ?? undefined;
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
    if (keep < this.ids.length && this.past) {
      for (const name of Object.keys(this.past)) {
        const tensor = this.past[name]!;
        this.past[name] = cropSequence(tensor, keep);
      }
      this.ids = this.ids.slice(0, keep);
    }
    return keep;
  }

  /** Takes the keys and values after a forward pass that fed `fedIds` after the cached tokens. */
  append(present: PastKeyValues, fedIds: readonly number[]): void {
    this.past = present;
    for (const id of fedIds) this.ids.push(id);
  }

  clear(): void {
    this.past = null;
    this.ids = [];
  }
}
