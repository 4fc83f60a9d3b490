// The storage layer's public surface for the chat services (electron/services). Import from
// here; the other files are internals and may change.
export { Storage, openStorage, type OpenOptions } from './storage.ts';
export { StreamWriter, type CommittedBatch, type StreamWriterOptions } from './stream-writer.ts';
export { StorageError, StorageCorruptError, NewerSchemaError, type StorageErrorCode } from './errors.ts';
export { LATEST_SCHEMA_VERSION } from './migrations/index.ts';
export { EXPORT_FORMAT, EXPORT_VERSION, exportFileName } from './export-import.ts';
export type { ExportFile, ExportedConversation, ExportedMessage, ImportConflict, ImportOptions, ImportResult, JsonExportOptions } from './export-import.ts';
export type { ConversationSettings, ListOptions, NewConversation } from './conversations.ts';
export type { NewPreset, StoredPreset } from './presets.ts';
export type { FinishOutcome, NewAssistantMessage, NewUserMessage } from './messages.ts';
export type { SearchOptions } from './search.ts';
export type { BackupResult } from './database.ts';
export { listBackups, rollBackup, type BackupInfo } from './backups.ts';
export type { SalvageResult } from './salvage.ts';
export type * from './types.ts';
