// A plain TypeScript forward pass of the family architectures (family.ts), over the same
// seeded weights family-graph.ts writes, for any graph style: they all compute the same model.
// Batch of one, no padding, float64 accumulation; for tiny sizes only.
//
// What each dtype's reference holds the graph to:
//   fp32      the weights as generated.
//   q4        the weights quantized to 4 bits and dequantized (MatMulNBits at accuracy 0
//             dequantizes and multiplies in fp32): equal to float rounding.
//   q8        per-tensor 8-bit weights, and each linear layer's input quantized per call the
//             way DynamicQuantizeLinear does it (uint8, range including 0): equal up to rare
//             rounding ties.
//   fp16      the weights rounded to float16; the graph also computes in float16, which this
//   q4f16     reference does not: compare with a looser bound.
import {
  attentionScale,
  effectiveNormWeight,
  familyInverseFrequencies,
  familyWeightSpecs,
  hasQkNorm,
  isGemma,
  isLocalLayer,
  roundToFloat16,
  type FamilyArchitecture,
} from './family.ts';
import type { FamilyDtype } from './family-graph.ts';
import { dequant8, quant8Params, quantize4, roundHalfEven } from './family-quant.ts';
import { dequantizeBlockwise, generateWeight, transpose, weightRowsNK } from './weights.ts';

export interface FamilyReferenceOptions {
  readonly dtype?: FamilyDtype;
  /** q8 only: int8 symmetric weights (plain-op graphs) or uint8 asymmetric (GQA graphs). */
  readonly signedQ8?: boolean;
  /** Added to 0-based positions before the rotary embedding (1 for the gemma3 no-mask graph, which transformers.js feeds 1-based position_ids). */
  readonly positionOffset?: number;
}

export interface FamilyReferenceCache {
  /** [layer][kvHead] flattened [position][headDim]. */
  readonly keys: number[][][];
  readonly values: number[][][];
  length: number;
}

export function emptyFamilyCache(arch: FamilyArchitecture): FamilyReferenceCache {
  const perLayer = (): number[][] => Array.from({ length: arch.numKeyValueHeads }, () => []);
  return { keys: Array.from({ length: arch.numHiddenLayers }, perLayer), values: Array.from({ length: arch.numHiddenLayers }, perLayer), length: 0 };
}

function matVec(x: ArrayLike<number>, w: Float32Array, k: number, n: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < k; i++) {
    const xi = x[i] as number;
    if (xi === 0) continue;
    const row = i * n;
    for (let j = 0; j < n; j++) out[j] = (out[j] as number) + xi * (w[row + j] as number);
  }
  return out;
}

function rmsNorm(x: ArrayLike<number>, weight: Float32Array, eps: number): Float64Array {
  let sumSquares = 0;
  for (let i = 0; i < x.length; i++) sumSquares += (x[i] as number) ** 2;
  const inverse = 1 / Math.sqrt(sumSquares / x.length + eps);
  return Float64Array.from({ length: x.length }, (_, i) => (x[i] as number) * inverse * (weight[i] as number));
}

function rotate(head: ArrayLike<number>, position: number, inverseFrequencies: Float32Array): Float64Array {
  const half = head.length / 2;
  const out = new Float64Array(head.length);
  for (let i = 0; i < half; i++) {
    const angle = Math.fround(position * (inverseFrequencies[i] as number));
    const cos = Math.fround(Math.cos(angle));
    const sin = Math.fround(Math.sin(angle));
    const a = head[i] as number;
    const b = head[i + half] as number;
    out[i] = a * cos - b * sin;
    out[i + half] = b * cos + a * sin;
  }
  return out;
}

/** DynamicQuantizeLinear's round trip of a whole tensor (all rows of one call). */
function dynamicQuantize(rows: readonly Float64Array[]): Float64Array[] {
  let min = 0;
  let max = 0;
  for (const row of rows) {
    for (const v of row) {
      min = Math.min(min, Math.fround(v));
      max = Math.max(max, Math.fround(v));
    }
  }
  const scale = Math.fround((max - min) / 255);
  if (scale === 0) return rows.map((r) => Float64Array.from(r));
  const zp = Math.max(0, Math.min(255, roundHalfEven(-min / scale)));
  return rows.map((row) => row.map((v) => (Math.max(0, Math.min(255, roundHalfEven(Math.fround(v) / scale) + zp)) - zp) * scale));
}

