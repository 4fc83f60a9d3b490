// Conversations: create, rename, pin, settings, soft delete with undo, purge, paged listing.
import { randomUUID } from 'node:crypto';
import { inTransaction, prepare, type ReadableDB, type WritableDB } from './database.ts';
import { notFound, StorageError } from './errors.ts';
import { check, checkNullable, idRule, LIMITS, modelIdRule, parseJsonColumn, samplingRule, systemPromptRule, titleRule } from './schemas.ts';
import { MAX_CONVERSATION_SEQ } from './message-seq.ts';
import { indexConversation, indexTitle, unindexConversation, unindexTitle } from './search-index.ts';
import type { Conversation, ConversationPage, SamplingParams } from './types.ts';

export const DEFAULT_TITLE = 'New conversation';

export interface ConversationRow {
  seq: number;
  id: string;
  title: string;
  created_at: number;
  updated_at: number;
  pinned: number;
  deleted_at: number | null;
  model_id: string | null;
  system_prompt: string | null;
  sampling: string | null;
  selected_leaf_id: string | null;
  preset_id: string | null;
}

export function toConversation(row: ConversationRow): Conversation {
  return {
    id: row.id,
    title: row.title,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    pinned: row.pinned === 1,
    deletedAt: row.deleted_at,
    modelId: row.model_id,
    systemPrompt: row.system_prompt,
    sampling: parseJsonColumn<SamplingParams>(row.sampling),
    selectedLeafId: row.selected_leaf_id,
    presetId: row.preset_id,
  };
}

export function conversationRow(db: ReadableDB, id: string): ConversationRow | undefined {
  return prepare<[string], ConversationRow>(db, 'SELECT * FROM conversations WHERE id = ?').get(id);
}

/** The row of a conversation that exists and is not in the trash, or NOT_FOUND. */
export function liveConversationRow(db: ReadableDB, id: string): ConversationRow {
  const row = conversationRow(db, check(idRule, id, 'conversation id'));
  if (row === undefined) throw notFound('conversation', id);
  if (row.deleted_at !== null) {
    throw new StorageError('NOT_FOUND', `The conversation ${JSON.stringify(id)} is in the trash; restore it first.`);
  }
  return row;
}

export interface NewConversation {
  title?: string;
  modelId?: string | null;
  systemPrompt?: string | null;
  sampling?: SamplingParams | null;
  /** The preset it follows (a user's or a built-in one's id). */
  presetId?: string | null;
}

export function createConversation(db: WritableDB, now: number, input: NewConversation = {}): Conversation {
  const title = check(titleRule, input.title ?? DEFAULT_TITLE, 'title');
  const modelId = checkNullable(modelIdRule, input.modelId, 'model id') ?? null;
  const systemPrompt = checkNullable(systemPromptRule, input.systemPrompt, 'system prompt') ?? null;
  const sampling = checkNullable(samplingRule, input.sampling, 'sampling parameters') ?? null;
  const presetId = checkNullable(idRule, input.presetId, 'preset id') ?? null;
  const id = randomUUID();
  return inTransaction(db, () => {
    const result = prepare(
      db,
      `INSERT INTO conversations (id, title, created_at, updated_at, pinned, model_id, system_prompt, sampling, preset_id)
       VALUES (?, ?, ?, ?, 0, ?, ?, ?, ?)`,
    ).run(id, title, now, now, modelId, systemPrompt, sampling === null ? null : JSON.stringify(sampling), presetId);
    const seq = Number(result.lastInsertRowid);
    if (seq >= MAX_CONVERSATION_SEQ) throw new StorageError('CONFLICT', `This database holds the most conversations it can (${MAX_CONVERSATION_SEQ}).`);
    indexTitle(db, seq, title);
    return toConversation(conversationRow(db, id) as ConversationRow);
  });
}

export function getConversation(db: ReadableDB, id: string): Conversation {
  const row = conversationRow(db, check(idRule, id, 'conversation id'));
  if (row === undefined) throw notFound('conversation', id);
  return toConversation(row);
}

