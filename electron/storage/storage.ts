// The storage facade the chat services use: one object per database file.
//
// It owns two connections (a writer, and a read-only reader for queries), runs the migrations
// and crash recovery at open, and routes every call through one guard that turns SQLite's
// corruption errors into a StorageCorruptError: the damaged files are copied aside, the
// connections closed, and every later call answers the same error until the UI asks for a
// fresh database (Storage.startFresh). Nothing here ever deletes a database file.
import fs from 'node:fs';
import path from 'node:path';
import {
  backupTo,
  copyAside,
  DEFAULT_BUSY_TIMEOUT_MS,
  hasLeftoverWal,
  integrityProblems,
  moveAside,
  openReadonly,
  openWritable,
  prepare,
  readHeader,
  readPragmas,
  syncWal,
  userVersion,
  type BackupResult,
  type ReadableDB,
  type WritableDB,
} from './database.ts';
import { isBusyError, isCorruptionError, NewerSchemaError, StorageCorruptError, StorageError } from './errors.ts';
import { exportJson, importJson, type ExportFile, type ImportOptions, type ImportResult, type JsonExportOptions } from './export-import.ts';
import { appendStreamText, beginAssistantMessage, finishAssistantMessage, recoverStreaming, resumeAssistantMessage, type NewAssistantMessage } from './messages.ts';
import { getTokenRecord } from './token-records.ts';
import { LATEST_SCHEMA_VERSION, migrate } from './migrations/index.ts';
import { checkBackup } from './backups.ts';
import { readOperations, stampedWriteOperations, writeOperations, type StorageOperations } from './operations.ts';
import { salvageInto, type SalvageResult } from './salvage.ts';
import { StreamWriter, type StreamSink, type StreamWriterOptions } from './stream-writer.ts';
import type { StorageInfo } from './types.ts';

/**
 * Files up to this size get a quick_check at every open (a few hundred ms at most). Larger
 * ones are not checked at open, even after a crash: quick_check reads the whole file (~10-30 s
 * for a million messages), and with WAL and synchronous=FULL a crash does not damage the file;
 * damage met in use is still caught, and checkIntegrity() can run when the app is idle.
 */
const ALWAYS_CHECK_BELOW_BYTES = 64 * 1024 * 1024;

export interface OpenOptions {
  busyTimeoutMs?: number;
  /** `auto` (default): PRAGMA quick_check at open when the file is up to 64 MiB; `always`; `never`. */
  integrityCheck?: 'auto' | 'always' | 'never';
  /** Clock for created/updated times (tests). */
  now?: () => number;
  /** Defaults for the stream writers this storage creates. */
  stream?: Pick<StreamWriterOptions, 'intervalMs' | 'maxChunks'>;
}

type State = { kind: 'open' } | { kind: 'closed' } | { kind: 'corrupt'; error: StorageCorruptError };

function corruptionCause(message: string): Error {
  return Object.assign(new Error(message), { code: 'SQLITE_CORRUPT' });
}

// The class declares the lifecycle and the special cases; the interface of the same name adds the
// methods bound from operations.ts (below, in the static block).
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging, @typescript-eslint/no-empty-object-type -- its members are the operations', defined on the prototype when the class is evaluated
export interface Storage extends StorageOperations {}

// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- see the interface above
export class Storage {
  readonly path: string;
  readonly info: StorageInfo;
  readonly #writer: WritableDB;
  readonly #reader: ReadableDB;
  readonly #now: () => number;
  readonly #streamDefaults: Pick<StreamWriterOptions, 'intervalMs' | 'maxChunks'>;
  readonly #writers = new Set<StreamWriter>();
  #state: State = { kind: 'open' };

  private constructor(file: string, writer: WritableDB, reader: ReadableDB, info: StorageInfo, options: OpenOptions) {
    this.path = file;
    this.#writer = writer;
    this.#reader = reader;
    this.info = info;
    this.#now = options.now ?? Date.now;
    this.#streamDefaults = options.stream ?? {};
  }

