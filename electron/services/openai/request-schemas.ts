// What the OpenAI-compatible endpoints accept, checked where a request enters: every field
// Jielong honours, with its range, and nothing else — an unknown field or a value we would
// have to ignore is a 400 naming the field, never silently dropped.
import { randomInt } from 'node:crypto';
import { z } from 'zod';
import { SAMPLING_LIMITS, type ChatMessage, type SamplingParams, type SeededSamplingParams } from '../../shared/model-host-protocol.ts';
import { badRequest, type OpenAiError } from './errors.ts';

export const MAX_STOP_STRINGS = 4;
export const MAX_TOP_LOGPROBS = SAMPLING_LIMITS.candidates;

const textPart = z.object({ type: z.literal('text'), text: z.string().max(1_000_000) }).strict();
const content = z.union([z.string().max(1_000_000), z.array(textPart).max(1000)], {
  error: 'content must be a string or an array of {"type": "text", "text": ...} parts (text only)',
});

const message = z
  .object({
    // OpenAI's newer name for the system role.
    role: z.enum(['system', 'developer', 'user', 'assistant'], { error: 'role must be system, developer, user or assistant (tools are not supported)' }),
    content: content.nullable(),
    name: z.string().max(256).optional(),
  })
  .strict();

const stop = z.union([z.string().min(1, 'a stop string must not be empty').max(256), z.array(z.string().min(1, 'a stop string must not be empty').max(256)).max(MAX_STOP_STRINGS, `at most ${MAX_STOP_STRINGS} stop strings`)], {
  error: `stop must be a string or an array of up to ${MAX_STOP_STRINGS} strings`,
});

const tokens = (name: string) =>
  z.number().int(`${name} must be a whole number`).min(1, `${name} must be at least 1`).max(SAMPLING_LIMITS.maxNewTokens, `${name} must be at most ${SAMPLING_LIMITS.maxNewTokens}`);

/** Fields both endpoints share. */
const sampling = {
  model: z.string({ error: 'model is required: one of the ids GET /v1/models lists' }).min(1).max(256),
  stream: z.boolean().nullable().optional(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).strict().nullable().optional(),
  max_tokens: tokens('max_tokens').nullable().optional(),
  temperature: z.number().min(0, 'temperature must be between 0 and 2').max(2, 'temperature must be between 0 and 2').nullable().optional(),
  top_p: z.number().gt(0, 'top_p must be in (0, 1]').max(1, 'top_p must be in (0, 1]').nullable().optional(),
  seed: z.number().int('seed must be a whole number').min(0, 'seed must be 0 or more').max(SAMPLING_LIMITS.seed, `seed must be at most ${SAMPLING_LIMITS.seed}`).nullable().optional(),
  stop: stop.nullable().optional(),
  n: z.literal(1, 'only n = 1 is supported: one answer per request').nullable().optional(),
  user: z.string().max(256).optional(),
  // Accepted only at their neutral value (what not sending them means): anything else would be ignored.
  frequency_penalty: z.literal(0, 'frequency_penalty is not supported (use repetition_penalty)').nullable().optional(),
  presence_penalty: z.literal(0, 'presence_penalty is not supported (use repetition_penalty)').nullable().optional(),
  // Extensions (llama.cpp, vLLM spell them the same way).
  top_k: z.number().int('top_k must be a whole number').min(0, 'top_k must be 0 (off) or more').max(SAMPLING_LIMITS.topK).nullable().optional(),
  min_p: z.number().min(0, 'min_p must be in [0, 1)').lt(1, 'min_p must be in [0, 1)').nullable().optional(),
  repetition_penalty: z.number().gt(0, 'repetition_penalty must be above 0').max(10, 'repetition_penalty must be at most 10').nullable().optional(),
};

