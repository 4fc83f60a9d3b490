// The ONNX graph of a Llama decoder with a KV cache, in the input/output contract that
// transformers.js 4 feeds:
//   inputs   input_ids, attention_mask, position_ids: int64;
//            past_key_values.{i}.key/.value: float [batch_size, kvHeads, past_sequence_length, headDim]
//   outputs  logits: float [batch_size, sequence_length, vocab];
//            present.{i}.key/.value: float [batch_size, kvHeads, total_sequence_length, headDim]
// Plain opset-17 ops; q8/q4 add com.microsoft MatMulNBits for the linear layers.
import type { onnx as Onnx } from 'onnx-proto';
import onnxProto from 'onnx-proto';
import { DataType, tensorFromArray, type OnnxModelParts, type StreamedTensor } from './onnx-writer.ts';
import type { Architecture } from './presets.ts';
import {
  QUANT_BLOCK_SIZE,
  elementCount,
  fillWeight,
  quantizeBlockwise,
  ropeInverseFrequencies,
  weightRowsNK,
  weightSpecs,
  zeroPoint,
  type BlockQuantized,
  type QuantBits,
  type WeightSpec,
} from './weights.ts';

const { onnx } = onnxProto;
const AttributeType = onnx.AttributeProto.AttributeType;

export const MODEL_DTYPES = ['fp32', 'q8', 'q4'] as const;
export type ModelDtype = (typeof MODEL_DTYPES)[number];

/** File names transformers.js looks for (src/utils/dtypes.js DEFAULT_DTYPE_SUFFIX_MAPPING). */
export const ONNX_FILE_NAMES: Readonly<Record<ModelDtype, string>> = {
  fp32: 'model.onnx',
  q8: 'model_quantized.onnx',
  q4: 'model_q4.onnx',
};

const QUANT_BITS: Readonly<Record<Exclude<ModelDtype, 'fp32'>, QuantBits>> = { q8: 8, q4: 4 };

/**
 * MatMulNBits' accuracy_level: 0 multiplies in fp32 after dequantizing (exactly what the
 * reference does), 4 quantizes the activations to int8 per block and multiplies in int8.
 * onnxruntime 1.30's CPU kernel has a fast fp32 path only for 4-bit weights; 8-bit weights at
 * level 0 are dequantized whole on every run (the SmolLM2-shaped LM head: 316 ms per token
 * instead of 6 ms). So q8 computes in int8, like the dynamic-quantized `_quantized` models
 * on the Hub, and matches the reference only to int8 rounding.
 */
export const ACCURACY_LEVEL: Readonly<Record<QuantBits, number>> = { 4: 0, 8: 4 };

const OPSET = 17;
/** IR version 8 is the one that goes with opset 17 (ONNX 1.12). */
const IR_VERSION = 8;
const MICROSOFT_DOMAIN = 'com.microsoft';
/** Weights are generated and written this many values at a time. */
const CHUNK_ELEMENTS = 1 << 20;
/** Added to the scores of keys a query must not see; finite so a fully masked row stays finite. */
const MASKED_SCORE = -3.4028234663852886e38;

export const int = (name: string, i: number): Onnx.IAttributeProto => ({ name, type: AttributeType.INT, i });
export const ints = (name: string, values: number[]): Onnx.IAttributeProto => ({ name, type: AttributeType.INTS, ints: values });

export function valueInfo(name: string, elemType: number, dims: ReadonlyArray<number | string>): Onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

/** Collects nodes and initializers; each node is named after its (single) output. */
export class GraphBuilder {
  readonly nodes: Onnx.INodeProto[] = [];
  readonly initializers: StreamedTensor[] = [];
  private readonly constants = new Map<string, string>();

  op(opType: string, inputs: string[], output: string, attributes: Onnx.IAttributeProto[] = [], domain = ''): string {
    this.nodes.push({ opType, input: inputs, output: [output], name: output, attribute: attributes, domain });
    return output;
  }

