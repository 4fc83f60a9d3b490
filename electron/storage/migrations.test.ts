import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import type { WritableDB } from './database.ts';
import { NewerSchemaError, StorageError } from './errors.ts';
import { LATEST_SCHEMA_VERSION, MIGRATIONS, migrate } from './migrations/index.ts';
import { Storage } from './storage.ts';
import { steppingClock, tempDir, track } from '../test-support/storage/temp-storage.ts';

const FIXTURE_V1 = fs.readFileSync(new URL('./fixtures/schema-v1.sql', import.meta.url), 'utf8');

/** A database file as schema version 1 wrote it. */
function fixtureV1(): string {
  const file = path.join(tempDir(), 'v1.db');
  const db = new Database(file);
  db.exec(FIXTURE_V1);
  db.close();
  return file;
}

function schemaOf(db: Database.Database): Array<{ type: string; name: string; sql: string }> {
  return db.prepare("SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'search_index%' ORDER BY name").all() as never;
}

describe('migrations', () => {
  it('are numbered 1..N, one per file', () => {
    expect(MIGRATIONS.map((m) => m.version)).toEqual(Array.from({ length: LATEST_SCHEMA_VERSION }, (_, i) => i + 1));
    expect(LATEST_SCHEMA_VERSION).toBeGreaterThanOrEqual(2);
  });

  it('version 1 still creates exactly the schema of the v1 fixture (shipped migrations never change)', () => {
    const fresh = new Database(path.join(tempDir(), 'fresh.db'));
    expect(migrate(fresh as WritableDB, 'fresh.db', 1)).toEqual({ from: 0, to: 1 });
    expect(fresh.pragma('user_version', { simple: true })).toBe(1);
    const fixture = new Database(fixtureV1(), { readonly: true });
    expect(schemaOf(fresh)).toEqual(schemaOf(fixture));
    fresh.close();
    fixture.close();
  });

  it('bring the v1 fixture to the latest version with every conversation, branch and setting intact', () => {
    const file = fixtureV1();
    const storage = track(Storage.open(file, { now: steppingClock() }));
    expect(storage.info.schemaVersion).toBe(LATEST_SCHEMA_VERSION);
    // The fixture has one message left streaming.
    expect(storage.info.recoveredStreaming).toBe(1);

    const trip = storage.loadActivePath('c-001');
    expect(trip.conversation).toMatchObject({ title: 'Weekend trip planning', pinned: true, modelId: 'demo-tiny', systemPrompt: 'You are terse.', sampling: { temperature: 0.7, topK: 40 } });
    expect(trip.messages.map((m) => m.id)).toEqual(['m-001', 'm-002', 'm-004']);
    expect(trip.messages[1]).toMatchObject({
      seed: 42,
      sampling: { temperature: 0.7 },
      stats: { timeToFirstTokenMs: 31.5, decodeTokensPerSecond: 88.2, decodeTokens: 14, stopReason: 'eos' },
      siblingIndex: 0,
      siblingCount: 2,
    });
    expect(storage.getSiblings('m-003').messages.map((m) => m.id)).toEqual(['m-002', 'm-003']);
    expect(storage.selectMessage('m-003').messages.map((m) => m.id)).toEqual(['m-001', 'm-003']);
    expect(storage.getMessage('m-006')).toMatchObject({ status: 'interrupted', content: '注意力机制让模型在生成每个词时关注输入中最相关的部分' });

    // The search index was built from the existing rows.
    expect(storage.search('mountains').hits.map((h) => h.messageId).sort()).toEqual(['m-001', 'm-003']);
    expect(storage.search('注意力').hits.map((h) => h.messageId).sort()).toEqual(['m-005', 'm-006']);
    expect(storage.search('笔记').hits.map((h) => h.kind)).toEqual(['title']);
    expect(storage.search('pancake').hits).toEqual([]);
    expect(storage.listTrash().items.map((c) => c.id)).toEqual(['c-003']);
    storage.restoreConversation('c-003');
    expect(storage.search('pancake').hits.map((h) => h.messageId)).toEqual(['m-007']);

    // Messages are clustered by conversation, order kept; the index holds exactly the live rows.
    storage.close();
    const raw = new Database(file, { readonly: true });
    expect(raw.prepare('SELECT id, seq FROM messages ORDER BY seq').all()).toEqual([
      { id: 'm-001', seq: 1 * 2 ** 24 },
      { id: 'm-002', seq: 1 * 2 ** 24 + 1 },
      { id: 'm-003', seq: 1 * 2 ** 24 + 2 },
      { id: 'm-004', seq: 1 * 2 ** 24 + 3 },
      { id: 'm-005', seq: 2 * 2 ** 24 },
      { id: 'm-006', seq: 2 * 2 ** 24 + 1 },
      { id: 'm-007', seq: 3 * 2 ** 24 },
    ]);
    expect(raw.prepare('SELECT count(*) AS n FROM search_index').get()).toEqual({ n: 3 + 7 });
    raw.close();
    // Opening again migrates nothing.
    const again = track(Storage.open(file));
    expect(again.info).toMatchObject({ schemaVersion: LATEST_SCHEMA_VERSION, recoveredStreaming: 0 });
  });

  it('a failing migration leaves the database at its old version, unchanged', () => {
    const file = fixtureV1();
    const raw = new Database(file);
    raw.exec('CREATE TABLE search_index (x)'); // makes version 2 fail
    raw.close();
    let thrown: unknown;
    try {
      Storage.open(file);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(StorageError);
    expect((thrown as StorageError).code).toBe('MIGRATION_FAILED');
    expect((thrown as Error).message).toMatch(/schema version 2 \(search\).*left unchanged at version 1/);
    const check = new Database(file, { readonly: true });
    expect(check.pragma('user_version', { simple: true })).toBe(1);
    expect(check.prepare('SELECT count(*) AS n FROM messages').get()).toEqual({ n: 7 });
    expect(check.prepare("SELECT status FROM messages WHERE id = 'm-006'").get()).toEqual({ status: 'streaming' });
    check.close();
  });

  it('a database from a newer version is refused with a clear message and never touched', () => {
    const dir = tempDir();
    const file = path.join(dir, 'newer.db');
    const raw = new Database(file);
    raw.pragma('journal_mode = WAL');
    raw.exec(FIXTURE_V1);
    raw.pragma(`user_version = ${LATEST_SCHEMA_VERSION + 7}`);
    raw.close();
    const bytes = fs.readFileSync(file);
    const mtime = fs.statSync(file).mtimeMs;
    const listing = fs.readdirSync(dir).sort();

    expect(() => Storage.open(file)).toThrow(NewerSchemaError);
    try {
      Storage.open(file);
    } catch (error) {
      expect(error).toMatchObject({ code: 'NEWER_SCHEMA', found: LATEST_SCHEMA_VERSION + 7, supported: LATEST_SCHEMA_VERSION });
      expect((error as Error).message).toMatch(/newer version of Jielong.*not changed/);
    }
    expect(fs.readFileSync(file).equals(bytes)).toBe(true);
    expect(fs.statSync(file).mtimeMs).toBe(mtime);
    expect(fs.readdirSync(dir).sort()).toEqual(listing);
  });

  it('the runner itself refuses a newer version inside its transaction (e.g. one hidden in the WAL)', () => {
    const file = path.join(tempDir(), 'newer-wal.db');
    const db = new Database(file);
    db.pragma(`user_version = ${LATEST_SCHEMA_VERSION + 1}`);
    expect(() => migrate(db as WritableDB, file)).toThrow(NewerSchemaError);
    expect(() => migrate(db as WritableDB, file, LATEST_SCHEMA_VERSION + 1)).toThrow(/Cannot migrate to schema version/);
    db.close();
  });
});
