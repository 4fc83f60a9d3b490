// Opening the SQLite file: the header check that refuses newer files without touching them,
// the pragmas (set, then read back), the typed reader/writer split, copies of damaged files,
// and online backup.
//
// Readers and writers are typed apart (as in Signal Desktop's SQL layer): functions that only
// read take a ReadableDB, functions that change anything take a WritableDB. The storage facade
// hands readers a connection opened with SQLITE_OPEN_READONLY, so the type is also enforced by
// SQLite itself.
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { StorageError } from './errors.ts';

declare const readableBrand: unique symbol;
declare const writableBrand: unique symbol;

/** A connection that may only be read from. */
export type ReadableDB = Database.Database & { readonly [readableBrand]: true };
/** A connection that may be written to (and read from). */
export type WritableDB = ReadableDB & { readonly [writableBrand]: true };

export const DEFAULT_BUSY_TIMEOUT_MS = 5_000;

/** Page cache per connection (KiB, as SQLite's negative cache_size). */
const CACHE_KIB = 64 * 1024;

export interface Pragmas {
  journalMode: string;
  synchronous: number;
  foreignKeys: boolean;
  busyTimeoutMs: number;
}

const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');

export type HeaderCheck =
  | { kind: 'missing' }
  | { kind: 'empty' }
  | { kind: 'not-a-database'; reason: string }
  | { kind: 'database'; userVersion: number; pageSize: number; fileSize: number; truncated: boolean };

/**
 * Reads the 100-byte SQLite header with plain file I/O, so a file can be judged (newer schema,
 * not a database) before SQLite opens it and creates -wal/-shm files beside it.
 */
export function readHeader(file: string): HeaderCheck {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' };
    throw new StorageError('IO', `Cannot read the conversation database at ${file}: ${(error as Error).message}`, { cause: error });
  }
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) throw new StorageError('IO', `${file} is not a file.`);
    if (stat.size === 0) return { kind: 'empty' };
    const header = Buffer.alloc(100);
    const read = fs.readSync(fd, header, 0, 100, 0);
    if (read < 100) return { kind: 'not-a-database', reason: `the file is only ${stat.size} bytes long` };
    if (!header.subarray(0, 16).equals(SQLITE_MAGIC)) return { kind: 'not-a-database', reason: 'the file does not start with the SQLite header' };
    const rawPageSize = header.readUInt16BE(16);
    const pageSize = rawPageSize === 1 ? 65_536 : rawPageSize;
    if (pageSize < 512 || (pageSize & (pageSize - 1)) !== 0) return { kind: 'not-a-database', reason: `the header declares an impossible page size (${rawPageSize})` };
    // The in-header page count is trustworthy only when its "version-valid-for" matches the change counter.
    const pageCount = header.readUInt32BE(28);
    const pageCountValid = header.readUInt32BE(92) === header.readUInt32BE(24) && pageCount > 0;
    return {
      kind: 'database',
      userVersion: header.readUInt32BE(60),
      pageSize,
      fileSize: stat.size,
      truncated: pageCountValid && stat.size < pageCount * pageSize,
    };
  } finally {
    fs.closeSync(fd);
  }
}

/** True when a non-empty write-ahead log is beside the file: the last session did not close cleanly. */
export function hasLeftoverWal(file: string): boolean {
  try {
    return fs.statSync(`${file}-wal`).size > 0;
  } catch {
    return false;
  }
}

/** Opens the read-write connection and sets the pragmas, reading each back. */
export function openWritable(file: string, busyTimeoutMs: number): WritableDB {
  let db: Database.Database;
  try {
    db = new Database(file);
  } catch (error) {
    throw wrapOpenError(file, error);
  }
  try {
    db.pragma(`busy_timeout = ${Math.trunc(busyTimeoutMs)}`);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    db.pragma(`cache_size = ${-CACHE_KIB}`);
    db.pragma('temp_store = MEMORY');
    const pragmas = readPragmas(db as ReadableDB);
    const expected: Pragmas = { journalMode: 'wal', synchronous: 2, foreignKeys: true, busyTimeoutMs: Math.trunc(busyTimeoutMs) };
    for (const key of Object.keys(expected) as Array<keyof Pragmas>) {
      if (pragmas[key] !== expected[key]) {
        throw new StorageError(
          'PRAGMA_MISMATCH',
          `SQLite did not accept ${key} = ${String(expected[key])} on ${file} (it reads ${String(pragmas[key])}); ` +
            'Jielong will not store conversations without it.',
        );
      }
    }
    return db as WritableDB;
  } catch (error) {
    db.close();
    throw error;
  }
}

