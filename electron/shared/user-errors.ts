// The one table from low-level error codes (SQLite's, the file system's errno) to the codes
// the UI shows a message for. The renderer has the words for each code in both languages
// (renderer/src/lib/i18n: errors.<code>); the main side answers the code with a plain English
// sentence and never the raw text (SQLITE_READONLY, EACCES, a path's errno message).
export type UserErrorCode = 'storage_readonly' | 'storage_full' | 'storage_busy' | 'storage_io' | 'storage_corrupt';

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

/** What each code means, in plain English (the renderer shows its own translation by code). */
export const USER_ERROR_MESSAGES: Record<UserErrorCode, string> = {
  storage_readonly: 'Jielong cannot write to its data folder (it is read-only). Nothing was saved.',
  storage_full: 'The disk is full: nothing was saved. Free some space and try again.',
  storage_busy: 'The conversation database is in use by another Jielong; try again in a moment.',
  storage_io: 'Jielong could not read or write its data folder. Nothing was saved.',
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
