// llama.cpp for the engine bench, obtained on demand into the ignored .cache/llama.cpp/:
//   npm/    node-llama-cpp@3.21.1 + @node-llama-cpp/linux-x64 (npm install --ignore-scripts: no
//           postinstall, nothing fetched from GitHub), kept out of the app's own install;
//   src/    the llama.cpp source node-llama-cpp ships (llama/gitRelease.bundle), git-cloned;
//   build/  cmake Release + Ninja, GGML_NATIVE=ON, only the llama-bench target; then
//   greedy  our scripts/bench/llamacpp/greedy.cpp linked against that build's static libraries.
// Where the build fails, the bench falls back to node-llama-cpp's prebuilt binary at 1 thread
// (prebuilt-side.ts) and says so.
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
export const CACHE = path.join(ROOT, '.cache', 'llama.cpp');
export const NODE_LLAMA_CPP_VERSION = '3.21.1';
const NPM_DIR = path.join(CACHE, 'npm');
const SRC = path.join(CACHE, 'src');
const BUILD = path.join(CACHE, 'build');
const BENCH_BIN = path.join(BUILD, 'bin', 'llama-bench');
const GREEDY_BIN = path.join(BUILD, 'bin', 'jielong-greedy');
const BUILD_INFO = path.join(CACHE, 'build-info.json');
export const CMAKE_FLAGS = [
  '-G',
  'Ninja',
  '-DCMAKE_BUILD_TYPE=Release',
  '-DGGML_NATIVE=ON',
  '-DLLAMA_CURL=OFF',
  '-DLLAMA_BUILD_TESTS=OFF',
  '-DLLAMA_BUILD_EXAMPLES=OFF',
  '-DLLAMA_BUILD_SERVER=OFF',
  '-DBUILD_SHARED_LIBS=OFF',
];

export interface LlamaCpp {
  /** 'built': llama-bench from source; 'prebuilt': node-llama-cpp's binary only. */
  source: 'built' | 'prebuilt';
  nodeLlamaCppVersion: string;
  /** The release node-llama-cpp names for its llama.cpp (llama/binariesGithubRelease.json) and the bundle's commit. */
  llamaCppRelease: string;
  commit: string;
  benchBin?: string;
  greedyBin?: string;
  buildSeconds?: number;
  cmakeFlags: string[];
  /** node_modules/node-llama-cpp, for the prebuilt side. */
  nodeLlamaCppDir: string;
  note?: string;
}

function log(message: string): void {
  console.error(`[llama.cpp] ${message}`);
}

async function ensureNodeLlamaCpp(): Promise<string> {
  const dir = path.join(NPM_DIR, 'node_modules', 'node-llama-cpp');
  const pkg = path.join(dir, 'package.json');
  if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version === NODE_LLAMA_CPP_VERSION) return dir;
  mkdirSync(NPM_DIR, { recursive: true });
  if (!existsSync(path.join(NPM_DIR, 'package.json'))) writeFileSync(path.join(NPM_DIR, 'package.json'), '{ "name": "jielong-llamacpp-cache", "private": true }\n');
  log(`installing node-llama-cpp@${NODE_LLAMA_CPP_VERSION} into ${NPM_DIR} (--ignore-scripts)`);
  await run(
    'npm',
    ['install', '--prefix', NPM_DIR, `node-llama-cpp@${NODE_LLAMA_CPP_VERSION}`, `@node-llama-cpp/linux-x64@${NODE_LLAMA_CPP_VERSION}`, '--ignore-scripts', '--no-audit', '--no-fund', '--omit=optional'],
    { cwd: NPM_DIR, maxBuffer: 1 << 24 },
  );
  return dir;
}

async function ensureSource(nodeLlamaCppDir: string): Promise<string> {
  if (!existsSync(path.join(SRC, 'CMakeLists.txt'))) {
    log('cloning llama/gitRelease.bundle');
    await run('git', ['clone', '-q', path.join(nodeLlamaCppDir, 'llama', 'gitRelease.bundle'), SRC]);
  }
  return (await run('git', ['-C', SRC, 'rev-parse', 'HEAD'])).stdout.trim();
}

async function buildLlamaBench(): Promise<number> {
  const started = performance.now();
  log(`building llama-bench (cmake ${CMAKE_FLAGS.join(' ')}); about 10-25 min on 2 cores`);
  await run('cmake', ['-S', SRC, '-B', BUILD, ...CMAKE_FLAGS], { maxBuffer: 1 << 26 });
  await run('cmake', ['--build', BUILD, '--target', 'llama-bench', '-j', '2'], { maxBuffer: 1 << 28 });
  return (performance.now() - started) / 1000;
}