  /**
   * Opens (creating if needed) the database at `file`, migrates it, and turns messages left
   * `streaming` by a crash into `interrupted`. Throws NewerSchemaError (file untouched),
   * StorageCorruptError (damaged file copied aside), or StorageError.
   */
  static open(file: string, options: OpenOptions = {}): Storage {
    if (typeof file !== 'string' || file.length === 0 || file === ':memory:' || file.startsWith('file:')) {
      throw new StorageError('INVALID_INPUT', 'Invalid database path: must be the path of a file');
    }
    const resolved = path.resolve(file);
    const now = options.now ?? Date.now;
    const busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
    if (!Number.isInteger(busyTimeoutMs) || busyTimeoutMs < 0) throw new StorageError('INVALID_INPUT', 'Invalid busyTimeoutMs: must be a whole number, 0 or more');

    const header = readHeader(resolved);
    const uncleanShutdown = hasLeftoverWal(resolved);
    if (header.kind === 'not-a-database') {
      throw corruptAfterCopy(resolved, now(), Object.assign(new Error(`file is not a database: ${header.reason}`), { code: 'SQLITE_NOTADB' }));
    }
    if (header.kind === 'database') {
      if (header.userVersion > LATEST_SCHEMA_VERSION) throw new NewerSchemaError(resolved, header.userVersion, LATEST_SCHEMA_VERSION);
      if (header.truncated && !uncleanShutdown) {
        throw corruptAfterCopy(resolved, now(), corruptionCause('database disk image is malformed: the file is shorter than its header says'));
      }
    }
    if (header.kind === 'missing') fs.mkdirSync(path.dirname(resolved), { recursive: true });

    let writer: WritableDB | undefined;
    let reader: ReadableDB | undefined;
    try {
      writer = openWritable(resolved, busyTimeoutMs);
      const mode = options.integrityCheck ?? 'auto';
      const size = header.kind === 'database' ? header.fileSize : 0;
      const integrityChecked = header.kind === 'database' && (mode === 'always' || (mode === 'auto' && size <= ALWAYS_CHECK_BELOW_BYTES));
      if (integrityChecked) {
        const problems = integrityProblems(writer);
        if (problems.length > 0) throw corruptionCause(`database disk image is malformed: ${problems.slice(0, 3).join('; ')}`);
      }
      migrate(writer, resolved);
      const recoveredStreaming = recoverStreaming(writer, now());
      reader = openReadonly(resolved, busyTimeoutMs);
      const info: StorageInfo = {
        path: resolved,
        schemaVersion: userVersion(writer),
        recoveredStreaming,
        pragmas: readPragmas(writer),
        integrityChecked,
      };
      return new Storage(resolved, writer, reader, info, options);
    } catch (error) {
      reader?.close();
      if (isCorruptionError(error)) {
        // Copy before closing: closing checkpoints the WAL into the damaged file.
        const corrupt = corruptAfterCopy(resolved, now(), error);
        writer?.close();
        throw corrupt;
      }
      writer?.close();
      if (error instanceof NewerSchemaError || error instanceof StorageError) throw error;
      throw translateSqliteError(error);
    }
  }

  /**
   * After a StorageCorruptError, and only when the user asked for it: moves the damaged files
   * aside (onto the copies made at detection; nothing is deleted) and opens a fresh database
   * at the same path.
   */
  static startFresh(damaged: StorageCorruptError, options: OpenOptions = {}): Storage {
    if (!(damaged instanceof StorageCorruptError)) throw new StorageError('INVALID_INPUT', 'startFresh needs the StorageCorruptError that reported the damage');
    moveAside(damaged.path, (options.now ?? Date.now)(), damaged.asideCopies);
    return Storage.open(damaged.path, options);
  }

  /**
   * After a StorageCorruptError, when the user asked for it: copies every row SQLite can read
   * from the damaged file into a fresh database, which takes the damaged file's place (the
   * damaged files move onto the copy kept at detection; nothing is deleted).
   */
  static salvage(damaged: StorageCorruptError, options: OpenOptions = {}): { storage: Storage; result: SalvageResult } {
    if (!(damaged instanceof StorageCorruptError)) throw new StorageError('INVALID_INPUT', 'salvage needs the StorageCorruptError that reported the damage');
    const now = (options.now ?? Date.now)();
    const source = damaged.asideCopies[0] !== undefined && fs.existsSync(damaged.asideCopies[0]) ? damaged.asideCopies[0] : damaged.path;
    const fresh = `${damaged.path}.salvage-${process.pid}-${now}`;
    fs.rmSync(fresh, { force: true });
    const result = salvageInto(source, fresh, now);
    moveAside(damaged.path, now, damaged.asideCopies);
    fs.renameSync(fresh, damaged.path);
    return { storage: Storage.open(damaged.path, options), result };
  }

