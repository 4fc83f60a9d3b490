// The crash test: a child process streams into the database and reports every committed
// batch; the parent kills it with SIGKILL at random moments, 200 times. After each kill the
// database must pass PRAGMA integrity_check and hold every batch reported as committed, the
// token record of its chunks with it (never text without its tokens, nor tokens without text).
//
// To keep 200 kills within a CI budget on two cores, the storage sources are transpiled once
// (TypeScript's transpileModule, no type check) so a child starts in ~0.2 s instead of tsx's
// ~0.5 s, and the next children are spawned and loaded while the current one runs.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import ts from 'typescript';
import { beforeAll, describe, expect, it } from 'vitest';
import { chunkToken, expectedText } from '../test-support/storage/crash-child.ts';
import { decodeTokenRecord } from './token-record-codec.ts';
import { Storage } from './storage.ts';
import { tempDir } from '../test-support/storage/temp-storage.ts';

const KILLS = 200;
/**
 * About 35 s on an idle 2-core machine. The bound fails a hang or a child that stopped making
 * progress; it is generous because other test files share the cores.
 */
const TIME_BOUND_MS = 150_000;
/**
 * Even kills land uniformly in [0, MAX_DELAY_MS) after "go" (often during open, migration or
 * recovery); odd kills land 0-3 ms after a random number (1 to MAX_REPORTS) of reported
 * commits, so they hit streaming even when a busy machine slows the child down.
 */
const MAX_DELAY_MS = 100;
const MAX_REPORTS = 40;
/** Children spawned ahead, loading while the current one runs. */
const SPARES = 2;

const electronDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const repoRoot = path.resolve(electronDir, '..');

/** The .ts files (not tests) of `folder` under electron/, with their paths from electron/. */
function sourcesIn(folder: string): string[] {
  return fs
    .readdirSync(path.join(electronDir, folder))
    .filter((name) => name.endsWith('.ts') && !name.endsWith('.test.ts'))
    .map((name) => `${folder}/${name}`);
}

/** Transpiles the storage sources and the crash child to plain ESM in `outDir`, laid out as under electron/. */
function transpileStorage(outDir: string): string {
  const sources = [...sourcesIn('storage'), ...sourcesIn('storage/migrations'), ...sourcesIn('test-support/storage'), 'shared/token-record.ts'];
  for (const name of sources) {
    const output = ts.transpileModule(fs.readFileSync(path.join(electronDir, name), 'utf8'), {
      fileName: name,
      compilerOptions: {
        module: ts.ModuleKind.ESNext,
        target: ts.ScriptTarget.ES2022,
        rewriteRelativeImportExtensions: true,
        verbatimModuleSyntax: true,
      },
    });
    const target = path.join(outDir, name.replace(/\.ts$/, '.js'));
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, output.outputText);
  }
  fs.writeFileSync(path.join(outDir, 'package.json'), '{"type":"module"}\n');
  fs.symlinkSync(path.join(repoRoot, 'node_modules'), path.join(outDir, 'node_modules'), 'dir');
  return path.join(outDir, 'test-support', 'storage', 'crash-child.js');
}

type Report =
  | { t: 'ready' }
  | { t: 'open'; recovered: number }
  | { t: 'user'; id: string; content: string }
  | { t: 'batch'; id: string; len: number }
  | { t: 'done'; id: string; len: number };

interface Child {
  process: ChildProcessWithoutNullStreams;
  reports: Report[];
  /** Resolves once `count` reports arrived after "ready" (or the child exited). */
  reported(count: number): Promise<void>;
  ready: Promise<void>;
  exited: Promise<void>;
  stderr: string[];
}

