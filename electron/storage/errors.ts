// Typed errors of the storage layer. Every error the storage module throws on purpose is a
// StorageError with a stable `code` that the UI (through the contract layer) can switch on;
// the message is written for a person.
import type { ErrorCode } from '../shared/user-errors.ts';

export type StorageErrorCode =
  /** The database file is damaged (SQLITE_CORRUPT / SQLITE_NOTADB). A copy was put aside. */
  | 'CORRUPT'
  /** The file was written by a newer Jielong; it was not touched. */
  | 'NEWER_SCHEMA'
  /** A pragma did not take the value the storage layer needs (read back after setting). */
  | 'PRAGMA_MISMATCH'
  /** A migration failed; the database was left at its previous version. */
  | 'MIGRATION_FAILED'
  /** The conversation or message does not exist (or is in the trash when it must not be). */
  | 'NOT_FOUND'
  /** A caller passed something the storage layer refuses (wrong type, too long, wrong tree). */
  | 'INVALID_INPUT'
  /** The operation conflicts with the current state (e.g. appending to a finished message). */
  | 'CONFLICT'
  /** An import file is not valid JSON or not in our format; nothing was imported. */
  | 'IMPORT_MALFORMED'
  /** An import file declares a format version this code does not know; nothing was imported. */
  | 'IMPORT_UNSUPPORTED_VERSION'
  /** The storage was closed (or closed itself after detecting corruption). */
  | 'CLOSED'
  /** Another connection held the database longer than busy_timeout. */
  | 'BUSY'
  /** The file system refused (permissions, disk full, path is a directory...). */
  | 'IO';

/** The code the UI has words for (electron/shared/user-errors.ts), for each storage code. */
const USER_CODES: Record<StorageErrorCode, ErrorCode> = {
  CORRUPT: 'storage_corrupt',
  NEWER_SCHEMA: 'newer_schema',
  PRAGMA_MISMATCH: 'pragma_mismatch',
  MIGRATION_FAILED: 'migration_failed',
  NOT_FOUND: 'not_found',
  INVALID_INPUT: 'invalid_input',
  CONFLICT: 'conflict',
  IMPORT_MALFORMED: 'import_malformed',
  IMPORT_UNSUPPORTED_VERSION: 'import_unsupported_version',
  CLOSED: 'closed',
  BUSY: 'storage_busy',
  IO: 'storage_io',
};

export class StorageError extends Error {
  readonly code: StorageErrorCode;

  constructor(code: StorageErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StorageError';
    this.code = code;
  }

  /** The code a person is shown words for. */
  get userCode(): ErrorCode {
    return USER_CODES[this.code];
  }

  /** What crosses a process boundary: the code and the message, never a stack. */
  toJSON(): { name: string; code: StorageErrorCode; message: string } {
    return { name: this.name, code: this.code, message: this.message };
  }
}

/** The database is damaged. `asideCopies` are the copies made of the damaged files (never deleted). */
export class StorageCorruptError extends StorageError {
  readonly path: string;
  readonly asideCopies: readonly string[];

  constructor(path: string, asideCopies: readonly string[], cause: unknown) {
    const where = asideCopies.length > 0 ? ` A copy of the damaged file was kept at ${asideCopies[0]}.` : '';
    super(
      'CORRUPT',
      `The conversation database at ${path} is damaged (${describeCause(cause)}).${where} ` +
        'Jielong can start a fresh database when you ask it to; the damaged file is never deleted.',
      { cause },
    );
    this.name = 'StorageCorruptError';
    this.path = path;
    this.asideCopies = asideCopies;
  }

  override toJSON(): { name: string; code: StorageErrorCode; message: string; path: string; asideCopies: string[] } {
    return { ...super.toJSON(), path: this.path, asideCopies: [...this.asideCopies] };
  }
}

/** The file's schema version is newer than this code knows. The file was not modified. */
export class NewerSchemaError extends StorageError {
  readonly found: number;
  readonly supported: number;

  constructor(path: string, found: number, supported: number) {
    super(
      'NEWER_SCHEMA',
      `The conversation database at ${path} was written by a newer version of Jielong (schema version ${found}; ` +
        `this version understands up to ${supported}). Update Jielong to open it. The file was not changed.`,
    );
    this.name = 'NewerSchemaError';
    this.found = found;
    this.supported = supported;
  }
}

function describeCause(cause: unknown): string {
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code;
    return typeof code === 'string' ? `${code}: ${cause.message}` : cause.message;
  }
  return String(cause);
}

/** SQLite result codes (primary and extended) that mean the file's bytes are not a sound database. */
export function isCorruptionError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB')) return true;
  // Some paths (FTS5 internals, pragma results) report corruption only in the message.
  const message = error.message;
  return (
    message.includes('database disk image is malformed') ||
    message.includes('file is not a database') ||
    message.includes('SQLITE_CORRUPT')
  );
}

export function isBusyError(error: unknown): boolean {
  const code = error instanceof Error ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}

export function notFound(what: string, id: string): StorageError {
  return new StorageError('NOT_FOUND', `No ${what} with id ${JSON.stringify(id)}.`);
}

export function invalidInput(message: string): StorageError {
  return new StorageError('INVALID_INPUT', message);
}
