import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ModelHostError } from '../shared/model-host-error.ts';
import { classifyDecoderGraph, MAX_ONNX_OPSET, positionIdOffset } from './decoder-graph.ts';
import { readOnnxGraphOutline, type OnnxGraphOutline } from './onnx-graph.ts';

const DEMO_ONNX = path.resolve('resources/models/jielong-tiny-random/onnx/model.onnx');

const cacheInputs = ['past_key_values.0.key', 'past_key_values.0.value'];

function outline(overrides: Partial<OnnxGraphOutline>): OnnxGraphOutline {
  return {
    irVersion: 8,
    opsetImports: [{ domain: '', version: 17 }],
    inputs: ['input_ids', 'attention_mask', 'position_ids', ...cacheInputs],
    outputs: ['logits', 'present.0.key', 'present.0.value'],
    externalDataFiles: [],
    initializerCount: 1,
    opCounts: { MatMul: 4, Softmax: 1 },
    ...overrides,
  };
}

function refusal(o: OnnxGraphOutline): string {
  try {
    classifyDecoderGraph(o, 'onnx/model.onnx');
  } catch (error) {
    expect(error).toBeInstanceOf(ModelHostError);
    expect((error as ModelHostError).code).toBe('model_invalid');
    return (error as Error).message;
  }
  throw new Error('expected a refusal');
}

describe('classifyDecoderGraph', () => {
  it('reads the bundled demo model as an Optimum-style plain-op graph', async () => {
    const demo = await readOnnxGraphOutline(DEMO_ONNX);
    expect(demo.opCounts['Softmax']).toBe(2); // one per layer
    expect(demo.opCounts['com.microsoft.GroupQueryAttention']).toBeUndefined();
    expect(classifyDecoderGraph(demo, 'onnx/model.onnx')).toEqual({
      style: 'optimum',
      attentionOp: 'MatMul+Softmax',
      takesAttentionMask: true,
      takesPositionIds: true,
      takesNumLogitsToKeep: false,
    });
  });

  it('tells GroupQueryAttention with fused rotary from GroupQueryAttention with RotaryEmbedding ops', () => {
    const fused = outline({ inputs: ['input_ids', 'attention_mask', ...cacheInputs], opCounts: { 'com.microsoft.GroupQueryAttention': 16 } });
    expect(classifyDecoderGraph(fused, 'f')).toMatchObject({ style: 'gqa-fused', attentionOp: 'GroupQueryAttention', takesPositionIds: false });
    const rotary = outline({
      inputs: ['input_ids', 'attention_mask', 'position_ids', 'num_logits_to_keep', ...cacheInputs],
      opCounts: { 'com.microsoft.GroupQueryAttention': 28, 'com.microsoft.RotaryEmbedding': 56 },
    });
    expect(classifyDecoderGraph(rotary, 'f')).toMatchObject({ style: 'gqa-rotary', takesPositionIds: true, takesNumLogitsToKeep: true });
  });

  it('accepts a graph without attention_mask (the first gemma-3 export)', () => {
    const noMask = outline({ inputs: ['input_ids', 'position_ids', ...cacheInputs] });
    expect(classifyDecoderGraph(noMask, 'f')).toMatchObject({ style: 'optimum', takesAttentionMask: false, takesPositionIds: true });
  });

  it('refuses other kinds of model, naming what it found and what Jielong runs', () => {
    const encoderDecoder = refusal(outline({ inputs: ['input_ids', 'encoder_hidden_states', ...cacheInputs] }));
    expect(encoderDecoder).toContain('encoder-decoder');
    expect(encoderDecoder).toContain('encoder_hidden_states');
    expect(encoderDecoder).toContain('Jielong runs text-only decoder models');
    expect(refusal(outline({ inputs: ['input_ids', 'pixel_values', ...cacheInputs] }))).toContain('vision-language');
    expect(refusal(outline({ inputs: ['inputs_embeds', 'attention_mask', ...cacheInputs] }))).toContain('takes inputs_embeds');
    expect(refusal(outline({ inputs: ['input_ids', 'token_type_ids', ...cacheInputs] }))).toContain('token_type_ids');
    expect(refusal(outline({ outputs: ['last_hidden_state'] }))).toContain('last_hidden_state');
  });

  it('refuses an opset or operator domain the runtime lacks', () => {
    expect(classifyDecoderGraph(outline({ opsetImports: [{ domain: '', version: MAX_ONNX_OPSET }] }), 'f').style).toBe('optimum');
    expect(refusal(outline({ opsetImports: [{ domain: '', version: MAX_ONNX_OPSET + 1 }] }))).toContain(`opset ${MAX_ONNX_OPSET + 1}`);
    expect(refusal(outline({ opsetImports: [{ domain: '', version: 17 }, { domain: 'com.example.custom', version: 1 }] }))).toContain('com.example.custom');
  });
});

describe('positionIdOffset', () => {
  it('starts gemma3 positions at 1, others at 0', () => {
    expect(positionIdOffset('gemma3_text')).toBe(1);
    expect(positionIdOffset('llama')).toBe(0);
    expect(positionIdOffset('qwen3')).toBe(0);
  });
});