function spawnChild(script: string, file: string, seed: number): Child {
  const child = spawn(process.execPath, [script, file, String(seed)], { stdio: ['pipe', 'pipe', 'pipe'] });
  const reports: Report[] = [];
  const stderr: string[] = [];
  let pending = '';
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  const waiters: Array<{ count: number; resolve: () => void }> = [];
  const wake = () => {
    for (const waiter of waiters.splice(0)) {
      if (reports.length - 1 >= waiter.count || child.exitCode !== null || child.signalCode !== null) waiter.resolve();
      else waiters.push(waiter);
    }
  };
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (data: string) => {
    pending += data;
    let newline = pending.indexOf('\n');
    while (newline !== -1) {
      const report = JSON.parse(pending.slice(0, newline)) as Report;
      pending = pending.slice(newline + 1);
      reports.push(report);
      if (report.t === 'ready') markReady();
      newline = pending.indexOf('\n');
    }
    wake();
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (data: string) => stderr.push(data));
  // Only complete lines count: a line cut by the kill was never fully reported.
  const exited = new Promise<void>((resolve) =>
    child.on('close', () => {
      for (const waiter of waiters.splice(0)) waiter.resolve();
      resolve();
    }),
  );
  const reported = (count: number) =>
    new Promise<void>((resolve) => {
      waiters.push({ count, resolve });
      wake();
    });
  return { process: child, reports, reported, ready, exited, stderr };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('crash safety', () => {
  let script: string;

  beforeAll(() => {
    script = transpileStorage(tempDir());
  });

  it(`keeps every committed batch through ${KILLS} SIGKILLs at random moments`, { timeout: TIME_BOUND_MS + 20_000 }, async () => {
    const file = path.join(tempDir(), 'crash.db');
    const started = Date.now();
    /** Everything ever reported committed: message id -> longest committed length / user text / done. */
    const committed = new Map<string, number>();
    const users = new Map<string, string>();
    const done = new Map<string, number>();
    let batches = 0;
    let killedWhileStreaming = 0;
    let recoveredTotal = 0;
    let seed = 0;
    const spares: Child[] = [];
    const refill = () => {
      while (spares.length < SPARES) spares.push(spawnChild(script, file, (seed += 1)));
    };
    refill();

    for (let kill = 0; kill < KILLS; kill += 1) {
      if (Date.now() - started > TIME_BOUND_MS) throw new Error(`only ${kill} kills in ${TIME_BOUND_MS} ms`);
      const child = spares.shift() as Child;
      refill();
      await child.ready;
      child.process.stdin.write('go\n');
      if (kill % 2 === 0) await sleep(Math.random() * MAX_DELAY_MS);
      else {
        await child.reported(1 + Math.floor(Math.random() * MAX_REPORTS));
        await sleep(Math.random() * 3);
      }
      child.process.kill('SIGKILL');
      await child.exited;
      expect(child.stderr.join(''), 'the child must not fail on its own').toBe('');

      for (const report of child.reports) {
        if (report.t === 'open') recoveredTotal += report.recovered;
        if (report.t === 'user') users.set(report.id, report.content);
        if (report.t === 'batch') {
          batches += 1;
          committed.set(report.id, Math.max(committed.get(report.id) ?? 0, report.len));
        }
        if (report.t === 'done') {
          done.set(report.id, report.len);
          committed.set(report.id, report.len);
        }
      }
      const last = child.reports[child.reports.length - 1];
      if (last?.t === 'batch' || last?.t === 'user') killedWhileStreaming += 1;

      // The database as the kill left it: sound, and holding every reported commit.
      const db = new Database(file);
      expect(db.pragma('integrity_check', { simple: true }), `integrity after kill ${kill}`).toBe('ok');
      const migrated = db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'messages'").get() !== undefined;
      if (!migrated) {
        // Killed before the first migration committed: nothing can have been reported yet.
        expect(users.size + committed.size, `reports before the schema existed (kill ${kill})`).toBe(0);
        db.close();
        continue;
      }
      // Plain comparisons, one expect: thousands of expect() calls per kill cost more than the check.
      const get = db.prepare<[string], { content: string; status: string }>('SELECT content, status FROM messages WHERE id = ?');
      const parts = db.prepare<[string], { data: Buffer }>('SELECT data FROM token_records WHERE message_seq = (SELECT seq FROM messages WHERE id = ?) ORDER BY part');
      const problems: string[] = [];
      for (const [id, content] of users) if (get.get(id)?.content !== content) problems.push(`user message ${id} lost or changed`);
      for (const [id, length] of committed) {
        const row = get.get(id);
        if (row === undefined) problems.push(`message ${id} is missing`);
        else if (row.content.length < length || row.content.slice(0, length) !== expectedText(id, length)) problems.push(`message ${id} lost committed text`);
        else if (done.has(id) && row.status !== 'complete') problems.push(`message ${id} was complete, now ${row.status}`);
        else {
          const tokens = decodeTokenRecord(Buffer.concat(parts.all(id).map((part) => part.data)));
          const recordedLength = tokens.reduce((sum, token) => sum + token.textLength, 0);
          if (recordedLength !== row.content.length) problems.push(`message ${id}: its token record covers ${recordedLength} of ${row.content.length} units`);
          else if (tokens.some((token, index) => token.tokenId !== index || token.candidates[1]?.text !== chunkToken(index).candidates[1]?.text)) problems.push(`message ${id}: its token record changed`);
        }
      }
      db.close();
      expect(problems, `after kill ${kill}`).toEqual([]);
    }
    for (const spare of spares) spare.process.kill('SIGKILL');
    await Promise.all(spares.map((spare) => spare.exited));

    // Opening recovers whatever the last kill left streaming; nothing stays `streaming`.
    const storage = Storage.open(file);
    const db = new Database(file, { readonly: true });
    expect(db.prepare("SELECT count(*) AS n FROM messages WHERE status = 'streaming'").get()).toEqual({ n: 0 });
    db.close();
    for (const [id, length] of committed) expect(storage.getMessage(id).content.slice(0, length)).toBe(expectedText(id, length));
    storage.close();

    // The run must actually have exercised something.
    expect(batches).toBeGreaterThan(KILLS);
    expect(done.size).toBeGreaterThan(10);
    expect(killedWhileStreaming + recoveredTotal).toBeGreaterThan(10);
    console.info(
      `crash test: ${KILLS} kills in ${((Date.now() - started) / 1000).toFixed(1)} s, ${batches} batches and ${done.size} answers reported, ` +
        `${recoveredTotal} messages recovered from streaming`,
    );
  });
});
