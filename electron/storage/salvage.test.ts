// Salvage from a damaged database: pages overwritten at random offsets (20 seeds); every row
// that SQLite can still read by itself (checked here by reading each original row by its
// rowid, straight from the damaged file) must come out of salvage unchanged, in a database
// that opens, passes integrity_check and searches.
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { salvageInto } from './salvage.ts';
import { Storage } from './storage.ts';
import { mulberry32 } from '../test-support/storage/prng.ts';
import { steppingClock, tempDir } from '../test-support/storage/temp-storage.ts';

/** A database with branches, long and short messages, a trashed conversation; closed (checkpointed). */
function populated(file: string, seed: number): void {
  const rand = mulberry32(seed);
  const storage = Storage.open(file, { now: steppingClock() });
  for (let c = 0; c < 25; c += 1) {
    const conversation = storage.createConversation({ title: `conversation ${c} 对话` });
    let lastAnswer: string | null = null;
    for (let turn = 0; turn < 6; turn += 1) {
      const user = storage.appendUserMessage({ conversationId: conversation.id, content: `question ${c}/${turn} ${'词'.repeat(Math.floor(rand() * 50))}` });
      const writer = storage.beginAssistantMessage({ conversationId: conversation.id, modelId: 'm' });
      writer.append(`answer ${c}/${turn} `.repeat(1 + Math.floor(rand() * (rand() < 0.1 ? 600 : 30))));
      lastAnswer = writer.finish({ status: 'complete', stats: { decodeTokens: 3 } }).id;
      void user;
    }
    if (c % 5 === 0 && lastAnswer !== null) {
      const writer = storage.beginAssistantMessage({ conversationId: conversation.id, parentId: storage.getMessage(lastAnswer).parentId });
      writer.append('another answer');
      writer.finish({ status: 'complete' });
    }
    if (c === 7) storage.softDeleteConversation(conversation.id);
  }
  storage.close();
}

/** Overwrites `pages` random stretches of random pages after the first with random bytes. */
function damage(file: string, seed: number, pages: number): void {
  const rand = mulberry32(seed * 7919);
  const size = fs.statSync(file).size;
  const pageSize = 4096;
  const fd = fs.openSync(file, 'r+');
  for (let i = 0; i < pages; i += 1) {
    const page = 1 + Math.floor(rand() * (size / pageSize - 1));
    // Half the time over the page header and cell pointers (the b-tree structure), else over cell contents.
    const offset = page * pageSize + (rand() < 0.5 ? Math.floor(rand() * 16) : Math.floor(rand() * (pageSize - 1100)));
    const bytes = Buffer.alloc(64 + Math.floor(rand() * 1000));
    for (let b = 0; b < bytes.length; b += 1) bytes[b] = Math.floor(rand() * 256);
    fs.writeSync(fd, bytes, 0, bytes.length, offset);
  }
  fs.closeSync(fd);
}

const TABLES = { conversations: 'seq, id, title, deleted_at', messages: 'seq, id, conversation_id, role, content, status' } as const;

function json(value: unknown): boolean {
  try {
    return value === null || (typeof value === 'string' && (JSON.parse(value), true));
  } catch {
    return false;
  }
}

/** The schema's own CHECK constraints: a row read back with bytes that break them is not a row of this database. */
function keepsSchema(table: keyof typeof TABLES, row: Record<string, unknown>): boolean {
  if (table === 'conversations') return typeof row['title'] === 'string' && (row['pinned'] === 0 || row['pinned'] === 1) && json(row['sampling']);
  return (
    ['system', 'user', 'assistant'].includes(row['role'] as string) &&
    ['streaming', 'complete', 'interrupted', 'error'].includes(row['status'] as string) &&
    typeof row['content'] === 'string' &&
    typeof row['conversation_id'] === 'string' &&
    json(row['sampling']) &&
    json(row['stats'])
  );
}

/** Each original row read on its own by rowid, straight from the file: what SQLite can read. */
function directRead(file: string, table: keyof typeof TABLES, seqs: number[]): Map<string, Record<string, unknown>> {
  const rows = new Map<string, Record<string, unknown>>();
  let db: Database.Database;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
  } catch {
    return rows;
  }
  for (const seq of seqs) {
    try {
      const row = db.prepare(`SELECT * FROM ${table} WHERE seq = ?`).get(seq) as Record<string, unknown> | undefined;
      if (row === undefined || typeof row['id'] !== 'string' || !keepsSchema(table, row)) continue;
      const picked = db.prepare(`SELECT ${TABLES[table]} FROM ${table} WHERE seq = ?`).get(seq) as Record<string, unknown>;
      rows.set(row['id'], picked);
    } catch {
      // unreadable: not expected back
    }
  }
  db.close();
  return rows;
}

describe('salvage', () => {
  let seedsWithLoss = 0;
  for (let seed = 1; seed <= 20; seed += 1) {
    it(`seed ${seed}: recovers every row SQLite can read from a file with damaged pages`, () => {
      const dir = tempDir();
      const file = path.join(dir, 'jielong.sqlite');
      populated(file, seed);
      const pristine = new Database(file, { readonly: true });
      const seqs = {
        conversations: pristine.prepare('SELECT seq FROM conversations').pluck().all() as number[],
        messages: pristine.prepare('SELECT seq FROM messages').pluck().all() as number[],
      };
      pristine.close();
      damage(file, seed, 1 + (seed % 4));
      const readable = { conversations: directRead(file, 'conversations', seqs.conversations), messages: directRead(file, 'messages', seqs.messages) };
      if (readable.messages.size < seqs.messages.length || readable.conversations.size < seqs.conversations.length) seedsWithLoss += 1;

      const target = path.join(dir, 'salvaged.sqlite');
      const result = salvageInto(file, target);
      const salvaged = new Database(target, { readonly: true });
      expect(salvaged.pragma('integrity_check', { simple: true })).toBe('ok');
      for (const table of ['conversations', 'messages'] as const) {
        const missing: string[] = [];
        for (const [id, row] of readable[table]) {
          const copy = salvaged.prepare(`SELECT ${TABLES[table]} FROM ${table} WHERE id = ?`).get(id);
          if (JSON.stringify(copy) !== JSON.stringify(row)) missing.push(id);
        }
        expect(missing, `${table} readable in the damaged file but not salvaged`).toEqual([]);
      }
      expect(result.messages.saved).toBeGreaterThanOrEqual(readable.messages.size);
      expect(result.conversations.saved).toBe(readable.conversations.size);
      expect(result.messages.saved + result.messages.lost).toBeGreaterThanOrEqual(Math.min(seqs.messages.length, result.messages.saved));
      salvaged.close();
      // The salvaged file opens as a working database.
      const storage = Storage.open(target);
      for (const conversation of storage.listConversations({ limit: 500 }).items) storage.loadActivePath(conversation.id);
      storage.close();
    });
  }

  it('the damage mattered: in most seeds some rows could no longer be read', () => {
    console.info(`salvage: ${seedsWithLoss} of 20 seeds lost rows`);
    expect(seedsWithLoss).toBeGreaterThanOrEqual(10);
  });
});
