// The message tree: appending, streaming into an assistant message, finishing it, the active
// path, siblings and switching between them, and crash recovery.
//
// Each message has a parent (null for a root). Edit-and-resend appends a user message under
// the edited message's parent; regenerate begins an assistant message under the old answer's
// parent: both create siblings. The conversation remembers its selected leaf; each message
// remembers its selected child, so switching back to a sibling restores the branch below it.
import { randomUUID } from 'node:crypto';
import { liveConversationRow, touchConversation, toConversation, type ConversationRow } from './conversations.ts';
import { inTransaction, prepare, type ReadableDB, type WritableDB } from './database.ts';
import { notFound, StorageError } from './errors.ts';
import {
  check,
  checkNullable,
  contentRule,
  errorTextRule,
  idRule,
  modelIdRule,
  parseJsonColumn,
  samplingRule,
  seedRule,
  statsRule,
} from './schemas.ts';
import { messageSeqRange, MESSAGES_PER_CONVERSATION } from './message-seq.ts';
import { indexMessageText, unindexMessageText } from './search-index.ts';
import { appendTokenPart, mergeTokenParts } from './token-records.ts';
import type { ActivePath, FinalStatus, Message, MessageStats, MessageStatus, PathMessage, Role, SamplingParams, Siblings } from './types.ts';

/** Bound on tree depth in recursive queries: a guard against a cycle, far above any real chat. */
const MAX_DEPTH = 10_000_000;

export interface MessageRow {
  seq: number;
  id: string;
  conversation_id: string;
  parent_id: string | null;
  selected_child_id: string | null;
  role: Role;
  content: string;
  status: MessageStatus;
  error: string | null;
  model_id: string | null;
  sampling: string | null;
  seed: number | null;
  stats: string | null;
  created_at: number;
  updated_at: number;
}

