import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { openReadonly } from './database.ts';
import { StorageCorruptError, StorageError } from './errors.ts';
import { Storage } from './storage.ts';
import { steppingClock, tempDir, track } from '../test-support/storage/temp-storage.ts';

/** A closed database file with enough messages to span many pages. */
function populated(dir = tempDir()): string {
  const file = path.join(dir, 'jielong.db');
  const storage = Storage.open(file, { now: steppingClock() });
  for (let c = 0; c < 20; c += 1) {
    const conversation = storage.createConversation({ title: `conversation ${c}` });
    for (let m = 0; m < 10; m += 1) storage.appendUserMessage({ conversationId: conversation.id, content: `message ${m} of ${c} ${'padding text '.repeat(40)}` });
  }
  storage.close();
  return file;
}

function overwrite(file: string, offset: number, length: number): void {
  const fd = fs.openSync(file, 'r+');
  fs.writeSync(fd, Buffer.alloc(length, 0xa5), 0, length, offset);
  fs.closeSync(fd);
}

function openError(file: string, options = {}): unknown {
  try {
    track(Storage.open(file, options));
  } catch (error) {
    return error;
  }
  return undefined;
}

/** The copy made aside holds exactly the damaged bytes; the original is still there. */
function expectCopiedAside(error: unknown, file: string, bytes: Buffer): void {
  expect(error).toBeInstanceOf(StorageCorruptError);
  const corrupt = error as StorageCorruptError;
  expect(corrupt.code).toBe('CORRUPT');
  expect(corrupt.path).toBe(file);
  expect(corrupt.message).toMatch(/damaged.*never deleted/);
  expect(corrupt.asideCopies.length).toBeGreaterThanOrEqual(1);
  expect(corrupt.asideCopies[0]).toMatch(/\.corrupt-/);
  expect(fs.readFileSync(corrupt.asideCopies[0] as string).equals(bytes)).toBe(true);
  expect(fs.existsSync(file)).toBe(true);
  expect(corrupt.toJSON()).toMatchObject({ code: 'CORRUPT', path: file });
}

describe('opening', () => {
  it('sets WAL, synchronous=FULL, foreign_keys and busy_timeout, and reads them back', () => {
    const file = path.join(tempDir(), 'nested', 'folder', 'jielong.db');
    const storage = track(Storage.open(file, { busyTimeoutMs: 2500 }));
    expect(storage.info.pragmas).toEqual({ journalMode: 'wal', synchronous: 2, foreignKeys: true, busyTimeoutMs: 2500 });
    const raw = new Database(file, { readonly: true });
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    raw.close();
    expect(() => Storage.open(':memory:')).toThrow(/path of a file/);
    expect(() => Storage.open(file, { busyTimeoutMs: -1 })).toThrow(/busyTimeoutMs/);
  });

  it('gives readers a connection SQLite itself keeps read-only', () => {
    const file = populated();
    const reader = openReadonly(file, 1000);
    expect(() => reader.prepare("UPDATE conversations SET title = 'x'").run()).toThrow(/readonly/);
    reader.close();
  });

  it('refuses a path that is a folder with an IO error', () => {
    const dir = tempDir();
    const error = openError(dir);
    expect(error).toBeInstanceOf(StorageError);
    expect((error as StorageError).code).toBe('IO');
  });
});

