// Export to Markdown (the active path, for reading) and to JSON (our own versioned format with
// the whole tree and all metadata, for moving and restoring), and import of that JSON.
//
// Import validates the whole file first (import-file.ts: zod for the shape, then the tree:
// unique ids, parents inside the conversation and before their children) and writes in one
// transaction, so a malformed or unknown-version file imports nothing.
import { randomUUID } from 'node:crypto';
import { conversationRow, listConversations, toConversation, type ConversationRow } from './conversations.ts';
import { inTransaction, prepare, type ReadableDB, type WritableDB } from './database.ts';
import { notFound, StorageError } from './errors.ts';
import { MAX_CONVERSATION_SEQ } from './message-seq.ts';
import { insertMessageRow, loadActivePath, toMessage, type MessageRow } from './messages.ts';
import { createPreset, listPresets, type StoredPreset } from './presets.ts';
import { indexConversation } from './search-index.ts';
import { appendTokenPart, tokenRecordBytes } from './token-records.ts';
import type { Conversation, Message, MessageStats, SamplingParams } from './types.ts';

export const EXPORT_FORMAT = 'jielong-conversations';
export const EXPORT_VERSION = 1;

export interface ExportedMessage {
  id: string;
  parentId: string | null;
  selectedChildId: string | null;
  role: Message['role'];
  content: string;
  status: Message['status'];
  error: string | null;
  modelId: string | null;
  sampling: SamplingParams | null;
  seed: number | null;
  stats: MessageStats | null;
  createdAt: number;
  updatedAt: number;
  /** The answer's token record (token-record-codec.ts), base64; absent when it has none. */
  tokens?: string;
}

export interface ExportedConversation extends Omit<Conversation, 'presetId'> {
  /** Files from before presets have none. */
  presetId?: string | null;
  messages: ExportedMessage[];
}

export interface ExportFile {
  format: typeof EXPORT_FORMAT;
  version: typeof EXPORT_VERSION;
  exportedAt: number;
  conversations: ExportedConversation[];
  /** The user's presets (files from before presets have none). */
  presets?: StoredPreset[];
}

// ---- JSON export ----

function exportConversation(db: ReadableDB, row: ConversationRow): ExportedConversation {
  const rows = prepare<[string], MessageRow>(db, 'SELECT * FROM messages WHERE conversation_id = ? ORDER BY seq').all(row.id);
  return {
    ...toConversation(row),
    messages: rows.map((messageRow) => {
      const message = toMessage(messageRow);
      return {
        id: message.id,
        parentId: message.parentId,
        selectedChildId: messageRow.selected_child_id,
        role: message.role,
        content: message.content,
        status: message.status,
        error: message.error,
        modelId: message.modelId,
        sampling: message.sampling,
        seed: message.seed,
        stats: message.stats,
        createdAt: message.createdAt,
        updatedAt: message.updatedAt,
        ...tokensField(tokenRecordBytes(db, messageRow.seq)),
      };
    }),
  };
}