export function toMessage(row: MessageRow): Message {
  return {
    id: row.id,
    conversationId: row.conversation_id,
    parentId: row.parent_id,
    role: row.role,
    content: row.content,
    status: row.status,
    error: row.error,
    modelId: row.model_id,
    sampling: parseJsonColumn<SamplingParams>(row.sampling),
    seed: row.seed,
    stats: parseJsonColumn<MessageStats>(row.stats),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export function messageRow(db: ReadableDB, id: string): MessageRow | undefined {
  return prepare<[string], MessageRow>(db, 'SELECT * FROM messages WHERE id = ?').get(id);
}

function existingMessageRow(db: ReadableDB, id: string): MessageRow {
  const row = messageRow(db, check(idRule, id, 'message id'));
  if (row === undefined) throw notFound('message', id);
  return row;
}

export function getMessage(db: ReadableDB, id: string): Message {
  return toMessage(existingMessageRow(db, id));
}

/** undefined: under the selected leaf; null: a new root; a string: that message, in this conversation. */
function resolveParent(db: ReadableDB, conversation: ConversationRow, parentId: string | null | undefined): string | null {
  if (parentId === undefined) return conversation.selected_leaf_id;
  if (parentId === null) return null;
  const parent = messageRow(db, check(idRule, parentId, 'parent id'));
  if (parent === undefined || parent.conversation_id !== conversation.id) {
    throw new StorageError('INVALID_INPUT', `Invalid parent id: no message ${JSON.stringify(parentId)} in conversation ${JSON.stringify(conversation.id)}`);
  }
  return parent.id;
}

interface InsertFields {
  id: string;
  conversationId: string;
  conversationSeq: number;
  parentId: string | null;
  selectedChildId: string | null;
  role: Role;
  content: string;
  status: MessageStatus;
  error: string | null;
  modelId: string | null;
  sampling: SamplingParams | null;
  seed: number | null;
  stats: MessageStats | null;
  createdAt: number;
  updatedAt: number;
}

/** Inserts one row; returns its seq (the full-text rowid). Callers keep the tree and index in step. */
export function insertMessageRow(db: WritableDB, fields: InsertFields): number {
  const [low, high] = messageSeqRange(fields.conversationSeq);
  const last = prepare<[number, number], { seq: number | null }>(db, 'SELECT max(seq) AS seq FROM messages WHERE seq >= ? AND seq < ?').get(low, high);
  const seq = last?.seq === null || last?.seq === undefined ? low : last.seq + 1;
  if (seq >= high) throw new StorageError('CONFLICT', `The conversation ${JSON.stringify(fields.conversationId)} has reached ${MESSAGES_PER_CONVERSATION} messages; start a new one.`);
  prepare(
    db,
    `INSERT INTO messages (seq, id, conversation_id, parent_id, selected_child_id, role, content, status, error,
                           model_id, sampling, seed, stats, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(
    seq,
    fields.id,
    fields.conversationId,
    fields.parentId,
    fields.selectedChildId,
    fields.role,
    fields.content,
    fields.status,
    fields.error,
    fields.modelId,
    fields.sampling === null ? null : JSON.stringify(fields.sampling),
    fields.seed,
    fields.stats === null ? null : JSON.stringify(fields.stats),
    fields.createdAt,
    fields.updatedAt,
  );
  return seq;
}

/**
 * Makes every ancestor of `messageId` point (selected_child_id) towards it, so the path from
 * the root to it is the selected one. One recursive statement, O(depth).
 */
export function pointAncestorsAt(db: WritableDB, messageId: string): void {
  prepare(
    db,
    `WITH RECURSIVE up(id, parent_id, depth) AS (
       SELECT id, parent_id, 0 FROM messages WHERE id = ?
       UNION ALL
       SELECT m.id, m.parent_id, up.depth + 1 FROM messages m JOIN up ON m.id = up.parent_id WHERE up.depth < ${MAX_DEPTH}
     )
     UPDATE messages SET selected_child_id = up.id
     FROM up
     WHERE messages.id = up.parent_id AND messages.selected_child_id IS NOT up.id`,
  ).run(messageId);
}

/** The leaf reached from `messageId` by following each message's selected child (else its newest child). */
export function descendToLeaf(db: ReadableDB, messageId: string): string {
  const row = prepare<[string], { id: string }>(
    db,
    `WITH RECURSIVE down(id, depth) AS (
       SELECT ?, 0
       UNION ALL
       SELECT COALESCE(
                (SELECT c.id FROM messages c WHERE c.id = m.selected_child_id AND c.parent_id = m.id),
                (SELECT c.id FROM messages c WHERE c.parent_id = m.id ORDER BY c.seq DESC LIMIT 1)),
              down.depth + 1
       FROM down JOIN messages m ON m.id = down.id
       WHERE down.depth < ${MAX_DEPTH}
     )
     SELECT down.id FROM down JOIN messages m ON m.id = down.id ORDER BY down.depth DESC LIMIT 1`,
  ).get(messageId);
  return row?.id ?? messageId;
}

/** Makes a just-inserted message the selected leaf of its conversation. */
function selectNewLeaf(db: WritableDB, conversation: ConversationRow, parentId: string | null, messageId: string, now: number): void {
  if (parentId !== null) {
    prepare(db, 'UPDATE messages SET selected_child_id = ? WHERE id = ?').run(messageId, parentId);
    const oldLeaf = conversation.selected_leaf_id;
    const oldLeafParent = oldLeaf === null ? null : (messageRow(db, oldLeaf)?.parent_id ?? null);
    // Appending under the leaf (a reply) or under the leaf's parent (regenerate / edit of the
    // last message) keeps the rest of the path; anywhere else, re-point the ancestors.
    if (parentId !== oldLeaf && parentId !== oldLeafParent) pointAncestorsAt(db, parentId);
  }
  prepare(db, 'UPDATE conversations SET selected_leaf_id = ?, updated_at = max(updated_at, ?) WHERE seq = ?').run(messageId, now, conversation.seq);
}

export interface NewUserMessage {
  conversationId: string;
  content: string;
  /**
   * undefined: reply under the selected leaf. For edit-and-resend pass the edited message's
   * parentId (null for the first message): the new message becomes its sibling.
   */
  parentId?: string | null;
}

/** Appends a user message (status `complete`) and selects it as the leaf. */
export function appendUserMessage(db: WritableDB, now: number, input: NewUserMessage): Message {
  const content = check(contentRule, input.content, 'message content');
  if (content.length === 0) throw new StorageError('INVALID_INPUT', 'Invalid message content: must not be empty');
  return inTransaction(db, () => {
    const conversation = liveConversationRow(db, input.conversationId);
    const parentId = resolveParent(db, conversation, input.parentId);
    const id = randomUUID();
    const seq = insertMessageRow(db, {
      id,
      conversationId: conversation.id,
      conversationSeq: conversation.seq,
      parentId,
      selectedChildId: null,
      role: 'user',
      content,
      status: 'complete',
      error: null,
      modelId: null,
      sampling: null,
      seed: null,
      stats: null,
      createdAt: now,
      updatedAt: now,
    });
    selectNewLeaf(db, conversation, parentId, id, now);
    indexMessageText(db, seq, content);
    return getMessage(db, id);
  });
}

export interface NewAssistantMessage {
  conversationId: string;
  /** undefined: under the selected leaf. For regenerate pass the old answer's parentId: a sibling. */
  parentId?: string | null;
  modelId?: string | null;
  sampling?: SamplingParams | null;
  seed?: number | null;
}

/** Inserts an empty assistant message with status `streaming` and selects it as the leaf. */
export function beginAssistantMessage(db: WritableDB, input: NewAssistantMessage, now: number): Message {
  const modelId = checkNullable(modelIdRule, input.modelId, 'model id') ?? null;
  const sampling = checkNullable(samplingRule, input.sampling, 'sampling parameters') ?? null;
  const seed = checkNullable(seedRule, input.seed, 'seed') ?? null;
  return inTransaction(db, () => {
    const conversation = liveConversationRow(db, input.conversationId);
    const parentId = resolveParent(db, conversation, input.parentId);
    const id = randomUUID();
    insertMessageRow(db, {
      id,
      conversationId: conversation.id,
      conversationSeq: conversation.seq,
      parentId,
      selectedChildId: null,
      role: 'assistant',
      content: '',
      status: 'streaming',
      error: null,
      modelId,
      sampling,
      seed,
      stats: null,
      createdAt: now,
      updatedAt: now,
    });
    selectNewLeaf(db, conversation, parentId, id, now);
    return getMessage(db, id);
  });
}

/**
 * Makes a finished answer `streaming` again, its text and token record kept, to continue it
 * (one stopped at max tokens, by the user, or cut by a crash). It leaves the search index
 * until it is finished again.
 */
export function resumeAssistantMessage(db: WritableDB, messageId: string, now: number): Message {
  return inTransaction(db, () => {
    const row = existingMessageRow(db, messageId);
    if (row.role !== 'assistant' || (row.status !== 'complete' && row.status !== 'interrupted')) {
      throw new StorageError('CONFLICT', `The message ${JSON.stringify(messageId)} is ${row.role === 'assistant' ? row.status : `a ${row.role} message`}; only a complete or interrupted answer can be continued.`);
    }
    liveConversationRow(db, row.conversation_id);
    prepare(db, "UPDATE messages SET status = 'streaming', error = NULL, updated_at = ? WHERE seq = ?").run(now, row.seq);
    unindexMessageText(db, row.seq);
    return getMessage(db, messageId);
  });
}

function notStreaming(row: MessageRow | undefined, id: string): StorageError {
  if (row === undefined) return notFound('message', id);
  return new StorageError('CONFLICT', `The message ${JSON.stringify(id)} is ${row.status}, not streaming; no more text can be added to it.`);
}

/** Appends streamed text, and the part of the token record that wrote it, to a `streaming` message: one transaction. */
export function appendStreamText(db: WritableDB, messageId: string, text: string, now: number, tokenPart: Uint8Array | null = null): void {
  if (typeof text !== 'string') throw new StorageError('INVALID_INPUT', 'Invalid streamed text: must be a string');
  const update = prepare<[string, number, string], { seq: number }>(db, "UPDATE messages SET content = content || ?, updated_at = ? WHERE id = ? AND status = 'streaming' RETURNING seq");
  if (tokenPart === null) {
    if (update.get(text, now, messageId) === undefined) throw notStreaming(messageRow(db, messageId), messageId);
    return;
  }
  inTransaction(db, () => {
    const row = update.get(text, now, messageId);
    if (row === undefined) throw notStreaming(messageRow(db, messageId), messageId);
    appendTokenPart(db, row.seq, tokenPart);
  });
}

export interface FinishOutcome {
  status: FinalStatus;
  stats?: MessageStats | null;
  /** Why generation failed; only with status `error`. */
  error?: string | null;
}

export function checkOutcome(outcome: FinishOutcome): { status: FinalStatus; stats: MessageStats | null; error: string | null } {
  const status = outcome?.status;
  if (status !== 'complete' && status !== 'interrupted' && status !== 'error') {
    throw new StorageError('INVALID_INPUT', `Invalid final status ${JSON.stringify(status)}: must be complete, interrupted or error`);
  }
  const stats = checkNullable(statsRule, outcome.stats, 'stats') ?? null;
  const error = checkNullable(errorTextRule, outcome.error, 'error text') ?? null;
  if (error !== null && status !== 'error') throw new StorageError('INVALID_INPUT', 'Invalid error text: only a message finished with status error has one');
  return { status, stats, error };
}

/** Appends the last text and sets the final status and stats, in one transaction; indexes the text. */
export function finishAssistantMessage(db: WritableDB, messageId: string, pendingText: string, outcome: FinishOutcome, now: number, tokenPart: Uint8Array | null = null): Message {
  const { status, stats, error } = checkOutcome(outcome);
  return inTransaction(db, () => {
    const row = messageRow(db, messageId);
    if (row === undefined || row.status !== 'streaming') throw notStreaming(row, messageId);
    if (tokenPart !== null) appendTokenPart(db, row.seq, tokenPart);
    mergeTokenParts(db, row.seq);
    prepare(db, 'UPDATE messages SET content = content || ?, status = ?, error = ?, stats = ?, updated_at = ? WHERE seq = ?').run(
      pendingText,
      status,
      error,
      stats === null ? null : JSON.stringify(stats),
      now,
      row.seq,
    );
    const conversation = prepare<[string], { deleted_at: number | null }>(db, 'SELECT deleted_at FROM conversations WHERE id = ?').get(row.conversation_id);
    if (conversation?.deleted_at === null) indexMessageText(db, row.seq, row.content + pendingText);
    touchConversation(db, row.conversation_id, now);
    return getMessage(db, messageId);
  });
}

/**
 * Messages left `streaming` by a crash become `interrupted`, their text kept, and searchable.
 * Run at open, before anything else writes. Returns how many.
 */
export function recoverStreaming(db: WritableDB, now: number): number {
  return inTransaction(db, () => {
    const rows = prepare<[], { seq: number; content: string; deleted_at: number | null }>(
      db,
      `SELECT m.seq, m.content, c.deleted_at FROM messages m JOIN conversations c ON c.id = m.conversation_id
       WHERE m.status = 'streaming'`,
    ).all();
    const update = prepare(db, "UPDATE messages SET status = 'interrupted', updated_at = max(updated_at, ?) WHERE seq = ?");
    for (const row of rows) {
      update.run(now, row.seq);
      mergeTokenParts(db, row.seq);
      if (row.deleted_at === null) indexMessageText(db, row.seq, row.content);
    }
    return rows.length;
  });
}

/** Columns of a path message, in this order, read with .raw() (arrays are cheaper than objects). */
const PATH_COLUMNS = 'id, parent_id, role, content, status, error, model_id, sampling, seed, stats, created_at, updated_at';
type PathTuple = [string, string | null, Role, string, MessageStatus, string | null, string | null, string | null, number | null, string | null, number, number];

/**
 * The messages from the root to `leafId`, each with its place among its siblings.
 *
 * One range scan over the conversation's block of rows (see MESSAGES_PER_CONVERSATION), oldest
 * first; sibling counts and positions and the path itself are worked out in memory. This reads
 * contiguous pages in order, where a recursive CTE pays two random b-tree descents per step of
 * depth, and rows come back as arrays (.raw()), cheaper than objects.
 */
function pathTo(db: ReadableDB, conversationId: string, conversationSeq: number, leafId: string): PathMessage[] {
  const rows = prepare<[number, number], PathTuple>(db, `SELECT ${PATH_COLUMNS} FROM messages WHERE seq >= ? AND seq < ? ORDER BY seq`)
    .raw(true)
    .all(...messageSeqRange(conversationSeq)) as unknown as PathTuple[];
  const byId = new Map<string, number>();
  /** Per parent id ('' for roots): how many children seen so far. */
  const children = new Map<string, number>();
  const siblingIndex = new Int32Array(rows.length);
  for (let i = 0; i < rows.length; i += 1) {
    const row = rows[i] as PathTuple;
    byId.set(row[0], i);
    const parent = row[1] ?? '';
    const seen = children.get(parent) ?? 0;
    siblingIndex[i] = seen;
    children.set(parent, seen + 1);
  }

  const path: number[] = [];
  for (let at = byId.get(leafId); at !== undefined && path.length <= rows.length; ) {
    path.push(at);
    const parent = (rows[at] as PathTuple)[1];
    at = parent === null ? undefined : byId.get(parent);
  }
  path.reverse();
  // A conversation's answers mostly share one sampling setting: parse each distinct text once.
  // The shared objects are frozen so no caller can change one message's copy through another.
  const samplings = new Map<string, SamplingParams>();
  const sampling = (json: string | null): SamplingParams | null => {
    if (json === null) return null;
    let parsed = samplings.get(json);
    if (parsed === undefined) {
      parsed = Object.freeze(parseJsonColumn<SamplingParams>(json) ?? {});
      samplings.set(json, parsed);
    }
    return parsed;
  };
  return path.map((i) => {
    const row = rows[i] as PathTuple;
    return {
      id: row[0],
      conversationId,
      parentId: row[1],
      role: row[2],
      content: row[3],
      status: row[4],
      error: row[5],
      modelId: row[6],
      sampling: sampling(row[7]),
      seed: row[8],
      stats: parseJsonColumn<MessageStats>(row[9]),
      createdAt: row[10],
      updatedAt: row[11],
      siblingIndex: siblingIndex[i] as number,
      siblingCount: children.get(row[1] ?? '') as number,
    };
  });
}

/** The selected branch of a conversation, root first. */
export function loadActivePath(db: ReadableDB, conversationId: string): ActivePath {
  const conversation = liveConversationRow(db, conversationId);
  let leaf = conversation.selected_leaf_id;
  if (leaf === null || messageRow(db, leaf) === undefined) {
    // No (valid) selection recorded: show the newest root's branch.
    const root = prepare<[string], { id: string }>(db, 'SELECT id FROM messages WHERE conversation_id = ? AND parent_id IS NULL ORDER BY seq DESC LIMIT 1').get(conversation.id);
    leaf = root === undefined ? null : descendToLeaf(db, root.id);
  }
  return { conversation: toConversation(conversation), messages: leaf === null ? [] : pathTo(db, conversation.id, conversation.seq, leaf) };
}

/** The messages that share `messageId`'s parent (roots share the null parent), oldest first. */
export function getSiblings(db: ReadableDB, messageId: string): Siblings {
  const row = existingMessageRow(db, messageId);
  const rows = prepare<[string, string | null], MessageRow>(db, 'SELECT * FROM messages WHERE conversation_id = ? AND parent_id IS ? ORDER BY seq').all(
    row.conversation_id,
    row.parent_id,
  );
  return { messages: rows.map(toMessage), index: rows.findIndex((sibling) => sibling.id === row.id) };
}

/**
 * Puts `messageId` on the active path: its ancestors point at it and the leaf becomes the end
 * of its remembered branch. Use it to switch to a sibling, or to open a search hit. Does not
 * change updated_at (looking is not editing).
 */
export function selectMessage(db: WritableDB, messageId: string): ActivePath {
  return inTransaction(db, () => {
    const row = existingMessageRow(db, messageId);
    const conversation = liveConversationRow(db, row.conversation_id);
    pointAncestorsAt(db, row.id);
    const leaf = descendToLeaf(db, row.id);
    prepare(db, 'UPDATE conversations SET selected_leaf_id = ? WHERE seq = ?').run(leaf, conversation.seq);
    return loadActivePath(db, conversation.id);
  });
}
