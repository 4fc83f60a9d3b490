// The crash test: a child process streams into the database and reports every committed
// batch; the parent kills it with SIGKILL at random moments, 200 times. After each kill the
// database must pass PRAGMA integrity_check and hold every batch reported as committed.
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
import { expectedText } from './crash-child.ts';
import { Storage } from './storage.ts';
import { tempDir } from './test-support.ts';

const KILLS = 200;
const TIME_BOUND_MS = 100_000;
/** Kills land uniformly in [0, MAX_DELAY_MS) after "go": during open, recovery, or streaming. */
const MAX_DELAY_MS = 120;
/** Children spawned ahead, loading while the current one runs. */
const SPARES = 2;

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..', '..');

/** Transpiles the storage sources (not tests) to plain ESM in `outDir`. */
function transpileStorage(outDir: string): string {
  const sources = [...fs.readdirSync(here).map((name) => name), ...fs.readdirSync(path.join(here, 'migrations')).map((name) => `migrations/${name}`)].filter(
    (name) => name.endsWith('.ts') && !name.endsWith('.test.ts') && name !== 'test-support.ts',
  );
  for (const name of sources) {
    const output = ts.transpileModule(fs.readFileSync(path.join(here, name), 'utf8'), {
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
  return path.join(outDir, 'crash-child.js');
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
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (data: string) => stderr.push(data));
  // Only complete lines count: a line cut by the kill was never fully reported.
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  return { process: child, reports, ready, exited, stderr };
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
      await sleep(Math.random() * MAX_DELAY_MS);
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
      const get = db.prepare<[string], { content: string; status: string }>('SELECT content, status FROM messages WHERE id = ?');
      for (const [id, content] of users) expect(get.get(id)?.content, `user message ${id}`).toBe(content);
      for (const [id, length] of committed) {
        const row = get.get(id);
        expect(row, `message ${id} after kill ${kill}`).toBeDefined();
        expect((row as { content: string }).content.length).toBeGreaterThanOrEqual(length);
        expect((row as { content: string }).content.slice(0, length), `text of ${id} after kill ${kill}`).toBe(expectedText(id, length));
        if (done.has(id)) expect((row as { status: string }).status).toBe('complete');
        else expect(['streaming', 'interrupted', 'complete']).toContain((row as { status: string }).status);
      }
      db.close();
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