function tokensField(bytes: Uint8Array | null): { tokens?: string } {
  return bytes === null ? {} : { tokens: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64') };
}

export interface JsonExportOptions {
  /** Which conversations; omitted: all. */
  conversationIds?: readonly string[];
  /** With `all`, also the conversations in the trash (default false). Named ids are always exported. */
  includeTrash?: boolean;
}

export function exportJson(db: ReadableDB, options: JsonExportOptions, now: number): ExportFile {
  let rows: ConversationRow[];
  if (options.conversationIds !== undefined) {
    rows = options.conversationIds.map((conversationId) => {
      const row = typeof conversationId === 'string' ? conversationRow(db, conversationId) : undefined;
      if (row === undefined) throw notFound('conversation', String(conversationId));
      return row;
    });
  } else {
    rows = prepare<[number], ConversationRow>(db, 'SELECT * FROM conversations WHERE ? OR deleted_at IS NULL ORDER BY seq').all(options.includeTrash === true ? 1 : 0);
  }
  return { format: EXPORT_FORMAT, version: EXPORT_VERSION, exportedAt: now, conversations: rows.map((row) => exportConversation(db, row)), presets: listPresets(db) };
}

// ---- Markdown export ----

const ROLE_HEADINGS: Record<Message['role'], string> = { system: 'System', user: 'You', assistant: 'Assistant' };

function isoTime(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

/**
 * Text on one line, safe inline in any Markdown viewer (raw HTML allowed or not): control
 * characters and line breaks become spaces, `& < >` become entities (no tag, no autolink),
 * and every other ASCII punctuation character is backslash-escaped (no link, image, emphasis
 * or heading syntax).
 */
export function markdownInline(text: string): string {
  return text
    // eslint-disable-next-line no-control-regex -- control characters are what this replaces
    .replace(/[\u0000-\u001f\u007f\u0085\u2028\u2029]+/g, ' ')
    .replace(/[!"#$%'()*+,\-./:;=?@[\\\]^_`{|}~]/g, (c) => `\\${c}`)
    .replace(/[&<>]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : '&gt;'));
}

/**
 * A block of text shown exactly as written: a fenced code block whose fence is longer than
 * any run of backticks in the text, so nothing in it (HTML, images, links, a line reading
 * "### You") is rendered as anything but text.
 */
export function markdownFence(text: string): string {
  const longest = Math.max(0, ...[...text.matchAll(/`+/g)].map((match) => match[0].length));
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return `${fence}text\n${text}\n${fence}`;
}

/** The active path of one conversation as Markdown, safe in any viewer: message text is fenced, names escaped. */
export function exportMarkdown(db: ReadableDB, conversationId: string): string {
  const { conversation, messages } = loadActivePath(db, conversationId);
  const lines: string[] = [`# ${markdownInline(conversation.title)}`, ''];
  lines.push(`- Created: ${isoTime(conversation.createdAt)}`, `- Updated: ${isoTime(conversation.updatedAt)}`);
  if (conversation.modelId !== null) lines.push(`- Model: ${markdownInline(conversation.modelId)}`);
  lines.push('');
  if (conversation.systemPrompt !== null && conversation.systemPrompt.length > 0) {
    lines.push('## System prompt', '', markdownFence(conversation.systemPrompt), '');
  }
  for (const message of messages) {
    const model = message.role === 'assistant' && message.modelId !== null ? ` · ${markdownInline(message.modelId)}` : '';
    lines.push(`### ${ROLE_HEADINGS[message.role]}${model}`, '', markdownFence(message.content), '');
    if (message.status === 'interrupted') lines.push('_(interrupted)_', '');
    if (message.status === 'streaming') lines.push('_(still being written)_', '');
    if (message.status === 'error') lines.push(`_(error${message.error === null ? '' : `: ${markdownInline(message.error)}`})_`, '');
  }
  return lines.join('\n');
}

/** Every conversation not in the trash (in list order), one Markdown document, separated by rules. */
export function exportAllMarkdown(db: ReadableDB): string {
  const parts: string[] = [];
  for (let cursor: string | null = null; ; ) {
    const page = listConversations(db, { limit: 500, cursor });
    for (const conversation of page.items) parts.push(exportMarkdown(db, conversation.id));
    if (page.nextCursor === null) break;
    cursor = page.nextCursor;
  }
  return parts.join('\n---\n\n');
}

/** A file name for a conversation's export: its title, made safe for every file system. */
export function exportFileName(title: string, extension: 'md' | 'json'): string {
  // eslint-disable-next-line no-control-regex
  const base = title.replace(/[\u0000-\u001f<>:"/\\|?*]+/gu, ' ').replace(/\s+/gu, ' ').trim().replace(/[. ]+$/u, '').slice(0, 100);
  return `${base.length > 0 ? base : 'conversation'}.${extension}`;
}

// ---- JSON import ----

export type ImportConflict = 'copy' | 'skip' | 'fail';

export interface ImportOptions {
  /**
   * When a conversation (or one of its message ids) already exists: `copy` imports it under
   * new ids (default), `skip` leaves it out, `fail` refuses the whole file.
   */
  onConflict?: ImportConflict;
}

export interface ImportResult {
  /** Ids of the conversations written, in file order (new ids for copies). */
  conversationIds: string[];
  /** Conversations imported under new ids because theirs were taken. */
  copied: number;
  skipped: number;
}

function idsTaken(db: ReadableDB, conversation: ExportedConversation): boolean {
  if (conversationRow(db, conversation.id) !== undefined) return true;
  const exists = prepare<[string], { one: number }>(db, 'SELECT 1 AS one FROM messages WHERE id = ?');
  return conversation.messages.some((message) => exists.get(message.id) !== undefined);
}

function withNewIds(conversation: ExportedConversation): ExportedConversation {
  const ids = new Map<string, string>(conversation.messages.map((message) => [message.id, randomUUID()]));
  const mapped = (old: string | null): string | null => (old === null ? null : (ids.get(old) ?? null));
  return {
    ...conversation,
    id: randomUUID(),
    selectedLeafId: mapped(conversation.selectedLeafId),
    messages: conversation.messages.map((message) => ({
      ...message,
      id: ids.get(message.id) as string,
      parentId: mapped(message.parentId),
      selectedChildId: mapped(message.selectedChildId),
    })),
  };
}

/**
 * Writes a parsed and validated export file (import-file.ts parseExportFile). All or nothing:
 * one transaction. A message exported while still `streaming` comes back
 * `interrupted` (nothing is writing to it any more).
 */
export function importJson(db: WritableDB, file: ExportFile, options: ImportOptions = {}): ImportResult {
  const onConflict = options.onConflict ?? 'copy';
  if (onConflict !== 'copy' && onConflict !== 'skip' && onConflict !== 'fail') {
    throw new StorageError('INVALID_INPUT', `Invalid onConflict ${JSON.stringify(onConflict)}: must be copy, skip or fail`);
  }
  return inTransaction(db, () => {
    const result: ImportResult = { conversationIds: [], copied: 0, skipped: 0 };
    const presetIds = importPresets(db, file.presets ?? []);
    for (const exported of file.conversations) {
      const original: ExportedConversation = { ...exported, presetId: exported.presetId == null ? null : (presetIds.get(exported.presetId) ?? exported.presetId) };
      let conversation = original;
      if (idsTaken(db, original)) {
        if (onConflict === 'fail') {
          throw new StorageError('CONFLICT', `The conversation ${JSON.stringify(original.title)} (${original.id}) already exists. Nothing was imported.`);
        }
        if (onConflict === 'skip') {
          result.skipped += 1;
          continue;
        }
        conversation = withNewIds(original);
        result.copied += 1;
      }
      writeConversation(db, conversation);
      result.conversationIds.push(conversation.id);
    }
    return result;
  });
}

/**
 * Writes the file's presets: one the database already holds unchanged is used as it is; one
 * whose id is taken by a different preset comes in under a new id. Returns file id -> id here.
 */
function importPresets(db: WritableDB, presets: readonly StoredPreset[]): Map<string, string> {
  const here = new Map(listPresets(db).map((preset) => [preset.id, preset]));
  const ids = new Map<string, string>();
  const same = (a: StoredPreset, b: StoredPreset): boolean => a.name === b.name && a.systemPrompt === b.systemPrompt && JSON.stringify(a.sampling) === JSON.stringify(b.sampling);
  for (const preset of presets) {
    const existing = here.get(preset.id);
    if (existing && same(existing, preset)) {
      ids.set(preset.id, preset.id);
      continue;
    }
    const written = createPreset(db, preset.createdAt, { ...(existing ? {} : { id: preset.id }), name: preset.name, systemPrompt: preset.systemPrompt, sampling: preset.sampling });
    ids.set(preset.id, written.id);
  }
  return ids;
}

function writeConversation(db: WritableDB, conversation: ExportedConversation): void {
  const result = prepare(
    db,
    `INSERT INTO conversations (id, title, created_at, updated_at, pinned, deleted_at, model_id, system_prompt, sampling, selected_leaf_id, preset_id)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(
    conversation.id,
    conversation.title,
    conversation.createdAt,
    conversation.updatedAt,
    conversation.pinned ? 1 : 0,
    conversation.deletedAt,
    conversation.modelId,
    conversation.systemPrompt,
    conversation.sampling === null ? null : JSON.stringify(conversation.sampling),
    conversation.selectedLeafId,
    conversation.presetId ?? null,
  );
  const conversationSeq = Number(result.lastInsertRowid);
  if (conversationSeq >= MAX_CONVERSATION_SEQ) throw new StorageError('CONFLICT', `This database holds the most conversations it can (${MAX_CONVERSATION_SEQ}).`);
  for (const message of conversation.messages) {
    const seq = insertMessageRow(db, {
      id: message.id,
      conversationId: conversation.id,
      conversationSeq,
      parentId: message.parentId,
      selectedChildId: message.selectedChildId,
      role: message.role,
      content: message.content,
      status: message.status === 'streaming' ? 'interrupted' : message.status,
      error: message.error,
      modelId: message.modelId,
      sampling: message.sampling,
      seed: message.seed,
      stats: message.stats,
      createdAt: message.createdAt,
      updatedAt: message.updatedAt,
    });
    // Checked by parseExportFile: the bytes read as a record.
    if (message.tokens !== undefined) appendTokenPart(db, seq, Buffer.from(message.tokens, 'base64'));
  }
  if (conversation.deletedAt === null) indexConversation(db, conversation.id);
}