export const chatCompletionRequestSchema = z
  .object({
    ...sampling,
    messages: z.array(message, { error: 'messages must be an array of {role, content}' }).min(1, 'messages must not be empty').max(100_000),
    max_completion_tokens: tokens('max_completion_tokens').nullable().optional(),
    logprobs: z.boolean().nullable().optional(),
    top_logprobs: z.number().int('top_logprobs must be a whole number').min(0, `top_logprobs must be 0 to ${MAX_TOP_LOGPROBS}`).max(MAX_TOP_LOGPROBS, `top_logprobs must be 0 to ${MAX_TOP_LOGPROBS}`).nullable().optional(),
  })
  .strict();
export type ChatCompletionRequest = z.infer<typeof chatCompletionRequestSchema>;

export const completionRequestSchema = z
  .object({
    ...sampling,
    prompt: z.union([z.string().max(4_000_000), z.array(z.string().max(4_000_000)).length(1, 'prompt as an array must hold exactly one string (n = 1)')], {
      error: 'prompt must be a string',
    }),
    /** Legacy logprobs: how many alternatives per token (0-5 at OpenAI; up to 20 here). */
    logprobs: z.number().int('logprobs must be a whole number').min(0, `logprobs must be 0 to ${MAX_TOP_LOGPROBS}`).max(MAX_TOP_LOGPROBS, `logprobs must be 0 to ${MAX_TOP_LOGPROBS}`).nullable().optional(),
    echo: z.literal(false, 'echo is not supported').nullable().optional(),
    best_of: z.literal(1, 'only best_of = 1 is supported').nullable().optional(),
  })
  .strict();
export type CompletionRequest = z.infer<typeof completionRequestSchema>;

/** The first problem of a refused body, as OpenAI words it: the field in `param`. */
export function requestError(error: z.ZodError): OpenAiError {
  const issue = error.issues[0];
  if (!issue) return badRequest('The request body is invalid');
  if (issue.code === 'unrecognized_keys') {
    const where = issue.path.length ? `${formatPath(issue.path)}.` : '';
    const key = `${where}${issue.keys[0] ?? ''}`;
    return badRequest(`Unrecognized request argument supplied: ${issue.keys.map((k) => where + k).join(', ')}`, key, 'unknown_parameter');
  }
  const param = formatPath(issue.path);
  if (issue.code === 'invalid_type' && issue.input === undefined) return badRequest(`Missing required parameter: '${param}'.`, param, 'missing_required_parameter');
  return badRequest(`Invalid value for '${param}': ${issue.message}`, param || null);
}

function formatPath(path: PropertyKey[]): string {
  return path.reduce<string>((out, part) => (typeof part === 'number' ? `${out}[${part}]` : out ? `${out}.${String(part)}` : String(part)), '');
}

/** The request's sampling over the app's defaults (Settings → Sampling) for the fields it leaves out; a seed picked here when it names none (reported back in the stats). */
export function samplingFrom(request: ChatCompletionRequest | CompletionRequest, defaults: Omit<SamplingParams, 'seed'>): SeededSamplingParams {
  const maxTokens = ('max_completion_tokens' in request ? request.max_completion_tokens : null) ?? request.max_tokens;
  return {
    temperature: request.temperature ?? defaults.temperature,
    topK: request.top_k ?? defaults.topK,
    topP: request.top_p ?? defaults.topP,
    minP: request.min_p ?? defaults.minP,
    repetitionPenalty: request.repetition_penalty ?? defaults.repetitionPenalty,
    maxNewTokens: maxTokens ?? defaults.maxNewTokens,
    seed: request.seed ?? randomInt(0, SAMPLING_LIMITS.seed),
  };
}

export function stopStrings(request: { stop?: string | string[] | null | undefined }): string[] {
  const value = request.stop;
  if (value === null || value === undefined) return [];
  return typeof value === 'string' ? [value] : value;
}

/** OpenAI messages as the chat template takes them (developer is system; text parts joined). */
export function chatMessagesFrom(request: ChatCompletionRequest): ChatMessage[] {
  return request.messages.map((m) => ({
    role: m.role === 'developer' ? 'system' : m.role,
    content: m.content === null ? '' : typeof m.content === 'string' ? m.content : m.content.map((part) => part.text).join(''),
  }));
}
