// What kind of decoder graph an ONNX file holds, read from its outline (inputs and operator
// counts), and whether the engine can run it. Real exports come in several styles (Optimum's
// plain ops, onnxruntime-genai's GroupQueryAttention with fused or separate rotary), take
// different optional inputs, and some repositories hold graphs of another kind altogether
// (encoder-decoder, vision-language): those are refused here, at import and at load, with a
// message that names what was found and what Jielong runs.
import { ModelHostError } from '../shared/model-host-error.ts';
import type { OnnxGraphOutline } from './onnx-graph.ts';

export type GraphStyle = 'optimum' | 'gqa-fused' | 'gqa-rotary' | 'multi-head-attention';
export type AttentionOp = 'MatMul+Softmax' | 'GroupQueryAttention' | 'MultiHeadAttention';

export interface DecoderGraphKind {
  style: GraphStyle;
  attentionOp: AttentionOp;
  /** Optional inputs the graph takes; the engine feeds each one only where present. */
  takesAttentionMask: boolean;
  takesPositionIds: boolean;
  takesNumLogitsToKeep: boolean;
}

/** The newest default-domain opset onnxruntime-node 1.30 loads (27 is refused: measured). */
export const MAX_ONNX_OPSET = 26;

/** Operator domains onnxruntime's CPU build has kernels for. */
const KNOWN_DOMAINS = new Set(['', 'ai.onnx', 'ai.onnx.ml', 'com.microsoft']);

/** Inputs of a text decoder with a KV cache, besides `past_key_values.N.key|value`. */
const DECODER_INPUTS = new Set(['input_ids', 'attention_mask', 'position_ids', 'num_logits_to_keep', 'use_cache_branch']);

/** Inputs that give away another kind of model, and what that kind is. */
const OTHER_KINDS: ReadonlyArray<{ inputs: readonly string[]; kind: string }> = [
  { inputs: ['encoder_hidden_states', 'encoder_attention_mask', 'encoder_outputs'], kind: 'the decoder half of an encoder-decoder model' },
  { inputs: ['pixel_values', 'image_features', 'vision_embeds', 'image_grid_thw'], kind: 'a vision-language model' },
  { inputs: ['input_features', 'audio_values', 'input_values'], kind: 'a speech model' },
  { inputs: ['inputs_embeds'], kind: 'a model that takes embeddings from another graph (a vision-language or speech model split in parts)' },
];

const WHAT_JIELONG_RUNS =
  'Jielong runs text-only decoder models exported for transformers.js: one ONNX graph that takes input_ids and a KV cache (past_key_values) and returns logits';

const PAST_INPUT = /^past_key_values\.\d+\.(key|value)$/;

function refuse(file: string, found: string): ModelHostError {
  return new ModelHostError('model_invalid', `${file} is ${found}. ${WHAT_JIELONG_RUNS}.`);
}

/** Classifies a decoder graph, or throws a `model_invalid` ModelHostError saying why the engine cannot run it. */
export function classifyDecoderGraph(outline: OnnxGraphOutline, file: string): DecoderGraphKind {
  const inputs = new Set(outline.inputs);
  for (const { inputs: giveaways, kind } of OTHER_KINDS) {
    const hit = giveaways.find((name) => inputs.has(name));
    if (hit) throw refuse(file, `${kind} (its graph takes ${hit})`);
  }
  if (!inputs.has('input_ids')) throw refuse(file, `not a text decoder (its graph takes ${outline.inputs.slice(0, 4).join(', ') || 'no inputs'}, not input_ids)`);
  if (!outline.outputs.includes('logits')) throw refuse(file, `not a language model head (its graph returns ${outline.outputs.slice(0, 4).join(', ') || 'nothing'}, not logits)`);
  const unknown = outline.inputs.filter((name) => !DECODER_INPUTS.has(name) && !PAST_INPUT.test(name));
  if (unknown.length > 0) throw refuse(file, `a graph with inputs Jielong does not know how to feed (${unknown.slice(0, 5).join(', ')})`);

  for (const { domain, version } of outline.opsetImports) {
    if (!KNOWN_DOMAINS.has(domain)) throw refuse(file, `built with operators from "${domain}", which onnxruntime's CPU build does not have`);
    if ((domain === '' || domain === 'ai.onnx') && version > MAX_ONNX_OPSET) {
      throw refuse(file, `built for ONNX opset ${version}, newer than the ${MAX_ONNX_OPSET} this version of Jielong's runtime supports`);
    }
  }

  const ops = outline.opCounts;
  const gqa = ops['com.microsoft.GroupQueryAttention'] ?? 0;
  const mha = ops['com.microsoft.MultiHeadAttention'] ?? 0;
  const rotary = ops['com.microsoft.RotaryEmbedding'] ?? 0;
  const style: GraphStyle = gqa > 0 ? (rotary > 0 ? 'gqa-rotary' : 'gqa-fused') : mha > 0 ? 'multi-head-attention' : 'optimum';
  const attentionOp: AttentionOp = gqa > 0 ? 'GroupQueryAttention' : mha > 0 ? 'MultiHeadAttention' : 'MatMul+Softmax';
  if (gqa > 0 && !inputs.has('attention_mask')) {
    // GroupQueryAttention learns the sequence lengths from the mask: without one it cannot run.
    throw refuse(file, 'a GroupQueryAttention graph without an attention_mask input');
  }
  return {
    style,
    attentionOp,
    takesAttentionMask: inputs.has('attention_mask'),
    takesPositionIds: inputs.has('position_ids'),
    takesNumLogitsToKeep: inputs.has('num_logits_to_keep'),
  };
}

/**
 * Where `position_ids` start: 1 for the gemma3 family, 0 elsewhere. transformers.js 4.3.1
 * (decoder_forward) uses the same rule, and the exports were made to match it.
 */
export function positionIdOffset(modelType: string): number {
  return ['gemma3_text', 'gemma3', 'paligemma'].includes(modelType) ? 1 : 0;
}
