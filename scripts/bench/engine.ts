// npm run bench:engine — decode speed of the model host against (a) a raw onnxruntime-node
// loop and (b) transformers.js generate() on the same model and prompt, in one run; TTFT at
// turn 1 and turn 10 of a growing conversation with and without KV-cache reuse; host memory
// against the model file. Prints one JSON object per line; figures are ratios against a
// baseline measured in the same run, because these machines are noisy.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AutoModelForCausalLM, AutoTokenizer, env, TextStreamer } from '@huggingface/transformers';
import { build } from 'esbuild';
import * as ort from 'onnxruntime-node';
import type { ChatMessage, ModelDtype, SamplingParams } from '../../electron/shared/model-host-protocol.ts';
import { onnxFilePath } from '../../electron/shared/model-layout.ts';
import { ModelHostClient } from '../../electron/services/model-host-client.ts';
import { nodeHostSpawner } from '../../electron/services/node-host-process.ts';
import { makeModel } from '../make-model/make-model.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DECODE_TOKENS = Number(process.env['BENCH_DECODE_TOKENS'] ?? 64);
const TURNS = 10;
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3);
const dtypes = (process.env['BENCH_DTYPES'] ?? 'fp32,q4').split(',') as ModelDtype[];

env.allowRemoteModels = false;

function print(figure: string, value: number, extra: Record<string, unknown> = {}): void {
  console.log(JSON.stringify({ figure, value: Number(value.toFixed(4)), ...extra }));
}