/** Opens a read-only connection (SQLite refuses writes on it). Call after the writer migrated the file. */
export function openReadonly(file: string, busyTimeoutMs: number): ReadableDB {
  let db: Database.Database;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
  } catch (error) {
    throw wrapOpenError(file, error);
  }
  try {
    db.pragma(`busy_timeout = ${Math.trunc(busyTimeoutMs)}`);
    db.pragma(`cache_size = ${-CACHE_KIB}`);
    db.pragma('temp_store = MEMORY');
    db.pragma('query_only = ON');
    return db as ReadableDB;
  } catch (error) {
    db.close();
    throw error;
  }
}

export function readPragmas(db: ReadableDB): Pragmas {
  return {
    journalMode: String(db.pragma('journal_mode', { simple: true })).toLowerCase(),
    synchronous: Number(db.pragma('synchronous', { simple: true })),
    foreignKeys: Number(db.pragma('foreign_keys', { simple: true })) === 1,
    busyTimeoutMs: Number(db.pragma('busy_timeout', { simple: true })),
  };
}

export function userVersion(db: ReadableDB): number {
  return Number(db.pragma('user_version', { simple: true }));
}

/** PRAGMA quick_check (integrity_check when `full`): [] when sound, else SQLite's findings. */
export function integrityProblems(db: ReadableDB, full = false): string[] {
  const rows = db.pragma(full ? 'integrity_check' : 'quick_check') as Array<Record<string, unknown>>;
  const lines = rows.map((row) => String(Object.values(row)[0]));
  return lines.length === 1 && lines[0] === 'ok' ? [] : lines;
}

function wrapOpenError(file: string, error: unknown): unknown {
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (code.startsWith('SQLITE_CANTOPEN') || code.startsWith('SQLITE_PERM') || code.startsWith('SQLITE_READONLY'))) {
    return new StorageError('IO', `Cannot open the conversation database at ${file}: ${(error as Error).message}`, { cause: error });
  }
  return error;
}

/** The files that make up a database on disk, main file first. */
function databaseFiles(file: string): string[] {
  return [file, `${file}-wal`, `${file}-journal`].filter((candidate) => fs.existsSync(candidate));
}

function asideBase(file: string, now: number): string {
  const stamp = new Date(now).toISOString().replace(/[:.]/g, '-');
  let base = `${file}.corrupt-${stamp}`;
  for (let n = 2; fs.existsSync(base); n += 1) base = `${file}.corrupt-${stamp}-${n}`;
  return base;
}

/**
 * Copies a damaged database (with its write-ahead log, which may hold committed data) to
 * `<file>.corrupt-<time>` beside it. Never deletes or changes the original. Returns the copies.
 */
export function copyAside(file: string, now: number): string[] {
  // The same damage met again (each start of an app that cannot open it): the copy kept the
  // first time is the copy, not a new one each start.
  const kept = existingAsideCopy(file);
  if (kept !== null) return kept;
  const base = asideBase(file, now);
  const copies: string[] = [];
  for (const source of databaseFiles(file)) {
    const target = base + source.slice(file.length);
    fs.copyFileSync(source, target, fs.constants.COPYFILE_EXCL);
    copies.push(target);
  }
  return copies;
}

function sameBytes(a: string, b: string): boolean {
  const sizeA = fs.existsSync(a) ? fs.statSync(a).size : -1;
  const sizeB = fs.existsSync(b) ? fs.statSync(b).size : -1;
  if (sizeA !== sizeB) return false;
  if (sizeA <= 0) return true;
  const fdA = fs.openSync(a, 'r');
  const fdB = fs.openSync(b, 'r');
  try {
    const bufferA = Buffer.alloc(1 << 20);
    const bufferB = Buffer.alloc(1 << 20);
    for (let position = 0; position < sizeA; position += bufferA.length) {
      const readA = fs.readSync(fdA, bufferA, 0, bufferA.length, position);
      const readB = fs.readSync(fdB, bufferB, 0, bufferB.length, position);
      if (readA !== readB || !bufferA.subarray(0, readA).equals(bufferB.subarray(0, readB))) return false;
    }
    return true;
  } finally {
    fs.closeSync(fdA);
    fs.closeSync(fdB);
  }
}

