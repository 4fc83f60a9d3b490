// Validation of what callers pass in. Every refusal is a StorageError('INVALID_INPUT') whose
// message names the field and the rule.
//
// These checks are plain functions rather than zod schemas: they run on every call, and
// loading zod costs ~100 ms of startup that the storage's hot path does not need (zod
// validates import files, in import-file.ts, loaded when an import happens).
import { StorageError } from './errors.ts';
import type { MessageStats, SamplingParams } from './types.ts';

export const LIMITS = {
  idLength: 128,
  titleLength: 500,
  modelIdLength: 512,
  /** 16 Mi UTF-16 units: far above any chat message; refused with a clear error rather than truncated. */
  contentLength: 16 * 1024 * 1024,
  systemPromptLength: 1024 * 1024,
  errorLength: 16 * 1024,
  recordKeys: 64,
  recordKeyLength: 64,
  statsStringLength: 256,
  pageSize: 500,
} as const;

/** Returns the (possibly normalized) value, or throws a Problem saying what is wrong. */
export type Rule<T> = (value: unknown) => T;

class Problem extends Error {}

function fail(message: string): never {
  throw new Problem(message);
}

function text(min: number, max: number): Rule<string> {
  return (value) => {
    if (typeof value !== 'string') fail('must be a string');
    if (value.length < min) fail('must not be empty');
    if (value.length > max) fail(`must be at most ${max} characters`);
    return value;
  };
}

export const idRule = text(1, LIMITS.idLength);
export const modelIdRule = text(1, LIMITS.modelIdLength);
export const systemPromptRule = text(0, LIMITS.systemPromptLength);
export const contentRule = text(0, LIMITS.contentLength);
export const errorTextRule = text(0, LIMITS.errorLength);

/** Whitespace runs become one space, ends are trimmed; then 1 to 500 characters. */
export const titleRule: Rule<string> = (value) => {
  if (typeof value !== 'string') fail('must be a string');
  return text(1, LIMITS.titleLength)(value.replace(/\s+/gu, ' ').trim());
};

function record<V>(valueRule: (value: unknown, key: string) => V): Rule<Record<string, V>> {
  return (value) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) fail('must be an object');
    const entries = Object.entries(value);
    if (entries.length > LIMITS.recordKeys) fail(`must have at most ${LIMITS.recordKeys} entries`);
    const out: Record<string, V> = {};
    for (const [key, entry] of entries) {
      if (key.length === 0 || key.length > LIMITS.recordKeyLength) fail(`names must be 1 to ${LIMITS.recordKeyLength} characters`);
      out[key] = valueRule(entry, key);
    }
    return out;
  };
}

const finiteNumber = (value: unknown, key: string): number => {
  if (typeof value !== 'number' || !Number.isFinite(value)) fail(`${key} must be a finite number`);
  return value;
};

export const samplingRule: Rule<SamplingParams> = record(finiteNumber);

export const statsRule: Rule<MessageStats> = record((value, key) => {
  if (typeof value === 'string') {
    if (value.length > LIMITS.statsStringLength) fail(`${key} must be at most ${LIMITS.statsStringLength} characters`);
    return value;
  }
  return finiteNumber(value, key);
});

export const seedRule: Rule<number> = (value) => {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) fail('must be a whole number');
  return value;
};

/** Applies `rule` or throws INVALID_INPUT naming `what`. */
export function check<T>(rule: Rule<T>, value: unknown, what: string): T {
  try {
    return rule(value);
  } catch (error) {
    if (error instanceof Problem) throw new StorageError('INVALID_INPUT', `Invalid ${what}: ${error.message}`);
    throw error;
  }
}

/** Like `check`, for optional-or-null fields: undefined stays undefined, null stays null. */
export function checkNullable<T>(rule: Rule<T>, value: unknown, what: string): T | null | undefined {
  if (value === undefined || value === null) return value;
  return check(rule, value, what);
}

/** Parses JSON we wrote ourselves (sampling, stats; SQLite checks json_valid on write). */
export function parseJsonColumn<T>(json: string | null): T | null {
  if (json === null) return null;
  try {
    return JSON.parse(json) as T;
  } catch {
    return null;
  }
}
