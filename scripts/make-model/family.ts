// Architectures of the catalog's model families (llama incl. Llama 3.2's rope scaling, qwen2,
// qwen3, gemma3_text) and the tensors each has. Shared by family-graph.ts (the ONNX writer)
// and family-reference.ts (the TypeScript forward pass), so both see the same numbers.
// The original `tiny`/`smollm2` presets keep their own path (graph.ts, weights.ts).
import type { Architecture } from './presets.ts';
import type { WeightSpec } from './weights.ts';

export const ARCH_KINDS = ['llama', 'qwen2', 'qwen3', 'gemma3_text'] as const;
export type ArchKind = (typeof ARCH_KINDS)[number];

/** Llama 3.x `rope_scaling` (rope_type "llama3"): rescales the inverse frequencies only. */
export interface Llama3RopeScaling {
  readonly ropeType: 'llama3';
  readonly factor: number;
  readonly lowFreqFactor: number;
  readonly highFreqFactor: number;
  readonly originalMaxPositionEmbeddings: number;
}

export interface FamilyArchitecture extends Architecture {
  readonly kind: ArchKind;
  readonly ropeScaling?: Llama3RopeScaling;
  /** gemma3_text: keys a local layer's query sees, itself included (HF: q - k < window; onnxruntime 1.30 GQA local_window_size, measured). */
  readonly slidingWindow?: number;
  /** gemma3_text: every n-th layer (1-based) is global; the others are local. */
  readonly slidingWindowPattern?: number;
  /** gemma3_text: rope base of the local layers (ropeTheta is the global layers'). */
  readonly ropeLocalTheta?: number;
  /** gemma3_text: attention scale is queryPreAttnScalar^-0.5 instead of headDim^-0.5. */
  readonly queryPreAttnScalar?: number;
}

export const hasQkvBias = (a: FamilyArchitecture): boolean => a.kind === 'qwen2';
export const hasQkNorm = (a: FamilyArchitecture): boolean => a.kind === 'qwen3' || a.kind === 'gemma3_text';
export const isGemma = (a: FamilyArchitecture): boolean => a.kind === 'gemma3_text';

/** gemma3_text: is layer i a sliding-window (local) layer? HF: (i + 1) % pattern != 0. */
export function isLocalLayer(a: FamilyArchitecture, layer: number): boolean {
  if (!isGemma(a) || !a.slidingWindowPattern) return false;
  return (layer + 1) % a.slidingWindowPattern !== 0;
}

/** The attention scale the graph and reference use. */
export function attentionScale(a: FamilyArchitecture): number {
  return 1 / Math.sqrt(a.queryPreAttnScalar ?? a.headDim);
}

// Init scales, as weights.ts explains: linear std 1/sqrt(fan_in), layer norms around 1 (gemma:
// w around 0, used as 1 + w), the final norm around 0 (gemma: 1 + w around 0) so that the tied
// head is a random projection and greedy decoding wanders.
const LAYER_NORM = { mean: 1, std: 0.1 } as const;
const GEMMA_LAYER_NORM = { mean: 0, std: 0.1 } as const;
const FINAL_NORM = { mean: 0, std: 1 } as const;
const GEMMA_FINAL_NORM = { mean: -1, std: 1 } as const;
const BIAS = { mean: 0, std: 0.5 } as const;

export type FamilyWeightKind = 'linear' | 'norm' | 'bias';
export interface FamilyWeightSpec extends WeightSpec {
  readonly role: FamilyWeightKind;
}

