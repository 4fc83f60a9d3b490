// Salvage: every conversation and message SQLite can still read from a damaged database,
// copied into a fresh one.
//
// A damaged page makes a scan stop with SQLITE_CORRUPT, but the rows on other pages are still
// readable by rowid. So the rowids are gathered from every source that still answers (the
// table scanned page by page, skipping past a damaged stretch by probing ahead, and each index
// scanned on its own), then each row is read on its own by its rowid: one damaged row costs
// that row only. The rows go into a fresh, migrated database with their ids and seqs kept;
// references to rows that were lost are cut (a message whose parent is gone becomes a root; a
// message whose conversation is gone goes into a "Recovered messages" conversation).
// The user's presets, and which preset each conversation follows, come along where they can
// be read (a small table, read whole or not at all).
// The damaged file is only read (through a scratch copy), never changed.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { inTransaction, openWritable, type WritableDB } from './database.ts';
import { MESSAGES_PER_CONVERSATION } from './message-seq.ts';
import { LATEST_SCHEMA_VERSION, migrate } from './migrations/index.ts';
import { rebuildSearchIndex } from './search-index.ts';

export interface SalvageCounts {
  /** Rows copied into the fresh database. */
  saved: number;
  /** Rows known to have existed that could not be read (a lower bound when `lostIsEstimate`). */
  lost: number;
}

export interface SalvageResult {
  conversations: SalvageCounts;
  messages: SalvageCounts;
  /** True when the damaged file could not say how many rows it had: `lost` counts only what is known to be missing. */
  lostIsEstimate: boolean;
}

const MESSAGE_COLUMNS = ['seq', 'id', 'conversation_id', 'parent_id', 'selected_child_id', 'role', 'content', 'status', 'error', 'model_id', 'sampling', 'seed', 'stats', 'created_at', 'updated_at'] as const;
const CONVERSATION_COLUMNS = ['seq', 'id', 'title', 'created_at', 'updated_at', 'pinned', 'deleted_at', 'model_id', 'system_prompt', 'sampling', 'selected_leaf_id'] as const;

type Row = Record<string, unknown>;

/** Highest rowid worth probing for (message seqs stay below 2^52). */
const MAX_ROWID = 2 ** 53 - 1;
const PAGE = 500;

function attempt<T>(fn: () => T): { ok: true; value: T } | { ok: false } {
  try {
    return { ok: true, value: fn() };
  } catch {
    return { ok: false };
  }
}

/**
 * The rowids of `table` reachable by scanning its b-tree in rowid order. When a stretch is
 * damaged the scan probes ahead (gaps doubling) for the next readable rowid, then narrows the
 * gap back down so the first rows after the damage are not skipped.
 */
function scanRowids(db: Database.Database, table: string): Set<number> {
  const found = new Set<number>();
  const next = db.prepare(`SELECT seq FROM ${table} NOT INDEXED WHERE seq > ? ORDER BY seq LIMIT ${PAGE}`).pluck();
  const firstFrom = db.prepare(`SELECT seq FROM ${table} NOT INDEXED WHERE seq >= ? ORDER BY seq LIMIT 1`).pluck();
  let after = -MAX_ROWID;
  for (let guard = 0; guard < 10_000_000; guard += 1) {
    const page = attempt(() => next.all(after) as number[]);
    if (page.ok) {
      if (page.value.length === 0) return found;
      for (const seq of page.value) found.add(seq);
      after = page.value[page.value.length - 1] as number;
      continue;
    }
    // Somewhere in this page: go on one row at a time up to the damage.
    const single = attempt(() => firstFrom.get(after + 1) as number | undefined);
    if (single.ok) {
      if (single.value === undefined) return found;
      found.add(single.value);
      after = single.value;
      continue;
    }
    // Damage right after `after`: find some readable rowid beyond it.
    let failing = after + 1;
    let reached: number | null = null;
    for (let gap = 1; failing + gap <= MAX_ROWID; gap *= 2) {
      const probe = attempt(() => firstFrom.get(failing + gap) as number | undefined);
      if (probe.ok) {
        if (probe.value === undefined) return found;
        reached = failing + gap;
        break;
      }
      failing = failing + gap;
    }
    if (reached === null) return found;
    // Narrow down: the smallest start in (failing, reached] from which a scan works.
    let low = failing;
    let high = reached;
    while (high - low > 1) {
      const middle = low + Math.floor((high - low) / 2);
      if (attempt(() => firstFrom.get(middle)).ok) high = middle;
      else low = middle;
    }
    after = high - 1;
  }
  return found;
}

