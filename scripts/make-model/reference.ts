// A plain TypeScript forward pass of the synthetic Llama, over the same seeded weights the
// ONNX writer streams out. Tests hold the ONNX graph to it. Batch of one, no padding, float64
// accumulation; meant for the tiny preset (it is a few hundred times slower than onnxruntime).
import type { Architecture } from './presets.ts';
import {
  dequantizeBlockwise,
  generateWeight,
  quantizeBlockwise,
  ropeInverseFrequencies,
  transpose,
  weightRowsNK,
  weightSpecs,
  type QuantBits,
} from './weights.ts';

export type ReferenceDtype = 'fp32' | 'q8' | 'q4';

const BITS: Record<Exclude<ReferenceDtype, 'fp32'>, QuantBits> = { q8: 8, q4: 4 };

/** Weights by name, in the layouts of weightSpecs(); for q8/q4 the dequantized values. */
export type ReferenceWeights = ReadonlyMap<string, Float32Array>;

export function loadReferenceWeights(arch: Architecture, seed: number, dtype: ReferenceDtype = 'fp32'): ReferenceWeights {
  const weights = new Map<string, Float32Array>();
  for (const spec of weightSpecs(arch)) {
    if (dtype === 'fp32' || spec.kind === 'norm') {
      weights.set(spec.name, generateWeight(spec, seed));
      continue;
    }
    // What the quantized graph computes with: quantize the [n, k] rows, dequantize, and put
    // them back in the spec's layout.
    const { rows, n, k } = weightRowsNK(spec, seed);
    const restored = dequantizeBlockwise(quantizeBlockwise(rows, n, k, BITS[dtype]));
    weights.set(spec.name, spec.layout === 'nk' ? restored : transpose(restored, n, k));
  }
  return weights;
}

/** Keys and values per layer, [kvHeads][position][headDim] flattened per head. */
export interface ReferenceCache {
  readonly keys: number[][][];
  readonly values: number[][][];
  length: number;
}

export function emptyReferenceCache(arch: Architecture): ReferenceCache {
  const perLayer = (): number[][] => Array.from({ length: arch.numKeyValueHeads }, () => []);
  return {
    keys: Array.from({ length: arch.numHiddenLayers }, perLayer),
    values: Array.from({ length: arch.numHiddenLayers }, perLayer),
    length: 0,
  };
}

function tensor(weights: ReferenceWeights, name: string): Float32Array {
  const value = weights.get(name);
  if (!value) throw new Error(`reference: no weight named ${name}`);
  return value;
}

/** x [k] times w [k, n] (row-major) -> [n]. */
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

function rmsNorm(x: Float64Array, weight: Float32Array, eps: number): Float64Array {
  let sumSquares = 0;
  for (let i = 0; i < x.length; i++) sumSquares += (x[i] as number) ** 2;
  const inverse = 1 / Math.sqrt(sumSquares / x.length + eps);
  return x.map((value, i) => value * inverse * (weight[i] as number));
}

/** Llama's rotate-half rotary embedding of one head vector, in place semantics returned anew. */
function rotate(head: Float64Array, position: number, inverseFrequencies: Float32Array): Float64Array {
  const half = head.length / 2;
  const out = new Float64Array(head.length);
  for (let i = 0; i < half; i++) {
    // onnxruntime multiplies in float32; round the angle the same way.
    const angle = Math.fround(position * (inverseFrequencies[i] as number));
    const cos = Math.cos(angle);
    const sin = Math.sin(angle);
    const a = head[i] as number;
    const b = head[i + half] as number;
    out[i] = a * cos - b * sin;
    out[i + half] = b * cos + a * sin;
  }
  return out;
}

export class ReferenceModel {
  private readonly inverseFrequencies: Float32Array;

  constructor(
    readonly arch: Architecture,
    private readonly weights: ReferenceWeights,
  ) {
    this.inverseFrequencies = ropeInverseFrequencies(arch);
  }

  /**
   * The model an ONNX file of this dtype computes, as far as its weights go: q4 matches it to
   * float rounding; q8 also rounds activations to int8 inside MatMulNBits (see graph.ts).
   */
  static forDtype(arch: Architecture, seed: number, dtype: ReferenceDtype): ReferenceModel {
    return new ReferenceModel(arch, loadReferenceWeights(arch, seed, dtype));
  }