export function renameConversation(db: WritableDB, now: number, id: string, title: string): Conversation {
  const clean = check(titleRule, title, 'title');
  return inTransaction(db, () => {
    const row = liveConversationRow(db, id);
    if (row.title !== clean) {
      prepare(db, 'UPDATE conversations SET title = ?, updated_at = ? WHERE seq = ?').run(clean, now, row.seq);
      unindexTitle(db, row.seq);
      indexTitle(db, row.seq, clean);
    }
    return toConversation(conversationRow(db, id) as ConversationRow);
  });
}

/** Pinning does not change updated_at: the conversation keeps its place among its peers. */
export function setPinned(db: WritableDB, id: string, pinned: boolean): Conversation {
  if (typeof pinned !== 'boolean') throw new StorageError('INVALID_INPUT', 'Invalid pinned: must be true or false');
  return inTransaction(db, () => {
    const row = liveConversationRow(db, id);
    prepare(db, 'UPDATE conversations SET pinned = ? WHERE seq = ?').run(pinned ? 1 : 0, row.seq);
    return toConversation(conversationRow(db, id) as ConversationRow);
  });
}

export interface ConversationSettings {
  modelId?: string | null;
  systemPrompt?: string | null;
  sampling?: SamplingParams | null;
  presetId?: string | null;
}

/** Changes the fields given (undefined: unchanged; null: cleared). */
export function updateConversationSettings(db: WritableDB, now: number, id: string, settings: ConversationSettings): Conversation {
  const modelId = checkNullable(modelIdRule, settings.modelId, 'model id');
  const systemPrompt = checkNullable(systemPromptRule, settings.systemPrompt, 'system prompt');
  const sampling = checkNullable(samplingRule, settings.sampling, 'sampling parameters');
  const presetId = checkNullable(idRule, settings.presetId, 'preset id');
  return inTransaction(db, () => {
    const row = liveConversationRow(db, id);
    prepare(
      db,
      `UPDATE conversations SET model_id = ?, system_prompt = ?, sampling = ?, preset_id = ?, updated_at = ? WHERE seq = ?`,
    ).run(
      modelId === undefined ? row.model_id : modelId,
      systemPrompt === undefined ? row.system_prompt : systemPrompt,
      sampling === undefined ? row.sampling : sampling === null ? null : JSON.stringify(sampling),
      presetId === undefined ? row.preset_id : presetId,
      now,
      row.seq,
    );
    return toConversation(conversationRow(db, id) as ConversationRow);
  });
}

/** Moves a conversation to the trash: hidden from the list and from search, nothing removed. */
export function softDeleteConversation(db: WritableDB, now: number, id: string): Conversation {
  return inTransaction(db, () => {
    const row = liveConversationRow(db, id);
    unindexConversation(db, row.id);
    prepare(db, 'UPDATE conversations SET deleted_at = ? WHERE seq = ?').run(now, row.seq);
    return toConversation(conversationRow(db, id) as ConversationRow);
  });
}

/** Undo of softDeleteConversation: back in the list and in search, exactly as it was. */
export function restoreConversation(db: WritableDB, id: string): Conversation {
  return inTransaction(db, () => {
    const row = conversationRow(db, check(idRule, id, 'conversation id'));
    if (row === undefined) throw notFound('conversation', id);
    if (row.deleted_at === null) return toConversation(row);
    prepare(db, 'UPDATE conversations SET deleted_at = NULL WHERE seq = ?').run(row.seq);
    indexConversation(db, row.id);
    return toConversation(conversationRow(db, id) as ConversationRow);
  });
}

/**
 * Removes a conversation and all its messages for good. Only a conversation already in the
 * trash can be purged, so no single action loses a conversation.
 */
export function purgeConversation(db: WritableDB, id: string): void {
  inTransaction(db, () => {
    const row = conversationRow(db, check(idRule, id, 'conversation id'));
    if (row === undefined) throw notFound('conversation', id);
    if (row.deleted_at === null) {
      throw new StorageError('CONFLICT', `The conversation ${JSON.stringify(id)} is not in the trash; move it to the trash before purging it.`);
    }
    // Children first keeps the parent_id cascade from walking the tree row by row.
    prepare(db, 'DELETE FROM messages WHERE conversation_id = ?').run(row.id);
    prepare(db, 'DELETE FROM conversations WHERE seq = ?').run(row.seq);
  });
}

