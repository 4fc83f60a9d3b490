// One forward pass of a decoder graph, fed exactly what that graph takes. Real exports differ
// (model-files/decoder-graph.ts): some take position_ids, some num_logits_to_keep, one gemma
// export takes no attention_mask, float16 exports keep their KV cache and logits in float16.
// The session's own input list and metadata say which; nothing here assumes a style.
import * as ort from 'onnxruntime-node';
import type { DecoderGraphKind } from '../model-files/decoder-graph.ts';
import { ModelHostError } from '../shared/model-host-error.ts';
import { float16ToFloat32 } from './float16.ts';
import type { CacheBinding, CacheDtype, CacheSlot, KvBuffers } from './kv-cache.ts';


export interface DecoderSignature {
  cache: CacheSlot[];
  kvDtype: CacheDtype;
  logitsDtype: CacheDtype;
  takesAttentionMask: boolean;
  takesPositionIds: boolean;
  takesNumLogitsToKeep: boolean;
  takesUseCacheBranch: boolean;
  /** `position_ids` start here (1 for gemma3, as transformers.js and its exports agree). */
  positionOffset: number;
  /** GroupQueryAttention: past and present may be one buffer, written in place. */
  sharesCacheBuffer: boolean;
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
  const cache: CacheSlot[] = [];
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
    sharesCacheBuffer: graph.attentionOp === 'GroupQueryAttention',
  };
}

const int64Row = (values: BigInt64Array): ort.Tensor => new ort.Tensor('int64', values, [1, values.length]);

/**
 * Runs forward passes of one session over a KvBuffers. What a decode step feeds is reused
 * from step to step: the one-token input_ids and position_ids tensors, the attention mask's
 * ones, num_logits_to_keep, and the logits output the graph writes into.
 */
export class DecoderRunner {
  /** `num_logits_to_keep` = 1: prefill and decode alike need only the last position's logits. */
  private readonly keepLastLogits = new ort.Tensor('int64', BigInt64Array.of(1n), []);
  private readonly useCache = [false, true].map((on) => new ort.Tensor('bool', Uint8Array.of(on ? 1 : 0), [1]));
  private readonly oneId = new BigInt64Array(1);
  private readonly onePosition = new BigInt64Array(1);
  private readonly oneIdTensor = int64Row(this.oneId);
  private readonly onePositionTensor = int64Row(this.onePosition);
  private maskOnes = new BigInt64Array(0);
  /** The graph's logits for one position, written in place once the vocabulary size is known. */
  private logitsOut: { data: Float32Array | Uint16Array; tensor: ort.Tensor } | null = null;
  /** float32 copy of float16 logits, reused. */
  private logits32 = new Float32Array(0);

  constructor(
    private readonly session: ort.InferenceSession,
    readonly signature: DecoderSignature,
  ) {}

  /** How the cache's buffers are bound for this graph. */
  get cacheBinding(): CacheBinding {
    return this.signature.sharesCacheBuffer ? 'shared' : 'concat';
  }

  /**
   * Feeds `ids` after the positions `kv` holds and adds theirs. Returns the logits of the last
   * fed position, float32 whatever the graph returns; the array is reused by the next pass.
   */
  async forward(ids: readonly number[], kv: KvBuffers): Promise<Float32Array> {
    const s = this.signature;
    const pastLength = kv.length;
    const total = pastLength + ids.length;
    const single = ids.length === 1;
    const feeds: Record<string, ort.Tensor> = {};
    if (single) {
      this.oneId[0] = BigInt(ids[0]!);
      feeds['input_ids'] = this.oneIdTensor;
    } else {
      feeds['input_ids'] = int64Row(BigInt64Array.from(ids, BigInt));
    }
    if (s.takesAttentionMask) {
      if (this.maskOnes.length < total) this.maskOnes = new BigInt64Array(Math.max(total, this.maskOnes.length * 2)).fill(1n);
      feeds['attention_mask'] = int64Row(this.maskOnes.subarray(0, total));
    }
    if (s.takesPositionIds) {
      if (single) {
        this.onePosition[0] = BigInt(pastLength + s.positionOffset);
        feeds['position_ids'] = this.onePositionTensor;
      } else {
        feeds['position_ids'] = int64Row(BigInt64Array.from(ids, (_, i) => BigInt(pastLength + i + s.positionOffset)));
      }
    }
    if (s.takesNumLogitsToKeep) feeds['num_logits_to_keep'] = this.keepLastLogits;
    if (s.takesUseCacheBranch) feeds['use_cache_branch'] = this.useCache[pastLength > 0 ? 1 : 0]!;

    // Every output is named (onnxruntime-node pairs results with names by position); null lets
    // onnxruntime allocate: the logits of a multi-token pass in a graph that returns them all.
    const fetches: Record<string, ort.Tensor | null> = { logits: this.logitsOut && (single || s.takesNumLogitsToKeep) ? this.logitsOut.tensor : null };
    kv.bind(ids.length, feeds, fetches);
    const outputs = await this.session.run(feeds, fetches as ort.InferenceSession.FetchesType);
    kv.advance(ids.length);

    const written = fetches['logits'];
    const logits = written ? null : outputs['logits'];
    if (!written && !logits) throw new ModelHostError('generation_failed', 'The model returned no logits');
    if (logits && !this.logitsOut) this.allocateLogits(logits);
    const all = written ? this.logitsOut!.data : (logits!.data as Float32Array | Uint16Array);
    const vocab = this.logitsOut!.data.length;
    const last = all.subarray(all.length - vocab);
    if (last instanceof Float32Array) return last;
    if (this.logits32.length !== vocab) this.logits32 = new Float32Array(vocab);
    return float16ToFloat32(last, this.logits32);
  }

  private allocateLogits(first: ort.Tensor): void {
    const vocab = first.dims.at(-1) ?? 0;
    const data = this.signature.logitsDtype === 'float16' ? new Uint16Array(vocab) : new Float32Array(vocab);
    this.logitsOut = { data, tensor: new ort.Tensor(this.signature.logitsDtype, data as Float32Array, [1, 1, vocab]) };
  }
}
