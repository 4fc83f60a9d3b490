// One forward pass of a decoder graph, fed exactly what that graph takes. Real exports differ
// (model-files/decoder-graph.ts): some take position_ids, some num_logits_to_keep, one gemma
// export takes no attention_mask, float16 exports keep their KV cache and logits in float16.
// The session's own input list and metadata say which; nothing here assumes a style.
import * as ort from 'onnxruntime-node';
import type { DecoderGraphKind } from '../model-files/decoder-graph.ts';
import { ModelHostError } from '../shared/model-host-error.ts';
import { float16ToFloat32 } from './float16.ts';
import type { PastKeyValues } from './kv-cache.ts';

export type CacheDtype = 'float32' | 'float16';

interface CacheInput {
  name: string;
  /** `present.N.key` for `past_key_values.N.key`. */
  output: string;
  type: CacheDtype;
  heads: number;
  headDim: number;
}

export interface DecoderSignature {
  cache: CacheInput[];
  kvDtype: CacheDtype;
  logitsDtype: CacheDtype;
  takesAttentionMask: boolean;
  takesPositionIds: boolean;
  takesNumLogitsToKeep: boolean;
  takesUseCacheBranch: boolean;
  /** `position_ids` start here (1 for gemma3, as transformers.js and its exports agree). */
  positionOffset: number;
}

export interface ForwardResult {
  /** Logits of the last fed position, float32 whatever the graph returns. */
  logits: Float32Array;
  /** The graph's `present.*` outputs renamed to the `past_key_values.*` inputs they feed next. */
  present: PastKeyValues;
}

type SessionMetadata = ort.InferenceSession.ValueMetadata;

function tensorMetadata(list: readonly SessionMetadata[], name: string): { type: string; shape: ReadonlyArray<number | string> } | null {
  const found = list.find((m) => m.name === name);
  return found && found.isTensor ? { type: found.type, shape: found.shape } : null;
}

function floatType(type: string | undefined, what: string): CacheDtype {
  if (type === 'float32' || type === 'float16') return type;
  throw new ModelHostError('model_invalid', `The model's ${what} is ${type ?? 'missing'}; Jielong runs float32 or float16 caches and logits`);
}

/** Reads what the session takes and returns; refuses a cache it could not build. */
export function readDecoderSignature(session: ort.InferenceSession, graph: DecoderGraphKind, positionOffset: number): DecoderSignature {
  const cache: CacheInput[] = [];
  for (const name of session.inputNames) {
    const match = /^past_key_values\.(\d+)\.(key|value)$/.exec(name);
    if (!match) continue;
    const meta = tensorMetadata(session.inputMetadata, name);
    const [, heads, , headDim] = meta?.shape ?? [];
    if (typeof heads !== 'number' || typeof headDim !== 'number') {
      throw new ModelHostError('model_invalid', `The model's ${name} has no fixed head count and size (shape [${meta?.shape.join(', ') ?? ''}]), so an empty cache cannot be built`);
    }
    const output = `present.${match[1]}.${match[2]}`;
    if (!session.outputNames.includes(output)) throw new ModelHostError('model_invalid', `The model takes ${name} but returns no ${output}`);
    cache.push({ name, output, type: floatType(meta?.type, name), heads, headDim });
  }
  const kvDtype = cache[0]?.type ?? 'float32';
  if (cache.some((c) => c.type !== kvDtype)) throw new ModelHostError('model_invalid', 'The model mixes float16 and float32 cache inputs');
  return {
    cache,
    kvDtype,
    logitsDtype: floatType(tensorMetadata(session.outputMetadata, 'logits')?.type, 'logits output'),
    takesAttentionMask: graph.takesAttentionMask,
    takesPositionIds: graph.takesPositionIds,
    takesNumLogitsToKeep: graph.takesNumLogitsToKeep,
    takesUseCacheBranch: session.inputNames.includes('use_cache_branch'),
    positionOffset,
  };
}

const int64Row = (values: BigInt64Array): ort.Tensor => new ort.Tensor('int64', values, [1, values.length]);

/** Runs forward passes of one session; holds no state between them. */
export class DecoderRunner {
  /** `num_logits_to_keep` = 1: prefill and decode alike need only the last position's logits. */
  private readonly keepLastLogits = new ort.Tensor('int64', BigInt64Array.of(1n), []);

  constructor(
    private readonly session: ort.InferenceSession,
    readonly signature: DecoderSignature,
  ) {}

  /** Feeds `ids` after `pastLength` cached positions whose keys and values are `past` (none: an empty cache). */
  async forward(ids: readonly number[], past: PastKeyValues | undefined, pastLength: number): Promise<ForwardResult> {
    const s = this.signature;
    const total = pastLength + ids.length;
    const feeds: Record<string, ort.Tensor> = { input_ids: int64Row(BigInt64Array.from(ids, BigInt)) };
    if (s.takesAttentionMask) feeds['attention_mask'] = int64Row(new BigInt64Array(total).fill(1n));
    if (s.takesPositionIds) {
      const positions = new BigInt64Array(ids.length);
      for (let i = 0; i < ids.length; i++) positions[i] = BigInt(pastLength + i + s.positionOffset);
      feeds['position_ids'] = int64Row(positions);
    }
    if (s.takesNumLogitsToKeep) feeds['num_logits_to_keep'] = this.keepLastLogits;
    if (s.takesUseCacheBranch) feeds['use_cache_branch'] = new ort.Tensor('bool', Uint8Array.of(pastLength > 0 ? 1 : 0), [1]);
    for (const c of s.cache) {
      feeds[c.name] = past?.[c.name] ?? new ort.Tensor(c.type, c.type === 'float16' ? new Uint16Array(0) : new Float32Array(0), [1, c.heads, 0, c.headDim]);
    }

    const outputs = await this.session.run(feeds);
    const logits = outputs['logits'];
    if (!logits) throw new ModelHostError('generation_failed', 'The model returned no logits');
    const vocab = logits.dims.at(-1) ?? 0;
    const all = logits.data as Float32Array | Uint16Array;
    const last = all.subarray(all.length - vocab);
    const present: PastKeyValues = {};
    for (const c of s.cache) {
      const tensor = outputs[c.output];
      if (!tensor) throw new ModelHostError('generation_failed', `The model returned no ${c.output}`);
      present[c.name] = tensor;
    }
    return { logits: last instanceof Uint16Array ? float16ToFloat32(last) : last, present };
  }
}
