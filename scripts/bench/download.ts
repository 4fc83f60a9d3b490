// npm run bench:download — the model downloader's throughput on loopback against a plain
// stream-to-file copy of the same bytes from the same local hub (scripts/testing/hub-server.ts),
// and what a resume costs. Prints one JSON object per line: {"machine": {...}} (machine.ts)
// first, then {"figure", "value", ...}.
//
//   download_ratio_vs_plain_copy   downloader MB/s ÷ plain copy MB/s (medians over rounds, interleaved)
//   resume_overhead_ms             after an app restart, from resume() to the first new byte on disk:
//                                  re-hashing the part, a new connection, the 206 answer
//   resume_overhead_in_process_ms  the same for a pause/resume in one process (the hash is kept)
//
// The downloader does what the plain copy does not: sha256 of every byte, an fsync and a rename
// at the end, a redirect hop to the CDN path. Options: --size-mb N (default 256), --rounds N
// (default 5), --dir PATH (default the OS temp folder: put it on the disk models will live on).
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, open, rm, stat, truncate } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { newPartHash, transferFile, type FileTarget, type PartHash } from '../../electron/services/downloads/file-transfer.ts';
import { nodeHttpGet } from '../../electron/services/downloads/http-transport.ts';
import { resolveUrl } from '../../electron/services/downloads/hub.ts';
import { HubServer } from '../testing/hub-server.ts';
import { printMachineLine } from './machine.ts';

const { values } = parseArgs({
  options: {
    'size-mb': { type: 'string', default: '256' },
    rounds: { type: 'string', default: '5' },
    dir: { type: 'string' },
  },
});
const SIZE = Math.round(Number(values['size-mb']) * 1024 * 1024);
const ROUNDS = Number(values.rounds);
if (!Number.isFinite(SIZE) || SIZE < 1024 * 1024 || !Number.isInteger(ROUNDS) || ROUNDS < 1) {
  console.error('usage: npm run bench:download -- [--size-mb N>=1] [--rounds N>=1] [--dir PATH]');
  process.exit(2);
}

const REPO = 'bench/model';
const FILE = 'onnx/model.onnx_data';

function print(figure: string, value: number, extra: Record<string, unknown> = {}): void {
  console.log(JSON.stringify({ figure, value: Number(value.toFixed(4)), ...extra }));
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Random-looking bytes, written in chunks (no need to hold the file in memory). */
async function writeSourceFile(file: string, size: number): Promise<void> {
  const handle = await open(file, 'w');
  try {
    let seed = createHash('sha256').update('jielong bench').digest();
    for (let written = 0; written < size; ) {
      const chunk = Buffer.alloc(Math.min(8 << 20, size - written));
      for (let i = 0; i < chunk.length; i += 32) {
        seed = createHash('sha256').update(seed).digest();
        seed.copy(chunk, i);
      }
      await handle.write(chunk, 0, chunk.length, written);
      written += chunk.length;
    }
  } finally {
    await handle.close();
  }
}

/** The baseline: GET (following the hub's one redirect), body piped to a file. */
function plainCopy(url: string, target: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const get = (address: string, hops: number): void => {
      http
        .get(address, (res) => {
          if (res.statusCode && res.statusCode >= 300 && res.statusCode < 400 && res.headers.location && hops < 3) {
            res.resume();
            return get(new URL(res.headers.location, address).toString(), hops + 1);
          }
          pipeline(res, createWriteStream(target)).then(resolve, reject);
        })
        .on('error', reject);
    };
    get(url, 0);
  });
}

