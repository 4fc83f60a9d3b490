// What a failed call means for a person, in the UI language: the code picks the sentence, the
// main side's message is the detail.
import { isErrorCode } from '@shared/user-errors.ts';
import { en } from './i18n/en.ts';
import { t, type MessageKey } from './i18n/index.svelte.ts';
import { ApiError } from './transport.ts';

/** A failed call, in the UI language. */
export function describeError(error: unknown): string {
  const code = error instanceof ApiError ? error.code : 'internal';
  const message = error instanceof Error ? error.message : String(error);
  return describeCode(code, message);
}

/** An error code and the host's message, in the UI language (the message as the detail). */
export function describeCode(code: string, message: string): string {
  const key = errorKey('errors', code);
  return key ? t(key, { message }) : t('errors.generic', { message });
}

const TABLES = { errors: en.errors, 'modelsScreen.errors': en.modelsScreen.errors, 'modelsScreen.importErrors': en.modelsScreen.importErrors };

/**
 * The key of `code`'s words in one of the error tables, or null when that table has none: the
 * tables are keyed by the codes themselves (the one enum, electron/shared/user-errors.ts).
 */
export function errorKey(table: keyof typeof TABLES, code: string): MessageKey | null {
  return isErrorCode(code) && Object.hasOwn(TABLES[table], code) ? (`${table}.${code}` as MessageKey) : null;
}
