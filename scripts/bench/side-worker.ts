// One baseline side of bench:engine in its own process, as the model host is in its own:
// measured, an idle transformers.js model in the same process as a raw onnxruntime session
// halves the raw session's decode speed (smollm2 q4: 22 -> 11.5 tok/s), so the raw loop and
// generate() must not share a process with each other or with the bench.
// Messages (IPC): {init: {side, modelDir, dtype, sessionOptions?}} -> {ready}; {decode: {ids | messages, tokens}}
// -> {ids, times}; {prefill: {ids}} -> {ms}; times are this process's performance.now().
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { AutoModelForCausalLM, AutoTokenizer, env, type PreTrainedTokenizer } from '@huggingface/transformers';
import * as ort from 'onnxruntime-node';
import type { Engine } from '../../electron/model-host/engine.ts';
import { ENGINE_SESSION_OPTIONS } from '../../electron/model-host/session-options.ts';
import type { ChatMessage, ModelDtype } from '../../electron/shared/model-host-protocol.ts';
import { onnxFilePath } from '../../electron/shared/model-layout.ts';

env.allowRemoteModels = false;

export type SideName = 'raw' | 'generate' | 'engine';
export type SideRequest =
  | { init: { side: SideName; modelDir: string; dtype: ModelDtype; sessionOptions?: ort.InferenceSession.SessionOptions } }
  | { decode: { ids: number[]; messages: ChatMessage[]; tokens: number } }
  | { prefill: { ids: number[] } };
export type SideReply = { ready: true } | { ids: number[]; times: number[] } | { ms: number } | { error: string };

/** (a) onnxruntime-node fed directly, greedy argmax, no library in between. */
class RawSide {
  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly layers: number,
    private readonly kvHeads: number,
    private readonly headDim: number,
  ) {}

  static async create(modelDir: string, dtype: ModelDtype): Promise<RawSide> {
    const config = JSON.parse(await readFile(path.join(modelDir, 'config.json'), 'utf8')) as {
      num_hidden_layers: number;
      num_key_value_heads: number;
      head_dim?: number;
      hidden_size: number;
      num_attention_heads: number;
    };
    const headDim = config.head_dim ?? config.hidden_size / config.num_attention_heads;
    const session = await ort.InferenceSession.create(path.join(modelDir, onnxFilePath(dtype)), { ...ENGINE_SESSION_OPTIONS, executionProviders: ['cpu'] });
    return new RawSide(session, config.num_hidden_layers, config.num_key_value_heads, headDim);
  }

  /** Greedy: prefill `prompt`, then `tokens` more steps; the ids and the time each was chosen. */
  async run(prompt: readonly number[], tokens: number): Promise<{ ids: number[]; times: number[] }> {
    let past: Record<string, ort.Tensor> = {};
    for (let i = 0; i < this.layers; i++) {
      for (const kind of ['key', 'value']) past[`past_key_values.${i}.${kind}`] = new ort.Tensor('float32', new Float32Array(0), [1, this.kvHeads, 0, this.headDim]);
    }
    let fed = 0;
    let next: readonly number[] = prompt;
    const ids: number[] = [];
    const times: number[] = [performance.now()];
    for (let step = 0; step <= tokens; step++) {
      const total = fed + next.length;
      const feeds: Record<string, ort.Tensor> = {
        input_ids: new ort.Tensor('int64', BigInt64Array.from(next, BigInt), [1, next.length]),
        attention_mask: new ort.Tensor('int64', new BigInt64Array(total).fill(1n), [1, total]),
        ...past,
      };
      if (this.session.inputNames.includes('position_ids')) {
        feeds['position_ids'] = new ort.Tensor('int64', BigInt64Array.from(next, (_, i) => BigInt(fed + i)), [1, next.length]);
      }
      if (this.session.inputNames.includes('num_logits_to_keep')) feeds['num_logits_to_keep'] = new ort.Tensor('int64', BigInt64Array.of(1n), []);
      const out = await this.session.run(feeds);
      const logits = out['logits']!;
      const vocab = logits.dims.at(-1)!;
      const data = logits.data as Float32Array;
      const base = data.length - vocab;
      let top = base;
      for (let i = base + 1; i < data.length; i++) if (data[i]! > data[top]!) top = i;
      const nextPast: Record<string, ort.Tensor> = {};
      for (const name of Object.keys(past)) nextPast[name] = out[name.replace('past_key_values.', 'present.')]!;
      past = nextPast;
      fed = total;
      ids.push(top - base);
      times.push(performance.now());
      next = [top - base];
    }
    // times[0] is the start: the first token's time is times[1].
    return { ids, times };
  }
}

