// What a failed call means for a person, in the UI language: the code picks the sentence, the
// main side's message is the detail.
import { t, type MessageKey } from './i18n/index.svelte.ts';
import { ApiError } from './transport.ts';

const KNOWN: Record<string, MessageKey> = {
  not_loaded: 'errors.not_loaded',
  no_model: 'errors.no_model',
  busy: 'errors.busy',
  host_exited: 'errors.host_exited',
  disconnected: 'errors.disconnected',
  transport_unavailable: 'errors.transport_unavailable',
  timeout: 'errors.timeout',
  not_found: 'errors.not_found',
  invalid_input: 'errors.invalid_input',
  context_full: 'errors.context_full',
  generation_failed: 'errors.generation_failed',
  load_failed: 'errors.load_failed',
  model_not_found: 'errors.model_not_found',
  storage_corrupt: 'errors.storage_corrupt',
  storage_readonly: 'errors.storage_readonly',
  storage_full: 'errors.storage_full',
  storage_busy: 'errors.storage_busy',
  storage_io: 'errors.storage_io',
  conflict: 'errors.storage_conflict',
  stale_view: 'errors.stale_view',
};

/** A failed call, in the UI language. */
export function describeError(error: unknown): string {
  const code = error instanceof ApiError ? error.code : 'internal';
  const message = error instanceof Error ? error.message : String(error);
  return describeCode(code, message);
}

/** An error code and the host's message, in the UI language (the message as the detail). */
export function describeCode(code: string, message: string): string {
  const key = KNOWN[code];
  return key ? t(key, { message }) : t('errors.generic', { message });
}
