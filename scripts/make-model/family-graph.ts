// ONNX decoder graphs of the catalog's model families, in the three styles the published
// exports use (the README's Models section):
//   optimum     plain ops; inputs input_ids, attention_mask, position_ids, past_key_values.*;
//               KV grown by Concat. (gemma3-nomask: no attention_mask input at all.)
//   gqa-fused   onnxruntime-genai builder: com.microsoft GroupQueryAttention with do_rotary=1
//               and cos/sin cache initializers, no position_ids input; seqlens_k =
//               ReduceSum(attention_mask) - 1 (int32), total_sequence_length = mask width
//               (int32 scalar); SimplifiedLayerNormalization + SkipSimplifiedLayerNormalization
//               (output 0 normed, output 3 the residual sum).
//   gqa-rotary  as gqa-fused, but rotary by separate com.microsoft RotaryEmbedding ops fed
//               from a position_ids input (Qwen3-0.6B-ONNX; q_norm/k_norm come first).
// Dtypes: fp32; q8 (DynamicQuantizeLinear + MatMulInteger + scale Mul, per-tensor weights);
// q4 (MatMulNBits 4-bit block 32); fp16 and q4f16 compute in float16 with float16 KV and
// logits. The tied LM head is MatMul by Transpose(embedding), never quantized.
import type { onnx as Onnx } from 'onnx-proto';
import { generatedTensor, GraphBuilder, int, ints, valueInfo } from './graph.ts';
import {
  attentionScale,
  effectiveNormWeight,
  familyInverseFrequencies,
  familyWeightSpecs,
  float16Array,
  hasQkNorm,
  isGemma,
  isLocalLayer,
  rotaryCaches,
  type FamilyArchitecture,
  type FamilyWeightSpec,
} from './family.ts';
import { quant8Code, quant8Params, quantize4, type Quant8Params } from './family-quant.ts';
import { DataType, tensorFromArray, type OnnxModelParts, type StreamedTensor } from './onnx-writer.ts';
import { elementCount, fillWeight, generateWeight, QUANT_BLOCK_SIZE, weightRowsNK } from './weights.ts';

export const GRAPH_STYLES = ['optimum', 'gqa-fused', 'gqa-rotary'] as const;
export type GraphStyle = (typeof GRAPH_STYLES)[number];

export const FAMILY_DTYPES = ['fp32', 'fp16', 'q8', 'q4', 'q4f16'] as const;
export type FamilyDtype = (typeof FAMILY_DTYPES)[number];

/** transformers.js' file name per dtype (src/utils/dtypes.js). */
export const FAMILY_ONNX_FILE_NAMES: Readonly<Record<FamilyDtype, string>> = {
  fp32: 'model.onnx',
  fp16: 'model_fp16.onnx',
  q8: 'model_quantized.onnx',
  q4: 'model_q4.onnx',
  q4f16: 'model_q4f16.onnx',
};

export const isFloat16Dtype = (dtype: FamilyDtype): boolean => dtype === 'fp16' || dtype === 'q4f16';

export interface FamilyGraphOptions {
  readonly style: GraphStyle;
  readonly dtype: FamilyDtype;
  readonly seed: number;
  /** Default true. false: no attention_mask input (the first gemma-3 export); optimum style only. */
  readonly attentionMask?: boolean;
  /** Adds an int64 scalar input `num_logits_to_keep`: logits for the last N positions (0 = all). */
  readonly numLogitsToKeep?: boolean;
}

const OPSET = 17;
const IR_VERSION = 8;
const MS = 'com.microsoft';
const CHUNK_ELEMENTS = 1 << 20;
const INT64_MAX = 9223372036854775807n;
/** onnx.AttributeProto.AttributeType.FLOAT */
const FLOAT_ATTRIBUTE = 1;