/** Rowids an index still lists (a scan of the index alone, as far as it goes). */
function indexRowids(db: Database.Database, table: string, index: string, into: Set<number>): void {
  const read = attempt(() => {
    for (const seq of db.prepare(`SELECT seq FROM ${table} INDEXED BY ${index}`).pluck().iterate()) into.add(seq as number);
  });
  void read;
}

function readRows(db: Database.Database, table: string, columns: readonly string[], seqs: Iterable<number>): Map<number, Row> {
  const rows = new Map<number, Row>();
  // Preparing reads the schema, which a damaged page may have hit too: then no row can be read.
  const get = attempt(() => db.prepare(`SELECT ${columns.join(', ')} FROM ${table} WHERE seq = ?`));
  if (!get.ok) return rows;
  for (const seq of [...seqs].sort((a, b) => a - b)) {
    const row = attempt(() => get.value.get(seq) as Row | undefined);
    if (row.ok && row.value !== undefined) rows.set(seq, row.value);
  }
  return rows;
}

function countOf(db: Database.Database, sql: string): number | null {
  const result = attempt(() => db.prepare(sql).pluck().get() as number);
  return result.ok ? result.value : null;
}

function indexNames(db: Database.Database, table: string): string[] {
  const result = attempt(() => db.prepare("SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = ?").pluck().all(table) as string[]);
  return result.ok ? result.value : [];
}

export interface ReadableRows {
  conversations: Map<number, Row>;
  messages: Map<number, Row>;
  /** The largest row counts the damaged file still gave (null: it gave none). */
  counted: { conversations: number | null; messages: number | null };
  /** The presets table as far as it could be read, and conversation id -> the preset it follows. */
  presets: Row[];
  presetLinks: Map<string, string>;
  /** The token records' parts as far as they could be read (message_seq, part, data). */
  tokenParts: Row[];
}

