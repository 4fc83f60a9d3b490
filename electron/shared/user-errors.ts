// Every error code a person can be shown, in one enum, and the one table from low-level codes
// (SQLite's, the file system's errno) to those codes. The renderer has the words for a code in
// both languages, looked up by the code itself (renderer/src/lib/i18n: errors.<code>, and the
// Models screen's modelsScreen.errors.<code> / importErrors.<code>); a code without words there
// is shown as "something went wrong" with the main side's message. The main side never answers
// raw text (SQLITE_READONLY, EACCES, a path's errno message) for the storage codes.

/** The codes, by where they start. A code may start in more than one place (`busy`, `not_found`). */
export const ERROR_CODES = {
  /** The dispatch and the services behind it, for any call. */
  call: ['invalid_input', 'unknown_call', 'not_found', 'busy', 'no_model', 'unsupported', 'internal', 'stale_view'],
  /** The model host (its protocol's `error` event), and remote OpenAI-compatible engines (remote_*). */
  host: [
    'invalid_request',
    'model_not_found',
    'model_invalid',
    'load_failed',
    'load_timeout',
    'not_loaded',
    'busy',
    'context_full',
    'generation_failed',
    /** The model folder has no chat template: the import can offer one (recoverable). */
    'no_chat_template',
    /** A chat template fails to render a conversation (its message names the template). */
    'chat_template_invalid',
    'host_exited',
    'remote_unreachable',
    'remote_unauthorized',
    'remote_rate_limited',
    'remote_failed',
    /** The answer stopped part-way (connection cut or stalled): what arrived is kept. */
    'remote_stream_cut',
  ],
  /** The conversation database and the data folder (electron/storage; the raw-code table below). */
  storage: [
    'storage_corrupt',
    'storage_readonly',
    'storage_full',
    'storage_busy',
    'storage_io',
    'conflict',
    'newer_schema',
    'pragma_mismatch',
    'migration_failed',
    'import_malformed',
    'import_unsupported_version',
    'closed',
  ],
  /** Model downloads (electron/services/downloads). */
  download: [
    'invalid_spec',
    'already_installed',
    'already_downloading',
    'not_found',
    'forbidden',
    'invalid_model',
    'network',
    'http_error',
    'verify_failed',
    'disk_full',
    'io_error',
    'unknown_download',
    'cancelled',
  ],
  /** The installed models: removal, the default, the list (electron/services/model-registry.ts). */
  registry: [
    'not_found',
    'invalid_model',
    'invalid_request',
    'already_exists',
    'confirmation_required',
    'read_only',
    'in_use',
    'disk_full',
    'io_error',
    /** Importing a folder without a chat template, none chosen: choose one and import again. */
    'no_chat_template',
    'chat_template_invalid',
  ],
  /** Importing a model folder (electron/services/import-guard.ts). */
  modelImport: ['folder_not_found', 'unsafe_folder', 'invalid_model', 'timeout'],
  /** The renderer's own, when the main side cannot be reached or does not answer. */
  connection: ['disconnected', 'transport_unavailable', 'timeout'],
} as const;

type CodesOf<Group extends keyof typeof ERROR_CODES> = (typeof ERROR_CODES)[Group][number];
export type ErrorCode = CodesOf<keyof typeof ERROR_CODES>;
export type HostErrorCode = CodesOf<'host'>;
export type StorageUserErrorCode = CodesOf<'storage'>;
export type DownloadErrorCode = CodesOf<'download'>;
export type RegistryErrorCode = CodesOf<'registry'>;
export type ImportRefusalCode = CodesOf<'modelImport'>;

const ALL_CODES: ReadonlySet<string> = new Set(Object.values(ERROR_CODES).flat());

export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && ALL_CODES.has(code);
}

/** The storage codes the raw-code table below maps SQLite and errno codes to. */
export type UserErrorCode = Extract<StorageUserErrorCode, 'storage_readonly' | 'storage_full' | 'storage_busy' | 'storage_io' | 'storage_corrupt'>;

/** Prefix match on the raw code: SQLITE_READONLY_DBMOVED is SQLITE_READONLY. */
const TABLE: ReadonlyArray<readonly [raw: string, code: UserErrorCode]> = [
  ['SQLITE_READONLY', 'storage_readonly'],
  ['SQLITE_PERM', 'storage_readonly'],
  ['SQLITE_AUTH', 'storage_readonly'],
  ['EACCES', 'storage_readonly'],
  ['EPERM', 'storage_readonly'],
  ['EROFS', 'storage_readonly'],
  ['SQLITE_FULL', 'storage_full'],
  ['ENOSPC', 'storage_full'],
  ['EDQUOT', 'storage_full'],
  ['EFBIG', 'storage_full'],
  ['SQLITE_BUSY', 'storage_busy'],
  ['SQLITE_LOCKED', 'storage_busy'],
  ['EBUSY', 'storage_busy'],
  ['SQLITE_CORRUPT', 'storage_corrupt'],
  ['SQLITE_NOTADB', 'storage_corrupt'],
  ['SQLITE_IOERR', 'storage_io'],
  ['SQLITE_CANTOPEN', 'storage_io'],
  ['SQLITE_NOLFS', 'storage_io'],
  ['EIO', 'storage_io'],
  ['ENOTDIR', 'storage_io'],
  ['EMFILE', 'storage_io'],
  ['ENFILE', 'storage_io'],
];

/**
 * What the main side answers beside each of these codes: a plain statement of what failed, for
 * logs and the browser console, never SQLite's or errno's raw text. The words a person reads are
 * the UI's, looked up by the code (renderer/src/lib/i18n: errors.<code>).
 */
export const USER_ERROR_DETAILS: Record<UserErrorCode, string> = {
  storage_readonly: 'The data folder is read-only.',
  storage_full: 'The disk is full.',
  storage_busy: 'The conversation database is held by another process.',
  storage_io: 'The data folder could not be read or written.',
  storage_corrupt: 'The conversation database is damaged.',
};

function rawCode(error: unknown): string | null {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : null;
}

/** The user error code for `error` or any error in its cause chain, or null when none is in the table. */
export function userErrorCodeFor(error: unknown): UserErrorCode | null {
  for (let current: unknown = error, depth = 0; current !== null && current !== undefined && depth < 8; depth += 1) {
    const raw = rawCode(current);
    if (raw !== null) {
      const hit = TABLE.find(([prefix]) => raw === prefix || raw.startsWith(`${prefix}_`));
      if (hit) return hit[1];
    }
    current = (current as { cause?: unknown }).cause;
  }
  return null;
}
