// The chat settings' sampling fields: their limits (from the shared schema's limits) and the
// check of what the user typed, with errors as message keys so they show in the UI language.
import { SAMPLING_LIMITS, samplingParamsSchema } from '@shared/model-host-protocol.ts';
import type { MessageKey } from './i18n/index.svelte.ts';

export type SamplingKey = 'temperature' | 'topK' | 'topP' | 'minP' | 'repetitionPenalty' | 'maxNewTokens' | 'seed';

export interface SamplingField {
  key: SamplingKey;
  label: MessageKey;
  hint: MessageKey;
  min: number;
  max: number;
  step: number;
  integer: boolean;
  /** The lower bound itself is not allowed (top-p > 0, repetition penalty > 0). */
  exclusiveMin?: boolean;
  /** The upper bound itself is not allowed (min-p < 1). */
  exclusiveMax?: boolean;
}

export const SAMPLING_FIELDS: readonly SamplingField[] = [
  { key: 'temperature', label: 'settings.temperature', hint: 'settings.temperatureHint', min: 0, max: 5, step: 0.05, integer: false },
  { key: 'topK', label: 'settings.topK', hint: 'settings.topKHint', min: 0, max: SAMPLING_LIMITS.topK, step: 1, integer: true },
  { key: 'topP', label: 'settings.topP', hint: 'settings.topPHint', min: 0, max: 1, step: 0.01, integer: false, exclusiveMin: true },
  { key: 'minP', label: 'settings.minP', hint: 'settings.minPHint', min: 0, max: 1, step: 0.01, integer: false, exclusiveMax: true },
  { key: 'repetitionPenalty', label: 'settings.repetitionPenalty', hint: 'settings.repetitionPenaltyHint', min: 0, max: 10, step: 0.05, integer: false, exclusiveMin: true },
  { key: 'maxNewTokens', label: 'settings.maxTokens', hint: 'settings.maxTokensHint', min: 1, max: SAMPLING_LIMITS.maxNewTokens, step: 1, integer: true },
  { key: 'seed', label: 'settings.seed', hint: 'settings.seedHint', min: 0, max: SAMPLING_LIMITS.seed, step: 1, integer: true },
];

export type SamplingCheck = { ok: true; value: number | null } | { ok: false; error: { key: MessageKey; values: Record<string, number> } };

/** What the user typed in a sampling field: null (empty: the default), a valid number, or why not. */
export function checkSamplingValue(key: SamplingKey, raw: string): SamplingCheck {
  const field = SAMPLING_FIELDS.find((f) => f.key === key);
  if (!field) return { ok: false, error: { key: 'settings.outOfRange', values: { min: 0, max: 0 } } };
  const text = raw.trim();
  if (text === '') return { ok: true, value: null };
  const value = Number(text);
  const range = { key: 'settings.outOfRange' as const, values: { min: field.min, max: field.max } };
  if (!Number.isFinite(value)) return { ok: false, error: range };
  if (field.integer && !Number.isInteger(value)) return { ok: false, error: { key: 'settings.wholeNumber', values: {} } };
  const belowMin = field.exclusiveMin ? value <= field.min : value < field.min;
  const aboveMax = field.exclusiveMax ? value >= field.max : value > field.max;
  if (belowMin || aboveMax) return { ok: false, error: range };
  // The shared schema has the last word (the main side checks with it too).
  const checked = samplingParamsSchema.shape[key].safeParse(value);
  if (!checked.success) return { ok: false, error: range };
  return { ok: true, value };
}