/** (b) transformers.js generate(), greedy; the streamer records when each token arrives and decodes nothing. */
class GenerateSide {
  private constructor(
    private readonly model: Awaited<ReturnType<typeof AutoModelForCausalLM.from_pretrained>>,
    private readonly tokenizer: PreTrainedTokenizer,
  ) {}

  static async create(modelDir: string, dtype: ModelDtype): Promise<GenerateSide> {
    const tokenizer = await AutoTokenizer.from_pretrained(modelDir);
    return new GenerateSide(await AutoModelForCausalLM.from_pretrained(modelDir, { dtype, device: 'cpu' }), tokenizer);
  }

  async run(messages: ChatMessage[], tokens: number): Promise<{ ids: number[]; times: number[] }> {
    const inputs = this.tokenizer.apply_chat_template(messages, { add_generation_prompt: true, return_dict: true }) as Record<string, unknown>;
    const times: number[] = [performance.now()];
    const ids: number[] = [];
    let prompt = true;
    // transformers.js calls put() with the prompt first, then with each step's new ids.
    const streamer = {
      put(value: bigint[][]) {
        if (prompt) {
          prompt = false;
          return;
        }
        times.push(performance.now());
        ids.push(Number(value[0]![0]));
      },
      end() {},
    };
    await this.model.generate({ ...inputs, max_new_tokens: tokens + 1, do_sample: false, streamer } as Parameters<typeof this.model.generate>[0]);
    return { ids, times };
  }
}

/**
 * (d) Our engine in this process with given onnxruntime session options (EngineOptions): the
 * host's own loop without the process boundary, to measure settings (BENCH_ENGINE_VARIANTS).
 */
class EngineSide {
  private constructor(private readonly engine: Engine) {}

  static async create(modelDir: string, dtype: ModelDtype, sessionOptions: ort.InferenceSession.SessionOptions): Promise<EngineSide> {
    // Imported here so that the raw and generate() workers never load the engine.
    const { Engine: EngineClass } = await import('../../electron/model-host/engine.ts');
    const engine = new EngineClass({ sessionOptions });
    await engine.load({ modelDir, dtype, device: 'cpu' }, () => undefined);
    return new EngineSide(engine);
  }

  async run(messages: ChatMessage[], tokens: number): Promise<{ ids: number[]; times: number[] }> {
    const times: number[] = [performance.now()];
    const ids: number[] = [];
    const params = { temperature: 0, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1, maxNewTokens: tokens + 1, seed: 0 };
    await this.engine.generate(
      { requestId: 'bench', messages, params, candidates: 0, reuseCache: false },
      {
        onPrefill: () => undefined,
        onToken: (t) => {
          times.push(performance.now());
          ids.push(t.tokenId);
        },
        isCancelled: () => false,
      },
    );
    return { ids, times };
  }
}

let side: RawSide | GenerateSide | EngineSide | undefined;

async function handle(request: SideRequest): Promise<SideReply> {
  if ('init' in request) {
    const { modelDir, dtype } = request.init;
    side =
      request.init.side === 'raw'
        ? await RawSide.create(modelDir, dtype)
        : request.init.side === 'generate'
          ? await GenerateSide.create(modelDir, dtype)
          : await EngineSide.create(modelDir, dtype, request.init.sessionOptions ?? {});
    return { ready: true };
  }
  if (!side) throw new Error('side-worker: not initialized');
  if ('decode' in request) {
    const { ids, messages, tokens } = request.decode;
    return side instanceof RawSide ? side.run(ids, tokens) : side.run(messages, tokens);
  }
  if (!(side instanceof RawSide)) throw new Error('side-worker: prefill is timed on the raw side only');
  const { times } = await side.run(request.prefill.ids, 0);
  return { ms: times[1]! - times[0]! };
}

process.on('message', (message: SideRequest) => {
  handle(message).then(
    (reply) => process.send?.(reply),
    (error: unknown) => process.send?.({ error: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
  );
});
process.on('disconnect', () => process.exit(0));
