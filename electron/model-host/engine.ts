// Runs one model: loads its ONNX session with onnxruntime and its tokenizer and chat
// template with transformers.js, and generates with our own loop: prefill the prompt once, then decode one token
// at a time, feeding each chosen token back with the KV cache. Our loop, not generate(),
// because generate() ignores top_p, drops min_p and the seed, exposes no probabilities and
// does not check a reused cache against the new prompt.
import path from 'node:path';
import { AutoTokenizer, env, type PreTrainedTokenizer } from '@huggingface/transformers';
import { InferenceSession } from 'onnxruntime-node';
import { ModelHostError } from '../shared/model-host-error.ts';
import {
  type ChatMessage,
  type GenerationStats,
  type HostEventOf,
  type LoadedModelInfo,
  type ModelDevice,
  type ModelDtype,
  type SeededSamplingParams,
  type StopReason,
} from '../shared/model-host-protocol.ts';
import { positionIdOffset } from '../model-files/decoder-graph.ts';
import { verifyModelDtype } from '../model-files/model-folder-inspect.ts';
import { onnxFilePath } from '../shared/model-layout.ts';
import { DecoderRunner, readDecoderSignature } from './decoder-runner.ts';
import { IncrementalDetokenizer } from './incremental-detokenizer.ts';
import { KvBuffers, PromptCache } from './kv-cache.ts';
import { ProducedTurns } from './produced-turn.ts';
import { fitPrompt } from './prompt-window.ts';
import { forcedPick } from './forced-pick.ts';
import { runStages, samplerStages } from './sampler-stages.ts';
import { sampleToken, SeededRandom } from './sampler.ts';
import { ENGINE_SESSION_OPTIONS } from './session-options.ts';
import { modelDistribution } from './token-statistics.ts';

// Offline by default: a model is only ever loaded from a folder on disk.
env.allowRemoteModels = false;
env.allowLocalModels = true;
env.useFSCache = false;

/** Prompt tokens fed per forward pass during prefill, by default. */
export const PREFILL_CHUNK_TOKENS = 128;
/** Used when a config states no context length. */
const FALLBACK_CONTEXT_LENGTH = 2048;
/** A load that takes longer than this is a hang, whatever transformers.js is waiting for. */
const LOAD_TIMEOUT_BASE_MS = 30_000;
const LOAD_TIMEOUT_MS_PER_GB = 30_000;

export interface LoadRequest {
  modelDir: string;
  dtype: ModelDtype;
  device: ModelDevice;
}

export interface GenerateRequest {
  requestId: string;
  /** A conversation for the chat template, or (`prompt`) raw text tokenized as it is. */
  messages?: ChatMessage[];
  prompt?: string;
  params: SeededSamplingParams;
  candidates: number;
  reuseCache: boolean;
  /** Token ids of the answer so far: generation continues after them. */
  answerPrefix?: number[] | undefined;
  /** The first token is this one instead of the sampler's pick. */
  forceFirstToken?: number | undefined;
  /** The first token event carries the sampler's stages. */
  stages?: boolean | undefined;
}

export interface GenerateCallbacks {
  onPrefill(event: Omit<HostEventOf<'prefill'>, 'type' | 'requestId'>): void;
  onToken(event: Omit<HostEventOf<'token'>, 'type' | 'requestId'>): void;
  isCancelled(): boolean;
}

export type LoadProgress = Omit<HostEventOf<'load-progress'>, 'type' | 'requestId'>;

interface LoadedModel {
  session: InferenceSession;
  runner: DecoderRunner;
  tokenizer: PreTrainedTokenizer;
  info: LoadedModelInfo;
  eosTokenIds: Set<number>;
  /** The keys and values of the last request, kept for the next one. */
  cache: PromptCache;
  /** chat_template.jinja's template, which wins over tokenizer_config.json's (transformers.js reads only the latter). */
  chatTemplate: string | null;
}

export interface EngineOptions {
  /** Prompt tokens per forward pass during prefill (tests compare chunk sizes). */
  prefillChunkTokens?: number;
  /** onnxruntime session options, over the engine's own (benches compare settings). */
  sessionOptions?: InferenceSession.SessionOptions;
}

