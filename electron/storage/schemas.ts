// Validation of what callers pass in. Every refusal is a StorageError('INVALID_INPUT') whose
// message names the field and the rule.
import { z } from 'zod';
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

export const idSchema = z.string().min(1, 'must not be empty').max(LIMITS.idLength, `must be at most ${LIMITS.idLength} characters`);

export const titleSchema = z
  .string()
  .transform((title) => title.replace(/\s+/gu, ' ').trim())
  .pipe(z.string().min(1, 'must not be empty').max(LIMITS.titleLength, `must be at most ${LIMITS.titleLength} characters`));

export const modelIdSchema = z.string().min(1, 'must not be empty').max(LIMITS.modelIdLength, `must be at most ${LIMITS.modelIdLength} characters`);

export const systemPromptSchema = z.string().max(LIMITS.systemPromptLength, `must be at most ${LIMITS.systemPromptLength} characters`);

export const contentSchema = z.string().max(LIMITS.contentLength, `must be at most ${LIMITS.contentLength} characters`);

const recordKey = z.string().min(1).max(LIMITS.recordKeyLength);

export const samplingSchema: z.ZodType<SamplingParams> = z
  .record(recordKey, z.number())
  .refine((record) => Object.keys(record).length <= LIMITS.recordKeys, `must have at most ${LIMITS.recordKeys} entries`);

export const statsSchema: z.ZodType<MessageStats> = z
  .record(recordKey, z.union([z.number(), z.string().max(LIMITS.statsStringLength)]))
  .refine((record) => Object.keys(record).length <= LIMITS.recordKeys, `must have at most ${LIMITS.recordKeys} entries`);

export const seedSchema = z.number().int('must be a whole number').min(Number.MIN_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER);

export const errorTextSchema = z.string().max(LIMITS.errorLength, `must be at most ${LIMITS.errorLength} characters`);

export function describeIssues(error: z.ZodError, limit = 3): string {
  return error.issues
    .slice(0, limit)
    .map((issue) => `${issue.path.length > 0 ? issue.path.map(String).join('.') : 'value'}: ${issue.message}`)
    .join('; ');
}

/** Parses `value` or throws INVALID_INPUT naming `what`. */
export function check<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value);
  if (!result.success) throw new StorageError('INVALID_INPUT', `Invalid ${what}: ${describeIssues(result.error)}`);
  return result.data;
}

/** Like `check`, for optional-or-null fields: undefined stays undefined, null stays null. */
export function checkNullable<T>(schema: z.ZodType<T>, value: unknown, what: string): T | null | undefined {
  if (value === undefined || value === null) return value;
  return check(schema, value, what);
}

/** Parses JSON we wrote ourselves (sampling, stats); a damaged value reads as null, never throws. */
export function parseJsonColumn<T>(text: string | null): T | null {
  if (text === null) return null;
  try {
    return JSON.parse(text) as T;
  } catch {
    return null;
  }
}
