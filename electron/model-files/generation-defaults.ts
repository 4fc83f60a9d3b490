// The sampling a model's authors recommend, from its generation_config.json (Qwen2.5 Instruct
// states temperature 0.7, top_p 0.8, top_k 20, repetition_penalty 1.05). They become the
// model's defaults under the user's own choices. Each value is checked against the same
// schema a request is; one that fails is left out and named, never guessed at.
import { samplingParamsSchema } from '../shared/model-host-protocol.ts';
import type { ModelSamplingDefaults } from '../shared/presets.ts';

export interface GenerationDefaults {
  sampling: ModelSamplingDefaults;
  /** Keys of generation_config.json that were stated but could not be used, with why. */
  ignored: { key: string; reason: string }[];
}

/** generation_config.json key -> our sampling field. */
const FIELDS = {
  temperature: 'temperature',
  top_k: 'topK',
  top_p: 'topP',
  min_p: 'minP',
  repetition_penalty: 'repetitionPenalty',
  max_new_tokens: 'maxNewTokens',
} as const satisfies Record<string, keyof ModelSamplingDefaults>;

export function generationDefaults(generationConfig: unknown): GenerationDefaults {
  const result: GenerationDefaults = { sampling: {}, ignored: [] };
  if (generationConfig === null || typeof generationConfig !== 'object' || Array.isArray(generationConfig)) return result;
  const config = generationConfig as Record<string, unknown>;
  const shape = samplingParamsSchema.shape;
  for (const [key, field] of Object.entries(FIELDS) as [keyof typeof FIELDS, (typeof FIELDS)[keyof typeof FIELDS]][]) {
    if (!(key in config) || config[key] === null) continue;
    const parsed = shape[field].safeParse(config[key]);
    if (parsed.success) result.sampling[field] = parsed.data;
    else result.ignored.push({ key, reason: parsed.error.issues[0]?.message ?? 'not a valid value' });
  }
  // do_sample: false is the authors saying "greedy"; the other values then only matter when
  // the user turns sampling on, so the temperature stated beside it is set aside.
  if (config['do_sample'] === false) {
    if (result.sampling.temperature !== undefined) result.ignored.push({ key: 'temperature', reason: 'do_sample is false: the model recommends greedy decoding' });
    result.sampling.temperature = 0;
  }
  return result;
}