const geluTanh = (x: number): number => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));

export class FamilyReference {
  private readonly weights = new Map<string, Float32Array>();
  readonly dtype: FamilyDtype;
  private readonly positionOffset: number;

  constructor(
    readonly arch: FamilyArchitecture,
    seed: number,
    options: FamilyReferenceOptions = {},
  ) {
    this.dtype = options.dtype ?? 'fp32';
    this.positionOffset = options.positionOffset ?? 0;
    const half = this.dtype === 'fp16' || this.dtype === 'q4f16';
    const toHalf = (values: Float32Array): Float32Array => (half ? values.map(roundToFloat16) : values);
    for (const spec of familyWeightSpecs(arch)) {
      if (spec.role === 'norm') {
        this.weights.set(spec.name, toHalf(effectiveNormWeight(arch, generateWeight(spec, seed))));
      } else if (spec.role === 'bias' || spec.layout === 'nk' || this.dtype === 'fp32' || this.dtype === 'fp16') {
        // Biases, and the embedding (the tied head too), are never quantized.
        this.weights.set(spec.name, toHalf(generateWeight(spec, seed)));
      } else if (this.dtype === 'q8') {
        const values = generateWeight(spec, seed);
        let min = 0;
        let max = 0;
        for (const v of values) {
          min = Math.min(min, v);
          max = Math.max(max, v);
        }
        const params = quant8Params(min, max, options.signedQ8 ?? true);
        this.weights.set(spec.name, values.map((v) => dequant8(v, params)));
      } else {
        const { rows, n, k } = weightRowsNK(spec, seed);
        const restored = dequantizeBlockwise(quantize4(rows, n, k, half));
        this.weights.set(spec.name, transpose(restored, n, k));
      }
    }
  }

  private w(name: string): Float32Array {
    const value = this.weights.get(name);
    if (!value) throw new Error(`reference: no weight named ${name}`);
    return value;
  }

  private linear(rows: readonly Float64Array[], name: string): Float64Array[] {
    const weight = this.w(name);
    const k = rows[0]?.length ?? 0;
    const n = weight.length / k;
    const inputs = this.dtype === 'q8' ? dynamicQuantize(rows) : rows;
    const bias = this.weights.get(name.replace(/\.weight$/, '.bias'));
    return inputs.map((x) => {
      const out = matVec(x, weight, k, n);
      if (bias) for (let j = 0; j < n; j++) out[j] = (out[j] as number) + (bias[j] as number);
      return out;
    });
  }