export class Engine {
  private loaded: LoadedModel | null = null;
  private readonly prefillChunk: number;

  private readonly sessionOptions: InferenceSession.SessionOptions;

  constructor(options: EngineOptions = {}) {
    this.prefillChunk = options.prefillChunkTokens ?? PREFILL_CHUNK_TOKENS;
    this.sessionOptions = { ...ENGINE_SESSION_OPTIONS, ...options.sessionOptions };
  }

  /** Recent answers as produced, so a next prompt that contains one reads the same ids. */
  private readonly produced = new ProducedTurns();
  private readonly tokenTextCache = new Map<number, string>();

  get info(): LoadedModelInfo | null {
    return this.loaded?.info ?? null;
  }

  async load(request: LoadRequest, onProgress: (progress: LoadProgress) => void): Promise<LoadedModelInfo> {
    await this.unload();
    const started = performance.now();
    // Every file checked (an end-of-sequence token included), and a graph of another kind
    // refused with what it is, before onnxruntime or the tokenizer loader sees the folder.
    const checked = await verifyModelDtype(request.modelDir, request.dtype);
    const { graph } = checked;

    const timeoutMs = LOAD_TIMEOUT_BASE_MS + (checked.weightBytes / 1e9) * LOAD_TIMEOUT_MS_PER_GB;
    const onnxPath = onnxFilePath(request.dtype);
    let tokenizer: PreTrainedTokenizer;
    let session: InferenceSession;
    // The session is created from the file's path by onnxruntime itself, which reads the
    // external data the graph names from the same folder. transformers.js' model loader would
    // also stream the whole file into a JavaScript queue nobody reads (its FileResponse),
    // holding a second copy of the weights until the collector finds it.
    onProgress({ file: onnxPath, progress: 0 });
    try {
      [tokenizer, session] = await withTimeout(
        Promise.all([
          AutoTokenizer.from_pretrained(request.modelDir, { local_files_only: true }),
          InferenceSession.create(path.join(request.modelDir, onnxPath), { ...this.sessionOptions, executionProviders: [request.device] }),
        ]),
        timeoutMs,
        `Loading the model took longer than ${Math.round(timeoutMs / 1000)} s`,
      );
    } catch (error) {
      if (error instanceof ModelHostError) throw error;
      throw new ModelHostError('load_failed', `The model could not be loaded: ${describe(error)}`);
    }
    onProgress({ file: onnxPath, progress: 100 });

    try {
      const runner = new DecoderRunner(session, readDecoderSignature(session, graph, positionIdOffset(checked.config.model_type)));
      const contextLength = checked.config.max_position_embeddings ?? FALLBACK_CONTEXT_LENGTH;
      const cache = new PromptCache(new KvBuffers(runner.signature.cache, runner.cacheBinding, contextLength));
      // One forward pass proves the graph runs and tells the vocabulary size.
      const vocabSize = (await runner.forward([0], cache.kv)).length;
      cache.clear();
      const eosTokenIds = new Set(checked.eosTokenIds);
      const info: LoadedModelInfo = {
        modelDir: request.modelDir,
        dtype: request.dtype,
        device: request.device,
        contextLength,
        vocabSize,
        loadMs: performance.now() - started,
        rssBytes: process.memoryUsage().rss,
        modelFileBytes: checked.weightBytes,
        graph: {
          style: graph.style,
          attentionOp: graph.attentionOp,
          kvDtype: runner.signature.kvDtype,
          logitsDtype: runner.signature.logitsDtype,
          externalData: checked.externalDataFiles.length > 0,
          inputs: [...new Set(session.inputNames.map((name) => name.replace(/^past_key_values\.\d+\./, 'past_key_values.*.')))],
        },
      };
      this.loaded = { session, runner, tokenizer, info, eosTokenIds, cache, chatTemplate: checked.chatTemplateFile };
      return info;
    } catch (error) {
      await session.release().catch(() => undefined);
      if (error instanceof ModelHostError) throw error;
      throw new ModelHostError('model_invalid', `The model loaded but does not run: ${describe(error)}`);
    }
  }

