// Presets: a named system prompt, sampling and answer length a user can reuse across chats.
// A few ship built in (their words are the renderer's, by id); the user's own are stored with
// the conversations. What an answer samples with is layered, each layer over the one before:
// the app's defaults < the model's own (its generation_config.json) < the preset < this
// conversation's overrides. `layerSettings` is that rule, used by the chat service to answer
// and by the settings to show where each value comes from.
import { z } from 'zod';
import { samplingParamsSchema, type SamplingParams } from './model-host-protocol.ts';

/** Sampling a preset or a model may state: any of the fields, never a seed (each answer picks its own). */
export const presetSamplingSchema = samplingParamsSchema.omit({ seed: true }).partial().strict();
export type PresetSampling = z.infer<typeof presetSamplingSchema>;
/** The sampling a model's authors recommend, as read from its generation_config.json. */
export type ModelSamplingDefaults = PresetSampling;

export const presetNameSchema = z.string().trim().min(1, 'the preset name must not be empty').max(200, 'the preset name must be at most 200 characters');

export const BUILT_IN_PRESET_IDS = ['builtin:precise', 'builtin:balanced', 'builtin:creative'] as const;
export type BuiltInPresetId = (typeof BUILT_IN_PRESET_IDS)[number];

export interface Preset {
  id: string;
  /** The user's name; for a built-in preset, its English name (the renderer shows its own words). */
  name: string;
  /** null: the preset leaves the system prompt to the app's default. */
  systemPrompt: string | null;
  sampling: PresetSampling;
  builtIn: boolean;
  createdAt: number;
  updatedAt: number;
}

/** Built in: greedy for exact answers, the usual middle, and freer for ideas. */
export const BUILT_IN_PRESETS: readonly Preset[] = [
  { id: 'builtin:precise', name: 'Precise', systemPrompt: null, sampling: { temperature: 0, repetitionPenalty: 1.05 }, builtIn: true, createdAt: 0, updatedAt: 0 },
  { id: 'builtin:balanced', name: 'Balanced', systemPrompt: null, sampling: { temperature: 0.7, topK: 40, topP: 0.9, minP: 0.05, repetitionPenalty: 1.1 }, builtIn: true, createdAt: 0, updatedAt: 0 },
  { id: 'builtin:creative', name: 'Creative', systemPrompt: null, sampling: { temperature: 1.1, topK: 0, topP: 0.98, minP: 0.05, repetitionPenalty: 1.05 }, builtIn: true, createdAt: 0, updatedAt: 0 },
];

export function isBuiltInPresetId(id: string): id is BuiltInPresetId {
  return (BUILT_IN_PRESET_IDS as readonly string[]).includes(id);
}

const presetId = z.string().min(1, 'an id is required').max(128);
const systemPrompt = z.string().max(100_000).nullable();

/** The preset calls, spread into the contract's list. */
export const presetCalls = {
  /** The built-in presets, then the user's, oldest first. */
  'presets.list': z.object({}).strict(),
  /** A new preset, usually from the open chat's settings. */
  'presets.create': z.object({ name: presetNameSchema, systemPrompt, sampling: presetSamplingSchema }).strict(),
  'presets.rename': z.object({ id: presetId, name: presetNameSchema }).strict(),
  /** Conversations that used it keep its values as their own; the default for new chats is cleared if it was this one. */
  'presets.delete': z.object({ id: presetId }).strict(),
} as const;

export interface PresetCallOutputs {
  'presets.list': Preset[];
  'presets.create': Preset;
  'presets.rename': Preset;
  'presets.delete': { deleted: true; conversationsKept: number };
}

export type SettingSource = 'app' | 'model' | 'preset' | 'conversation';
export type LayeredField = keyof Omit<SamplingParams, 'seed'>;
export const LAYERED_FIELDS: readonly LayeredField[] = ['temperature', 'topK', 'topP', 'minP', 'repetitionPenalty', 'maxNewTokens'];

export interface SettingLayers {
  app: { sampling: Omit<SamplingParams, 'seed'>; systemPrompt: string };
  model: ModelSamplingDefaults | null;
  preset: Pick<Preset, 'sampling' | 'systemPrompt'> | null;
  conversation: { sampling: Partial<Record<string, number | undefined>> | null; systemPrompt: string | null };
}

export interface LayeredSettings {
  sampling: Omit<SamplingParams, 'seed'>;
  /** Where each field's value came from. */
  sources: Record<LayeredField, SettingSource>;
  systemPrompt: string;
  systemPromptSource: Exclude<SettingSource, 'model'>;
  /** The conversation's own seed, when it fixes one. */
  seed: number | undefined;
}

/** Each field from the highest layer that states it: conversation > preset > model > app. */
export function layerSettings(layers: SettingLayers): LayeredSettings {
  const sampling = { ...layers.app.sampling };
  const sources = Object.fromEntries(LAYERED_FIELDS.map((field) => [field, 'app'])) as Record<LayeredField, SettingSource>;
  const over: Array<[SettingSource, Partial<Record<string, number | undefined>> | null | undefined]> = [
    ['model', layers.model],
    ['preset', layers.preset?.sampling],
    ['conversation', layers.conversation.sampling],
  ];
  for (const [source, values] of over) {
    for (const field of LAYERED_FIELDS) {
      const value = values?.[field];
      if (value === undefined) continue;
      sampling[field] = value;
      sources[field] = source;
    }
  }
  const conversationPrompt = layers.conversation.systemPrompt;
  const presetPrompt = layers.preset?.systemPrompt ?? null;
  const [systemPrompt, systemPromptSource] =
    conversationPrompt !== null ? [conversationPrompt, 'conversation' as const] : presetPrompt !== null ? [presetPrompt, 'preset' as const] : [layers.app.systemPrompt, 'app' as const];
  return { sampling, sources, systemPrompt, systemPromptSource, seed: layers.conversation.sampling?.['seed'] };
}