describe('corruption', () => {
  it('an overwritten header is SQLITE_NOTADB: copied aside, typed error, original kept', () => {
    const file = populated();
    overwrite(file, 0, 100);
    const bytes = fs.readFileSync(file);
    const error = openError(file);
    expectCopiedAside(error, file, bytes);
    expect(String((error as Error).cause)).toMatch(/not a database/);
    expect(fs.readFileSync(file).equals(bytes)).toBe(true);
  });

  it('a truncated file is corruption', () => {
    const file = populated();
    fs.truncateSync(file, Math.floor(fs.statSync(file).size / 2));
    const bytes = fs.readFileSync(file);
    expectCopiedAside(openError(file), file, bytes);
    fs.truncateSync(file, 40);
    expect(openError(file)).toBeInstanceOf(StorageCorruptError);
  });

  it('a file that is not a database at all is corruption, never overwritten', () => {
    const file = path.join(tempDir(), 'notes.db');
    fs.writeFileSync(file, 'these are my notes, not a database '.repeat(20));
    const bytes = fs.readFileSync(file);
    expectCopiedAside(openError(file), file, bytes);
    expect(fs.readFileSync(file).equals(bytes)).toBe(true);
  });

  it('overwritten bytes in the middle are found by the check at open', () => {
    const file = populated();
    const size = fs.statSync(file).size;
    overwrite(file, 4096 * 3, size - 4096 * 6);
    const bytes = fs.readFileSync(file);
    expectCopiedAside(openError(file), file, bytes);
  });

  it('corruption met in use closes the storage, copies the file aside, and every call then says so', () => {
    const file = populated();
    const storage = track(Storage.open(file, { integrityCheck: 'never' }));
    const [first] = storage.listConversations({ limit: 1 }).items;
    expect(first).toBeDefined();
    // Damage every page but the first under the open connection.
    const size = fs.statSync(file).size;
    overwrite(file, 4096, size - 4096);
    const damaged = fs.readFileSync(file);
    let thrown: unknown;
    try {
      storage.search('padding');
      storage.loadActivePath((first as { id: string }).id);
      storage.exportJson();
    } catch (error) {
      thrown = error;
    }
    expectCopiedAside(thrown, file, damaged);
    expect(storage.isOpen).toBe(false);
    expect(() => storage.listConversations()).toThrow(thrown as Error);
    expect(() => storage.createConversation()).toThrow(StorageCorruptError);

    // A fresh database only when asked; the damaged file stays aside.
    const fresh = track(Storage.startFresh(thrown as StorageCorruptError));
    expect(fresh.listConversations().items).toEqual([]);
    const aside = (thrown as StorageCorruptError).asideCopies[0] as string;
    expect(fs.readFileSync(aside).subarray(0, 4096).equals(damaged.subarray(0, 4096))).toBe(true);
    expect(fs.readdirSync(path.dirname(file)).filter((name) => name.includes('.corrupt-') && !name.endsWith('-shm') && !name.endsWith('-wal'))).toHaveLength(1);
  });

  it('checkIntegrity reports damage as corruption', () => {
    const sound = track(Storage.open(populated(), { integrityCheck: 'never' }));
    expect(() => sound.checkIntegrity(true)).not.toThrow();
    const file = populated();
    const storage = track(Storage.open(file, { integrityCheck: 'never' }));
    // (Damage under pages SQLite already cached stays unseen until the cache is dropped.)
    overwrite(file, 4096 * 2, 4096 * 4);
    expect(() => storage.checkIntegrity(true)).toThrow(StorageCorruptError);
  });
});

describe('backup', () => {
  it('copies a live database to a file that opens with the same content', async () => {
    const file = populated();
    const storage = track(Storage.open(file, { now: steppingClock() }));
    const c = storage.createConversation({ title: 'after the seed' });
    const writer = storage.beginAssistantMessage({ conversationId: c.id }, { maxChunks: 1 });
    writer.append('streaming while we back up');
    const target = path.join(tempDir(), 'backup.db');
    const result = await storage.backup(target);
    expect(result.path).toBe(target);
    expect(result.bytes).toBeGreaterThan(0);
    writer.finish({ status: 'complete' });
    const copy = track(Storage.open(target));
    expect(copy.listConversations({ limit: 500 }).items).toHaveLength(21);
    expect(copy.info.recoveredStreaming).toBe(1);
    expect(copy.getMessage(writer.messageId).content).toBe('streaming while we back up');
    await expect(storage.backup(file)).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await expect(storage.backup(path.join(tempDir(), 'missing', 'x.db'))).rejects.toMatchObject({ code: 'IO' });
    expect(fs.readdirSync(path.dirname(target)).filter((name) => name.includes('.partial-'))).toEqual([]);
  });
});
