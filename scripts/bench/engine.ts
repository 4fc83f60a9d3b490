// npm run bench:engine: decode and prefill speed of the model host against (a) a raw
// onnxruntime-node loop, (b) transformers.js generate() and (c) llama.cpp (llama-bench built
// from the source node-llama-cpp@3.21.1 ships, on the same weights written as GGUF), in one
// run; TTFT at turn 1 and turn 10 of a growing conversation with KV-cache reuse; host memory
// against the model file after load, after one answer and after 60. The ONNX models are written
// as the app installs them (onnx-rewrite.ts): weights in a data file beside the graph, 4-bit
// MatMulNBits on int8 activations.
//
// Fair by construction:
// - every side runs in its own process (the host as the app runs it; the raw loop and
//   generate() in side-worker.ts: an idle transformers.js model in the same process halves a
//   raw session's speed), is created once per model and dtype, warmed by one full untimed run (prefill
//   plus the decode tokens), and reused across rounds (llama-bench: its own warm-up run, -r N);
// - every side is fed the same prompt ids and decodes the same number of tokens: decode tok/s
//   = N / (time from the first generated token to the (N+1)-th), and a run that stops short
//   (EOS) throws instead of counting (llama-bench: -d <prompt tokens> -n N, it ignores EOS);
// - no side does extra work: generate() gets a streamer that records times and decodes nothing;
//   the host does what the app asks of it per token (5 candidates with their texts, the model's
//   own probabilities and entropy for the token record), which the other sides do not;
// - rounds of our three sides are interleaved, so drift on a noisy machine hits them alike;
//   every side reports the median and the best of its rounds; ratios use medians (best/best
//   beside them). llama-bench reports per-repetition speeds, so its median is ours too.
//
// Environment (a quick run: BENCH_ROUNDS=2 BENCH_DECODE_TOKENS=32 BENCH_MODELS=smollm2 BENCH_DTYPES=q4):
//   BENCH_MODELS         smollm2,qwen2.5-0.5b   (qwen2.5-0.5b: the catalog's recommended model's shape)
//   BENCH_DTYPES         fp32,q8,q4             (qwen2.5-0.5b runs the ones its mirror has: q8, q4)
//   BENCH_ROUNDS         5
//   BENCH_DECODE_TOKENS  128
//   BENCH_PREFILL_TOKENS 512
//   BENCH_RSS_ANSWERS    60                     (0 skips the memory series)
//   BENCH_TTFT_ROUNDS    3                      (0 skips the TTFT series)
//   BENCH_ENGINE_VARIANTS  JSON {name: onnxruntime SessionOptions}: our engine in-process (side-worker) with each,
//                        interleaved with the other sides, e.g. '{"t1":{"intraOpNumThreads":1},"nospin":{"extra":{"session":{"intra_op":{"allow_spinning":"0"}}}}}'
//   BENCH_SKIP_LLAMACPP  1 skips llama.cpp;  BENCH_LLAMACPP_PREBUILT=1 also times node-llama-cpp's prebuilt binary (1 thread)
// Prints one JSON object per line on stdout: the machine line first, then figures
// {"figure", "value", "dtype", "model", ...}; progress goes to stderr.
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AutoTokenizer, env, type PreTrainedTokenizer } from '@huggingface/transformers';
import type { ChatMessage, GenerationStats, ModelDtype, SeededSamplingParams } from '../../electron/shared/model-host-protocol.ts';
import { onnxFilePath } from '../../electron/shared/model-layout.ts';
import { rewriteOnnxForEngine } from '../../electron/model-files/onnx-rewrite.ts';
import { ModelHostClient } from '../../electron/services/model-host-client.ts';
import { nodeHostSpawner } from '../../electron/services/node-host-process.ts';
import { writeGgufModel, type GgufTensorType } from '../make-model/gguf.ts';
import { makeModel } from '../make-model/make-model.ts';
import { makeMirror } from '../make-model/mirrors.ts';
import { ensureLlamaCpp, llamaBench, llamaGreedy, type BenchResult, type LlamaCpp } from './llamacpp/llamacpp.ts';
import { bundledHostEntry } from './host-bundle.ts';
import { printMachineLine } from './machine.ts';
import type { SideName, SideReply, SideRequest } from './side-worker.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MODELS_DIR = path.join(ROOT, '.models', 'bench');
const envNumber = (name: string, fallback: number): number => {
  const value = process.env[name];
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number, got "${value}"`);
  return n;
};
const ROUNDS = Math.max(1, envNumber('BENCH_ROUNDS', 5));
const DECODE_TOKENS = Math.max(2, envNumber('BENCH_DECODE_TOKENS', 128));
const PREFILL_TOKENS = envNumber('BENCH_PREFILL_TOKENS', 512);
const RSS_ANSWERS = envNumber('BENCH_RSS_ANSWERS', 60);
const TTFT_ROUNDS = envNumber('BENCH_TTFT_ROUNDS', 3);
const TURNS = 10;
const SKIP_LLAMACPP = process.env['BENCH_SKIP_LLAMACPP'] === '1';
const ALSO_PREBUILT = process.env['BENCH_LLAMACPP_PREBUILT'] === '1';
const MODELS = (process.env['BENCH_MODELS'] ?? 'smollm2,qwen2.5-0.5b').split(',').filter(Boolean);
const ENGINE_VARIANTS = JSON.parse(process.env['BENCH_ENGINE_VARIANTS'] ?? '{}') as Record<string, Record<string, unknown>>;
const DTYPES = (process.env['BENCH_DTYPES'] ?? 'fp32,q8,q4').split(',').filter(Boolean) as BenchDtype[];
/** Tokens compared in the F32 greedy-ids check against llama.cpp. */
const GREEDY_CHECK_TOKENS = 32;

type BenchDtype = 'fp32' | 'q8' | 'q4';
const GGUF_TYPE: Readonly<Record<BenchDtype, GgufTensorType>> = { fp32: 'F32', q8: 'Q8_0', q4: 'Q4_0' };

interface BenchModel {
  name: string;
  dtypes: BenchDtype[];
  /** Writes the ONNX folder for these dtypes. */
  make(dtypes: BenchDtype[], outDir: string): Promise<unknown>;
  gguf(type: GgufTensorType, outFile: string): Promise<unknown>;
  /** What llama.cpp gets beside the ONNX file (which tensors are quantized). */
  ggufNote: string;
}

const BENCH_MODELS: Record<string, BenchModel> = {
  smollm2: {
    name: 'smollm2',
    dtypes: ['fp32', 'q8', 'q4'],
    make: (dtypes, outDir) => makeModel({ preset: 'smollm2', dtype: dtypes, outDir }),
    gguf: (type, outFile) => writeGgufModel({ preset: 'smollm2', type, outFile }),
    ggufNote: 'every linear weight and the tied embedding in the GGUF type, as the ONNX q8/q4 (MatMulNBits, block 32) hold them',
  },
  'qwen2.5-0.5b': {
    name: 'qwen2.5-0.5b',
    dtypes: ['q8', 'q4'],
    make: (dtypes, outDir) => makeMirror({ catalogId: 'qwen2.5-0.5b-instruct', fullSize: true, dtype: dtypes, outDir }),
    gguf: (type, outFile) => writeGgufModel({ mirror: 'qwen2.5-0.5b-instruct', fullSize: true, type, outFile }),
    ggufNote: 'layer weights in the GGUF type; the tied embedding/LM head F32, as the optimum-style ONNX export keeps it',
  },
};

env.allowRemoteModels = false;

function print(figure: string, value: number, extra: Record<string, unknown> = {}): void {
  console.log(JSON.stringify({ figure, value: round4(value), ...extra }));
}
const round4 = (x: number): number => (Number.isFinite(x) ? Number(x.toFixed(4)) : x);
const round2 = (x: number): number => Number(x.toFixed(2));
const progress = (message: string): void => console.error(`[bench:engine ${new Date().toISOString().slice(11, 19)}] ${message}`);

function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]! ) / 2;
}
const best = (xs: readonly number[]): number => Math.max(...xs);
const stats = (xs: readonly number[]) => ({ median: median(xs), best: best(xs), rounds: xs.map(round2) });

// ---- Prompts ---------------------------------------------------------------------------------

const DECODE_PROMPTS: ChatMessage[][] = [
  [
    { role: 'system', content: 'You are a helpful assistant.' },
    { role: 'user', content: 'Explain how a language model picks its next token, step by step, with an example.' },
  ],
  [
    { role: 'system', content: 'You are a helpful assistant.' },
    { role: 'user', content: 'Tell me a short story about a dragon who plays the word chain game 接龙.' },
  ],
  [{ role: 'user', content: 'What is the capital of France, and why is it famous?' }],
];

function promptIds(tokenizer: PreTrainedTokenizer, messages: ChatMessage[]): number[] {
  const rendered = tokenizer.apply_chat_template(messages, { add_generation_prompt: true, tokenize: false }) as unknown as string;
  return tokenizer.encode(rendered, { add_special_tokens: false });
}

/** A one-message conversation whose rendered prompt is exactly `count` tokens. */
function exactPrompt(tokenizer: PreTrainedTokenizer, count: number): { messages: ChatMessage[]; ids: number[] } {
  const words = 'the model reads the whole conversation then picks the next token one at a time and each token is a piece of a word'.split(' ');
  let content = 'Please summarize this text.';
  for (let i = 0; ; i++) {
    const messages: ChatMessage[] = [{ role: 'user', content }];
    const ids = promptIds(tokenizer, messages);
    if (ids.length === count) return { messages, ids };
    if (ids.length > count) {
      // Overshot by a multi-token word: pad with one-token words instead.
      content = content.slice(0, content.lastIndexOf(' '));
      for (let j = 0; j < 64; j++) {
        const padded: ChatMessage[] = [{ role: 'user', content: `${content}${' a'.repeat(j)}` }];
        const paddedIds = promptIds(tokenizer, padded);
        if (paddedIds.length === count) return { messages: padded, ids: paddedIds };
      }
      throw new Error(`bench: cannot build a prompt of exactly ${count} tokens`);
    }
    content += ` ${words[i % words.length]}`;
  }
}

// ---- Sides (a) raw onnxruntime-node and (b) transformers.js generate(): each in its own process

/** A baseline side in its own process (side-worker.ts), as the host is in its own. */
class SideProcess {
  private readonly waiting: Array<(reply: SideReply) => void> = [];
  private constructor(private readonly child: ChildProcess) {
    child.on('message', (reply: SideReply) => this.waiting.shift()?.(reply));
  }

  static async start(side: SideName, modelDir: string, dtype: BenchDtype, sessionOptions?: Record<string, unknown>): Promise<SideProcess> {
    const child = fork(path.join(ROOT, 'scripts', 'bench', 'side-worker.ts'), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const process_ = new SideProcess(child);
    await process_.request({ init: { side, modelDir, dtype: dtype as ModelDtype, ...(sessionOptions ? { sessionOptions } : {}) } });
    return process_;
  }

  private request(message: SideRequest): Promise<SideReply> {
    return new Promise((resolve, reject) => {
      this.waiting.push((reply) => ('error' in reply ? reject(new Error(reply.error)) : resolve(reply)));
      this.child.send(message);
    });
  }

  /** Greedy: the N + 1 chosen ids and the time each was chosen (the first one ends prefill). */
  async run(ids: number[], messages: ChatMessage[], tokens: number): Promise<{ ids: number[]; times: number[] }> {
    const reply = (await this.request({ decode: { ids, messages, tokens } })) as { ids: number[]; times: number[] };
    return { ids: reply.ids, times: reply.times.slice(1) };
  }

  /** Prefill tok/s of `ids` (raw side). */
  async prefill(ids: number[]): Promise<number> {
    const { ms } = (await this.request({ prefill: { ids } })) as { ms: number };
    return ids.length / (ms / 1000);
  }

  stop(): Promise<void> {
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.disconnect();
    return exited;
  }
}

// ---- Side (c): our model host ----------------------------------------------------------------

const greedy = (maxNewTokens: number): SeededSamplingParams => ({ temperature: 0, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1, maxNewTokens, seed: 0 });
/** The chat service asks for at least 5 candidates per token (the token inspector's record): the host does that work here too. */
const APP_CANDIDATES = 5;

async function hostRun(client: ModelHostClient, messages: ChatMessage[], tokens: number, reuseCache = false): Promise<{ ids: number[]; times: number[]; stats: GenerationStats }> {
  const times: number[] = [];
  const ids: number[] = [];
  const stats = await client.generate({
    messages,
    params: greedy(tokens + 1),
    candidates: APP_CANDIDATES,
    reuseCache,
    onToken: (t) => {
      times.push(performance.now());
      ids.push(t.tokenId);
    },
  }).done;
  return { ids, times, stats };
}

/** Decode tok/s from the times of N + 1 generated tokens; throws when a side stopped short. */
function decodeRate(side: string, run: { times: number[] }, tokens: number): number {
  if (run.times.length !== tokens + 1) throw new Error(`bench: ${side} produced ${run.times.length} tokens, not ${tokens + 1} (EOS?): this run does not count`);
  return tokens / ((run.times.at(-1)! - run.times[0]!) / 1000);
}

async function ttftOverTurns(client: ModelHostClient): Promise<{ turn1: number; turn10: number; cached10: number; prompt10: number }> {
  const messages: ChatMessage[] = [{ role: 'system', content: 'You are a helpful assistant.' }];
  const out = { turn1: 0, turn10: 0, cached10: 0, prompt10: 0 };
  for (let turn = 1; turn <= TURNS; turn++) {
    messages.push({ role: 'user', content: `Question ${turn}: tell me one more fact about dragons and about 接龙, the word chain game.` });
    let text = '';
    // Turn 1 always starts cold: otherwise it would reuse the previous series' cache.
    const stats = await client.generate({ messages, params: greedy(24), candidates: APP_CANDIDATES, reuseCache: turn > 1, onToken: (t) => (text += t.text) }).done;
    messages.push({ role: 'assistant', content: text });
    if (turn === 1) out.turn1 = stats.timeToFirstTokenMs;
    if (turn === TURNS) Object.assign(out, { turn10: stats.timeToFirstTokenMs, cached10: stats.cachedTokens, prompt10: stats.promptTokens });
  }
  return out;
}

async function procStatus(pid: number): Promise<{ rss: number; hwm: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const kb = (key: string): number => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}
const mib = (bytes: number): number => Math.round(bytes / 2 ** 20);

// ---- llama.cpp -------------------------------------------------------------------------------

interface LlamaFigures {
  decode: { median: number; best: number; threads: number; rounds: number[]; source: string; byThreads: Record<string, number> };
  prefill?: { median: number; best: number; threads: number; rounds: number[]; source: string; byThreads: Record<string, number> };
}

function fastest(results: BenchResult[], source: string, probed: Record<string, number> = {}): LlamaFigures['decode'] {
  const byThreads: Record<string, number> = Object.fromEntries(results.map((r) => [String(r.threads), round2(median(r.samplesTs))]));
  for (const [threads, value] of Object.entries(probed)) byThreads[`${threads}_probe_only`] = round2(value);
  const winner = results.reduce((a, b) => (median(b.samplesTs) > median(a.samplesTs) ? b : a));
  return { median: median(winner.samplesTs), best: best(winner.samplesTs), threads: winner.threads, rounds: winner.samplesTs.map(round2), source, byThreads };
}

/**
 * llama-bench at 1 and 2 threads, the faster counting. On an oversubscribed 2-core machine
 * ggml's 2 threads spin at every barrier waiting for a descheduled peer and run ~10x slower
 * than 1 thread (measured: 1.7 against 20.7 tok/s), so 2 threads first get a short probe
 * (1 repetition, decode of 16 tokens); the full N repetitions only when the probe comes within
 * 0.7x of 1 thread. Where it does not, the probe's figure is reported as such.
 */
async function llamaBenchThreads(bin: string, gguf: string, args: { prompt: number; gen: number; depth: number }, source: string): Promise<LlamaFigures['decode']> {
  const one = await llamaBench(bin, gguf, { ...args, reps: ROUNDS, threads: [1] });
  const oneRate = median(one[0]!.samplesTs);
  const probe = await llamaBench(bin, gguf, { ...args, gen: args.gen > 0 ? Math.min(args.gen, 16) : 0, reps: 1, threads: [2] });
  const probeRate = median(probe[0]!.samplesTs);
  if (probeRate < 0.7 * oneRate) return fastest(one, source, { '2': probeRate });
  const two = await llamaBench(bin, gguf, { ...args, reps: ROUNDS, threads: [2] });
  return fastest([...one, ...two], source);
}

async function prebuiltSide(llama: LlamaCpp, model: string, prompt: number[], prefill: number[]): Promise<{ decode: number[]; prefill: number[] }> {
  const args = { nodeLlamaCppDir: llama.nodeLlamaCppDir, model, threads: 1, promptIds: prompt, decodeTokens: DECODE_TOKENS, prefillIds: prefill, rounds: ROUNDS };
  const script = path.join(ROOT, 'scripts', 'bench', 'llamacpp', 'prebuilt-side.ts');
  const child = fork(script, [JSON.stringify(args)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  if (code !== 0) throw new Error(`prebuilt side exited ${code}`);
  return JSON.parse(out.trim().split('\n').at(-1)!) as { decode: number[]; prefill: number[] };
}

async function llamaCppFigures(llama: LlamaCpp, gguf: string, prompt: number[], prefill: number[], label: Record<string, unknown>): Promise<LlamaFigures> {
  let figures: LlamaFigures | undefined;
  if (llama.benchBin) {
    figures = { decode: await llamaBenchThreads(llama.benchBin, gguf, { prompt: 0, gen: DECODE_TOKENS, depth: prompt.length }, 'llama-bench (built)') };
    if (PREFILL_TOKENS > 0) {
      try {
        figures.prefill = await llamaBenchThreads(llama.benchBin, gguf, { prompt: PREFILL_TOKENS, gen: 0, depth: 0 }, 'llama-bench (built)');
      } catch (error) {
        // The AMX build crashed in quantized prompt processing at batch > 1: take the prebuilt binary's prefill then.
        progress(`llama-bench prefill failed (${error instanceof Error ? error.message.slice(0, 200) : String(error)}): prebuilt binary's prefill instead`);
        const pre = await prebuiltSide(llama, gguf, prompt, prefill);
        figures.prefill = { ...stats(pre.prefill), rounds: pre.prefill.map(round2), threads: 1, source: 'node-llama-cpp prebuilt, 1 thread (llama-bench prefill crashed)', byThreads: {} };
      }
    }
  }
  if (!figures || ALSO_PREBUILT) {
    const pre = await prebuiltSide(llama, gguf, prompt, PREFILL_TOKENS > 0 ? prefill : []);
    const source = 'node-llama-cpp prebuilt, 1 thread';
    const prebuilt: LlamaFigures = {
      decode: { ...stats(pre.decode), rounds: pre.decode.map(round2), threads: 1, source, byThreads: {} },
      ...(pre.prefill.length ? { prefill: { ...stats(pre.prefill), rounds: pre.prefill.map(round2), threads: 1, source, byThreads: {} } } : {}),
    };
    if (!figures) return prebuilt;
    print('decode_tok_s', prebuilt.decode.median, { ...label, side: 'llamacpp_prebuilt', source, best: round2(prebuilt.decode.best), rounds: prebuilt.decode.rounds, threads: 1 });
    if (prebuilt.prefill) print('prefill_tok_s', prebuilt.prefill.median, { ...label, side: 'llamacpp_prebuilt', source, prompt_tokens: prefill.length, best: round2(prebuilt.prefill.best), rounds: prebuilt.prefill.rounds, threads: 1 });
  }
  return figures;
}

