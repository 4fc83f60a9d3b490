// The storage's read and write operations, declared once. Each is a free function whose first
// parameters are what the facade supplies (the connection, and for stamped writes the time);
// the Storage facade (storage.ts) derives its method signatures from these tables and binds
// every entry through its corruption guard, so adding an operation is one line here.
import { createConversation, getConversation, listConversations, listTrash, purgeConversation, purgeTrash, renameConversation, restoreConversation, setPinned, softDeleteConversation, updateConversationSettings } from './conversations.ts';
import type { ReadableDB, WritableDB } from './database.ts';
import { exportAllMarkdown, exportMarkdown } from './export-import.ts';
import { appendUserMessage, getMessage, getSiblings, loadActivePath, selectMessage } from './messages.ts';
import { createPreset, deletePreset, getPreset, listPresets, renamePreset } from './presets.ts';
import { optimizeSearchIndex, search } from './search.ts';
import { getTokenRecord } from './token-records.ts';

/** Run on the read-only connection: `(db, ...args)`. */
export const readOperations = {
  getConversation,
  listConversations,
  listTrash,
  loadActivePath,
  getMessage,
  getSiblings,
  search,
  exportMarkdown,
  exportAllMarkdown,
  listPresets,
  getPreset,
  getTokenRecord,
} satisfies OperationTable<[ReadableDB]>;

/** Run on the writer: `(db, ...args)`. */
export const writeOperations = {
  setPinned,
  restoreConversation,
  purgeConversation,
  emptyTrash: purgeTrash,
  selectMessage,
  optimizeSearchIndex,
} satisfies OperationTable<[WritableDB]>;

/** Run on the writer with the storage clock's time: `(db, now, ...args)`. */
export const stampedWriteOperations = {
  createConversation,
  renameConversation,
  updateConversationSettings,
  softDeleteConversation,
  appendUserMessage,
  createPreset,
  renamePreset,
  deletePreset,
} satisfies OperationTable<[WritableDB, number]>;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each operation has its own arguments
type OperationTable<Supplied extends unknown[]> = Record<string, (...args: [...Supplied, ...any[]]) => unknown>;

/** An operation table as methods: the parameters the facade supplies are gone. */
export type Bound<Table, Supplied extends unknown[]> = {
  [Name in keyof Table]: Table[Name] extends (...args: [...Supplied, ...infer Args]) => infer Result ? (...args: Args) => Result : never;
};

/** Every method the facade derives from the tables. */
export type StorageOperations = Bound<typeof readOperations, [ReadableDB]> &
  Bound<typeof writeOperations, [WritableDB]> &
  Bound<typeof stampedWriteOperations, [WritableDB, number]>;