/** The aside copies (main file first) of an earlier detection whose bytes equal the file's now, if any. */
export function existingAsideCopy(file: string): string[] | null {
  const dir = path.dirname(file);
  const prefix = `${path.basename(file)}.corrupt-`;
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return null;
  }
  const bases = names.filter((name) => name.startsWith(prefix) && !/-(wal|journal|shm)$/.test(name)).sort().reverse();
  for (const name of bases) {
    const base = path.join(dir, name);
    const pairs = ['', '-wal', '-journal'].map((suffix) => [file + suffix, base + suffix] as const);
    if (pairs.every(([original, copy]) => sameBytes(original, copy))) return pairs.map(([, copy]) => copy).filter((copy) => fs.existsSync(copy));
  }
  return null;
}

/** All aside copies of damaged files beside `file` (main files), newest first. */
export function asideCopies(file: string): string[] {
  const prefix = `${path.basename(file)}.corrupt-`;
  try {
    return fs
      .readdirSync(path.dirname(file))
      .filter((name) => name.startsWith(prefix) && !/-(wal|journal|shm)$/.test(name))
      .sort()
      .reverse()
      .map((name) => path.join(path.dirname(file), name));
  } catch {
    return [];
  }
}

/**
 * Moves a damaged database out of the way so a fresh one can be created at its path. When
 * `onto` names the copies made at detection, the originals replace them (same bytes or newer),
 * so one aside copy remains; otherwise they move to a new aside name. Nothing is deleted.
 */
export function moveAside(file: string, now: number, onto?: readonly string[]): string[] {
  const base = onto?.[0] !== undefined && onto[0].startsWith(file) ? onto[0] : asideBase(file, now);
  const moved: string[] = [];
  for (const source of [file, `${file}-wal`, `${file}-journal`]) {
    if (!fs.existsSync(source)) continue;
    const target = base + source.slice(file.length);
    fs.renameSync(source, target);
    moved.push(target);
  }
  // The shared-memory index is derived from the WAL; a stale one must not meet a fresh file.
  const shm = `${file}-shm`;
  if (fs.existsSync(shm)) fs.renameSync(shm, `${base}-shm`);
  return moved;
}

/**
 * fsync of the write-ahead log: makes every commit so far durable, as a synchronous=FULL
 * commit would. Nothing to do when there is no log (it was checkpointed, which syncs).
 */
export function syncWal(file: string): void {
  let fd: number;
  try {
    fd = fs.openSync(`${file}-wal`, 'r+');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

export interface BackupResult {
  path: string;
  bytes: number;
  pages: number;
}

/**
 * Online backup with SQLite's backup API: readers and writers may go on meanwhile. Writes to
 * a temporary name beside the target and renames it into place, so the target is never half-written.
 */
export async function backupTo(db: ReadableDB, source: string, target: string): Promise<BackupResult> {
  const resolvedTarget = path.resolve(target);
  if (resolvedTarget === path.resolve(source)) {
    throw new StorageError('INVALID_INPUT', 'A backup cannot overwrite the database it copies.');
  }
  const dir = path.dirname(resolvedTarget);
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    throw new StorageError('IO', `Cannot write the backup: the folder ${dir} does not exist.`);
  }
  const partial = `${resolvedTarget}.partial-${process.pid}-${Date.now()}`;
  try {
    const progress = await db.backup(partial);
    fs.renameSync(partial, resolvedTarget);
    return { path: resolvedTarget, bytes: fs.statSync(resolvedTarget).size, pages: progress.totalPages };
  } catch (error) {
    fs.rmSync(partial, { force: true });
    if (error instanceof StorageError) throw error;
    throw new StorageError('IO', `The backup to ${resolvedTarget} failed: ${(error as Error).message}`, { cause: error });
  }
}

// Prepared statements are cached per connection: preparing is the slow part of a small query.
const statementCache = new WeakMap<Database.Database, Map<string, Database.Statement>>();

export function prepare<Params extends unknown[] | object = unknown[], Row = unknown>(
  db: ReadableDB,
  sql: string,
): Database.Statement<Params, Row> {
  let cache = statementCache.get(db);
  if (cache === undefined) {
    cache = new Map();
    statementCache.set(db, cache);
  }
  let statement = cache.get(sql);
  if (statement === undefined) {
    statement = db.prepare(sql);
    cache.set(sql, statement);
  }
  return statement as unknown as Database.Statement<Params, Row>;
}

/** Runs `fn` in a BEGIN IMMEDIATE transaction (takes the write lock up front; nested calls become savepoints). */
export function inTransaction<T>(db: WritableDB, fn: () => T): T {
  return db.transaction(fn).immediate();
}