  ops(opType: string, inputs: string[], outputs: string[], attributes: Onnx.IAttributeProto[] = []): string[] {
    this.nodes.push({ opType, input: inputs, output: outputs, name: outputs[0] ?? opType, attribute: attributes });
    return outputs;
  }

  add(tensor: StreamedTensor): string {
    this.initializers.push(tensor);
    return tensor.name;
  }

  /** An int64 constant, 1-D unless `scalar`; shared between nodes that use the same values. */
  int64(values: number[], scalar = false): string {
    const name = `/const/int64${scalar ? '_scalar' : ''}/${values.join('_')}`;
    return this.constant(name, () => tensorFromArray(name, DataType.INT64, scalar ? [] : [values.length], BigInt64Array.from(values, BigInt)));
  }

  float32Scalar(value: number): string {
    const name = `/const/float/${value}`;
    return this.constant(name, () => tensorFromArray(name, DataType.FLOAT, [], Float32Array.of(value)));
  }

  uint8Scalar(value: number): string {
    const name = `/const/uint8/${value}`;
    return this.constant(name, () => tensorFromArray(name, DataType.UINT8, [], Uint8Array.of(value)));
  }

  private constant(name: string, make: () => StreamedTensor): string {
    if (!this.constants.has(name)) this.constants.set(name, this.add(make()));
    return name;
  }

  unsqueeze(input: string, axes: number[], output: string): string {
    return this.op('Unsqueeze', [input, this.int64(axes)], output);
  }

  reshape(input: string, shape: number[], output: string): string {
    return this.op('Reshape', [input, this.int64(shape)], output);
  }

  transpose(input: string, perm: number[], output: string): string {
    return this.op('Transpose', [input], output, [ints('perm', perm)]);
  }
}

/** An fp32 weight streamed from the seeded generator, a chunk at a time. */
export function generatedTensor(spec: WeightSpec, seed: number): StreamedTensor {
  const count = elementCount(spec.shape);
  return {
    name: spec.name,
    dataType: DataType.FLOAT,
    dims: spec.shape,
    byteLength: count * 4,
    writeData(write) {
      const chunk = new Float32Array(Math.min(count, CHUNK_ELEMENTS));
      for (let offset = 0; offset < count; offset += chunk.length) {
        const part = chunk.subarray(0, Math.min(chunk.length, count - offset));
        fillWeight(spec, seed, offset, part);
        write(new Uint8Array(part.buffer, part.byteOffset, part.byteLength));
      }
    },
  };
}

interface QuantizedWeight {
  readonly packed: string;
  readonly scales: string;
  readonly n: number;
  readonly k: number;
  readonly kBlocks: number;
}

/**
 * A linear weight as MatMulNBits wants it: packed codes [N, kBlocks, blob] and scales
 * [N * kBlocks]. The tensor is generated and quantized when the packed codes are written and
 * dropped once the scales (written right after) are out, so one tensor at a time is in memory.
 */