export function familyWeightSpecs(a: FamilyArchitecture): FamilyWeightSpec[] {
  const { hiddenSize: h, numAttentionHeads: nh, numKeyValueHeads: nkv, headDim: d } = a;
  const inter = a.intermediateSize;
  const gemma = isGemma(a);
  const layerNorm = gemma ? GEMMA_LAYER_NORM : LAYER_NORM;
  const linear = (name: string, fanIn: number, fanOut: number): FamilyWeightSpec => ({
    name,
    shape: [fanIn, fanOut],
    mean: 0,
    std: 1 / Math.sqrt(fanIn),
    kind: 'linear',
    layout: 'kn',
    role: 'linear',
  });
  const norm = (name: string, size: number, init: { mean: number; std: number }): FamilyWeightSpec => ({
    name,
    shape: [size],
    ...init,
    kind: 'norm',
    layout: 'kn',
    role: 'norm',
  });
  const bias = (name: string, size: number): FamilyWeightSpec => ({ name, shape: [size], ...BIAS, kind: 'norm', layout: 'kn', role: 'bias' });

  const specs: FamilyWeightSpec[] = [
    { name: 'model.embed_tokens.weight', shape: [a.vocabSize, h], mean: 0, std: 1 / Math.sqrt(h), kind: 'linear', layout: 'nk', role: 'linear' },
  ];
  for (let layer = 0; layer < a.numHiddenLayers; layer++) {
    const p = `model.layers.${layer}`;
    specs.push(
      norm(`${p}.input_layernorm.weight`, h, layerNorm),
      linear(`${p}.self_attn.q_proj.weight`, h, nh * d),
      linear(`${p}.self_attn.k_proj.weight`, h, nkv * d),
      linear(`${p}.self_attn.v_proj.weight`, h, nkv * d),
    );
    if (hasQkvBias(a)) {
      specs.push(bias(`${p}.self_attn.q_proj.bias`, nh * d), bias(`${p}.self_attn.k_proj.bias`, nkv * d), bias(`${p}.self_attn.v_proj.bias`, nkv * d));
    }
    if (hasQkNorm(a)) specs.push(norm(`${p}.self_attn.q_norm.weight`, d, layerNorm), norm(`${p}.self_attn.k_norm.weight`, d, layerNorm));
    specs.push(linear(`${p}.self_attn.o_proj.weight`, nh * d, h), norm(`${p}.post_attention_layernorm.weight`, h, layerNorm));
    if (gemma) {
      specs.push(norm(`${p}.pre_feedforward_layernorm.weight`, h, layerNorm), norm(`${p}.post_feedforward_layernorm.weight`, h, layerNorm));
    }
    specs.push(linear(`${p}.mlp.gate_proj.weight`, h, inter), linear(`${p}.mlp.up_proj.weight`, h, inter), linear(`${p}.mlp.down_proj.weight`, inter, h));
  }
  specs.push(norm('model.norm.weight', h, gemma ? GEMMA_FINAL_NORM : FINAL_NORM));
  return specs;
}

/** A norm weight as the graph multiplies by it: gemma's (1 + w), baked in as the genai builder does. */
export function effectiveNormWeight(a: FamilyArchitecture, raw: Float32Array): Float32Array {
  return isGemma(a) ? raw.map((w) => Math.fround(1 + w)) : raw;
}

/**
 * Inverse frequencies theta^(-2i/d) for a layer (gemma3: local layers use ropeLocalTheta),
 * with Llama 3's rope scaling applied (transformers' _compute_llama3_parameters), rounded to
 * float32 once, here.
 */
export function familyInverseFrequencies(a: FamilyArchitecture, layer = 0): Float32Array {
  const theta = isLocalLayer(a, layer) && a.ropeLocalTheta ? a.ropeLocalTheta : a.ropeTheta;
  const half = a.headDim / 2;
  const out = new Float32Array(half);
  const s = a.ropeScaling;
  for (let i = 0; i < half; i++) {
    let inv = 1 / theta ** ((2 * i) / a.headDim);
    if (s) {
      const lowFreqWavelen = s.originalMaxPositionEmbeddings / s.lowFreqFactor;
      const highFreqWavelen = s.originalMaxPositionEmbeddings / s.highFreqFactor;
      const wavelen = (2 * Math.PI) / inv;
      if (wavelen > lowFreqWavelen) {
        inv = inv / s.factor;
      } else if (wavelen >= highFreqWavelen) {
        const smooth = (s.originalMaxPositionEmbeddings / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
        inv = (1 - smooth) * (inv / s.factor) + smooth * inv;
      }
    }
    out[i] = inv;
  }
  return out;
}

/**
 * cos/sin caches [maxPositions, headDim / 2] as GroupQueryAttention and RotaryEmbedding take
 * them: angle = float32(position * inverse frequency), as the reference computes it.
 */
export function rotaryCaches(inverseFrequencies: Float32Array, maxPositions: number): { cos: Float32Array; sin: Float32Array } {
  const half = inverseFrequencies.length;
  const cos = new Float32Array(maxPositions * half);
  const sin = new Float32Array(maxPositions * half);
  for (let p = 0; p < maxPositions; p++) {
    for (let i = 0; i < half; i++) {
      const angle = Math.fround(p * (inverseFrequencies[i] as number));
      cos[p * half + i] = Math.cos(angle);
      sin[p * half + i] = Math.sin(angle);
    }
  }
  return { cos, sin };
}

// ---- float16 ---------------------------------------------------------------------------------

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE binary16 bits of a number, round to nearest even (as numpy's astype(float16)). */
export function toFloat16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0] as number;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && (half & 1))) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  // A carry out of the mantissa rounds up into the exponent (up to infinity), as it should.
  if (rem > 0x1000 || (rem === 0x1000 && (half & 1))) half++;
  return sign | half;
}

export function fromFloat16Bits(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >>> 10) & 0x1f;
  const mant = bits & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

export const roundToFloat16 = (value: number): number => fromFloat16Bits(toFloat16Bits(value));

export function float16Array(values: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = toFloat16Bits(values[i] as number);
  return out;
}