  /**
   * Runs `tokenIds` after whatever `cache` holds (positions continue from cache.length), appends
   * their keys and values to `cache`, and returns one row of logits per token.
   */
  forward(tokenIds: readonly number[], cache: ReferenceCache = emptyReferenceCache(this.arch)): Float32Array[] {
    const a = this.arch;
    const { hiddenSize: h, headDim: d, numAttentionHeads: nh, numKeyValueHeads: nkv } = a;
    const group = nh / nkv;
    const embed = tensor(this.weights, 'model.embed_tokens.weight');
    const past = cache.length;

    let hidden = tokenIds.map((id) => {
      if (!Number.isInteger(id) || id < 0 || id >= a.vocabSize) throw new Error(`reference: token id ${id} out of range`);
      return Float64Array.from(embed.subarray(id * h, (id + 1) * h));
    });

    for (let layer = 0; layer < a.numHiddenLayers; layer++) {
      const p = `model.layers.${layer}`;
      const w = (name: string): Float32Array => tensor(this.weights, `${p}.${name}`);
      const layerKeys = cache.keys[layer] as number[][];
      const layerValues = cache.values[layer] as number[][];

      const queries: Float64Array[][] = [];
      hidden.forEach((x, s) => {
        const normed = rmsNorm(x, w('input_layernorm.weight'), a.rmsNormEps);
        const q = matVec(normed, w('self_attn.q_proj.weight'), h, nh * d);
        const k = matVec(normed, w('self_attn.k_proj.weight'), h, nkv * d);
        const v = matVec(normed, w('self_attn.v_proj.weight'), h, nkv * d);
        const position = past + s;
        queries.push(Array.from({ length: nh }, (_, head) => rotate(q.subarray(head * d, (head + 1) * d), position, this.inverseFrequencies)));
        for (let head = 0; head < nkv; head++) {
          (layerKeys[head] as number[]).push(...rotate(k.subarray(head * d, (head + 1) * d), position, this.inverseFrequencies));
          (layerValues[head] as number[]).push(...v.subarray(head * d, (head + 1) * d));
        }
      });

      hidden = hidden.map((x, s) => {
        const visible = past + s + 1; // causal: keys 0 ..= past + s
        const context = new Float64Array(nh * d);
        for (let head = 0; head < nh; head++) {
          const kvHead = Math.floor(head / group); // Llama's repeat_kv grouping
          const keys = layerKeys[kvHead] as number[];
          const values = layerValues[kvHead] as number[];
          const q = (queries[s] as Float64Array[])[head] as Float64Array;
          const scores = new Float64Array(visible);
          let max = -Infinity;
          for (let t = 0; t < visible; t++) {
            let dot = 0;
            for (let i = 0; i < d; i++) dot += (q[i] as number) * (keys[t * d + i] as number);
            scores[t] = dot / Math.sqrt(d);
            max = Math.max(max, scores[t] as number);
          }
          let total = 0;
          for (let t = 0; t < visible; t++) {
            scores[t] = Math.exp((scores[t] as number) - max);
            total += scores[t] as number;
          }
          for (let t = 0; t < visible; t++) {
            const weight = (scores[t] as number) / total;
            for (let i = 0; i < d; i++) context[head * d + i] = (context[head * d + i] as number) + weight * (values[t * d + i] as number);
          }
        }
        const attended = matVec(context, w('self_attn.o_proj.weight'), nh * d, h);
        const afterAttention = x.map((value, i) => value + (attended[i] as number));

        const normed = rmsNorm(afterAttention, w('post_attention_layernorm.weight'), a.rmsNormEps);
        const gate = matVec(normed, w('mlp.gate_proj.weight'), h, a.intermediateSize);
        const up = matVec(normed, w('mlp.up_proj.weight'), h, a.intermediateSize);
        const activated = gate.map((g, i) => (g / (1 + Math.exp(-g))) * (up[i] as number)); // SiLU(gate) * up
        const down = matVec(activated, w('mlp.down_proj.weight'), a.intermediateSize, h);
        return afterAttention.map((value, i) => value + (down[i] as number));
      });
    }
    cache.length = past + tokenIds.length;

    const finalNorm = tensor(this.weights, 'model.norm.weight');
    return hidden.map((x) => {
      const normed = rmsNorm(x, finalNorm, a.rmsNormEps);
      const logits = new Float32Array(a.vocabSize);
      // Tied LM head: logits = normed . embedding row of each token.
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

/** Index of the largest value (the first one on ties, like onnxruntime's ArgMax). */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if ((values[i] as number) > (values[best] as number)) best = i;
  return best;
}

/** Greedy decoding with the reference model: the prompt, then `steps` tokens one at a time. */
export function greedyDecode(model: ReferenceModel, promptIds: readonly number[], steps: number): number[] {
  const cache = emptyReferenceCache(model.arch);
  let logits = model.forward(promptIds, cache);
  const generated: number[] = [];
  for (let i = 0; i < steps; i++) {
    const next = argmax(logits[logits.length - 1] as Float32Array);
    generated.push(next);
    logits = model.forward([next], cache);
  }
  return generated;
}
