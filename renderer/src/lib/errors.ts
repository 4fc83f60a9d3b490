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
  // The errors table is keyed by the codes themselves (electron/shared/user-errors.ts).
  return isErrorCode(code) && code in en.errors ? t(`errors.${code}` as MessageKey, { message }) : t('errors.generic', { message });
}