  /**
   * After a StorageCorruptError, when the user asked for it: a backup (checked first) takes
   * the damaged file's place; the damaged files move onto the copy kept at detection.
   */
  static restoreFrom(damaged: StorageCorruptError, backupFile: string, options: OpenOptions = {}): Storage {
    if (!(damaged instanceof StorageCorruptError)) throw new StorageError('INVALID_INPUT', 'restoreFrom needs the StorageCorruptError that reported the damage');
    checkBackup(backupFile);
    const now = (options.now ?? Date.now)();
    const incoming = `${damaged.path}.restore-${process.pid}-${now}`;
    fs.copyFileSync(backupFile, incoming);
    moveAside(damaged.path, now, damaged.asideCopies);
    fs.renameSync(incoming, damaged.path);
    return Storage.open(damaged.path, options);
  }

  /** The damage met in use (every call now answers it), or null. */
  get corruption(): StorageCorruptError | null {
    return this.#state.kind === 'corrupt' ? this.#state.error : null;
  }

  // ---- the declared operations (operations.ts), each bound through the guard ----

  static {
    const bind = (table: object, supplied: (storage: Storage) => unknown[]) => {
      for (const [name, operation] of Object.entries(table) as Array<[string, (...args: unknown[]) => unknown]>) {
        Object.defineProperty(Storage.prototype, name, {
          value(this: Storage, ...args: unknown[]) {
            return this.#guard(() => operation(...supplied(this), ...args));
          },
          writable: true,
          configurable: true,
        });
      }
    };
    bind(readOperations, (storage) => [storage.#reader]);
    bind(writeOperations, (storage) => [storage.#writer]);
    bind(stampedWriteOperations, (storage) => [storage.#writer, storage.#now()]);
  }

  // ---- streaming ----

  /**
   * Begins a `streaming` assistant message (regenerate: pass the old answer's parentId) and
   * returns the writer that batches its text. Finish it with writer.finish(...).
   */
  beginAssistantMessage(input: NewAssistantMessage, options: StreamWriterOptions = {}): StreamWriter {
    const message = this.#guard(() => beginAssistantMessage(this.#writer, input, this.#now()));
    const writer = new StreamWriter(this.#sink, message, { ...this.#streamDefaults, ...options });
    this.#writers.add(writer);
    return writer;
  }

  /**
   * Makes a complete or interrupted answer `streaming` again and returns the writer that appends
   * to its text and token record (Continue). Finish it with writer.finish(...) as a new answer.
   */
  resumeAssistantMessage(messageId: string, options: StreamWriterOptions = {}): StreamWriter {
    const message = this.#guard(() => resumeAssistantMessage(this.#writer, messageId, this.#now()));
    const stored = this.#guard(() => getTokenRecord(this.#writer, messageId));
    const writer = new StreamWriter(this.#sink, message, { ...this.#streamDefaults, ...options }, stored?.tokens ?? []);
    this.#writers.add(writer);
    return writer;
  }

  readonly #sink: StreamSink = {
    append: (messageId, text, tokenPart, durable) =>
      this.#guard(() => {
        if (durable) return appendStreamText(this.#writer, messageId, text, this.#now(), tokenPart);
        // No fsync for this commit: it survives a killed process; the next sync makes it durable.
        prepare(this.#writer, 'PRAGMA synchronous = NORMAL').run();
        try {
          return appendStreamText(this.#writer, messageId, text, this.#now(), tokenPart);
        } finally {
          prepare(this.#writer, 'PRAGMA synchronous = FULL').run();
        }
      }),
    sync: () => this.#guard(() => syncWal(this.path)),
    finish: (messageId, pendingText, tokenPart, outcome) => this.#guard(() => finishAssistantMessage(this.#writer, messageId, pendingText, outcome, this.#now(), tokenPart)),
    now: () => this.#now(),
    release: (writer) => {
      this.#writers.delete(writer);
    },
  };

  // ---- export / import ----

  exportJson(options: JsonExportOptions = {}): ExportFile {
    return this.#guard(() => exportJson(this.#reader, options ?? {}, this.#now()));
  }

  /** The text of an export file, ready to write. */
  exportJsonText(options: JsonExportOptions = {}): string {
    return `${JSON.stringify(this.exportJson(options), null, 2)}\n`;
  }

  /**
   * Imports an export file's text: all or nothing (IMPORT_MALFORMED / IMPORT_UNSUPPORTED_VERSION
   * / CONFLICT). Async because the file validator (zod) is loaded on first use.
   */
  async importJson(text: string, options: ImportOptions = {}): Promise<ImportResult> {
    this.#assertOpen();
    const { parseExportFile } = await import('./import-file.ts');
    const file = parseExportFile(text);
    return this.#guard(() => importJson(this.#writer, file, options ?? {}));
  }

  // ---- maintenance ----

  /** Online backup to `target` (replaced atomically when done). */
  async backup(target: string): Promise<BackupResult> {
    this.#assertOpen();
    if (typeof target !== 'string' || target.length === 0) throw new StorageError('INVALID_INPUT', 'Invalid backup path: must be the path of a file');
    try {
      return await backupTo(this.#reader, this.path, target);
    } catch (error) {
      throw this.#translate(error);
    }
  }

  /** Runs quick_check (integrity_check when `full`); throws StorageCorruptError if the file is damaged. */
  checkIntegrity(full = false): void {
    this.#guard(() => {
      const problems = integrityProblems(this.#writer, full);
      if (problems.length > 0) throw corruptionCause(`database disk image is malformed: ${problems.slice(0, 3).join('; ')}`);
    });
  }

  get isOpen(): boolean {
    return this.#state.kind === 'open';
  }

  /**
   * Finishes open stream writers as `interrupted` (their buffered text committed), then closes.
   * Throws, after closing, the first error that kept a writer's text from being saved.
   */
  close(): void {
    if (this.#state.kind !== 'open') return;
    let firstError: unknown;
    for (const writer of [...this.#writers]) {
      try {
        writer.finish({ status: 'interrupted' });
      } catch (error) {
        // A message purged with its conversation, or finished elsewhere, has nothing to save.
        const gone = error instanceof StorageError && (error.code === 'NOT_FOUND' || error.code === 'CONFLICT');
        if (!gone) firstError ??= error;
      }
    }
    this.#writers.clear();
    this.#closeConnections();
    if (this.#state.kind === 'open') this.#state = { kind: 'closed' };
    if (firstError !== undefined) throw firstError;
  }

  #closeConnections(): void {
    for (const db of [this.#reader, this.#writer]) {
      try {
        if (db.open) db.close();
      } catch {
        // Closing a damaged database may fail; the files are already copied aside.
      }
    }
  }

  #assertOpen(): void {
    if (this.#state.kind === 'corrupt') throw this.#state.error;
    if (this.#state.kind === 'closed') throw new StorageError('CLOSED', 'The conversation database is closed.');
  }

  #guard<T>(fn: () => T): T {
    this.#assertOpen();
    try {
      return fn();
    } catch (error) {
      throw this.#translate(error);
    }
  }

  #translate(error: unknown): unknown {
    if (error instanceof StorageError) return error;
    if (isCorruptionError(error)) return this.#becomeCorrupt(error);
    return translateSqliteError(error);
  }

  #becomeCorrupt(cause: unknown): StorageCorruptError {
    if (this.#state.kind === 'corrupt') return this.#state.error;
    const corrupt = corruptAfterCopy(this.path, this.#now(), cause);
    this.#state = { kind: 'corrupt', error: corrupt };
    this.#closeConnections();
    return corrupt;
  }
}

/**
 * Copies the damaged files aside and returns the error to raise. If the copy itself fails
 * (disk full, read-only folder) the error still says CORRUPT, with no copies and both causes;
 * the original file is left as it is either way.
 */
function corruptAfterCopy(file: string, now: number, cause: unknown): StorageCorruptError {
  try {
    return new StorageCorruptError(file, copyAside(file, now), cause);
  } catch (copyError) {
    return new StorageCorruptError(file, [], new AggregateError([cause, copyError], `${(cause as Error).message}; copying it aside failed: ${(copyError as Error).message}`));
  }
}

/** SQLite errors other than corruption, as StorageErrors with a code; anything else unchanged. */
function translateSqliteError(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  const code = (error as { code?: unknown }).code;
  if (typeof code !== 'string' || !code.startsWith('SQLITE_')) return error;
  if (isBusyError(error)) {
    return new StorageError('BUSY', 'The conversation database is busy (another Jielong window or process holds it); try again.', { cause: error });
  }
  if (/^SQLITE_(FULL|IOERR|READONLY|CANTOPEN|PERM|NOLFS)/.test(code)) {
    return new StorageError('IO', `The conversation database could not be written or read (${code}): ${error.message}`, { cause: error });
  }
  if (code.startsWith('SQLITE_CONSTRAINT')) {
    return new StorageError('CONFLICT', `The change was refused by the database (${code}): ${error.message}`, { cause: error });
  }
  return error;
}

export function openStorage(file: string, options: OpenOptions = {}): Storage {
  return Storage.open(file, options);
}