async function ensureGguf(model: BenchModel, type: GgufTensorType): Promise<string> {
  const file = path.join(MODELS_DIR, `${model.name}-${type}.gguf`);
  if (!existsSync(file)) {
    const started = performance.now();
    await model.gguf(type, file);
    progress(`wrote ${file} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
  return file;
}

async function ensureOnnx(model: BenchModel, dtype: BenchDtype): Promise<string> {
  const dir = path.join(MODELS_DIR, model.name);
  if (!existsSync(path.join(dir, onnxFilePath(dtype as ModelDtype)))) {
    const started = performance.now();
    // All dtypes at once: make:model removes the files of dtypes it was not asked for.
    await model.make(model.dtypes, dir);
    progress(`generated ${dir} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
  // As import and download install it (onnx-rewrite.ts): weights in a data file beside the graph, q4 on int8 activations.
  const file = path.join(dir, onnxFilePath(dtype as ModelDtype));
  const rewritten = await rewriteOnnxForEngine(file, file);
  if (rewritten) {
    const head = rewritten.lastPositionLogits ? ', the LM head on the last position only' : '';
    progress(`rewrote ${file} as the app installs it: ${rewritten.movedTensors} tensors moved to a data file, ${rewritten.retunedNodes} MatMulNBits nodes on int8 activations${head}`);
  }
  return dir;
}

/** The GGUF file holds the ONNX file's model: greedy ids from llama.cpp (F32, F32 KV cache) equal onnxruntime's (fp32). */
async function greedyCheck(llama: LlamaCpp, label: string, modelDir: string, gguf: string, prompt: number[]): Promise<void> {
  if (!llama.greedyBin) return;
  const raw = await SideProcess.start('raw', modelDir, 'fp32');
  const onnx = (await raw.run(prompt, [], GREEDY_CHECK_TOKENS - 1)).ids;
  await raw.stop();
  const cpp = await llamaGreedy(llama.greedyBin, gguf, prompt, GREEDY_CHECK_TOKENS);
  let same = 0;
  while (same < onnx.length && onnx[same] === cpp[same]) same++;
  print('greedy_ids_equal_llamacpp_f32', same === GREEDY_CHECK_TOKENS ? 1 : 0, { model: label, dtype: 'fp32', gguf: 'F32', kv_cache: 'f32', equal_prefix: same, of: GREEDY_CHECK_TOKENS, onnx: onnx.slice(0, 12), llamacpp: cpp.slice(0, 12) });
}

// ---- One model, one dtype --------------------------------------------------------------------

async function benchOne(model: BenchModel, dtype: BenchDtype, spawnHost: ReturnType<typeof nodeHostSpawner>, llama: LlamaCpp | undefined): Promise<void> {
  const label = { model: model.name, dtype };
  const modelDir = await ensureOnnx(model, dtype);
  const gguf = llama ? await ensureGguf(model, GGUF_TYPE[dtype]) : undefined;
  const tokenizer = await AutoTokenizer.from_pretrained(modelDir);
  const long = PREFILL_TOKENS > 0 ? exactPrompt(tokenizer, PREFILL_TOKENS) : undefined;

  progress(`${model.name} ${dtype}: loading the three sides`);
  const client = new ModelHostClient(spawnHost);
  const info = await client.load({ modelDir, dtype: dtype as ModelDtype });
  const raw = await SideProcess.start('raw', modelDir, dtype);
  const gen = await SideProcess.start('generate', modelDir, dtype);
  const variants: Array<[string, SideProcess]> = [];
  for (const [name, options] of Object.entries(ENGINE_VARIANTS)) variants.push([name, await SideProcess.start('engine', modelDir, dtype, options)]);

  // A prompt whose greedy answer has no EOS within N + 1 tokens (the host stops at EOS).
  let messages: ChatMessage[] | undefined;
  let ids: number[] = [];
  let rawWarm: Awaited<ReturnType<SideProcess['run']>> | undefined;
  for (const candidate of DECODE_PROMPTS) {
    ids = promptIds(tokenizer, candidate);
    rawWarm = await raw.run(ids, candidate, DECODE_TOKENS); // doubles as the raw side's warm-up
    if (!rawWarm.ids.includes(2)) {
      messages = candidate;
      break;
    }
  }
  if (!messages || !rawWarm) throw new Error(`bench: every prompt's greedy answer hits EOS within ${DECODE_TOKENS + 1} tokens`);
  const hostWarm = await hostRun(client, messages, DECODE_TOKENS);
  const genWarm = await gen.run(ids, messages, DECODE_TOKENS);
  for (const [, variant] of variants) await variant.run(ids, messages, DECODE_TOKENS);
  const variantRates: Record<string, number[]> = Object.fromEntries(variants.map(([name]) => [name, []]));
  if (hostWarm.stats.promptTokens !== ids.length) throw new Error(`bench: the host's prompt has ${hostWarm.stats.promptTokens} tokens, the others ${ids.length}`);
  const agree = (a: number[], b: number[]) => a.findIndex((x, i) => x !== b[i]);
  progress(`${model.name} ${dtype}: prompt ${ids.length} tokens; greedy ids host vs raw first differ at ${agree(hostWarm.ids, rawWarm.ids)}, generate vs raw at ${agree(genWarm.ids, rawWarm.ids)} (-1: never)`);

  const rates = { raw: [] as number[], generate: [] as number[], host: [] as number[] };
  for (let r = 0; r < ROUNDS; r++) {
    rates.raw.push(decodeRate('raw', await raw.run(ids, messages, DECODE_TOKENS), DECODE_TOKENS));
    rates.generate.push(decodeRate('generate()', await gen.run(ids, messages, DECODE_TOKENS), DECODE_TOKENS));
    rates.host.push(decodeRate('host', await hostRun(client, messages, DECODE_TOKENS), DECODE_TOKENS));
    for (const [name, variant] of variants) variantRates[name]!.push(decodeRate(`engine ${name}`, await variant.run(ids, messages, DECODE_TOKENS), DECODE_TOKENS));
    progress(`${model.name} ${dtype}: round ${r + 1}/${ROUNDS} raw ${rates.raw.at(-1)!.toFixed(1)} generate ${rates.generate.at(-1)!.toFixed(1)} host ${rates.host.at(-1)!.toFixed(1)} tok/s`);
  }
  await gen.stop();
  for (const [, variant] of variants) await variant.stop();

  const prefill = { raw: [] as number[], host: [] as number[] };
  if (long) {
    await raw.prefill(long.ids); // warm-up at this length
    await hostRun(client, long.messages, 0);
    for (let r = 0; r < ROUNDS; r++) {
      prefill.raw.push(await raw.prefill(long.ids));
      const run = await hostRun(client, long.messages, 0);
      if (run.stats.promptTokens !== long.ids.length) throw new Error(`bench: host prefill prompt has ${run.stats.promptTokens} tokens, not ${long.ids.length}`);
      prefill.host.push(run.stats.promptTokens / (run.stats.prefillMs / 1000));
    }
  }
  await raw.stop();

  const common = { ...label, decode_tokens: DECODE_TOKENS, prompt_tokens: ids.length, rounds_n: ROUNDS };
  for (const side of ['raw', 'generate', 'host'] as const) {
    const s = stats(rates[side]);
    print('decode_tok_s', s.median, { ...common, side, best: round2(s.best), rounds: s.rounds });
  }
  for (const [name, xs] of Object.entries(variantRates)) {
    const s = stats(xs);
    print('decode_tok_s', s.median, { ...common, side: `engine_in_process_${name}`, session_options: ENGINE_VARIANTS[name], best: round2(s.best), rounds: s.rounds });
  }
  const ratio = (a: readonly number[], b: readonly number[]) => ({ value: median(a) / median(b), best_ratio: round4(best(a) / best(b)) });
  const hr = ratio(rates.host, rates.raw);
  print('decode_ratio_host_vs_raw', hr.value, { ...common, best_ratio: hr.best_ratio, goal: '>= 0.97' });
  const hg = ratio(rates.host, rates.generate);
  print('decode_ratio_host_vs_generate', hg.value, { ...common, best_ratio: hg.best_ratio, goal: '>= 1.10' });
  if (long) {
    for (const side of ['raw', 'host'] as const) {
      const s = stats(prefill[side]);
      print('prefill_tok_s', s.median, { ...label, side, prompt_tokens: long.ids.length, best: round2(s.best), rounds: s.rounds });
    }
  }

  if (llama && gguf) {
    progress(`${model.name} ${dtype}: llama.cpp on ${path.basename(gguf)}`);
    const ll = await llamaCppFigures(llama, gguf, ids, long?.ids ?? [], { ...label, decode_tokens: DECODE_TOKENS, prompt_tokens: ids.length });
    const llLabel = { ...label, llamacpp_type: GGUF_TYPE[dtype], llamacpp_source: ll.decode.source, llamacpp_threads: ll.decode.threads };
    print('decode_tok_s', ll.decode.median, { ...common, side: 'llamacpp', best: round2(ll.decode.best), rounds: ll.decode.rounds, threads: ll.decode.threads, by_threads: ll.decode.byThreads, source: ll.decode.source, gguf_type: GGUF_TYPE[dtype], gguf_weights: model.ggufNote });
    print('decode_ratio_host_vs_llamacpp', median(rates.host) / ll.decode.median, { ...common, ...llLabel, best_ratio: round4(best(rates.host) / ll.decode.best), goal: '>= 0.8' });
    if (ll.prefill && long) {
      print('prefill_tok_s', ll.prefill.median, { ...label, side: 'llamacpp', prompt_tokens: long.ids.length, best: round2(ll.prefill.best), rounds: ll.prefill.rounds, threads: ll.prefill.threads, by_threads: ll.prefill.byThreads, source: ll.prefill.source });
      print('prefill_ratio_host_vs_llamacpp', median(prefill.host) / ll.prefill.median, {
        ...label,
        llamacpp_type: GGUF_TYPE[dtype],
        llamacpp_source: ll.prefill.source,
        llamacpp_threads: ll.prefill.threads,
        prompt_tokens: long.ids.length,
        best_ratio: round4(best(prefill.host) / ll.prefill.best),
        goal: '>= 0.8',
      });
    }
  }

  if (TTFT_ROUNDS > 0) {
    progress(`${model.name} ${dtype}: TTFT over ${TURNS} turns`);
    const runs = [];
    for (let r = 0; r < TTFT_ROUNDS; r++) runs.push(await ttftOverTurns(client));
    const t1 = median(runs.map((r) => r.turn1));
    const t10 = median(runs.map((r) => r.turn10));
    print('ttft_ratio_turn10_vs_turn1_reuse', t10 / t1, {
      ...label,
      turn1_ms: round2(t1),
      turn10_ms: round2(t10),
      turn10_prompt_tokens: median(runs.map((r) => r.prompt10)),
      turn10_cached_tokens: median(runs.map((r) => r.cached10)),
      rounds_n: TTFT_ROUNDS,
      goal: '<= 1.3',
    });
  }
  client.stop();

  if (RSS_ANSWERS > 0) await memorySeries(model, dtype, modelDir, spawnHost, messages, long?.messages, info.modelFileBytes);
}

/** A fresh host: RSS before loading (its fixed cost), after load, after one answer, after RSS_ANSWERS answers. */
async function memorySeries(
  model: BenchModel,
  dtype: BenchDtype,
  modelDir: string,
  spawnHost: ReturnType<typeof nodeHostSpawner>,
  messages: ChatMessage[],
  longMessages: ChatMessage[] | undefined,
  modelFileBytes: number,
): Promise<void> {
  progress(`${model.name} ${dtype}: memory over ${RSS_ANSWERS} answers`);
  const client = new ModelHostClient(spawnHost);
  const pid = await client.start();
  await new Promise((resolve) => setTimeout(resolve, 500));
  const idle = await procStatus(pid);
  await client.load({ modelDir, dtype: dtype as ModelDtype });
  const loaded = await procStatus(pid);
  const answer = async (i: number): Promise<void> => {
    // Every 10th answer follows the long prompt, so prefill-sized buffers are part of the series.
    await hostRun(client, longMessages && i % 10 === 9 ? longMessages : messages, 31);
  };
  await answer(0);
  const one = await procStatus(pid);
  for (let i = 1; i < RSS_ANSWERS; i++) await answer(i);
  const many = await procStatus(pid);
  client.stop();
  const file = (await stat(path.join(modelDir, onnxFilePath(dtype as ModelDtype)))).size;
  const fileBytes = modelFileBytes || file;
  print('rss_ratio_host_vs_model_file', many.hwm / fileBytes, {
    model: model.name,
    dtype,
    model_file_mib: mib(fileBytes),
    host_before_load_rss_mib: mib(idle.rss),
    after_load_rss_mib: mib(loaded.rss),
    after_1_answer_rss_mib: mib(one.rss),
    [`after_${RSS_ANSWERS}_answers_rss_mib`]: mib(many.rss),
    peak_rss_mib: mib(many.hwm),
    ratio_after_load: round4(loaded.rss / fileBytes),
    ratio_after_1: round4(one.rss / fileBytes),
    [`ratio_after_${RSS_ANSWERS}`]: round4(many.rss / fileBytes),
    goal: '<= 1.3',
  });
  print('rss_ratio_host_vs_model_file_without_fixed_cost', (many.hwm - idle.rss) / fileBytes, {
    model: model.name,
    dtype,
    host_before_load_rss_mib: mib(idle.rss),
    ratio_after_load: round4((loaded.rss - idle.rss) / fileBytes),
    ratio_after_1: round4((one.rss - idle.rss) / fileBytes),
    [`ratio_after_${RSS_ANSWERS}`]: round4((many.rss - idle.rss) / fileBytes),
    goal: '<= 1.3',
  });
}

async function main(): Promise<void> {
  const started = performance.now();
  let llama: LlamaCpp | undefined;
  if (!SKIP_LLAMACPP) llama = await ensureLlamaCpp();
  printMachineLine({
    bench: { rounds: ROUNDS, decode_tokens: DECODE_TOKENS, prefill_tokens: PREFILL_TOKENS, rss_answers: RSS_ANSWERS, models: MODELS, dtypes: DTYPES },
    ...(llama
      ? {
          llama_cpp: {
            source: llama.source,
            node_llama_cpp: llama.nodeLlamaCppVersion,
            release: llama.llamaCppRelease,
            commit: llama.commit,
            cmake_flags: llama.cmakeFlags.join(' '),
            ...(llama.buildSeconds !== undefined ? { build_seconds: Math.round(llama.buildSeconds) } : {}),
            ...(llama.note ? { note: llama.note } : {}),
          },
        }
      : { llama_cpp: 'skipped (BENCH_SKIP_LLAMACPP=1)' }),
  });
  const spawnHost = nodeHostSpawner({ entry: await bundledHostEntry() });

  for (const name of MODELS) {
    const model = BENCH_MODELS[name];
    if (!model) throw new Error(`bench: unknown model "${name}" (expected ${Object.keys(BENCH_MODELS).join(', ')})`);
    if (llama?.greedyBin && model.name === 'smollm2' && DTYPES.includes('fp32')) {
      const dir = await ensureOnnx(model, 'fp32');
      const tokenizer = await AutoTokenizer.from_pretrained(dir);
      await greedyCheck(llama, model.name, dir, await ensureGguf(model, 'F32'), promptIds(tokenizer, DECODE_PROMPTS[0]!));
    }
    if (llama?.greedyBin && model.name === 'qwen2.5-0.5b') {
      // The qwen2 conversion (q/k/v biases, no q/k permutation) checked on the mirror's tiny size, which has an fp32 file.
      const dir = path.join(MODELS_DIR, 'qwen2.5-tiny');
      if (!existsSync(path.join(dir, 'onnx', 'model.onnx'))) await makeMirror({ catalogId: 'qwen2.5-0.5b-instruct', dtype: 'fp32', outDir: dir });
      const file = path.join(MODELS_DIR, 'qwen2.5-tiny-F32.gguf');
      if (!existsSync(file)) await writeGgufModel({ mirror: 'qwen2.5-0.5b-instruct', type: 'F32', outFile: file });
      const tokenizer = await AutoTokenizer.from_pretrained(dir);
      await greedyCheck(llama, 'qwen2.5-0.5b (tiny mirror)', dir, file, promptIds(tokenizer, DECODE_PROMPTS[0]!));
    }
    for (const dtype of DTYPES) {
      if (!model.dtypes.includes(dtype)) continue;
      await benchOne(model, dtype, spawnHost, llama);
    }
  }
  console.log(JSON.stringify({ done: { minutes: round2((performance.now() - started) / 60000), load_average_end: os.loadavg().map(round2) } }));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