  async unload(): Promise<void> {
    const loaded = this.loaded;
    this.loaded = null;
    this.tokenTextCache.clear();
    if (loaded) await loaded.session.release();
  }

  async generate(request: GenerateRequest, callbacks: GenerateCallbacks): Promise<GenerationStats> {
    const loaded = this.loaded;
    if (!loaded) throw new ModelHostError('not_loaded', 'No model is loaded');
    const { runner, tokenizer, info, eosTokenIds, cache, chatTemplate } = loaded;
    const { params } = request;
    const started = performance.now();

    const encode = (text: string): number[] => tokenizer.encode(text, { add_special_tokens: false });
    const renderedText = new WeakMap<number[], string>();
    const encodeChat = (messages: ChatMessage[]): number[] => {
      const text = tokenizer.apply_chat_template(messages, { add_generation_prompt: true, tokenize: false, chat_template: chatTemplate ?? undefined }) as unknown as string;
      const ids = this.produced.encode(text, encode);
      renderedText.set(ids, text);
      return ids;
    };
    const answerPrefix = request.answerPrefix ?? [];
    for (const id of [...answerPrefix, ...(request.forceFirstToken === undefined ? [] : [request.forceFirstToken])]) {
      if (id >= info.vocabSize) throw new ModelHostError('invalid_request', `Token ${id} is not in this model's vocabulary of ${info.vocabSize}: the answer was written by another model.`);
    }
    const fitted =
      request.prompt !== undefined
        ? rawPrompt(tokenizer.encode(request.prompt), info.contextLength)
        : fitPrompt(request.messages ?? [], params.maxNewTokens + answerPrefix.length, info.contextLength, encodeChat);
    const { droppedMessages } = fitted;
    // The answer so far is part of the prompt: its keys and values come from the cache when they match.
    const renderedLength = fitted.tokenIds.length;
    const promptIds = answerPrefix.length > 0 ? [...fitted.tokenIds, ...answerPrefix] : fitted.tokenIds;
    if (promptIds.length >= info.contextLength) throw new ModelHostError('context_full', `The answer so far fills this model's context of ${info.contextLength} tokens.`);

    if (!request.reuseCache) cache.clear();
    const cachedTokens = cache.reuseFor(promptIds);
    callbacks.onPrefill({ promptTokens: promptIds.length, cachedTokens, droppedMessages });

    const { seed } = params;
    const random = new SeededRandom(seed);
    const detokenizer = new IncrementalDetokenizer((ids) => tokenizer.decode(ids, { skip_special_tokens: true }));
    // The answer so far was shown already: the detokenizer only learns its context.
    for (const id of answerPrefix) detokenizer.push(id);
    const history = [...promptIds];

    // Prefill in chunks: a graph without num_logits_to_keep returns logits for every fed
    // position, so one pass over a long prompt would hold [prompt x vocabulary] floats (140 MB
    // at 700 tokens and a 49k vocabulary) and grow onnxruntime's arena for good.
    // `logits` is the runner's own buffer: read before the next pass overwrites it.
    const toFeed = promptIds.slice(cachedTokens);
    let logits: Float32Array = new Float32Array(0);
    for (let start = 0; start < toFeed.length; start += this.prefillChunk) {
      logits = await forward(runner, cache, toFeed.slice(start, start + this.prefillChunk));
    }
    const prefillMs = performance.now() - started;

    let decodeTokens = 0;
    let firstTokenAt = 0;
    let stopReason: StopReason;
    let stepStarted = performance.now();
    for (;;) {
      const model = request.candidates > 0 ? modelDistribution(logits) : null;
      const stages = request.stages && decodeTokens === 0 ? runStages(logits, samplerStages(params, history), Math.max(request.candidates, 5)).summaries : null;
      const pick =
        decodeTokens === 0 && request.forceFirstToken !== undefined
          ? forcedPick(logits, params, history, request.candidates, request.forceFirstToken)
          : sampleToken(logits, params, random, history, request.candidates, model?.scale);
      const decodeMs = performance.now() - stepStarted;
      decodeTokens++;
      if (decodeTokens === 1) firstTokenAt = performance.now();
      history.push(pick.tokenId);
      const isEos = eosTokenIds.has(pick.tokenId);
      const stop: StopReason | null = isEos
        ? 'eos'
        : decodeTokens >= params.maxNewTokens
          ? 'max_tokens'
          : history.length >= info.contextLength
            ? 'context_full'
            : null;
      // The last token also carries whatever text was held back; the end token adds none.
      const text = isEos ? detokenizer.flush() : detokenizer.push(pick.tokenId) + (stop ? detokenizer.flush() : '');
      callbacks.onToken({
        text,
        tokenId: pick.tokenId,
        probability: pick.probability,
        decodeMs,
        ...(pick.candidates ? { candidates: pick.candidates.map((c) => ({ ...c, text: this.tokenText(tokenizer, c.tokenId), ...(model ? { modelProbability: model.probability(c.tokenId) } : {}) })) } : {}),
        ...(model ? { modelProbability: model.probability(pick.tokenId), entropyBits: model.entropyBits } : {}),
        ...(stages ? { stages: stages.map((stage) => ({ ...stage, top: stage.top.map((t) => ({ ...t, text: this.tokenText(tokenizer, t.tokenId) })) })) } : {}),
      });
      if (stop) {
        stopReason = stop;
        break;
      }
      // Let messages in (a cancel) between tokens: session runs block the thread. A cancel
      // drops at most the bytes of one unfinished character.
      await yieldToEventLoop();
      if (callbacks.isCancelled()) {
        stopReason = 'cancelled';
        break;
      }
      stepStarted = performance.now();
      logits = await forward(runner, cache, [pick.tokenId]);
    }

    const answerIds = history.slice(renderedLength);
    const answerText = tokenizer.decode(answerIds, { skip_special_tokens: false, clean_up_tokenization_spaces: false });
    if (request.prompt === undefined) this.produced.add({ text: (renderedText.get(fitted.tokenIds) ?? '') + answerText, ids: history });

    const decodeMs = performance.now() - firstTokenAt;
    return {
      promptTokens: promptIds.length,
      cachedTokens,
      prefillMs,
      timeToFirstTokenMs: firstTokenAt - started,
      decodeTokens,
      decodeTokensPerSecond: decodeTokens > 1 && decodeMs > 0 ? ((decodeTokens - 1) * 1000) / decodeMs : 0,
      prefillTokensPerSecond: prefillMs > 0 ? ((promptIds.length - cachedTokens) * 1000) / prefillMs : 0,
      stopReason,
      seed,
      droppedMessages,
      contextLength: info.contextLength,
    };
  }

  private tokenText(tokenizer: PreTrainedTokenizer, tokenId: number): string {
    let text = this.tokenTextCache.get(tokenId);
    if (text === undefined) {
      text = tokenizer.decode([tokenId], { skip_special_tokens: false });
      this.tokenTextCache.set(tokenId, text);
    }
    return text;
  }
}

/** Feeds `ids` after the cached tokens; returns the logits of the last position. */
async function forward(runner: DecoderRunner, cache: PromptCache, ids: number[]): Promise<Float32Array> {
  const logits = await runner.forward(ids, cache.kv);
  cache.append(ids);
  return logits;
}

/** A raw prompt (no chat template), tokenized with the tokenizer's own special tokens (BOS). */
function rawPrompt(tokenIds: number[], contextLength: number): { tokenIds: number[]; droppedMessages: number } {
  if (tokenIds.length >= contextLength) {
    throw new ModelHostError('context_full', `The prompt is too long for this model: it needs ${tokenIds.length} tokens and the model's context holds ${contextLength}.`);
  }
  return { tokenIds, droppedMessages: 0 };
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function describe(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.length > 500 ? `${message.slice(0, 500)}…` : message;
}

async function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ModelHostError('load_timeout', message)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
