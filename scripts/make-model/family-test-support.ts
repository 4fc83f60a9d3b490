// Runs a family graph (any style) with onnxruntime-node directly: feeds only the inputs the
// session declares, in the dtype it declares (float16 KV for fp16/q4f16 files).
import * as ort from 'onnxruntime-node';
import type { FamilyArchitecture } from './family.ts';
import { fromFloat16Bits } from './family.ts';

export interface FamilyRun {
  /** [position] rows of vocab logits (batch 1), as float32. */
  logits: Float32Array[];
  /** present.* renamed past_key_values.*, to feed back. */
  present: Record<string, ort.Tensor>;
}

export function isHalfSession(session: ort.InferenceSession): boolean {
  const meta = session.inputMetadata.find((m) => m.name === 'past_key_values.0.key');
  return meta !== undefined && meta.isTensor && meta.type === 'float16';
}

export function emptyFamilyPast(arch: FamilyArchitecture, half: boolean): Record<string, ort.Tensor> {
  const past: Record<string, ort.Tensor> = {};
  for (let layer = 0; layer < arch.numHiddenLayers; layer++) {
    for (const kind of ['key', 'value']) {
      past[`past_key_values.${layer}.${kind}`] = half
        ? new ort.Tensor('float16', new Uint16Array(0), [1, arch.numKeyValueHeads, 0, arch.headDim])
        : new ort.Tensor('float32', new Float32Array(0), [1, arch.numKeyValueHeads, 0, arch.headDim]);
    }
  }
  return past;
}

export function toFloat32(tensor: ort.Tensor): Float32Array {
  if (tensor.type === 'float32') return tensor.data as Float32Array;
  if (tensor.type === 'float16') {
    const data = tensor.data as unknown as Uint16Array | Float32Array;
    // onnxruntime-node may hand float16 back as raw bits (Uint16Array) or as Float16Array.
    if (data instanceof Uint16Array) return Float32Array.from(data, fromFloat16Bits);
    return Float32Array.from(data as ArrayLike<number>);
  }
  throw new Error(`unexpected tensor type ${tensor.type}`);
}

export async function runFamily(
  session: ort.InferenceSession,
  arch: FamilyArchitecture,
  tokens: readonly number[],
  options: { past?: Record<string, ort.Tensor>; positionOffset?: number; numLogitsToKeep?: number } = {},
): Promise<FamilyRun> {
  const half = isHalfSession(session);
  const past = options.past ?? emptyFamilyPast(arch, half);
  const pastLength = past['past_key_values.0.key']?.dims[2] ?? 0;
  const feeds: Record<string, ort.Tensor> = { ...past };
  feeds['input_ids'] = new ort.Tensor('int64', BigInt64Array.from(tokens, BigInt), [1, tokens.length]);
  if (session.inputNames.includes('attention_mask')) {
    feeds['attention_mask'] = new ort.Tensor('int64', new BigInt64Array(pastLength + tokens.length).fill(1n), [1, pastLength + tokens.length]);
  }
  if (session.inputNames.includes('position_ids')) {
    const offset = options.positionOffset ?? 0;
    feeds['position_ids'] = new ort.Tensor('int64', BigInt64Array.from(tokens, (_, i) => BigInt(pastLength + i + offset)), [1, tokens.length]);
  }
  if (session.inputNames.includes('num_logits_to_keep')) {
    feeds['num_logits_to_keep'] = new ort.Tensor('int64', BigInt64Array.of(BigInt(options.numLogitsToKeep ?? 0)), []);
  }
  const output = await session.run(feeds);
  const logitsTensor = output['logits'];
  if (!logitsTensor) throw new Error('no logits output');
  const data = toFloat32(logitsTensor);
  const rows = logitsTensor.dims[1] as number;
  const logits = Array.from({ length: rows }, (_, s) => data.slice(s * arch.vocabSize, (s + 1) * arch.vocabSize));
  const present: Record<string, ort.Tensor> = {};
  for (const [name, tensor] of Object.entries(output)) {
    if (name.startsWith('present.')) present[name.replace('present.', 'past_key_values.')] = tensor;
  }
  return { logits, present };
}
