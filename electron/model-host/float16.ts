// IEEE 754 half-precision to single-precision, for float16 logits. Node 20 has no
// Float16Array: onnxruntime-node hands float16 tensors over as raw Uint16Array bits.

let table: Float32Array | null = null;

function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24; // zero and subnormals
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : NaN;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/** All 65,536 values once (256 KB): a lookup per element beats bit arithmetic per element. */
function halfTable(): Float32Array {
  if (!table) {
    table = new Float32Array(0x10000);
    for (let bits = 0; bits < 0x10000; bits++) table[bits] = halfToFloat(bits);
  }
  return table;
}

/** Converts into `out` when given (it must be as long as `bits`). */
export function float16ToFloat32(bits: Uint16Array, out = new Float32Array(bits.length)): Float32Array {
  const lookup = halfTable();
  for (let i = 0; i < bits.length; i++) out[i] = lookup[bits[i]!]!;
  return out;
}
