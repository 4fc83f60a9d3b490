// Where the time of a streamed answer goes, in the model host and in the parent that receives
// its token events: a V8 CPU profile of each process (the host with --cpu-prof, the parent
// through the inspector), cut to the window in which the answers were generated (both clocks
// are CLOCK_MONOTONIC), summarized as self time per function per generated token.
//   npx tsx scripts/bench/profile-host.ts          (PROFILE_MODEL=smollm2|qwen2.5-0.5b PROFILE_DTYPE=q4 PROFILE_TOKENS=128 PROFILE_ANSWERS=4)
// Prints one JSON line per process: {"profile": "host"|"parent", "per_token_ms", "busy_ms_per_token", "top": [...]}.
// The profiles stay in .models/profile/ for chrome://inspect or speedscope.
import { fork } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HostRequest, SeededSamplingParams } from '../../electron/shared/model-host-protocol.ts';
import { ModelHostClient, type HostProcess } from '../../electron/services/model-host-client.ts';
import { makeModel } from '../make-model/make-model.ts';
import { makeMirror } from '../make-model/mirrors.ts';
import { bundledHostEntry } from './host-bundle.ts';
import { printMachineLine } from './machine.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const OUT = path.join(ROOT, '.models', 'profile');
const MODEL = process.env['PROFILE_MODEL'] ?? 'smollm2';
const DTYPE = (process.env['PROFILE_DTYPE'] ?? 'q4') as 'fp32' | 'q8' | 'q4';
const TOKENS = Number(process.env['PROFILE_TOKENS'] ?? 128);
const ANSWERS = Number(process.env['PROFILE_ANSWERS'] ?? 4);

interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }>;
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Self time per function (µs) of the samples taken within [fromUs, toUs]. */
export function selfTimes(profile: CpuProfile, fromUs: number, toUs: number): { byFunction: Map<string, number>; totalUs: number } {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const byFunction = new Map<string, number>();
  let t = profile.startTime;
  let totalUs = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i]!;
    // A sample stands for the time until the next one.
    const span = profile.timeDeltas[i + 1] ?? 0;
    if (t < fromUs || t > toUs) continue;
    const node = nodes.get(profile.samples[i]!)!;
    const f = node.callFrame;
    const where = f.url ? `${f.url.replace(/^file:\/\//, '').replace(`${ROOT}/`, '').replace(/.*node_modules\//, '')}:${f.lineNumber + 1}` : '';
    const key = `${f.functionName || '(anonymous)'}${where ? ` ${where}` : ''}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + span);
    totalUs += span;
  }
  return { byFunction, totalUs };
}

function summarize(label: string, profile: CpuProfile, fromUs: number, toUs: number, tokens: number): void {
  const { byFunction, totalUs } = selfTimes(profile, fromUs, toUs);
  const idle = byFunction.get('(idle)') ?? 0;
  const busy = totalUs - idle;
  const top = [...byFunction.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 18)
    .map(([fn, us]) => ({ fn, ms_per_token: Number((us / 1000 / tokens).toFixed(3)), share: Number((us / totalUs).toFixed(3)) }));
  console.log(
    JSON.stringify({
      profile: label,
      model: MODEL,
      dtype: DTYPE,
      tokens,
      wall_ms_per_token: Number(((toUs - fromUs) / 1000 / tokens).toFixed(3)),
      busy_ms_per_token: Number((busy / 1000 / tokens).toFixed(3)),
      idle_ms_per_token: Number((idle / 1000 / tokens).toFixed(3)),
      top,
    }),
  );
}

const nowUs = (): number => Number(process.hrtime.bigint() / 1000n);

async function main(): Promise<void> {
  printMachineLine({ profile: { model: MODEL, dtype: DTYPE, tokens: TOKENS, answers: ANSWERS } });
  const modelDir = path.join(ROOT, '.models', 'bench', MODEL === 'smollm2' ? 'smollm2' : 'qwen2.5-0.5b');
  try {
    readFileSync(path.join(modelDir, 'config.json'));
  } catch {
    if (MODEL === 'smollm2') await makeModel({ preset: 'smollm2', dtype: ['fp32', 'q8', 'q4'], outDir: modelDir });
    else await makeMirror({ catalogId: 'qwen2.5-0.5b-instruct', fullSize: true, dtype: ['q8', 'q4'], outDir: modelDir });
  }
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  const entry = await bundledHostEntry();
  let child: ReturnType<typeof fork> | undefined;
  // Like nodeHostSpawner, but ended by disconnecting: the host then exits normally
  // (process.exit on 'disconnect'), which is when --cpu-prof writes its profile.
  const spawnHost = (): HostProcess => {
    child = fork(entry, [], { execArgv: ['--cpu-prof', `--cpu-prof-dir=${OUT}`, '--cpu-prof-name=host.cpuprofile', '--cpu-prof-interval=250'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const c = child;
    return {
      get pid() {
        return c.pid;
      },
      send: (message: HostRequest) => {
        if (c.connected) c.send(message);
      },
      onMessage: (listener) => c.on('message', listener),
      onExit: (listener) => c.on('exit', (code, signal) => listener(code, signal)),
      kill: () => c.disconnect(),
    };
  };
  const client = new ModelHostClient(spawnHost);
  await client.load({ modelDir, dtype: DTYPE });
  const params: SeededSamplingParams = { temperature: 0, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1, maxNewTokens: TOKENS, seed: 0 };
  const messages = [
    { role: 'system' as const, content: 'You are a helpful assistant.' },
    { role: 'user' as const, content: 'Explain how a language model picks its next token, step by step, with an example.' },
  ];
  // 5 candidates per token, as the chat service asks (the token record).
  const candidates = 5;
  await client.generate({ messages, params, candidates, reuseCache: false }).done; // warm-up

  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 250 });
  await session.post('Profiler.start');
  const from = nowUs();
  let tokens = 0;
  let text = '';
  for (let i = 0; i < ANSWERS; i++) {
    // What the app's main process does with each event: append the text.
    await client.generate({ messages, params, candidates, reuseCache: false, onToken: (t) => ((tokens += 1), (text += t.text)) }).done;
    text = '';
  }
  const to = nowUs();
  const { profile } = (await session.post('Profiler.stop')) as { profile: CpuProfile };
  writeFileSync(path.join(OUT, 'parent.cpuprofile'), JSON.stringify(profile));
  const exited = new Promise((resolve) => child!.on('exit', resolve));
  client.stop();
  await exited;
  const hostFile = readdirSync(OUT).find((f) => f.startsWith('host'));
  if (!hostFile) throw new Error('profile-host: the host wrote no profile');
  const hostProfile = JSON.parse(readFileSync(path.join(OUT, hostFile), 'utf8')) as CpuProfile;
  summarize('host', hostProfile, from, to, tokens);
  summarize('parent', profile, from, to, tokens);
  console.error(`profiles in ${OUT}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