/** Purges every conversation that went to the trash at or before `deletedBefore` (default: all). Returns how many. */
export function purgeTrash(db: WritableDB, deletedBefore: number = Number.MAX_SAFE_INTEGER): number {
  if (typeof deletedBefore !== 'number' || Number.isNaN(deletedBefore)) throw new StorageError('INVALID_INPUT', 'Invalid deletedBefore: must be a time in ms');
  return inTransaction(db, () => {
    const ids = prepare<[number], { id: string }>(db, 'SELECT id FROM conversations WHERE deleted_at IS NOT NULL AND deleted_at <= ?').all(deletedBefore);
    for (const { id } of ids) purgeConversation(db, id);
    return ids.length;
  });
}

/** Touches updated_at so the conversation moves to the top of the list. */
export function touchConversation(db: WritableDB, id: string, now: number): void {
  prepare(db, 'UPDATE conversations SET updated_at = max(updated_at, ?) WHERE id = ?').run(now, id);
}

export interface ListOptions {
  /** Page size, 1 to 500 (default 50). */
  limit?: number;
  /** From the previous page's nextCursor. */
  cursor?: string | null;
}

function pageSize(limit: number | undefined): number {
  const size = limit ?? 50;
  if (!Number.isInteger(size) || size < 1 || size > LIMITS.pageSize) {
    throw new StorageError('INVALID_INPUT', `Invalid page size ${String(limit)}: must be a whole number from 1 to ${LIMITS.pageSize}`);
  }
  return size;
}

function decodeCursor(cursor: string, parts: number): number[] {
  const values = cursor.split(':').map(Number);
  if (values.length !== parts || values.some((value) => !Number.isSafeInteger(value))) {
    throw new StorageError('INVALID_INPUT', `Invalid list cursor ${JSON.stringify(cursor)}: pass the nextCursor of the previous page`);
  }
  return values;
}

/** Conversations not in the trash: pinned first, then most recently updated. */
export function listConversations(db: ReadableDB, options: ListOptions = {}): ConversationPage {
  const limit = pageSize(options.limit);
  let rows: ConversationRow[];
  if (options.cursor === undefined || options.cursor === null) {
    rows = prepare<[number], ConversationRow>(
      db,
      `SELECT * FROM conversations WHERE deleted_at IS NULL ORDER BY pinned DESC, updated_at DESC, seq DESC LIMIT ?`,
    ).all(limit + 1);
  } else {
    const [pinned, updatedAt, seq] = decodeCursor(options.cursor, 3) as [number, number, number];
    rows = prepare<[number, number, number, number], ConversationRow>(
      db,
      `SELECT * FROM conversations WHERE deleted_at IS NULL AND (pinned, updated_at, seq) < (?, ?, ?)
       ORDER BY pinned DESC, updated_at DESC, seq DESC LIMIT ?`,
    ).all(pinned, updatedAt, seq, limit + 1);
  }
  const more = rows.length > limit;
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return {
    items: page.map(toConversation),
    nextCursor: more && last !== undefined ? `${last.pinned}:${last.updated_at}:${last.seq}` : null,
  };
}

/** Conversations in the trash, most recently deleted first. */
export function listTrash(db: ReadableDB, options: ListOptions = {}): ConversationPage {
  const limit = pageSize(options.limit);
  let rows: ConversationRow[];
  if (options.cursor === undefined || options.cursor === null) {
    rows = prepare<[number], ConversationRow>(
      db,
      'SELECT * FROM conversations WHERE deleted_at IS NOT NULL ORDER BY deleted_at DESC, seq DESC LIMIT ?',
    ).all(limit + 1);
  } else {
    const [deletedAt, seq] = decodeCursor(options.cursor, 2) as [number, number];
    rows = prepare<[number, number, number], ConversationRow>(
      db,
      `SELECT * FROM conversations WHERE deleted_at IS NOT NULL AND (deleted_at, seq) < (?, ?)
       ORDER BY deleted_at DESC, seq DESC LIMIT ?`,
    ).all(deletedAt, seq, limit + 1);
  }
  const more = rows.length > limit;
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return {
    items: page.map(toConversation),
    nextCursor: more && last !== undefined ? `${last.deleted_at ?? 0}:${last.seq}` : null,
  };
}
