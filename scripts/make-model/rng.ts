// Seeded, counter-based random numbers for synthetic weights.
//
// Value i of a tensor depends only on (seed, tensor name, i), never on how many values were
// drawn before it. So the ONNX writer can fill a 100 MB tensor in small chunks, the
// TypeScript reference can regenerate one tensor alone, and both get the same bits.

/** murmur3's 32-bit finalizer: a cheap, well-mixed bijection on uint32. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** FNV-1a over the UTF-16 code units of a string, finalized by fmix32. */
function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return fmix32(h >>> 0);
}

/** The key of one tensor's stream of numbers. */
export function streamKey(seed: number, name: string): number {
  return hashString(`${seed >>> 0}/${name}`);
}

/** The i-th uint32 of a stream. Two rounds of mixing so that nearby i are unrelated. */
export function streamUint32(key: number, index: number): number {
  return fmix32(fmix32((key + Math.imul(index, 0x9e3779b9)) >>> 0) ^ key);
}

/**
 * Fills `out` with values `offset .. offset + out.length - 1` of the stream `key`, drawn
 * uniformly from [-1, 1) and multiplied by `std * sqrt(3)` so that their standard deviation is
 * `std`, then added to `mean`. Uniform rather than normal: no transcendental functions, so the
 * bits cannot depend on a platform's libm.
 */
export function fillUniform(out: Float32Array, key: number, offset: number, mean: number, std: number): void {
  const scale = std * Math.sqrt(3);
  for (let i = 0; i < out.length; i++) {
    // 24 random bits -> [0, 1), exactly representable.
    const unit = (streamUint32(key, offset + i) >>> 8) / 16777216;
    out[i] = mean + (unit * 2 - 1) * scale;
  }
}