async function buildGreedy(): Promise<void> {
  const lib = (p: string): string => path.join(BUILD, p);
  await run(
    'g++',
    [
      '-O2',
      '-std=c++17',
      `-I${path.join(SRC, 'include')}`,
      `-I${path.join(SRC, 'ggml', 'include')}`,
      path.join(ROOT, 'scripts', 'bench', 'llamacpp', 'greedy.cpp'),
      lib('src/libllama.a'),
      lib('ggml/src/libggml.a'),
      lib('ggml/src/libggml-cpu.a'),
      lib('ggml/src/libggml-base.a'),
      '-fopenmp',
      '-lpthread',
      '-ldl',
      '-o',
      GREEDY_BIN,
    ],
    { maxBuffer: 1 << 24 },
  );
}

/** node-llama-cpp, the source, and llama-bench + the greedy tool built from it (cached). */
export async function ensureLlamaCpp(): Promise<LlamaCpp> {
  const nodeLlamaCppDir = await ensureNodeLlamaCpp();
  const release = (JSON.parse(readFileSync(path.join(nodeLlamaCppDir, 'llama', 'binariesGithubRelease.json'), 'utf8')) as { release: string }).release;
  const commit = await ensureSource(nodeLlamaCppDir);
  const base = { nodeLlamaCppVersion: NODE_LLAMA_CPP_VERSION, llamaCppRelease: release, commit, cmakeFlags: CMAKE_FLAGS, nodeLlamaCppDir };
  let buildSeconds: number | undefined = existsSync(BUILD_INFO) ? (JSON.parse(readFileSync(BUILD_INFO, 'utf8')) as { buildSeconds?: number }).buildSeconds : undefined;
  try {
    if (!existsSync(BENCH_BIN)) {
      buildSeconds = await buildLlamaBench();
      writeFileSync(BUILD_INFO, `${JSON.stringify({ buildSeconds, commit, cmakeFlags: CMAKE_FLAGS }, null, 2)}\n`);
    }
    if (!existsSync(GREEDY_BIN)) await buildGreedy();
    return { source: 'built', ...base, benchBin: BENCH_BIN, greedyBin: GREEDY_BIN, ...(buildSeconds !== undefined ? { buildSeconds } : {}) };
  } catch (error) {
    const note = `llama-bench could not be built (${error instanceof Error ? error.message.split('\n')[0] : String(error)}): node-llama-cpp's prebuilt binary at 1 thread instead`;
    log(note);
    return { source: 'prebuilt', ...base, note };
  }
}

export interface BenchResult {
  threads: number;
  nPrompt: number;
  nGen: number;
  nDepth: number;
  avgTs: number;
  stddevTs: number;
  samplesTs: number[];
  type: string;
}

/** Runs llama-bench with -o json; one result per thread count. */
export async function llamaBench(bin: string, model: string, args: { prompt: number; gen: number; depth: number; reps: number; threads: number[] }): Promise<BenchResult[]> {
  const argv = ['-m', model, '-p', String(args.prompt), '-n', String(args.gen), '-d', String(args.depth), '-r', String(args.reps), '-t', args.threads.join(','), '-o', 'json'];
  const stdout = await new Promise<string>((resolve, reject) => {
    const child = spawn(bin, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code, signal) => (code === 0 ? resolve(out) : reject(new Error(`llama-bench ${argv.join(' ')} exited ${code ?? signal}: ${err.slice(-2000)}`))));
  });
  const rows = JSON.parse(stdout) as Array<Record<string, unknown>>;
  return rows.map((r) => ({
    threads: r['n_threads'] as number,
    nPrompt: r['n_prompt'] as number,
    nGen: r['n_gen'] as number,
    nDepth: r['n_depth'] as number,
    avgTs: r['avg_ts'] as number,
    stddevTs: r['stddev_ts'] as number,
    samplesTs: r['samples_ts'] as number[],
    type: String(r['model_type'] ?? ''),
  }));
}

/** Greedy ids from llama.cpp (F32 KV cache, no flash attention) after feeding `prompt`. */
export async function llamaGreedy(bin: string, model: string, prompt: readonly number[], count: number, threads = 2): Promise<number[]> {
  const { stdout } = await run(bin, [model, String(count), String(threads), ...prompt.map(String)], { maxBuffer: 1 << 20 });
  return stdout.trim().split(/\s+/).map(Number);
}