async function main(): Promise<void> {
  const base = values.dir ? path.resolve(values.dir) : os.tmpdir();
  printMachineLine({ dir: base, size_mib: SIZE / 1048576, rounds: ROUNDS });
  await mkdir(base, { recursive: true });
  const work = await mkdtemp(path.join(base, 'jielong-bench-download-'));
  const hub = await HubServer.start();
  try {
    const sourceDir = path.join(work, 'source');
    await mkdir(path.join(sourceDir, 'onnx'), { recursive: true });
    console.error(`writing a ${(SIZE / 1048576).toFixed(0)} MiB file in ${work} ...`);
    await writeSourceFile(path.join(sourceDir, FILE), SIZE);
    const repo = await hub.addRepoFromFolder(REPO, sourceDir);
    const served = repo.files.get(FILE)!;
    const url = resolveUrl(hub.url, REPO, 'main', FILE);
    const get = nodeHttpGet({ httpAgent: new http.Agent({ keepAlive: true }) });
    const outDir = path.join(work, 'out');
    await mkdir(outDir, { recursive: true });
    const target = (name: string): FileTarget => ({
      name: FILE,
      url,
      partPath: path.join(outDir, `${name}.part`),
      finalPath: path.join(outDir, name),
      size: served.size,
      sha256: served.sha256,
      gitOid: null,
    });

    // Warm-up: page cache for the source, connections, JIT.
    await plainCopy(url, path.join(outDir, 'warm'));
    await rm(path.join(outDir, 'warm'));

    const plainRates: number[] = [];
    const downloaderRates: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      // Alternate which goes first, so neither always meets a freshly flushed disk.
      const order = round % 2 === 0 ? ['plain', 'downloader'] : ['downloader', 'plain'];
      for (const which of order) {
        const started = performance.now();
        if (which === 'plain') {
          await plainCopy(url, path.join(outDir, 'plain'));
          plainRates.push(SIZE / 1048576 / ((performance.now() - started) / 1000));
          await rm(path.join(outDir, 'plain'));
        } else {
          const result = await transferFile(target('downloaded'), { get, signal: new AbortController().signal });
          downloaderRates.push(SIZE / 1048576 / ((performance.now() - started) / 1000));
          if (result.sha256 !== served.sha256) throw new Error('the downloaded file does not match');
          await rm(path.join(outDir, 'downloaded'));
        }
      }
      console.error(`round ${round + 1}: plain ${plainRates.at(-1)!.toFixed(0)} MiB/s, downloader ${downloaderRates.at(-1)!.toFixed(0)} MiB/s`);
    }

    // Resume: a part holding half the file, as a previous run left it.
    const resume = async (keepHash: boolean): Promise<number> => {
      const t = target('resumed');
      await rm(t.finalPath, { force: true });
      const half = Math.floor(served.size / 2);
      let partHash: PartHash | undefined;
      if (keepHash) {
        // As a pause in the same process leaves it: the running hash covers the part.
        partHash = newPartHash();
        const controller = new AbortController();
        await transferFile(t, {
          get,
          signal: controller.signal,
          partHash,
          onBytes: (bytes) => {
            if (bytes >= half) controller.abort();
          },
        }).catch(() => undefined);
      } else {
        await plainCopy(url, t.partPath);
        await truncate(t.partPath, half);
      }
      const offset = (await stat(t.partPath)).size;
      let firstByteAt = 0;
      const started = performance.now();
      await transferFile(t, {
        get,
        signal: new AbortController().signal,
        ...(partHash ? { partHash } : {}),
        onBytes: (bytes) => {
          if (!firstByteAt && bytes > offset) firstByteAt = performance.now();
        },
      });
      return firstByteAt - started;
    };
    const afterRestart: number[] = [];
    const inProcess: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      afterRestart.push(await resume(false));
      inProcess.push(await resume(true));
    }

    const plain = median(plainRates);
    const downloader = median(downloaderRates);
    print('download_ratio_vs_plain_copy', downloader / plain, { size_mib: SIZE / 1048576, rounds: ROUNDS });
    print('download_mib_per_s', downloader);
    print('plain_copy_mib_per_s', plain);
    print('resume_overhead_ms', median(afterRestart), { part_mib: Math.floor(SIZE / 2) / 1048576 });
    print('resume_overhead_in_process_ms', median(inProcess));
  } finally {
    await hub.close();
    await rm(work, { recursive: true, force: true });
  }
}

await main();
