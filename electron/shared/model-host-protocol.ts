// The protocol between the main side (services/model-host-client.ts) and the model host
// process (model-host/). Pure: both sides and the tests import it. Requests are validated
// where they enter the host (model-host/host.ts); the host is our own process, so its events
// are typed, not parsed, on the main side: a token event costs no schema check.
import { z } from 'zod';
import { ERROR_CODES } from './user-errors.ts';

/** Limits that keep a request from asking for something absurd. */
export const SAMPLING_LIMITS = {
  maxNewTokens: 32_768,
  topK: 1_000_000,
  candidates: 20,
  seed: 2 ** 32 - 1,
} as const;

/**
 * How the next token is picked from the logits. The transforms apply in this order:
 * repetition penalty -> temperature -> top-k -> top-p -> min-p -> draw.
 * temperature 0 means greedy (always the most probable token).
 */
export const samplingParamsSchema = z
  .object({
    temperature: z.number().finite().min(0, 'temperature must be 0 (greedy) or more').max(5, 'temperature must be at most 5'),
    /** 0 disables top-k. */
    topK: z.number().int('topK must be a whole number').min(0, 'topK must be 0 (off) or more').max(SAMPLING_LIMITS.topK),
    /** 1 disables top-p. */
    topP: z.number().finite().gt(0, 'topP must be in (0, 1]').max(1, 'topP must be in (0, 1]'),
    /** 0 disables min-p. */
    minP: z.number().finite().min(0, 'minP must be in [0, 1)').lt(1, 'minP must be in [0, 1)'),
    /** 1 disables the penalty. */
    repetitionPenalty: z.number().finite().gt(0, 'repetitionPenalty must be above 0').max(10),
    maxNewTokens: z.number().int('maxNewTokens must be a whole number').min(1, 'maxNewTokens must be at least 1').max(SAMPLING_LIMITS.maxNewTokens),
    /** Omitted in settings and API requests: whoever starts the answer picks one (it is stored, so any answer can be replayed). */
    seed: z.number().int().min(0).max(SAMPLING_LIMITS.seed).optional(),
  })
  .strict();
export type SamplingParams = z.infer<typeof samplingParamsSchema>;

/** What the model host samples with: the seed is chosen once, by the caller, never by the host. */
export const seededSamplingParamsSchema = samplingParamsSchema.extend({ seed: z.number().int().min(0).max(SAMPLING_LIMITS.seed) }).strict();
export type SeededSamplingParams = z.infer<typeof seededSamplingParamsSchema>;

export const DEFAULT_SAMPLING_PARAMS: SamplingParams = {
  temperature: 0.7,
  topK: 40,
  topP: 0.95,
  minP: 0.05,
  repetitionPenalty: 1.1,
  maxNewTokens: 512,
};

export const chatRoleSchema = z.enum(['system', 'user', 'assistant']);
export type ChatRole = z.infer<typeof chatRoleSchema>;

export const chatMessageSchema = z.object({ role: chatRoleSchema, content: z.string().max(1_000_000) }).strict();
export type ChatMessage = z.infer<typeof chatMessageSchema>;

export const dtypeSchema = z.enum(['fp32', 'fp16', 'q8', 'int8', 'uint8', 'q4', 'q4f16', 'bnb4']);
export type ModelDtype = z.infer<typeof dtypeSchema>;

export const deviceSchema = z.enum(['cpu', 'cuda', 'dml', 'coreml', 'webgpu']);
export type ModelDevice = z.infer<typeof deviceSchema>;

const requestId = z.string().min(1).max(128);

// ---- main -> host ----

export const hostRequestSchema = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('load'),
      requestId,
      /** Absolute path of a model folder in the transformers.js local layout. */
      modelDir: z.string().min(1).max(4096),
      dtype: dtypeSchema,
      device: deviceSchema,
    })
    .strict(),
  z.object({ type: z.literal('unload'), requestId }).strict(),
  z
    .object({
      type: z.literal('generate'),
      requestId,
      /** A conversation, rendered with the model's chat template... */
      messages: z.array(chatMessageSchema).min(1).max(100_000).optional(),
      /** ...or a raw prompt, tokenized as it is (no template): exactly one of the two. */
      prompt: z.string().min(1).max(4_000_000).optional(),
      params: seededSamplingParamsSchema,
      /** How many top candidates each token event carries (0: none). */
      candidates: z.number().int().min(0).max(SAMPLING_LIMITS.candidates).default(0),
      /** Reuse the KV cache of the previous request where its token prefix matches. */
      reuseCache: z.boolean().default(true),
      /**
       * The answer so far (token ids after the rendered prompt): generation goes on after it,
       * with the cache reused up to it. Continuing an answer, or branching from one of its tokens.
       */
      answerPrefix: z.array(z.number().int().min(0)).max(SAMPLING_LIMITS.maxNewTokens * 8).optional(),
      /** The first token is this one, not the sampler's pick (branching from a token). */
      forceFirstToken: z.number().int().min(0).optional(),
      /** The first token event also carries what each stage of the sampler did (the sampler view). */
      stages: z.boolean().default(false),
    })
    .strict()
    .refine((request) => (request.messages === undefined) !== (request.prompt === undefined), 'a generate request has either messages or a prompt'),
  z.object({ type: z.literal('cancel'), requestId }).strict(),
]);
export type HostRequest = z.input<typeof hostRequestSchema>;
export type ParsedHostRequest = z.output<typeof hostRequestSchema>;

// ---- host -> main ----

export const stopReasonSchema = z.enum(['eos', 'max_tokens', 'cancelled', 'context_full']);
export type StopReason = z.infer<typeof stopReasonSchema>;