/** Everything SQLite can read from a damaged file (opened through a scratch copy). */
export function readDamaged(file: string): ReadableRows {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'jielong-salvage-'));
  try {
    const copy = path.join(scratch, 'damaged.sqlite');
    fs.copyFileSync(file, copy);
    if (fs.existsSync(`${file}-wal`)) fs.copyFileSync(`${file}-wal`, `${copy}-wal`);
    let db: Database.Database;
    try {
      db = new Database(copy, { fileMustExist: true });
    } catch {
      return { conversations: new Map(), messages: new Map(), counted: { conversations: null, messages: null }, presets: [], presetLinks: new Map(), tokenParts: [] };
    }
    try {
      const tables: Array<{ name: 'conversations' | 'messages'; columns: readonly string[] }> = [
        { name: 'conversations', columns: CONVERSATION_COLUMNS },
        { name: 'messages', columns: MESSAGE_COLUMNS },
      ];
      const result: ReadableRows = { conversations: new Map(), messages: new Map(), counted: { conversations: null, messages: null }, presets: [], presetLinks: new Map(), tokenParts: [] };
      for (const { name, columns } of tables) {
        const seqs = attempt(() => scanRowids(db, name));
        const all = seqs.ok ? seqs.value : new Set<number>();
        const indexes = indexNames(db, name);
        for (const index of indexes) indexRowids(db, name, index, all);
        result[name] = readRows(db, name, columns, all);
        const counts = [countOf(db, `SELECT count(*) FROM ${name} NOT INDEXED`), ...indexes.map((index) => countOf(db, `SELECT count(*) FROM ${name} INDEXED BY ${index}`))].filter(
          (count): count is number => count !== null,
        );
        result.counted[name] = counts.length > 0 ? Math.max(...counts) : null;
      }
      // Older files have neither; a damaged page here loses the presets, not the conversations.
      const presets = attempt(() => db.prepare('SELECT id, name, system_prompt, sampling, created_at, updated_at FROM presets ORDER BY seq').all() as Row[]);
      if (presets.ok) result.presets = presets.value;
      const links = attempt(() => db.prepare('SELECT id, preset_id FROM conversations NOT INDEXED WHERE preset_id IS NOT NULL').all() as Row[]);
      if (links.ok) for (const row of links.value) result.presetLinks.set(row['id'] as string, row['preset_id'] as string);
      // Token records (older files have none): a damaged page loses records, never the messages.
      const parts = attempt(() => db.prepare('SELECT message_seq, part, data FROM token_records ORDER BY message_seq, part').all() as Row[]);
      if (parts.ok) result.tokenParts = parts.value;
      return result;
    } finally {
      db.close();
    }
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

const ROLES = new Set(['system', 'user', 'assistant']);
const STATUSES = new Set(['streaming', 'complete', 'interrupted', 'error']);

function isJsonOrNull(value: unknown): boolean {
  if (value === null) return true;
  if (typeof value !== 'string') return false;
  try {
    JSON.parse(value);
    return true;
  } catch {
    return false;
  }
}

function validConversation(row: Row): boolean {
  return (
    typeof row['id'] === 'string' &&
    typeof row['title'] === 'string' &&
    typeof row['created_at'] === 'number' &&
    typeof row['updated_at'] === 'number' &&
    (row['pinned'] === 0 || row['pinned'] === 1) &&
    isJsonOrNull(row['sampling'])
  );
}

function validPreset(row: Row): boolean {
  return typeof row['id'] === 'string' && typeof row['name'] === 'string' && typeof row['sampling'] === 'string' && isJsonOrNull(row['sampling']) && typeof row['created_at'] === 'number' && typeof row['updated_at'] === 'number';
}

function validMessage(row: Row): boolean {
  return (
    typeof row['id'] === 'string' &&
    typeof row['conversation_id'] === 'string' &&
    ROLES.has(row['role'] as string) &&
    STATUSES.has(row['status'] as string) &&
    typeof row['content'] === 'string' &&
    typeof row['created_at'] === 'number' &&
    typeof row['updated_at'] === 'number' &&
    isJsonOrNull(row['sampling']) &&
    isJsonOrNull(row['stats'])
  );
}

/**
 * Copies what `readDamaged` found into a fresh database at `target` (which must not exist).
 * Returns how many rows were saved and lost.
 */
export function salvageInto(damagedFile: string, target: string, now: number = Date.now()): SalvageResult {
  if (fs.existsSync(target)) throw new Error(`salvage target ${target} already exists`);
  const found = readDamaged(damagedFile);
  const conversations = [...found.conversations.values()].filter(validConversation);
  const messages = [...found.messages.values()].filter(validMessage);
  // Unique ids (damage can make two rows claim one).
  const seenConversations = new Set<string>();
  const keptConversations = conversations.filter((row) => !seenConversations.has(row['id'] as string) && seenConversations.add(row['id'] as string));
  const seenMessages = new Set<string>();
  const keptMessages = messages.filter((row) => !seenMessages.has(row['id'] as string) && seenMessages.add(row['id'] as string));

  const db: WritableDB = openWritable(target, 5_000);
  try {
    migrate(db, target, LATEST_SCHEMA_VERSION);
    inTransaction(db, () => {
      const insertConversation = db.prepare(`INSERT INTO conversations (${CONVERSATION_COLUMNS.join(', ')}) VALUES (${CONVERSATION_COLUMNS.map(() => '?').join(', ')})`);
      const insertMessage = db.prepare(`INSERT INTO messages (${MESSAGE_COLUMNS.join(', ')}) VALUES (${MESSAGE_COLUMNS.map(() => '?').join(', ')})`);
      const conversationSeqs = new Set<number>();
      for (const row of keptConversations) {
        insertConversation.run(...CONVERSATION_COLUMNS.map((column) => row[column] ?? null));
        conversationSeqs.add(row['seq'] as number);
      }
      // Messages whose conversation was lost: one "Recovered messages" conversation each, in
      // the seq slot their seqs point at when it is free.
      const byConversation = new Map<string, Row[]>();
      for (const row of keptMessages) {
        const list = byConversation.get(row['conversation_id'] as string) ?? [];
        list.push(row);
        byConversation.set(row['conversation_id'] as string, list);
      }
      for (const [conversationId, rows] of byConversation) {
        if (seenConversations.has(conversationId)) continue;
        const first = Math.min(...rows.map((row) => row['seq'] as number));
        let seq = Math.floor(first / MESSAGES_PER_CONVERSATION);
        if (seq < 1 || conversationSeqs.has(seq)) seq = Math.max(0, ...conversationSeqs) + 1;
        const created = Math.min(...rows.map((row) => row['created_at'] as number));
        insertConversation.run(seq, conversationId, 'Recovered messages', created, now, 0, null, null, null, null, null);
        conversationSeqs.add(seq);
        seenConversations.add(conversationId);
      }
      // Parents before children; a parent that was lost (or sits in another conversation, or
      // in a cycle) is cut, and the message becomes a root.
      const byId = new Map(keptMessages.map((row) => [row['id'] as string, row]));
      const inserted = new Set<string>();
      const insert = (row: Row, trail: Set<string>): void => {
        const id = row['id'] as string;
        if (inserted.has(id)) return;
        let parentId = row['parent_id'] as string | null;
        const parent = parentId === null ? undefined : byId.get(parentId);
        if (parent === undefined || parent['conversation_id'] !== row['conversation_id'] || trail.has(parentId as string)) parentId = null;
        else if (!inserted.has(parentId as string)) {
          trail.add(id);
          insert(parent, trail);
          trail.delete(id);
          if (!inserted.has(parentId as string)) parentId = null;
        }
        const selected = row['selected_child_id'] as string | null;
        const values: Row = { ...row, parent_id: parentId, selected_child_id: selected !== null && byId.has(selected) ? selected : null };
        insertMessage.run(...MESSAGE_COLUMNS.map((column) => values[column] ?? null));
        inserted.add(id);
      };
      for (const row of [...keptMessages].sort((a, b) => (a['seq'] as number) - (b['seq'] as number))) insert(row, new Set());
      // A selection that points at a lost message (or a message of another conversation) is cleared.
      db.prepare(
        `UPDATE messages SET selected_child_id = NULL WHERE selected_child_id IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM messages c WHERE c.id = messages.selected_child_id AND c.parent_id = messages.id)`,
      ).run();
      db.prepare(
        `UPDATE conversations SET selected_leaf_id = NULL WHERE selected_leaf_id IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.id = conversations.selected_leaf_id AND m.conversation_id = conversations.id)`,
      ).run();
      const insertPreset = db.prepare('INSERT OR IGNORE INTO presets (id, name, system_prompt, sampling, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)');
      for (const row of found.presets.filter(validPreset)) insertPreset.run(row['id'], row['name'], row['system_prompt'] ?? null, row['sampling'], row['created_at'], row['updated_at']);
      const follow = db.prepare('UPDATE conversations SET preset_id = ? WHERE id = ?');
      for (const [conversationId, presetId] of found.presetLinks) if (typeof presetId === 'string') follow.run(presetId, conversationId);
      // Messages keep their seqs, so their records go back under the same keys (a damaged one reads as unreadable).
      const insertPart = db.prepare('INSERT OR IGNORE INTO token_records (message_seq, part, data) SELECT ?, ?, ? WHERE EXISTS (SELECT 1 FROM messages WHERE seq = ?)');
      for (const row of found.tokenParts) {
        if (Number.isInteger(row['message_seq']) && Number.isInteger(row['part']) && row['data'] instanceof Uint8Array) insertPart.run(row['message_seq'], row['part'], row['data'], row['message_seq']);
      }
      rebuildSearchIndex(db);
    });
  } finally {
    db.close();
  }
  const placeholderCount = seenConversations.size - keptConversations.length;
  const missingConversations = Math.max(placeholderCount, (found.counted.conversations ?? 0) - keptConversations.length);
  // Ids referenced by saved messages but not found: known to be lost.
  const referencedMissing = new Set<string>();
  for (const row of keptMessages) for (const key of ['parent_id', 'selected_child_id'] as const) {
    const ref = row[key] as string | null;
    if (ref !== null && !seenMessages.has(ref)) referencedMissing.add(ref);
  }
  const missingMessages = Math.max(referencedMissing.size, (found.counted.messages ?? 0) - keptMessages.length);
  return {
    conversations: { saved: keptConversations.length, lost: missingConversations },
    messages: { saved: keptMessages.length, lost: missingMessages },
    lostIsEstimate: found.counted.conversations === null || found.counted.messages === null,
  };
}
