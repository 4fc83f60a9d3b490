// How the family graphs quantize their linear weights, shared by family-graph.ts and
// family-reference.ts:
//   q4 / q4f16  MatMulNBits, 4 bits, block 32, symmetric (implicit zero point 8); q4f16 keeps
//               its scales in float16 (rounded before the codes are chosen).
//   q8          onnxruntime quantize_dynamic as transformers.js' quantize script runs it:
//               one scale per weight tensor; int8 symmetric (zero point 0) for plain-op graphs,
//               uint8 asymmetric when the graph holds GroupQueryAttention.
import { roundToFloat16 } from './family.ts';
import { quantizeBlockwise, QUANT_BLOCK_SIZE, zeroPoint, type BlockQuantized } from './weights.ts';

export function quantize4(rowsNK: Float32Array, n: number, k: number, float16Scales: boolean): BlockQuantized {
  if (!float16Scales) return quantizeBlockwise(rowsNK, n, k, 4);
  const blockSize = QUANT_BLOCK_SIZE;
  const kBlocks = Math.ceil(k / blockSize);
  const blobBytes = blockSize / 2;
  const packed = new Uint8Array(n * kBlocks * blobBytes);
  const scales = new Float32Array(n * kBlocks);
  const zp = zeroPoint(4);
  const codes = new Uint8Array(blockSize);
  for (let row = 0; row < n; row++) {
    for (let block = 0; block < kBlocks; block++) {
      const start = row * k + block * blockSize;
      const end = row * k + Math.min(k, (block + 1) * blockSize);
      let absMax = 0;
      for (let i = start; i < end; i++) absMax = Math.max(absMax, Math.abs(rowsNK[i] as number));
      const scale = roundToFloat16(absMax / (zp - 1));
      scales[row * kBlocks + block] = scale;
      codes.fill(zp);
      for (let i = start; i < end; i++) {
        const q = scale === 0 ? 0 : Math.round((rowsNK[i] as number) / scale);
        codes[i - start] = Math.max(-zp, Math.min(zp - 1, q)) + zp;
      }
      const blob = (row * kBlocks + block) * blobBytes;
      for (let j = 0; j < blobBytes; j++) packed[blob + j] = ((codes[2 * j] as number) & 0x0f) | (((codes[2 * j + 1] as number) & 0x0f) << 4);
    }
  }
  return { bits: 4, n, k, blockSize, kBlocks, packed, scales };
}

/** Round half to even, as onnxruntime's (and numpy's) quantizers round. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export interface Quant8Params {
  readonly signed: boolean;
  readonly scale: number;
  readonly zeroPoint: number;
}

/** Per-tensor 8-bit parameters from a weight's range (onnxruntime quantize_dynamic, per_channel off). */
export function quant8Params(min: number, max: number, signed: boolean): Quant8Params {
  const lo = Math.min(0, min);
  const hi = Math.max(0, max);
  if (signed) return { signed, scale: Math.fround(Math.max(-lo, hi) / 127) || 1, zeroPoint: 0 };
  const scale = Math.fround((hi - lo) / 255) || 1;
  return { signed, scale, zeroPoint: Math.max(0, Math.min(255, roundHalfEven(-lo / scale))) };
}

export function quant8Code(value: number, q: Quant8Params): number {
  const code = roundHalfEven(value / q.scale) + q.zeroPoint;
  return q.signed ? Math.max(-127, Math.min(127, code)) : Math.max(0, Math.min(255, code));
}

export function dequant8(value: number, q: Quant8Params): number {
  return Math.fround((quant8Code(value, q) - q.zeroPoint) * q.scale);
}
