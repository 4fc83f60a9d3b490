// Which tensors a preset has, how each is drawn from the seeded generator, and how the
// quantized variants store them. Shared by the ONNX writer and the TypeScript reference, so
// both see the same numbers.
import type { Architecture } from './presets.ts';
import { fillUniform, streamKey } from './rng.ts';

/**
 * How a linear weight is laid out. `kn` = [in, out], the layout ONNX MatMul multiplies by;
 * `nk` = [out, in], one row per output, the layout of the embedding table (which the tied LM
 * head multiplies by transposed) and of MatMulNBits' quantized rows.
 */
export type Layout = 'kn' | 'nk';

export interface WeightSpec {
  readonly name: string;
  readonly shape: readonly number[];
  readonly mean: number;
  readonly std: number;
  /** Linear weights are the ones q8/q4 quantize; norms stay fp32. */
  readonly kind: 'linear' | 'norm';
  readonly layout: Layout;
}

// Init scales. Linear weights and the embedding have std 1/sqrt(fan_in) (unit gain), the
// layers' RMSNorm weights are drawn around 1. A random Llama initialized like that still
// almost echoes its input: the residual stream stays close to the last token's embedding,
// and the tied LM head then scores that same token highest, forever. Drawing the final
// norm's weights around 0 instead (random signs per channel) turns the tied head into a
// random projection, so greedy decoding wanders through the vocabulary and follows the
// context ("greedy decoding babbles" in make-model.test.ts). Larger gains wander more but
// make the network so sensitive that q4 logits stop resembling fp32 ones.
const EMBED_GAIN = 1;
const LINEAR_GAIN = 1;
const LAYER_NORM = { mean: 1, std: 0.1 } as const;
const FINAL_NORM = { mean: 0, std: 1 } as const;

export function weightSpecs(arch: Architecture): WeightSpec[] {
  const { hiddenSize: h, numAttentionHeads: nh, numKeyValueHeads: nkv, headDim: d } = arch;
  const inter = arch.intermediateSize;
  const linear = (name: string, fanIn: number, fanOut: number): WeightSpec => ({
    name,
    shape: [fanIn, fanOut],
    mean: 0,
    std: LINEAR_GAIN / Math.sqrt(fanIn),
    kind: 'linear',
    layout: 'kn',
  });
  const norm = (name: string, init: { mean: number; std: number }): WeightSpec => ({ name, shape: [h], ...init, kind: 'norm', layout: 'kn' });

  const specs: WeightSpec[] = [
    {
      name: 'model.embed_tokens.weight',
      shape: [arch.vocabSize, h],
      mean: 0,
      std: EMBED_GAIN / Math.sqrt(h),
      kind: 'linear',
      layout: 'nk',
    },
  ];
  for (let layer = 0; layer < arch.numHiddenLayers; layer++) {
    const p = `model.layers.${layer}`;
    specs.push(
      norm(`${p}.input_layernorm.weight`, LAYER_NORM),
      linear(`${p}.self_attn.q_proj.weight`, h, nh * d),
      linear(`${p}.self_attn.k_proj.weight`, h, nkv * d),
      linear(`${p}.self_attn.v_proj.weight`, h, nkv * d),
      linear(`${p}.self_attn.o_proj.weight`, nh * d, h),
      norm(`${p}.post_attention_layernorm.weight`, LAYER_NORM),
      linear(`${p}.mlp.gate_proj.weight`, h, inter),
      linear(`${p}.mlp.up_proj.weight`, h, inter),
      linear(`${p}.mlp.down_proj.weight`, inter, h),
    );
  }
  specs.push(norm('model.norm.weight', FINAL_NORM));
  return specs;
}

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Values `offset .. offset + out.length - 1` (row-major over `spec.shape`) of one tensor. */
export function fillWeight(spec: WeightSpec, seed: number, offset: number, out: Float32Array): void {
  fillUniform(out, streamKey(seed, spec.name), offset, spec.mean, spec.std);
}

/** One whole tensor. Fine for anything but the largest tensors of big presets. */
export function generateWeight(spec: WeightSpec, seed: number): Float32Array {
  const out = new Float32Array(elementCount(spec.shape));
  fillWeight(spec, seed, 0, out);
  return out;
}

/** The rotary inverse frequencies, theta^(-2i/d), rounded to float32 once, here, for both writers. */
export function ropeInverseFrequencies(arch: Architecture): Float32Array {
  const half = arch.headDim / 2;
  const out = new Float32Array(half);
  for (let i = 0; i < half; i++) out[i] = 1 / arch.ropeTheta ** ((2 * i) / arch.headDim);
  return out;
}