export function buildFamilyModel(arch: FamilyArchitecture, options: FamilyGraphOptions): OnnxModelParts {
  const { style, dtype, seed } = options;
  const withMask = options.attentionMask ?? true;
  if (!withMask && style !== 'optimum') throw new Error(`graph: a graph without attention_mask must be optimum style (GQA needs the mask), got ${style}`);
  const half = isFloat16Dtype(dtype);
  const F = half ? DataType.FLOAT16 : DataType.FLOAT;
  const g = new GraphBuilder();
  const { hiddenSize: h, headDim: d, numAttentionHeads: nh, numKeyValueHeads: nkv } = arch;
  if (nh % nkv !== 0) throw new Error(`graph: ${nh} attention heads cannot share ${nkv} KV heads evenly`);
  const group = nh / nkv;
  const gqa = style !== 'optimum';
  const maskedScore = half ? -65504 : -3.4028234663852886e38;

  const specs = new Map(familyWeightSpecs(arch).map((s) => [s.name, s]));
  const spec = (name: string): FamilyWeightSpec => {
    const found = specs.get(name);
    if (!found) throw new Error(`graph: no weight spec ${name}`);
    return found;
  };

  // ---- Initializers in the graph's float type.
  const floatArray = (name: string, dims: number[], values: Float32Array): string =>
    g.add(half ? tensorFromArray(name, F, dims, float16Array(values)) : tensorFromArray(name, F, dims, values));
  const constants = new Map<string, string>();
  const scalar = (value: number): string => {
    const name = `/const/${half ? 'float16' : 'float'}/${value}`;
    if (!constants.has(name)) constants.set(name, floatArray(name, [], Float32Array.of(value)));
    return name;
  };
  const weight = (name: string): string => {
    const s = spec(name);
    if (s.role === 'norm') return floatArray(name, [...s.shape], effectiveNormWeight(arch, generateWeight(s, seed)));
    if (!half) return g.add(generatedTensor(s, seed));
    return g.add(float16Tensor(s, seed));
  };

  const linear = (input: string, name: string, output: string): string => {
    const s = spec(name);
    const [kIn, nOut] = s.shape as [number, number];
    if (dtype === 'fp32' || dtype === 'fp16') return g.op('MatMul', [input, weight(name)], output);
    if (dtype === 'q8') {
      // uint8 weights when the graph holds GroupQueryAttention, as the notes record.
      const params = quant8Params(...weightRange(s, seed), !gqa);
      const codes = g.add(quantized8Tensor(s, seed, params));
      const wScale = g.add(tensorFromArray(`${name}_scale`, DataType.FLOAT, [], Float32Array.of(params.scale)));
      const wZero = g.add(
        params.signed
          ? tensorFromArray(`${name}_zero_point`, DataType.INT8, [], Int8Array.of(params.zeroPoint))
          : tensorFromArray(`${name}_zero_point`, DataType.UINT8, [], Uint8Array.of(params.zeroPoint)),
      );
      const [xq, xs, xz] = g.ops('DynamicQuantizeLinear', [input], [`${output}/x_quantized`, `${output}/x_scale`, `${output}/x_zero_point`]) as [
        string,
        string,
        string,
      ];
      const product = g.op('MatMulInteger', [xq, codes, xz, wZero], `${output}/int32`);
      const asFloat = g.op('Cast', [product], `${output}/float`, [int('to', DataType.FLOAT)]);
      const scaleBoth = g.op('Mul', [xs, wScale], `${output}/scale`);
      return g.op('Mul', [asFloat, scaleBoth], output);
    }
    // q4, q4f16: MatMulNBits over [N, kBlocks, 16] codes.
    const kBlocks = Math.ceil(kIn / QUANT_BLOCK_SIZE);
    let cached: ReturnType<typeof quantize4> | undefined;
    const quantized = (): ReturnType<typeof quantize4> => {
      if (!cached) {
        const { rows, n, k } = weightRowsNK(s, seed);
        cached = quantize4(rows, n, k, half);
      }
      return cached;
    };
    const packed = g.add({
      name: `${name}_Q4`,
      dataType: DataType.UINT8,
      dims: [nOut, kBlocks, QUANT_BLOCK_SIZE / 2],
      byteLength: nOut * kBlocks * (QUANT_BLOCK_SIZE / 2),
      writeData: (write) => write(quantized().packed),
    });
    const scales = g.add({
      name: `${name}_scales`,
      dataType: F,
      dims: [nOut * kBlocks],
      byteLength: nOut * kBlocks * (half ? 2 : 4),
      writeData(write) {
        const values = half ? float16Array(quantized().scales) : quantized().scales;
        write(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
        cached = undefined;
      },
    });
    return g.op(
      'MatMulNBits',
      [input, packed, scales],
      output,
      [int('K', kIn), int('N', nOut), int('bits', 4), int('block_size', QUANT_BLOCK_SIZE), int('accuracy_level', 0)],
      MS,
    );
  };

  const linearWithBias = (input: string, name: string, output: string): string => {
    const biasName = name.replace(/\.weight$/, '.bias');
    if (!specs.has(biasName)) return linear(input, name, output);
    const product = linear(input, name, `${output}/MatMul`);
    return g.op('Add', [product, weight(biasName)], output);
  };

  // ---- Norms.
  const eps = Math.fround(arch.rmsNormEps);
  const plainRmsNorm = (input: string, weightName: string, prefix: string): string => {
    const squared = g.op('Pow', [input, scalar(2)], `${prefix}/squared`);
    const meanSquare = g.op('ReduceMean', [squared], `${prefix}/mean_square`, [ints('axes', [-1]), int('keepdims', 1)]);
    const withEps = g.op('Add', [meanSquare, scalar(eps)], `${prefix}/plus_eps`);
    const rms = g.op('Sqrt', [withEps], `${prefix}/rms`);
    const normalized = g.op('Div', [input, rms], `${prefix}/normalized`);
    return g.op('Mul', [normalized, weight(weightName)], `${prefix}/output`);
  };
  const norm = (input: string, weightName: string, prefix: string): string =>
    gqa
      ? g.op('SimplifiedLayerNormalization', [input, weight(weightName)], `${prefix}/output`, [
          int('axis', -1),
          { name: 'epsilon', type: FLOAT_ATTRIBUTE, f: eps },
          int('stash_type', 1),
        ])
      : plainRmsNorm(input, weightName, prefix);
  /** residual + delta, and its norm. */
  const addAndNorm = (delta: string, residual: string, weightName: string, prefix: string): { normed: string; sum: string } => {
    // gemma-3-1b-it-ONNX holds only SimplifiedLayerNormalization (6 per layer + final), its
    // residual sums are plain Adds; the Llama builder graphs fuse them into SkipSimplified.
    if (!gqa || isGemma(arch)) {
      const sum = g.op('Add', [residual, delta], `${prefix}/residual`);
      return { normed: norm(sum, weightName, prefix), sum };
    }
    const normed = `${prefix}/output_0`;
    const sum = `${prefix}/output_3`;
    g.nodes.push({
      opType: 'SkipSimplifiedLayerNormalization',
      domain: MS,
      name: prefix,
      input: [delta, residual, weight(weightName)],
      output: [normed, '', '', sum],
      attribute: [{ name: 'epsilon', type: FLOAT_ATTRIBUTE, f: eps }],
    });
    return { normed, sum };
  };

  // ---- Shapes, mask, positions.
  const seqLen = g.op('Shape', ['input_ids'], '/shape/sequence_length', [int('start', 1), int('end', 2)]);
  const totalLen = withMask
    ? g.op('Shape', ['attention_mask'], '/shape/total_length', [int('start', 1), int('end', 2)])
    : g.op(
        'Add',
        [g.op('Shape', ['past_key_values.0.key'], '/shape/past_length_from_cache', [int('start', 2), int('end', 3)]), seqLen],
        '/shape/total_length',
      );

  let seqlensK = '';
  let totalSeqLenInt32 = '';
  let scoreBias = '';
  let slidingScoreBias = '';
  const localWindow = arch.slidingWindow ?? 0;
  const anyLocal = Array.from({ length: arch.numHiddenLayers }, (_, i) => isLocalLayer(arch, i)).some(Boolean);
  if (gqa) {
    const summed = g.op('ReduceSum', ['attention_mask', g.int64([1])], '/attn_mask/reduce_sum', [int('keepdims', 0)]);
    const minusOne = g.op('Sub', [summed, g.int64([1], true)], '/attn_mask/sub');
    seqlensK = g.op('Cast', [minusOne], '/attn_mask/seqlens_k', [int('to', DataType.INT32)]);
    const totalScalar = g.op('Squeeze', [totalLen, g.int64([0])], '/attn_mask/total_length_scalar');
    totalSeqLenInt32 = g.op('Cast', [totalScalar], '/attn_mask/total_seq_len', [int('to', DataType.INT32)]);
  } else {
    // Key t is visible to query s iff t <= past + s (and mask[t] = 1; local layers: past + s - t <= window).
    const pastLen = g.op('Sub', [totalLen, seqLen], '/mask/past_length');
    const totalScalar = g.op('Squeeze', [totalLen, g.int64([0])], '/mask/total_length_scalar');
    const pastScalar = g.op('Squeeze', [pastLen, g.int64([0])], '/mask/past_length_scalar');
    const one = g.int64([1], true);
    const keyPositions = g.unsqueeze(g.op('Range', [g.int64([0], true), totalScalar, one], '/mask/key_positions'), [0], '/mask/key_row');
    const queryPositions = g.unsqueeze(g.op('Range', [pastScalar, totalScalar, one], '/mask/query_positions'), [1], '/mask/query_column');
    const causal = g.op('LessOrEqual', [keyPositions, queryPositions], '/mask/causal'); // [S, T]
    const biasFrom = (visible: string, name: string): string => {
      let rows = visible;
      if (withMask) {
        const notPadding = g.op('Cast', ['attention_mask'], `${name}/not_padding`, [int('to', DataType.BOOL)]);
        rows = g.op('And', [visible, g.unsqueeze(notPadding, [1], `${name}/not_padding_rows`)], `${name}/visible`); // [B, S, T]
      } else {
        rows = g.unsqueeze(visible, [0], `${name}/visible`); // [1, S, T]
      }
      return g.unsqueeze(g.op('Where', [rows, scalar(0), scalar(maskedScore)], `${name}/bias`), [1, 2], `${name}/bias_grouped`); // [B, 1, 1, S, T]
    };
    scoreBias = biasFrom(causal, '/mask');
    if (anyLocal) {
      const distance = g.op('Sub', [queryPositions, keyPositions], '/sliding_mask/distance');
      const inWindow = g.op('Less', [distance, g.int64([localWindow], true)], '/sliding_mask/in_window');
      slidingScoreBias = biasFrom(g.op('And', [causal, inWindow], '/sliding_mask/causal'), '/sliding_mask');
    }
  }

  // ---- Rotary tables: one per distinct base (gemma3: local and global).
  type Rotary = { cos: string; sin: string; inverse: string };
  const rotaryTables = new Map<string, Rotary>();
  const rotaryFor = (layer: number): Rotary => {
    const key = isLocalLayer(arch, layer) ? 'local' : 'global';
    let table = rotaryTables.get(key);
    if (!table) {
      const suffix = key === 'local' ? '_local' : '';
      const inverseFrequencies = familyInverseFrequencies(arch, layer);
      if (gqa) {
        const caches = rotaryCaches(inverseFrequencies, arch.maxPositionEmbeddings);
        table = {
          cos: floatArray(`cos_cache${suffix}`, [arch.maxPositionEmbeddings, d / 2], caches.cos),
          sin: floatArray(`sin_cache${suffix}`, [arch.maxPositionEmbeddings, d / 2], caches.sin),
          inverse: '',
        };
      } else {
        const inverse = g.add(tensorFromArray(`/rotary${suffix}/inverse_frequencies`, DataType.FLOAT, [d / 2], inverseFrequencies));
        const positions = g.unsqueeze(
          g.op('Cast', ['position_ids'], `/rotary${suffix}/positions_float`, [int('to', DataType.FLOAT)]),
          [2],
          `/rotary${suffix}/positions`,
        );
        const frequencies = g.op('Mul', [positions, inverse], `/rotary${suffix}/frequencies`);
        const angles = g.op('Concat', [frequencies, frequencies], `/rotary${suffix}/angles`, [int('axis', -1)]);
        const toF = (x: string, name: string): string => (half ? g.op('Cast', [x], name, [int('to', F)]) : x);
        const cos = g.unsqueeze(toF(g.op('Cos', [angles], `/rotary${suffix}/cos_f32`), `/rotary${suffix}/cos_rows`), [1], `/rotary${suffix}/cos`);
        const sin = g.unsqueeze(toF(g.op('Sin', [angles], `/rotary${suffix}/sin_f32`), `/rotary${suffix}/sin_rows`), [1], `/rotary${suffix}/sin`);
        table = { cos, sin, inverse };
      }
      rotaryTables.set(key, table);
    }
    return table;
  };
  const halfSplit = g.int64([d / 2, d / 2]);
  const plainRotary = (x: string, table: Rotary, prefix: string): string => {
    const [first, second] = g.ops('Split', [x, halfSplit], [`${prefix}/first_half`, `${prefix}/second_half`], [int('axis', -1)]) as [string, string];
    const rotated = g.op('Concat', [g.op('Neg', [second], `${prefix}/second_half_negated`), first], `${prefix}/rotated_half`, [int('axis', -1)]);
    return g.op(
      'Add',
      [g.op('Mul', [x, table.cos], `${prefix}/times_cos`), g.op('Mul', [rotated, table.sin], `${prefix}/rotated_times_sin`)],
      `${prefix}/output`,
    );
  };

  // ---- Embedding.
  const embedName = 'model.embed_tokens.weight';
  const embed = weight(embedName);
  let hidden = g.op('Gather', [embed, 'input_ids'], '/model/embed_tokens/Gather', [int('axis', 0)]);
  if (isGemma(arch)) hidden = g.op('Mul', [hidden, scalar(Math.fround(Math.sqrt(h)))], '/model/embed_tokens/scaled');

  const scale = attentionScale(arch);
  let residual = hidden;
  let normed = norm(hidden, 'model.layers.0.input_layernorm.weight', '/model/layers.0/input_layernorm');
  for (let layer = 0; layer < arch.numHiddenLayers; layer++) {
    const w = `model.layers.${layer}`;
    const p = `/model/layers.${layer}`;
    const local = isLocalLayer(arch, layer);
    const table = rotaryFor(layer);
    let q = linearWithBias(normed, `${w}.self_attn.q_proj.weight`, `${p}/attn/q_proj`);
    let k = linearWithBias(normed, `${w}.self_attn.k_proj.weight`, `${p}/attn/k_proj`);
    const v = linearWithBias(normed, `${w}.self_attn.v_proj.weight`, `${p}/attn/v_proj`);
    let attended: string;
    if (gqa) {
      if (hasQkNorm(arch)) {
        const headNorm = (x: string, count: number, which: 'q' | 'k'): string => {
          const heads = g.reshape(x, [0, 0, count, d], `${p}/attn/${which}_norm/heads`);
          const n = norm(heads, `${w}.self_attn.${which}_norm.weight`, `${p}/attn/${which}_norm`);
          return g.reshape(n, [0, 0, count * d], `${p}/attn/${which}_norm/flat`);
        };
        q = headNorm(q, nh, 'q');
        k = headNorm(k, nkv, 'k');
      }
      if (style === 'gqa-rotary') {
        const rope = (x: string, count: number, which: string): string =>
          g.op('RotaryEmbedding', [x, 'position_ids', table.cos, table.sin], `${p}/attn/${which}_rotary`, [int('interleaved', 0), int('num_heads', count)], MS);
        q = rope(q, nh, 'q');
        k = rope(k, nkv, 'k');
      }
      const attributes: Onnx.IAttributeProto[] = [
        int('num_heads', nh),
        int('kv_num_heads', nkv),
        int('do_rotary', style === 'gqa-fused' ? 1 : 0),
        int('rotary_interleaved', 0),
        { name: 'scale', type: FLOAT_ATTRIBUTE, f: Math.fround(scale) },
        int('local_window_size', local ? localWindow : -1),
      ];
      const rotaryInputs = style === 'gqa-fused' ? [table.cos, table.sin] : [];
      g.nodes.push({
        opType: 'GroupQueryAttention',
        domain: MS,
        name: `${p}/attn/GroupQueryAttention`,
        input: [q, k, v, `past_key_values.${layer}.key`, `past_key_values.${layer}.value`, seqlensK, totalSeqLenInt32, ...rotaryInputs],
        output: [`${p}/attn/GroupQueryAttention/output_0`, `present.${layer}.key`, `present.${layer}.value`],
        attribute: attributes,
      });
      attended = `${p}/attn/GroupQueryAttention/output_0`;
    } else {
      const heads = (x: string, count: number, which: string): string => {
        let split = g.reshape(x, [0, 0, count, d], `${p}/attn/${which}_heads`);
        if (hasQkNorm(arch) && which !== 'v') split = norm(split, `${w}.self_attn.${which}_norm.weight`, `${p}/attn/${which}_norm`);
        return g.transpose(split, [0, 2, 1, 3], `${p}/attn/${which}_bnsh`);
      };
      const queries = plainRotary(heads(q, nh, 'q'), table, `${p}/attn/q_rotary`);
      const keys = plainRotary(heads(k, nkv, 'k'), table, `${p}/attn/k_rotary`);
      const values = heads(v, nkv, 'v');
      const presentKeys = g.op('Concat', [`past_key_values.${layer}.key`, keys], `present.${layer}.key`, [int('axis', 2)]);
      const presentValues = g.op('Concat', [`past_key_values.${layer}.value`, values], `present.${layer}.value`, [int('axis', 2)]);
      const groupedQueries = g.reshape(queries, [0, nkv, group, -1, d], `${p}/attn/grouped_queries`);
      const keysT = g.unsqueeze(g.transpose(presentKeys, [0, 1, 3, 2], `${p}/attn/keys_transposed`), [2], `${p}/attn/keys_grouped`);
      const scores = g.op('MatMul', [groupedQueries, keysT], `${p}/attn/scores`);
      const scaled = g.op('Mul', [scores, scalar(Math.fround(scale))], `${p}/attn/scaled_scores`);
      const masked = g.op('Add', [scaled, local ? slidingScoreBias : scoreBias], `${p}/attn/masked_scores`);
      const probabilities = g.op('Softmax', [masked], `${p}/attn/probabilities`, [int('axis', -1)]);
      const context = g.op('MatMul', [probabilities, g.unsqueeze(presentValues, [2], `${p}/attn/values_grouped`)], `${p}/attn/context_grouped`);
      const contextHeads = g.reshape(context, [0, nh, -1, d], `${p}/attn/context_heads`);
      const byPosition = g.transpose(contextHeads, [0, 2, 1, 3], `${p}/attn/context_by_position`);
      attended = g.reshape(byPosition, [0, 0, nh * d], `${p}/attn/context`);
    }
    let attnOut = linear(attended, `${w}.self_attn.o_proj.weight`, `${p}/attn/o_proj`);
    if (isGemma(arch)) attnOut = norm(attnOut, `${w}.post_attention_layernorm.weight`, `${p}/post_attention_layernorm`);
    const afterAttention = isGemma(arch)
      ? addAndNorm(attnOut, residual, `${w}.pre_feedforward_layernorm.weight`, `${p}/pre_feedforward_layernorm`)
      : addAndNorm(attnOut, residual, `${w}.post_attention_layernorm.weight`, `${p}/post_attention_layernorm`);
    residual = afterAttention.sum;

    const gate = linear(afterAttention.normed, `${w}.mlp.gate_proj.weight`, `${p}/mlp/gate_proj`);
    const up = linear(afterAttention.normed, `${w}.mlp.up_proj.weight`, `${p}/mlp/up_proj`);
    let activatedGate: string;
    if (isGemma(arch)) {
      activatedGate = gqa ? g.op('FastGelu', [gate], `${p}/mlp/act_fn`, [], MS) : plainGeluTanh(g, gate, scalar, `${p}/mlp/act_fn`);
    } else {
      activatedGate = g.op('Mul', [gate, g.op('Sigmoid', [gate], `${p}/mlp/act_fn/Sigmoid`)], `${p}/mlp/act_fn`);
    }
    const activated = g.op('Mul', [activatedGate, up], `${p}/mlp/Mul`);
    let mlpOut = linear(activated, `${w}.mlp.down_proj.weight`, `${p}/mlp/down_proj`);
    if (isGemma(arch)) mlpOut = norm(mlpOut, `${w}.post_feedforward_layernorm.weight`, `${p}/post_feedforward_layernorm`);
    const last = layer === arch.numHiddenLayers - 1;
    const next = addAndNorm(
      mlpOut,
      residual,
      last ? 'model.norm.weight' : `model.layers.${layer + 1}.input_layernorm.weight`,
      last ? '/model/norm' : `/model/layers.${layer + 1}/input_layernorm`,
    );
    residual = next.sum;
    normed = next.normed;
  }

  // ---- Optional num_logits_to_keep, then the tied head: MatMul by Transpose(embedding).
  let finalHidden = normed;
  if (options.numLogitsToKeep) {
    const start = g.op('Neg', [g.unsqueeze('num_logits_to_keep', [0], '/logits_to_keep/as_vector')], '/logits_to_keep/start');
    const end = g.add(tensorFromArray('/const/int64/max', DataType.INT64, [1], BigInt64Array.of(INT64_MAX)));
    finalHidden = g.op('Slice', [normed, start, end, g.int64([1])], '/logits_to_keep/hidden');
  }
  const embedT = g.transpose(embed, [1, 0], '/lm_head/Transpose');
  g.op('MatMul', [finalHidden, embedT], 'logits');

  const cacheDims = (length: string): Array<number | string> => ['batch_size', nkv, length, d];
  const inputs = [valueInfo('input_ids', DataType.INT64, ['batch_size', 'sequence_length'])];
  if (withMask) inputs.push(valueInfo('attention_mask', DataType.INT64, ['batch_size', 'total_sequence_length']));
  if (style !== 'gqa-fused') inputs.push(valueInfo('position_ids', DataType.INT64, ['batch_size', 'sequence_length']));
  const outputs = [valueInfo('logits', F, ['batch_size', options.numLogitsToKeep ? 'logits_sequence_length' : 'sequence_length', arch.vocabSize])];
  for (let layer = 0; layer < arch.numHiddenLayers; layer++) {
    for (const kind of ['key', 'value']) {
      inputs.push(valueInfo(`past_key_values.${layer}.${kind}`, F, cacheDims('past_sequence_length')));
      outputs.push(valueInfo(`present.${layer}.${kind}`, F, cacheDims('total_sequence_length')));
    }
  }
  if (options.numLogitsToKeep) inputs.push(valueInfo('num_logits_to_keep', DataType.INT64, []));

  const usesMs = gqa || dtype === 'q4' || dtype === 'q4f16';
  return {
    irVersion: IR_VERSION,
    opsetImports: usesMs ? [{ domain: '', version: OPSET }, { domain: MS, version: 1 }] : [{ domain: '', version: OPSET }],
    producerName: 'jielong make:model',
    producerVersion: '2',
    docString: `Synthetic ${arch.kind} decoder (${style}, ${dtype}) with seeded random weights (seed ${seed}). It babbles.`,
    graph: { name: `jielong_${arch.kind}`, node: g.nodes, input: inputs, output: outputs },
    initializers: g.initializers,
  };
}

/** 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), in plain ops (opset 17 has no Gelu). */
function plainGeluTanh(g: GraphBuilder, x: string, scalar: (v: number) => string, prefix: string): string {
  const cube = g.op('Mul', [g.op('Mul', [x, x], `${prefix}/x2`), x], `${prefix}/x3`);
  const inner = g.op('Add', [x, g.op('Mul', [cube, scalar(Math.fround(0.044715))], `${prefix}/cubic`)], `${prefix}/inner`);
  const t = g.op('Tanh', [g.op('Mul', [inner, scalar(Math.fround(Math.sqrt(2 / Math.PI)))], `${prefix}/scaled`)], `${prefix}/tanh`);
  const onePlus = g.op('Add', [t, scalar(1)], `${prefix}/one_plus`);
  return g.op('Mul', [g.op('Mul', [x, scalar(0.5)], `${prefix}/half_x`), onePlus], `${prefix}/output`);
}

/** A float16 copy of a generated weight, streamed a chunk at a time. */
function float16Tensor(spec: FamilyWeightSpec, seed: number): StreamedTensor {
  const count = elementCount(spec.shape);
  return {
    name: spec.name,
    dataType: DataType.FLOAT16,
    dims: spec.shape,
    byteLength: count * 2,
    writeData(write) {
      const chunk = new Float32Array(Math.min(count, CHUNK_ELEMENTS));
      for (let offset = 0; offset < count; offset += chunk.length) {
        const part = chunk.subarray(0, Math.min(chunk.length, count - offset));
        fillWeight(spec, seed, offset, part);
        const bits = float16Array(part);
        write(new Uint8Array(bits.buffer, bits.byteOffset, bits.byteLength));
      }
    },
  };
}

/** A weight's min and max, streamed. */
export function weightRange(spec: FamilyWeightSpec, seed: number): [number, number] {
  const count = elementCount(spec.shape);
  const chunk = new Float32Array(Math.min(count, CHUNK_ELEMENTS));
  let min = 0;
  let max = 0;
  for (let offset = 0; offset < count; offset += chunk.length) {
    const part = chunk.subarray(0, Math.min(chunk.length, count - offset));
    fillWeight(spec, seed, offset, part);
    for (const v of part) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  return [min, max];
}

/** The 8-bit codes of a weight in its own [K, N] layout, streamed. */
function quantized8Tensor(spec: FamilyWeightSpec, seed: number, params: Quant8Params): StreamedTensor {
  const count = elementCount(spec.shape);
  return {
    name: `${spec.name}_quantized`,
    dataType: params.signed ? DataType.INT8 : DataType.UINT8,
    dims: spec.shape,
    byteLength: count,
    writeData(write) {
      const chunk = new Float32Array(Math.min(count, CHUNK_ELEMENTS));
      for (let offset = 0; offset < count; offset += chunk.length) {
        const part = chunk.subarray(0, Math.min(chunk.length, count - offset));
        fillWeight(spec, seed, offset, part);
        const codes = new Uint8Array(part.length);
        for (let i = 0; i < part.length; i++) codes[i] = quant8Code(part[i] as number, params) & 0xff;
        write(codes);
      }
    },
  };
}