function addQuantizedWeight(g: GraphBuilder, spec: WeightSpec, seed: number, bits: QuantBits): QuantizedWeight {
  const [first, second] = spec.shape as [number, number];
  const [n, k] = spec.layout === 'nk' ? [first, second] : [second, first];
  const kBlocks = Math.ceil(k / QUANT_BLOCK_SIZE);
  const blobBytes = (QUANT_BLOCK_SIZE * bits) / 8;
  let quantized: BlockQuantized | undefined;
  const quantize = (): BlockQuantized => {
    if (!quantized) {
      const { rows } = weightRowsNK(spec, seed);
      quantized = quantizeBlockwise(rows, n, k, bits);
    }
    return quantized;
  };
  const packed = g.add({
    name: `${spec.name}.q${bits}`,
    dataType: DataType.UINT8,
    dims: [n, kBlocks, blobBytes],
    byteLength: n * kBlocks * blobBytes,
    writeData: (write) => write(quantize().packed),
  });
  const scales = g.add({
    name: `${spec.name}.q${bits}_scales`,
    dataType: DataType.FLOAT,
    dims: [n * kBlocks],
    byteLength: n * kBlocks * 4,
    writeData(write) {
      const { scales: values } = quantize();
      write(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
      quantized = undefined;
    },
  });
  return { packed, scales, n, k, kBlocks };
}

function matMulNBitsAttributes(q: QuantizedWeight, bits: QuantBits): Onnx.IAttributeProto[] {
  return [
    int('K', q.k),
    int('N', q.n),
    int('bits', bits),
    int('block_size', QUANT_BLOCK_SIZE),
    int('accuracy_level', ACCURACY_LEVEL[bits]),
  ];
}

/** Given weight values (a trained model's), in the layouts of weightSpecs(), instead of seeded ones. */
export type WeightValues = (spec: WeightSpec) => Float32Array;

export function buildLlamaModel(arch: Architecture, dtype: ModelDtype, seed: number, values?: WeightValues): OnnxModelParts {
  const g = new GraphBuilder();
  const bits = dtype === 'fp32' ? undefined : QUANT_BITS[dtype];
  if (values && bits !== undefined) throw new Error(`graph: given weights are written as fp32 only, not ${dtype}`);
  const { hiddenSize: h, headDim: d, numAttentionHeads: nh, numKeyValueHeads: nkv } = arch;
  if (nh % nkv !== 0) throw new Error(`graph: ${nh} attention heads cannot share ${nkv} KV heads evenly`);
  if (d % 2 !== 0) throw new Error(`graph: rotary embeddings need an even head_dim, got ${d}`);
  const group = nh / nkv;

  const specs = new Map(weightSpecs(arch).map((spec) => [spec.name, spec]));
  const spec = (name: string): WeightSpec => {
    const found = specs.get(name);
    if (!found) throw new Error(`graph: no weight spec ${name}`);
    return found;
  };
  const fp32Weight = (name: string): string =>
    g.add(values ? tensorFromArray(name, DataType.FLOAT, spec(name).shape, values(spec(name))) : generatedTensor(spec(name), seed));

  const linear = (input: string, weightName: string, output: string): string => {
    const weight = spec(weightName);
    if (bits === undefined) return g.op('MatMul', [input, fp32Weight(weightName)], output);
    const q = addQuantizedWeight(g, weight, seed, bits);
    return g.op('MatMulNBits', [input, q.packed, q.scales], output, matMulNBitsAttributes(q, bits), MICROSOFT_DOMAIN);
  };

  const rmsNorm = (input: string, weightName: string, prefix: string): string => {
    const squared = g.op('Pow', [input, g.float32Scalar(2)], `${prefix}/squared`);
    const meanSquare = g.op('ReduceMean', [squared], `${prefix}/mean_square`, [ints('axes', [-1]), int('keepdims', 1)]);
    const withEps = g.op('Add', [meanSquare, g.float32Scalar(Math.fround(arch.rmsNormEps))], `${prefix}/plus_eps`);
    const rms = g.op('Sqrt', [withEps], `${prefix}/rms`);
    const normalized = g.op('Div', [input, rms], `${prefix}/normalized`);
    return g.op('Mul', [normalized, fp32Weight(weightName)], `${prefix}/output`);
  };

  // ---- Attention mask: key t is visible to query s iff t <= past + s and attention_mask[t] = 1.
  const seqLen = g.op('Shape', ['input_ids'], '/mask/sequence_length', [int('start', 1), int('end', 2)]);
  const totalLen = g.op('Shape', ['attention_mask'], '/mask/total_length', [int('start', 1), int('end', 2)]);
  const pastLen = g.op('Sub', [totalLen, seqLen], '/mask/past_length');
  const totalScalar = g.op('Squeeze', [totalLen, g.int64([0])], '/mask/total_length_scalar');
  const pastScalar = g.op('Squeeze', [pastLen, g.int64([0])], '/mask/past_length_scalar');
  const one = g.int64([1], true);
  const keyPositions = g.op('Range', [g.int64([0], true), totalScalar, one], '/mask/key_positions');
  const queryPositions = g.op('Range', [pastScalar, totalScalar, one], '/mask/query_positions');
  const causal = g.op(
    'LessOrEqual',
    [g.unsqueeze(keyPositions, [0], '/mask/key_row'), g.unsqueeze(queryPositions, [1], '/mask/query_column')],
    '/mask/causal',
  ); // [S, T]
  const notPadding = g.op('Cast', ['attention_mask'], '/mask/not_padding', [int('to', DataType.BOOL)]); // [B, T]
  const visible = g.op('And', [causal, g.unsqueeze(notPadding, [1], '/mask/not_padding_rows')], '/mask/visible'); // [B, S, T]
  const scoreBias = g.unsqueeze(
    g.op('Where', [visible, g.float32Scalar(0), g.float32Scalar(MASKED_SCORE)], '/mask/bias'),
    [1, 2],
    '/mask/bias_grouped',
  ); // [B, 1, 1, S, T], broadcast over KV heads and the query heads sharing each

  // ---- Rotary embeddings from position_ids (Llama's rotate_half form).
  const inverseFrequencies = g.add(
    tensorFromArray('/rotary/inverse_frequencies', DataType.FLOAT, [d / 2], ropeInverseFrequencies(arch)),
  );
  const positions = g.unsqueeze(
    g.op('Cast', ['position_ids'], '/rotary/positions_float', [int('to', DataType.FLOAT)]),
    [2],
    '/rotary/positions',
  ); // [B, S, 1]
  const frequencies = g.op('Mul', [positions, inverseFrequencies], '/rotary/frequencies'); // [B, S, D/2]
  const angles = g.op('Concat', [frequencies, frequencies], '/rotary/angles', [int('axis', -1)]); // [B, S, D]
  const cos = g.unsqueeze(g.op('Cos', [angles], '/rotary/cos_rows'), [1], '/rotary/cos'); // [B, 1, S, D]
  const sin = g.unsqueeze(g.op('Sin', [angles], '/rotary/sin_rows'), [1], '/rotary/sin');
  const halfSplit = g.int64([d / 2, d / 2]);
  const rotary = (x: string, prefix: string): string => {
    const [first, second] = g.ops('Split', [x, halfSplit], [`${prefix}/first_half`, `${prefix}/second_half`], [int('axis', -1)]) as [
      string,
      string,
    ];
    const rotated = g.op('Concat', [g.op('Neg', [second], `${prefix}/second_half_negated`), first], `${prefix}/rotated_half`, [
      int('axis', -1),
    ]);
    return g.op(
      'Add',
      [g.op('Mul', [x, cos], `${prefix}/times_cos`), g.op('Mul', [rotated, sin], `${prefix}/rotated_times_sin`)],
      `${prefix}/output`,
    );
  };

  // ---- Embedding lookup.
  const embedName = 'model.embed_tokens.weight';
  let embedQuantized: QuantizedWeight | undefined;
  let hidden: string;
  if (bits === undefined) {
    hidden = g.op('Gather', [fp32Weight(embedName), 'input_ids'], '/embed/output', [int('axis', 0)]);
  } else {
    // The tied table is stored once, in MatMulNBits' layout, and dequantized row by row here.
    const q = addQuantizedWeight(g, spec(embedName), seed, bits);
    embedQuantized = q;
    const rows = g.op('Gather', [q.packed, 'input_ids'], '/embed/packed_rows', [int('axis', 0)]); // [B, S, kBlocks, blob]
    let codes = rows;
    if (bits === 4) {
      // Element 2j sits in the low nibble of byte j, element 2j + 1 in the high nibble.
      const low = g.op('Mod', [rows, g.uint8Scalar(16)], '/embed/low_nibbles');
      const high = g.op('BitShift', [rows, g.uint8Scalar(4)], '/embed/high_nibbles', [
        { name: 'direction', type: AttributeType.STRING, s: new TextEncoder().encode('RIGHT') },
      ]);
      const pairs = g.op(
        'Concat',
        [g.unsqueeze(low, [-1], '/embed/low_column'), g.unsqueeze(high, [-1], '/embed/high_column')],
        '/embed/nibble_pairs',
        [int('axis', -1)],
      );
      codes = g.reshape(pairs, [0, 0, q.kBlocks, QUANT_BLOCK_SIZE], '/embed/codes');
    }
    const centered = g.op(
      'Sub',
      [g.op('Cast', [codes], '/embed/codes_float', [int('to', DataType.FLOAT)]), g.float32Scalar(zeroPoint(bits))],
      '/embed/centered',
    );
    const scaleTable = g.reshape(q.scales, [q.n, q.kBlocks], '/embed/scale_table');
    const rowScales = g.unsqueeze(g.op('Gather', [scaleTable, 'input_ids'], '/embed/row_scales', [int('axis', 0)]), [-1], '/embed/block_scales');
    const blocks = g.op('Mul', [centered, rowScales], '/embed/blocks'); // [B, S, kBlocks, blockSize]
    hidden = g.reshape(blocks, [0, 0, q.kBlocks * QUANT_BLOCK_SIZE], '/embed/padded');
    if (q.kBlocks * QUANT_BLOCK_SIZE !== h) {
      hidden = g.op('Slice', [hidden, g.int64([0]), g.int64([h]), g.int64([2])], '/embed/output');
    }
  }

  // ---- Decoder layers.
  const attentionScale = g.float32Scalar(Math.fround(1 / Math.sqrt(d)));
  for (let layer = 0; layer < arch.numHiddenLayers; layer++) {
    const w = `model.layers.${layer}`;
    const p = `/model/layers.${layer}`;
    const normed = rmsNorm(hidden, `${w}.input_layernorm.weight`, `${p}/input_layernorm`);

    /** The q, k or v projection, [B, S, count * D] -> [B, count, S, D]. */
    const heads = (name: 'q' | 'k' | 'v', count: number, output: string): string => {
      const projected = linear(normed, `${w}.self_attn.${name}_proj.weight`, `${p}/self_attn/${name}_proj`);
      const split = g.reshape(projected, [0, 0, count, d], `${p}/self_attn/${name}_heads`);
      return g.transpose(split, [0, 2, 1, 3], `${p}/self_attn/${output}`);
    };
    const queries = rotary(heads('q', nh, 'queries'), `${p}/self_attn/queries_rotary`); // [B, nh, S, D]
    const keys = rotary(heads('k', nkv, 'keys'), `${p}/self_attn/keys_rotary`); // [B, nkv, S, D]
    const values = heads('v', nkv, 'values');

    const presentKeys = g.op('Concat', [`past_key_values.${layer}.key`, keys], `present.${layer}.key`, [int('axis', 2)]);
    const presentValues = g.op('Concat', [`past_key_values.${layer}.value`, values], `present.${layer}.value`, [int('axis', 2)]);

    // Grouped-query attention without copying keys: query heads j*group .. j*group+group-1
    // share KV head j (Llama's repeat_kv order); MatMul broadcasts over the group axis.
    const groupedQueries = g.reshape(queries, [0, nkv, group, -1, d], `${p}/self_attn/grouped_queries`); // [B, nkv, g, S, D]
    const keysTransposed = g.transpose(presentKeys, [0, 1, 3, 2], `${p}/self_attn/keys_transposed`);
    const keysT = g.unsqueeze(keysTransposed, [2], `${p}/self_attn/keys_grouped`); // [B, nkv, 1, D, T]
    const scores = g.op('MatMul', [groupedQueries, keysT], `${p}/self_attn/scores`); // [B, nkv, g, S, T]
    const scaled = g.op('Mul', [scores, attentionScale], `${p}/self_attn/scaled_scores`);
    const masked = g.op('Add', [scaled, scoreBias], `${p}/self_attn/masked_scores`);
    const probabilities = g.op('Softmax', [masked], `${p}/self_attn/probabilities`, [int('axis', -1)]);
    const valuesGrouped = g.unsqueeze(presentValues, [2], `${p}/self_attn/values_grouped`);
    const context = g.op('MatMul', [probabilities, valuesGrouped], `${p}/self_attn/context_grouped`); // [B, nkv, g, S, D]
    const contextHeads = g.reshape(context, [0, nh, -1, d], `${p}/self_attn/context_heads`);
    const contextByPosition = g.transpose(contextHeads, [0, 2, 1, 3], `${p}/self_attn/context_by_position`);
    const contextRows = g.reshape(contextByPosition, [0, 0, nh * d], `${p}/self_attn/context`);
    const attended = linear(contextRows, `${w}.self_attn.o_proj.weight`, `${p}/self_attn/o_proj`);
    const afterAttention = g.op('Add', [hidden, attended], `${p}/attention_residual`);

    const mlpIn = rmsNorm(afterAttention, `${w}.post_attention_layernorm.weight`, `${p}/post_attention_layernorm`);
    const gate = linear(mlpIn, `${w}.mlp.gate_proj.weight`, `${p}/mlp/gate_proj`);
    const up = linear(mlpIn, `${w}.mlp.up_proj.weight`, `${p}/mlp/up_proj`);
    const silu = g.op('Mul', [gate, g.op('Sigmoid', [gate], `${p}/mlp/gate_sigmoid`)], `${p}/mlp/gate_silu`);
    const activated = g.op('Mul', [silu, up], `${p}/mlp/activated`);
    const down = linear(activated, `${w}.mlp.down_proj.weight`, `${p}/mlp/down_proj`);
    hidden = g.op('Add', [afterAttention, down], `${p}/mlp_residual`);
  }

  // ---- Final norm and the tied LM head.
  const finalHidden = rmsNorm(hidden, 'model.norm.weight', '/model/norm');
  if (embedQuantized === undefined) {
    // Gemm with transB multiplies by the embedding table as stored: no transposed copy.
    const flat = g.reshape(finalHidden, [-1, h], '/lm_head/flat_hidden');
    const flatLogits = g.op('Gemm', [flat, embedName], '/lm_head/flat_logits', [int('transB', 1)]);
    const logitsShape = g.op(
      'Concat',
      [g.op('Shape', ['input_ids'], '/lm_head/batch_and_sequence'), g.int64([arch.vocabSize])],
      '/lm_head/logits_shape',
      [int('axis', 0)],
    );
    g.op('Reshape', [flatLogits, logitsShape], 'logits');
  } else {
    const attributes = matMulNBitsAttributes(embedQuantized, bits as QuantBits);
    g.op('MatMulNBits', [finalHidden, embedQuantized.packed, embedQuantized.scales], 'logits', attributes, MICROSOFT_DOMAIN);
  }

  const cacheDims = (length: string): Array<number | string> => ['batch_size', nkv, length, d];
  const inputs = [
    valueInfo('input_ids', DataType.INT64, ['batch_size', 'sequence_length']),
    valueInfo('attention_mask', DataType.INT64, ['batch_size', 'total_sequence_length']),
    valueInfo('position_ids', DataType.INT64, ['batch_size', 'sequence_length']),
  ];
  const outputs = [valueInfo('logits', DataType.FLOAT, ['batch_size', 'sequence_length', arch.vocabSize])];
  for (let layer = 0; layer < arch.numHiddenLayers; layer++) {
    for (const kind of ['key', 'value']) {
      inputs.push(valueInfo(`past_key_values.${layer}.${kind}`, DataType.FLOAT, cacheDims('past_sequence_length')));
      outputs.push(valueInfo(`present.${layer}.${kind}`, DataType.FLOAT, cacheDims('total_sequence_length')));
    }
  }

  return {
    irVersion: IR_VERSION,
    opsetImports: bits === undefined ? [{ domain: '', version: OPSET }] : [{ domain: '', version: OPSET }, { domain: MICROSOFT_DOMAIN, version: 1 }],
    producerName: 'jielong make:model',
    producerVersion: '1',
    docString: `Synthetic Llama-architecture decoder with seeded random weights (seed ${seed}, ${dtype}). It babbles.`,
    graph: { name: 'jielong_llama', node: g.nodes, input: inputs, output: outputs },
    initializers: g.initializers,
  };
}