// ---- Block quantization (com.microsoft MatMulNBits layout) ----------------------------------

export type QuantBits = 4 | 8;
/** 32 values share one scale: MatMulNBits' common block size, and 576 = 18 * 32. */
export const QUANT_BLOCK_SIZE = 32;

export interface BlockQuantized {
  readonly bits: QuantBits;
  /** Rows (outputs). */
  readonly n: number;
  /** Columns (inputs) before padding to whole blocks. */
  readonly k: number;
  readonly blockSize: number;
  readonly kBlocks: number;
  /** [n, kBlocks, blockSize * bits / 8]; 4-bit: element 2j in the low nibble of byte j. */
  readonly packed: Uint8Array;
  /** [n * kBlocks] */
  readonly scales: Float32Array;
}

/** The implicit zero point MatMulNBits uses when none is given: 2^(bits-1). */
export function zeroPoint(bits: QuantBits): number {
  return 1 << (bits - 1);
}

/**
 * Symmetric block quantization of an [n, k] row-major matrix: scale = max|w| / (2^(bits-1) - 1)
 * per block of `blockSize` values along k, q = round(w / scale) + zero point. The last block
 * of a row is padded with zeros (q = zero point) when k is not a multiple of the block size.
 */
export function quantizeBlockwise(rowsNK: Float32Array, n: number, k: number, bits: QuantBits): BlockQuantized {
  const blockSize = QUANT_BLOCK_SIZE;
  const kBlocks = Math.ceil(k / blockSize);
  const blobBytes = (blockSize * bits) / 8;
  const packed = new Uint8Array(n * kBlocks * blobBytes);
  const scales = new Float32Array(n * kBlocks);
  const zp = zeroPoint(bits);
  const qMax = zp - 1;
  const codes = new Uint8Array(blockSize);
  for (let row = 0; row < n; row++) {
    for (let block = 0; block < kBlocks; block++) {
      const start = row * k + block * blockSize;
      const end = row * k + Math.min(k, (block + 1) * blockSize);
      let absMax = 0;
      for (let i = start; i < end; i++) absMax = Math.max(absMax, Math.abs(rowsNK[i] as number));
      const scale = Math.fround(absMax / qMax);
      scales[row * kBlocks + block] = scale;
      codes.fill(zp);
      for (let i = start; i < end; i++) {
        const q = scale === 0 ? 0 : Math.round((rowsNK[i] as number) / scale);
        codes[i - start] = Math.max(-zp, Math.min(qMax, q)) + zp;
      }
      const blob = (row * kBlocks + block) * blobBytes;
      if (bits === 8) {
        packed.set(codes, blob);
      } else {
        for (let j = 0; j < blobBytes; j++) {
          packed[blob + j] = ((codes[2 * j] as number) & 0x0f) | (((codes[2 * j + 1] as number) & 0x0f) << 4);
        }
      }
    }
  }
  return { bits, n, k, blockSize, kBlocks, packed, scales };
}

/** The [n, k] matrix a BlockQuantized stands for: (q - zero point) * scale, in float32. */
export function dequantizeBlockwise(q: BlockQuantized): Float32Array {
  const out = new Float32Array(q.n * q.k);
  const zp = zeroPoint(q.bits);
  const blobBytes = (q.blockSize * q.bits) / 8;
  for (let row = 0; row < q.n; row++) {
    for (let col = 0; col < q.k; col++) {
      const block = Math.floor(col / q.blockSize);
      const within = col % q.blockSize;
      const blob = (row * q.kBlocks + block) * blobBytes;
      let code: number;
      if (q.bits === 8) {
        code = q.packed[blob + within] as number;
      } else {
        const byte = q.packed[blob + (within >> 1)] as number;
        code = within % 2 === 0 ? byte & 0x0f : byte >> 4;
      }
      out[row * q.k + col] = Math.fround((code - zp) * (q.scales[row * q.kBlocks + block] as number));
    }
  }
  return out;
}

/** Transposes a row-major [rows, cols] matrix. */
export function transpose(matrix: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(matrix.length);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) out[c * rows + r] = matrix[r * cols + c] as number;
  }
  return out;
}

/** A linear weight as [n, k] rows (transposing `kn` specs), ready for quantizeBlockwise. */
export function weightRowsNK(spec: WeightSpec, seed: number): { rows: Float32Array; n: number; k: number } {
  const values = generateWeight(spec, seed);
  const [first, second] = spec.shape as [number, number];
  if (spec.layout === 'nk') return { rows: values, n: first, k: second };
  return { rows: transpose(values, first, second), n: second, k: first };
}