async function ensureModel(dtype: ModelDtype): Promise<string> {
  const dir = path.join(ROOT, '.models', `smollm2-${dtype}`);
  if (!existsSync(path.join(dir, onnxFilePath(dtype)))) {
    const started = performance.now();
    await makeModel({ preset: 'smollm2', dtype: dtype as 'fp32' | 'q8' | 'q4', outDir: dir });
    console.error(`generated ${dir} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
  return dir;
}

const PROMPT: ChatMessage[] = [
  { role: 'system', content: 'You are a helpful assistant.' },
  { role: 'user', content: 'Explain how a language model picks its next token, step by step, with an example.' },
];

/** (a) The floor: onnxruntime-node fed directly, greedy argmax, no library in between. */
async function rawDecode(modelDir: string, dtype: ModelDtype, promptIds: number[]): Promise<number> {
  const config = JSON.parse(await readFile(path.join(modelDir, 'config.json'), 'utf8')) as {
    num_hidden_layers: number;
    num_key_value_heads: number;
    head_dim?: number;
    hidden_size: number;
    num_attention_heads: number;
  };
  const headDim = config.head_dim ?? config.hidden_size / config.num_attention_heads;
  const session = await ort.InferenceSession.create(path.join(modelDir, onnxFilePath(dtype)), { executionProviders: ['cpu'] });
  let past: Record<string, ort.Tensor> = {};
  for (let i = 0; i < config.num_hidden_layers; i++) {
    for (const kind of ['key', 'value']) {
      past[`past_key_values.${i}.${kind}`] = new ort.Tensor('float32', new Float32Array(0), [1, config.num_key_value_heads, 0, headDim]);
    }
  }
  let fed = 0;
  let next = promptIds;
  let firstAt = 0;
  for (let step = 0; step <= DECODE_TOKENS; step++) {
    if (step === 1) firstAt = performance.now();
    const total = fed + next.length;
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', BigInt64Array.from(next, BigInt), [1, next.length]),
      attention_mask: new ort.Tensor('int64', new BigInt64Array(total).fill(1n), [1, total]),
      ...past,
    };
    if (session.inputNames.includes('position_ids')) {
      feeds['position_ids'] = new ort.Tensor('int64', BigInt64Array.from(next, (_, i) => BigInt(fed + i)), [1, next.length]);
    }
    const out = await session.run(feeds);
    const logits = out['logits']!;
    const vocab = logits.dims.at(-1)!;
    const data = logits.data as Float32Array;
    let best = data.length - vocab;
    for (let i = best + 1; i < data.length; i++) if (data[i]! > data[best]!) best = i;
    const nextPast: Record<string, ort.Tensor> = {};
    for (const name of Object.keys(past)) nextPast[name] = out[name.replace('past_key_values.', 'present.')]!;
    past = nextPast;
    fed = total;
    next = [best - (data.length - vocab)];
  }
  const seconds = (performance.now() - firstAt) / 1000;
  await session.release();
  return DECODE_TOKENS / seconds;
}

/** (b) transformers.js generate(), greedy, timed from its first streamed token. */
async function generateDecode(modelDir: string, dtype: ModelDtype): Promise<number> {
  const tokenizer = await AutoTokenizer.from_pretrained(modelDir);
  const model = await AutoModelForCausalLM.from_pretrained(modelDir, { dtype, device: 'cpu' });
  const inputs = tokenizer.apply_chat_template(PROMPT, { add_generation_prompt: true, return_dict: true }) as Record<string, unknown>;
  const times: number[] = [];
  const streamer = new TextStreamer(tokenizer, { skip_prompt: true, callback_function: () => undefined, token_callback_function: () => times.push(performance.now()) });
  await model.generate({ ...inputs, max_new_tokens: DECODE_TOKENS + 1, min_new_tokens: DECODE_TOKENS + 1, do_sample: false, streamer });
  await model.dispose();
  return (times.length - 1) / ((times.at(-1)! - times[0]!) / 1000);
}

const greedy: SamplingParams = { temperature: 0, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1, maxNewTokens: DECODE_TOKENS + 1 };

/** (c) Our host in its own process, timed in this process from the first token event to the last. */
async function hostDecode(client: ModelHostClient): Promise<{ tokS: number; tokens: number }> {
  const times: number[] = [];
  await client.generate({ messages: PROMPT, params: greedy, reuseCache: false, onToken: () => times.push(performance.now()) }).done;
  return { tokS: (times.length - 1) / ((times.at(-1)! - times[0]!) / 1000), tokens: times.length };
}

async function ttftOverTurns(client: ModelHostClient, reuseCache: boolean): Promise<{ turn1: number; turn10: number; cached10: number; prompt10: number }> {
  const messages: ChatMessage[] = [{ role: 'system', content: 'You are a helpful assistant.' }];
  let turn1 = 0;
  let turn10 = 0;
  let cached10 = 0;
  let prompt10 = 0;
  for (let turn = 1; turn <= TURNS; turn++) {
    messages.push({ role: 'user', content: `Question ${turn}: tell me one more fact about dragons and about 接龙, the word chain game.` });
    let text = '';
    // Turn 1 always starts cold: otherwise it would reuse the previous series' cache.
    const stats = await client.generate({ messages, params: { ...greedy, maxNewTokens: 24 }, reuseCache: reuseCache && turn > 1, onToken: (t) => (text += t.text) }).done;
    messages.push({ role: 'assistant', content: text });
    if (turn === 1) turn1 = stats.timeToFirstTokenMs;
    if (turn === TURNS) {
      turn10 = stats.timeToFirstTokenMs;
      cached10 = stats.cachedTokens;
      prompt10 = stats.promptTokens;
    }
  }
  return { turn1, turn10, cached10, prompt10 };
}

/**
 * The host as the app ships it: bundled JavaScript, not TypeScript through tsx (whose
 * compiler alone adds ~170 MiB to the process and would distort the memory figure).
 */
async function bundledHostEntry(): Promise<string> {
  const outfile = path.join(ROOT, '.models', 'bench-model-host.cjs');
  await build({
    entryPoints: [path.join(ROOT, 'electron/model-host/main.ts')],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    outfile,
    external: ['@huggingface/transformers', 'onnxruntime-node', 'sharp'],
    logLevel: 'error',
  });
  return outfile;
}

async function main(): Promise<void> {
  const cpu = os.cpus()[0]?.model ?? 'unknown';
  console.log(JSON.stringify({ machine: { cpu, cores: os.cpus().length, memoryGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version, platform: `${process.platform}-${process.arch}` } }));
  const spawnHost = nodeHostSpawner({ entry: await bundledHostEntry() });
  for (const dtype of dtypes) {
    const modelDir = await ensureModel(dtype);
    const tokenizer = await AutoTokenizer.from_pretrained(modelDir);
    const rendered = tokenizer.apply_chat_template(PROMPT, { add_generation_prompt: true, tokenize: false }) as unknown as string;
    const promptIds = tokenizer.encode(rendered, { add_special_tokens: false });

    const client = new ModelHostClient(spawnHost);
    const info = await client.load({ modelDir, dtype });
    await hostDecode(client); // warm-up: first runs allocate

    // Interleave the three so drift on a noisy machine hits them alike.
    const raw: number[] = [];
    const gen: number[] = [];
    const host: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      raw.push(await rawDecode(modelDir, dtype, promptIds));
      gen.push(await generateDecode(modelDir, dtype));
      host.push((await hostDecode(client)).tokS);
    }
    const best = (xs: number[]) => Math.max(...xs);
    print('decode_tok_s_raw', best(raw), { dtype });
    print('decode_tok_s_generate', best(gen), { dtype });
    print('decode_tok_s_host', best(host), { dtype });
    print('decode_ratio_host_vs_raw', best(host) / best(raw), { dtype });
    print('decode_ratio_host_vs_generate', best(host) / best(gen), { dtype });

    // TTFT of one turn is a single short measurement: take the median over rounds.
    const reuse = medianSeries(await repeat(() => ttftOverTurns(client, true)));
    const noReuse = medianSeries(await repeat(() => ttftOverTurns(client, false)));
    print('ttft_ratio_turn10_vs_turn1_reuse', reuse.turn10 / reuse.turn1, { dtype, turn1_ms: reuse.turn1, turn10_ms: reuse.turn10, turn10_prompt_tokens: reuse.prompt10, turn10_cached_tokens: reuse.cached10 });
    print('ttft_ratio_turn10_vs_turn1_noreuse', noReuse.turn10 / noReuse.turn1, { dtype, turn1_ms: noReuse.turn1, turn10_ms: noReuse.turn10, turn10_prompt_tokens: noReuse.prompt10 });

    const rss = await hostRss(client.pid!);
    const idle = await idleHostRss(spawnHost);
    print('rss_ratio_host_vs_model_file', rss / info.modelFileBytes, {
      dtype,
      host_peak_rss_mib: Math.round(rss / 2 ** 20),
      model_file_mib: Math.round(info.modelFileBytes / 2 ** 20),
      // What the host costs with no model loaded (Node, transformers.js, onnxruntime, sharp):
      host_without_model_rss_mib: Math.round(idle / 2 ** 20),
      model_only_ratio: Number(((rss - idle) / info.modelFileBytes).toFixed(4)),
    });
    client.stop();
  }
}

async function repeat<T>(fn: () => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < ROUNDS; i++) out.push(await fn());
  return out;
}

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function medianSeries(runs: Awaited<ReturnType<typeof ttftOverTurns>>[]): Awaited<ReturnType<typeof ttftOverTurns>> {
  return {
    turn1: median(runs.map((r) => r.turn1)),
    turn10: median(runs.map((r) => r.turn10)),
    cached10: median(runs.map((r) => r.cached10)),
    prompt10: median(runs.map((r) => r.prompt10)),
  };
}

/** RSS of a fresh host that has loaded nothing. */
async function idleHostRss(spawnHost: ReturnType<typeof nodeHostSpawner>): Promise<number> {
  const client = new ModelHostClient(spawnHost);
  const pid = await client.start();
  // Loading nothing still imports transformers.js and onnxruntime: the host does that at start.
  await new Promise((resolve) => setTimeout(resolve, 500));
  const rss = await hostRss(pid);
  client.stop();
  return rss;
}

/** Peak resident memory of the host process so far (VmHWM), falling back to its current RSS. */
async function hostRss(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const match = /VmHWM:\s+(\d+) kB/.exec(status) ?? /VmRSS:\s+(\d+) kB/.exec(status);
  return match ? Number(match[1]) * 1024 : NaN;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