export const generationStatsSchema = z
  .object({
    promptTokens: z.number().int().min(0),
    /** Prompt tokens whose keys and values came from the previous request's cache. */
    cachedTokens: z.number().int().min(0),
    prefillMs: z.number().min(0),
    timeToFirstTokenMs: z.number().min(0),
    decodeTokens: z.number().int().min(0),
    decodeTokensPerSecond: z.number().min(0),
    prefillTokensPerSecond: z.number().min(0),
    stopReason: stopReasonSchema,
    /** The seed the sampler used, so the answer can be replayed. */
    seed: z.number().int().min(0),
    /** Oldest turns left out so the prompt and the answer fit the context. */
    droppedMessages: z.number().int().min(0),
    contextLength: z.number().int().min(1),
  })
  .strict();
export type GenerationStats = z.infer<typeof generationStatsSchema>;

export const tokenCandidateSchema = z
  .object({
    tokenId: z.number().int().min(0),
    text: z.string(),
    probability: z.number().min(0).max(1),
    /** Softmax of the raw logits (no penalty, temperature 1, nothing cut); absent where the source cannot tell. */
    modelProbability: z.number().min(0).max(1).optional(),
  })
  .strict();
export type TokenCandidate = z.infer<typeof tokenCandidateSchema>;

/** One stage of the sampler at one position: what it removed, the mass left, the best tokens after it. */
export const samplerStageSchema = z
  .object({
    name: z.enum(['penalty', 'temperature', 'top-k', 'top-p', 'min-p']),
    /** False when the settings turn the stage off. */
    active: z.boolean(),
    kept: z.number().int().min(0),
    removed: z.number().int().min(0),
    /** Probability mass, under the distribution the stage was given, of the tokens it kept. */
    massLeft: z.number().min(0).max(1.000001),
    top: z.array(z.object({ tokenId: z.number().int().min(0), text: z.string(), probability: z.number().min(0).max(1.000001) }).strict()),
  })
  .strict();
export type SamplerStage = z.infer<typeof samplerStageSchema>;

/** The codes of the host's `error` event: electron/shared/user-errors.ts lists every error code once. */
export const hostErrorCodeSchema = z.enum(ERROR_CODES.host);
export type HostErrorCode = z.infer<typeof hostErrorCodeSchema>;

export const loadedModelInfoSchema = z
  .object({
    modelDir: z.string(),
    dtype: dtypeSchema,
    device: deviceSchema,
    contextLength: z.number().int().min(1),
    vocabSize: z.number().int().min(1),
    loadMs: z.number().min(0),
    /** Resident memory of the host process after loading, bytes. */
    rssBytes: z.number().min(0),
    modelFileBytes: z.number().min(0),
    /** What the ONNX graph is made of, as the engine found it at load. */
    graph: z
      .object({
        style: z.enum(['optimum', 'gqa-fused', 'gqa-rotary', 'multi-head-attention']),
        attentionOp: z.enum(['MatMul+Softmax', 'GroupQueryAttention', 'MultiHeadAttention']),
        kvDtype: z.enum(['float32', 'float16']),
        logitsDtype: z.enum(['float32', 'float16']),
        /** Weights in `.onnx_data` files beside the graph. */
        externalData: z.boolean(),
        /** The graph's inputs, the cache's collapsed to `past_key_values.*.key|value`. */
        inputs: z.array(z.string()).max(64),
      })
      .strict(),
  })
  .strict();
export type LoadedModelInfo = z.infer<typeof loadedModelInfoSchema>;

export const hostEventSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ready'), pid: z.number().int() }).strict(),
  z
    .object({
      type: z.literal('load-progress'),
      requestId,
      file: z.string(),
      /** 0..100 over all files, when known. */
      progress: z.number().min(0).max(100),
      loaded: z.number().min(0).optional(),
      total: z.number().min(0).optional(),
    })
    .strict(),
  z.object({ type: z.literal('loaded'), requestId, info: loadedModelInfoSchema }).strict(),
  z.object({ type: z.literal('unloaded'), requestId }).strict(),
  z
    .object({
      type: z.literal('prefill'),
      requestId,
      promptTokens: z.number().int().min(0),
      cachedTokens: z.number().int().min(0),
      droppedMessages: z.number().int().min(0),
    })
    .strict(),
  z
    .object({
      type: z.literal('token'),
      requestId,
      /** Text that became complete with this token; '' while a multi-byte character is still partial. */
      text: z.string(),
      tokenId: z.number().int().min(0),
      /** Probability of the chosen token under the sampler's final distribution. */
      probability: z.number().min(0).max(1),
      candidates: z.array(tokenCandidateSchema).optional(),
      /** With candidates: the chosen token's raw-softmax probability and the entropy (bits) of that distribution. */
      modelProbability: z.number().min(0).max(1).optional(),
      entropyBits: z.number().min(0).optional(),
      /** Milliseconds this token took (its forward pass and sampling; the first: sampling after prefill). */
      decodeMs: z.number().min(0).optional(),
      /** Asked for with `stages`: the sampler's stages at this position, in order. */
      stages: z.array(samplerStageSchema).optional(),
    })
    .strict(),
  z.object({ type: z.literal('done'), requestId, stats: generationStatsSchema }).strict(),
  z
    .object({
      type: z.literal('error'),
      requestId: requestId.optional(),
      code: hostErrorCodeSchema,
      message: z.string(),
    })
    .strict(),
]);
export type HostEvent = z.infer<typeof hostEventSchema>;
export type HostEventOf<T extends HostEvent['type']> = Extract<HostEvent, { type: T }>;

/** Readable one-line summary of a zod failure, for error messages shown to people. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => {
      const path = issue.path.join('.');
      if (issue.code === 'unrecognized_keys') return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')}${path ? ` in ${path}` : ''}`;
      return path ? `${path}: ${issue.message}` : issue.message;
    })
    .join('; ');
}
