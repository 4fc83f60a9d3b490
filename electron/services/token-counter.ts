// Counts tokens with a model folder's tokenizer.json off the main thread. Building a tokenizer
// from a real vocabulary (Qwen2.5's file is 6.5 MB) takes most of a second of synchronous work
// that would stall every window's calls; a worker thread does it, keeps the last few
// tokenizers, and ends itself when it has been idle a while.
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

/** How long the worker (and the tokenizers it holds) is kept after its last count. */
const IDLE_MS = 30_000;
const TOKENIZERS_KEPT = 4;

// Plain CommonJS run by the worker; the tokenizer package (pure JS, the one transformers.js
// uses) is imported by the URL the main side resolved.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { readFile } = require('node:fs/promises');
const path = require('node:path');
const tokenizers = new Map();
async function tokenizerFor(dir) {
  let tokenizer = tokenizers.get(dir);
  if (!tokenizer) {
    tokenizer = (async () => {
      const module = await import(workerData.tokenizersUrl);
      const Tokenizer = module.Tokenizer ?? module.default.Tokenizer;
      const read = async (file) => {
        const text = await readFile(path.join(dir, file), 'utf8');
        try {
          return JSON.parse(text);
        } catch {
          throw new Error(file + ' is not valid JSON.'); // JSON.parse's own message quotes the file
        }
      };
      return new Tokenizer(await read('tokenizer.json'), await read('tokenizer_config.json'));
    })();
    tokenizer.catch(() => tokenizers.delete(dir));
    tokenizers.set(dir, tokenizer);
    if (tokenizers.size > workerData.kept) tokenizers.delete(tokenizers.keys().next().value);
  }
  return tokenizer;
}
parentPort.on('message', async ({ id, dir, text }) => {
  try {
    const tokenizer = await tokenizerFor(dir);
    parentPort.postMessage({ id, count: tokenizer.encode(text, { add_special_tokens: false }).ids.length });
  } catch (error) {
    parentPort.postMessage({ id, error: error instanceof Error ? error.message : String(error) });
  }
});
`;

/**
 * Where @huggingface/tokenizers is: resolved from the app's bundle (CommonJS, where __filename is
 * the bundle's file) or, run from source, from the project folder. Neither import.meta nor a
 * bare require.resolve, which the app's bundler refuses to leave in a CommonJS bundle.
 */
function tokenizersUrl(): string {
  const base = typeof __filename === 'string' ? __filename : path.join(process.cwd(), 'package.json');
  return pathToFileURL(createRequire(base).resolve('@huggingface/tokenizers')).href;
}

type Reply = { id: number; count: number; error?: undefined } | { id: number; error: string };

let worker: Worker | null = null;
let idleTimer: NodeJS.Timeout | null = null;
let nextId = 0;
const waiting = new Map<number, { resolve(count: number): void; reject(error: Error): void }>();

function failAll(error: Error): void {
  for (const pending of waiting.values()) pending.reject(error);
  waiting.clear();
  worker = null;
}

function startWorker(): Worker {
  const started = new Worker(WORKER_SOURCE, { eval: true, workerData: { tokenizersUrl: tokenizersUrl(), kept: TOKENIZERS_KEPT } });
  started.unref();
  started.on('message', (reply: Reply) => {
    const pending = waiting.get(reply.id);
    waiting.delete(reply.id);
    if (reply.error !== undefined) pending?.reject(new Error(reply.error));
    else pending?.resolve(reply.count);
  });
  started.on('error', (error) => failAll(error));
  started.on('exit', () => {
    if (worker === started) failAll(new Error('the token counter stopped'));
  });
  return started;
}

/** How many tokens `text` is for the tokenizer in `dir` (no special tokens added: the text has its own). */
export function countTokens(dir: string, text: string): Promise<number> {
  worker ??= startWorker();
  if (idleTimer) clearTimeout(idleTimer);
  const id = nextId++;
  const counted = new Promise<number>((resolve, reject) => waiting.set(id, { resolve, reject }));
  worker.postMessage({ id, dir, text });
  void counted
    .finally(() => {
      if (waiting.size > 0) return;
      idleTimer = setTimeout(() => void stopTokenCounter(), IDLE_MS);
      idleTimer.unref();
    })
    .catch(() => undefined);
  return counted;
}

/** Ends the worker now (its tokenizers are dropped). */
export async function stopTokenCounter(): Promise<void> {
  const running = worker;
  worker = null;
  if (idleTimer) clearTimeout(idleTimer);
  idleTimer = null;
  await running?.terminate();
}
