// The chat settings' sampling fields: their limits, read from the shared schema (the one the
// main side and the model host check with), and the check of what the user typed, with errors
// as message keys so they show in the UI language.
import { z } from 'zod';
import { samplingParamsSchema } from '@shared/model-host-protocol.ts';
import type { MessageKey } from './i18n/index.svelte.ts';

export type SamplingKey = keyof z.infer<typeof samplingParamsSchema>;

export interface SamplingField {
  key: SamplingKey;
  label: MessageKey;
  hint: MessageKey;
  min: number;
  max: number;
  step: number;
  integer: boolean;
  /** The lower bound itself is not allowed (top-p > 0, repetition penalty > 0). */
  exclusiveMin: boolean;
  /** The upper bound itself is not allowed (min-p < 1). */
  exclusiveMax: boolean;
}

interface NumberLimits {
  type?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
}

/** Every field's bounds as the schema states them (its JSON Schema form names them plainly). */
const limits = (z.toJSONSchema(samplingParamsSchema) as { properties: Record<SamplingKey, NumberLimits> }).properties;

function field(key: SamplingKey, label: MessageKey, hint: MessageKey, step: number): SamplingField {
  const schema = limits[key];
  const min = schema.minimum ?? schema.exclusiveMinimum;
  const max = schema.maximum ?? schema.exclusiveMaximum;
  if (min === undefined || max === undefined) throw new Error(`the sampling schema gives ${key} no bounds`);
  return { key, label, hint, min, max, step, integer: schema.type === 'integer', exclusiveMin: schema.exclusiveMinimum !== undefined, exclusiveMax: schema.exclusiveMaximum !== undefined };
}

/** In the order the settings show them; the step is how far the arrows of the input move. */
export const SAMPLING_FIELDS: readonly SamplingField[] = [
  field('temperature', 'settings.temperature', 'settings.temperatureHint', 0.05),
  field('topK', 'settings.topK', 'settings.topKHint', 1),
  field('topP', 'settings.topP', 'settings.topPHint', 0.01),
  field('minP', 'settings.minP', 'settings.minPHint', 0.01),
  field('repetitionPenalty', 'settings.repetitionPenalty', 'settings.repetitionPenaltyHint', 0.05),
  field('maxNewTokens', 'settings.maxTokens', 'settings.maxTokensHint', 1),
  field('seed', 'settings.seed', 'settings.seedHint', 1),
];

export type SamplingCheck = { ok: true; value: number | null } | { ok: false; error: { key: MessageKey; values: Record<string, number> } };

/** What the user typed in a sampling field: null (empty: the default), a valid number, or why not. */
export function checkSamplingValue(key: SamplingKey, raw: string): SamplingCheck {
  const field = SAMPLING_FIELDS.find((f) => f.key === key);
  if (!field) return { ok: false, error: { key: 'settings.outOfRange', values: { min: 0, max: 0 } } };
  const text = raw.trim();
  if (text === '') return { ok: true, value: null };
  const value = Number(text);
  if (Number.isFinite(value) && field.integer && !Number.isInteger(value)) return { ok: false, error: { key: 'settings.wholeNumber', values: {} } };
  // The schema itself decides; the message says the range it allows.
  if (!Number.isFinite(value) || !samplingParamsSchema.shape[key].safeParse(value).success) {
    return { ok: false, error: { key: 'settings.outOfRange', values: { min: field.min, max: field.max } } };
  }
  return { ok: true, value };
}
