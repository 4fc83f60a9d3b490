// Reading an export file: JSON, then our format and version, then the shape (zod), then the
// tree (unique ids, parents inside the same conversation and before their children, selected
// child and leaf that exist). Anything wrong throws before a single row is written.
// Kept apart from export-import.ts so zod loads only when a file is imported.
import { z } from 'zod';
import { StorageError } from './errors.ts';
import { EXPORT_FORMAT, EXPORT_VERSION, type ExportFile } from './export-import.ts';
import { LIMITS } from './schemas.ts';
import { decodeTokenRecord, TokenRecordFormatError } from './token-record-codec.ts';

const recordKey = z.string().min(1).max(LIMITS.recordKeyLength);
const sampling = z.record(recordKey, z.number()).refine((record) => Object.keys(record).length <= LIMITS.recordKeys, `must have at most ${LIMITS.recordKeys} entries`);
const stats = z
  .record(recordKey, z.union([z.number(), z.string().max(LIMITS.statsStringLength)]))
  .refine((record) => Object.keys(record).length <= LIMITS.recordKeys, `must have at most ${LIMITS.recordKeys} entries`);
const id = z.string().min(1).max(LIMITS.idLength);
const time = z.number().int().min(0);
const role = z.enum(['system', 'user', 'assistant']);
const status = z.enum(['streaming', 'complete', 'interrupted', 'error']);

const exportedMessageSchema = z
  .object({
    id,
    parentId: id.nullable(),
    selectedChildId: id.nullable(),
    role,
    content: z.string().max(LIMITS.contentLength),
    status,
    error: z.string().max(LIMITS.errorLength).nullable(),
    modelId: z.string().min(1).max(LIMITS.modelIdLength).nullable(),
    sampling: sampling.nullable(),
    seed: z.number().int().min(Number.MIN_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER).nullable(),
    stats: stats.nullable(),
    createdAt: time,
    updatedAt: time,
    /** Files from before token records have none. */
    tokens: z.base64().max(LIMITS.contentLength * 8).optional(),
  })
  .strict();

const exportedConversationSchema = z
  .object({
    id,
    title: z.string().min(1).max(LIMITS.titleLength),
    createdAt: time,
    updatedAt: time,
    pinned: z.boolean(),
    deletedAt: time.nullable(),
    modelId: z.string().min(1).max(LIMITS.modelIdLength).nullable(),
    systemPrompt: z.string().max(LIMITS.systemPromptLength).nullable(),
    sampling: sampling.nullable(),
    selectedLeafId: id.nullable(),
    /** Files from before presets have none. */
    presetId: id.nullable().optional(),
    /** Parents before children (the order they were written in). */
    messages: z.array(exportedMessageSchema),
  })
  .strict();

const exportedPresetSchema = z
  .object({
    id,
    name: z.string().trim().min(1).max(LIMITS.titleLength),
    systemPrompt: z.string().max(LIMITS.systemPromptLength).nullable(),
    sampling,
    createdAt: time,
    updatedAt: time,
  })
  .strict();

const exportFileSchema = z
  .object({
    format: z.literal(EXPORT_FORMAT),
    version: z.literal(EXPORT_VERSION),
    exportedAt: time,
    conversations: z.array(exportedConversationSchema),
    presets: z.array(exportedPresetSchema).max(10_000).optional(),
  })
  .strict();

function describeIssues(error: z.ZodError, limit = 3): string {
  return error.issues
    .slice(0, limit)
    .map((issue) => `${issue.path.length > 0 ? issue.path.map(String).join('.') : 'value'}: ${issue.message}`)
    .join('; ');
}

function malformed(message: string): StorageError {
  return new StorageError('IMPORT_MALFORMED', `This file cannot be imported: ${message}. Nothing was imported.`);
}

/** Parses and fully validates an export file; throws IMPORT_MALFORMED / IMPORT_UNSUPPORTED_VERSION. */
export function parseExportFile(text: string): ExportFile {
  if (typeof text !== 'string') throw malformed('expected the text of a JSON file');
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw malformed(`it is not valid JSON (${(error as Error).message})`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data) || (data as { format?: unknown }).format !== EXPORT_FORMAT) {
    throw malformed(`it is not a Jielong conversation export (no "format": "${EXPORT_FORMAT}")`);
  }
  const version = (data as { version?: unknown }).version;
  if (version !== EXPORT_VERSION) {
    throw new StorageError(
      'IMPORT_UNSUPPORTED_VERSION',
      `This file is a Jielong export of format version ${JSON.stringify(version)}; this version of Jielong reads version ${EXPORT_VERSION}. Nothing was imported.`,
    );
  }
  const parsed = exportFileSchema.safeParse(data);
  if (!parsed.success) throw malformed(describeIssues(parsed.error));
  const file = parsed.data as ExportFile;
  checkTrees(file);
  return file;
}

/** A record must read, and cover no more text than its message has (a record cut by a crash covers less). */
function checkTokenRecord(base64: string, contentLength: number, where: string): void {
  let covered = 0;
  try {
    for (const token of decodeTokenRecord(Buffer.from(base64, 'base64'))) covered += token.textLength;
  } catch (error) {
    if (error instanceof TokenRecordFormatError) throw malformed(`${where}.tokens: ${error.message}`);
    throw error;
  }
  if (covered > contentLength) throw malformed(`${where}.tokens: its tokens wrote ${covered} characters, the message has ${contentLength}`);
}

function checkTrees(file: ExportFile): void {
  const presetIds = new Set<string>();
  (file.presets ?? []).forEach((preset, p) => {
    if (presetIds.has(preset.id)) throw malformed(`presets.${p}: the preset id ${preset.id} appears twice`);
    presetIds.add(preset.id);
  });
  const conversationIds = new Set<string>();
  const messageIds = new Set<string>();
  file.conversations.forEach((conversation, c) => {
    const where = `conversations.${c}`;
    if (conversationIds.has(conversation.id)) throw malformed(`${where}: the conversation id ${conversation.id} appears twice`);
    conversationIds.add(conversation.id);
    const parents = new Map<string, string | null>();
    conversation.messages.forEach((message, m) => {
      if (messageIds.has(message.id)) throw malformed(`${where}.messages.${m}: the message id ${message.id} appears twice`);
      if (message.parentId !== null && !parents.has(message.parentId)) {
        throw malformed(`${where}.messages.${m}: its parent ${message.parentId} is not an earlier message of the same conversation`);
      }
      if (message.error !== null && message.status !== 'error') {
        throw malformed(`${where}.messages.${m}: only a message with status error has error text`);
      }
      if (message.tokens !== undefined) checkTokenRecord(message.tokens, message.content.length, `${where}.messages.${m}`);
      messageIds.add(message.id);
      parents.set(message.id, message.parentId);
    });
    conversation.messages.forEach((message, m) => {
      if (message.selectedChildId !== null && parents.get(message.selectedChildId) !== message.id) {
        throw malformed(`${where}.messages.${m}: its selected child ${message.selectedChildId} is not one of its children`);
      }
    });
    if (conversation.selectedLeafId !== null && !parents.has(conversation.selectedLeafId)) {
      throw malformed(`${where}: its selected leaf ${conversation.selectedLeafId} is not one of its messages`);
    }
  });
}