  /** Runs `tokenIds` after what `cache` holds, appends their keys/values, returns one logits row per token. */
  forward(tokenIds: readonly number[], cache: FamilyReferenceCache = emptyFamilyCache(this.arch)): Float32Array[] {
    const a = this.arch;
    const { hiddenSize: h, headDim: d, numAttentionHeads: nh, numKeyValueHeads: nkv } = a;
    const group = nh / nkv;
    const gemma = isGemma(a);
    const eps = a.rmsNormEps;
    const embed = this.w('model.embed_tokens.weight');
    const past = cache.length;
    const embedScale = gemma ? Math.fround(Math.sqrt(h)) : 1;
    let hidden = tokenIds.map((id) => {
      if (!Number.isInteger(id) || id < 0 || id >= a.vocabSize) throw new Error(`reference: token id ${id} out of range`);
      return Float64Array.from(embed.subarray(id * h, (id + 1) * h), (v) => v * embedScale);
    });
    const scale = attentionScale(a);

    for (let layer = 0; layer < a.numHiddenLayers; layer++) {
      const p = `model.layers.${layer}`;
      const w = (name: string): Float32Array => this.w(`${p}.${name}`);
      const inverse = familyInverseFrequencies(a, layer);
      const window = isLocalLayer(a, layer) ? (a.slidingWindow ?? Infinity) : Infinity;
      const layerKeys = cache.keys[layer] as number[][];
      const layerValues = cache.values[layer] as number[][];

      const normed = hidden.map((x) => rmsNorm(x, w('input_layernorm.weight'), eps));
      const qs = this.linear(normed, `${p}.self_attn.q_proj.weight`);
      const ks = this.linear(normed, `${p}.self_attn.k_proj.weight`);
      const vs = this.linear(normed, `${p}.self_attn.v_proj.weight`);
      const headOf = (x: Float64Array, head: number, which: 'q' | 'k', position: number): Float64Array => {
        let vector: Float64Array = x.subarray(head * d, (head + 1) * d);
        if (hasQkNorm(a)) vector = rmsNorm(vector, w(`self_attn.${which}_norm.weight`), eps);
        return rotate(vector, position + this.positionOffset, inverse);
      };
      const queries = qs.map((q, s) => Array.from({ length: nh }, (_, head) => headOf(q, head, 'q', past + s)));
      ks.forEach((k, s) => {
        for (let head = 0; head < nkv; head++) {
          (layerKeys[head] as number[]).push(...headOf(k, head, 'k', past + s));
          (layerValues[head] as number[]).push(...(vs[s] as Float64Array).subarray(head * d, (head + 1) * d));
        }
      });

      const contexts = hidden.map((_, s) => {
        const position = past + s;
        const first = Math.max(0, position - window + 1);
        const context = new Float64Array(nh * d);
        for (let head = 0; head < nh; head++) {
          const keys = layerKeys[Math.floor(head / group)] as number[];
          const values = layerValues[Math.floor(head / group)] as number[];
          const q = (queries[s] as Float64Array[])[head] as Float64Array;
          const scores: number[] = [];
          for (let t = first; t <= position; t++) {
            let dot = 0;
            for (let i = 0; i < d; i++) dot += (q[i] as number) * (keys[t * d + i] as number);
            scores.push(dot * scale);
          }
          const max = Math.max(...scores);
          const exps = scores.map((x) => Math.exp(x - max));
          const total = exps.reduce((x, y) => x + y, 0);
          exps.forEach((e, j) => {
            const t = first + j;
            for (let i = 0; i < d; i++) context[head * d + i] = (context[head * d + i] as number) + (e / total) * (values[t * d + i] as number);
          });
        }
        return context;
      });
      let attended = this.linear(contexts, `${p}.self_attn.o_proj.weight`);
      if (gemma) attended = attended.map((x) => rmsNorm(x, w('post_attention_layernorm.weight'), eps));
      const afterAttention = hidden.map((x, s) => x.map((v, i) => v + ((attended[s] as Float64Array)[i] as number)));
      const mlpIn = afterAttention.map((x) => rmsNorm(x, w(gemma ? 'pre_feedforward_layernorm.weight' : 'post_attention_layernorm.weight'), eps));
      const gates = this.linear(mlpIn, `${p}.mlp.gate_proj.weight`);
      const ups = this.linear(mlpIn, `${p}.mlp.up_proj.weight`);
      const activated = gates.map((gate, s) =>
        gate.map((g, i) => (gemma ? geluTanh(g) : g / (1 + Math.exp(-g))) * ((ups[s] as Float64Array)[i] as number)),
      );
      let down = this.linear(activated, `${p}.mlp.down_proj.weight`);
      if (gemma) down = down.map((x) => rmsNorm(x, w('post_feedforward_layernorm.weight'), eps));
      hidden = afterAttention.map((x, s) => x.map((v, i) => v + ((down[s] as Float64Array)[i] as number)));
    }
    cache.length = past + tokenIds.length;

    const finalNorm = this.w('model.norm.weight');
    return hidden.map((x) => {
      const normed = rmsNorm(x, finalNorm, eps);
      const logits = new Float32Array(a.vocabSize);
      for (let token = 0; token < a.vocabSize; token++) {
        let dot = 0;
        const row = token * h;
        for (let i = 0; i < h; i++) dot += (normed[i] as number) * (embed[row + i] as number);
        logits[token] = dot;
      }
      return logits;
    });
  }
}
