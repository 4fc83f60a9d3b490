// Chat templates a user can give a model that has none (or replace its own with): one of the
// built-in formats, or their own Jinja text. The calls check the choice by rendering a sample
// conversation (shown to the user, its tokens counted with the model's tokenizer) before it is
// saved beside the model as chat_template.jinja.
import { z } from 'zod';
import type { InstalledModel } from './model-registry-types.ts';
import type { ModelSamplingDefaults } from './presets.ts';

export const BUILT_IN_CHAT_TEMPLATE_IDS = ['chatml', 'llama3', 'gemma', 'plain'] as const;
export type BuiltInChatTemplateId = (typeof BUILT_IN_CHAT_TEMPLATE_IDS)[number];

/** The names the picker shows (formats' own names, the same in every language). */
export const BUILT_IN_CHAT_TEMPLATE_NAMES: Readonly<Record<BuiltInChatTemplateId, string>> = {
  chatml: 'ChatML',
  llama3: 'Llama 3',
  gemma: 'Gemma',
  plain: 'User:/Assistant:',
};

/** Longest custom template accepted (real ones are a few kB; Qwen's with tools is ~6 kB). */
export const MAX_CHAT_TEMPLATE_CHARS = 100_000;

export const chatTemplateChoiceSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('builtIn'), id: z.enum(BUILT_IN_CHAT_TEMPLATE_IDS) }).strict(),
  z
    .object({
      kind: z.literal('custom'),
      source: z.string().max(MAX_CHAT_TEMPLATE_CHARS, `a chat template must be at most ${MAX_CHAT_TEMPLATE_CHARS} characters`).refine((text) => text.trim() !== '', 'the chat template is empty'),
    })
    .strict(),
]);
export type ChatTemplateChoice = z.infer<typeof chatTemplateChoiceSchema>;

const modelId = z.string().min(1, 'an id is required').max(128);
const folder = z.string().min(1).max(4096);

/** The template calls, spread into the contract's list. */
export const chatTemplateCalls = {
  /**
   * Renders a sample conversation with the chosen template for a folder about to be imported
   * (`path`) or an installed model (`modelId`); refuses a broken template (`chat_template_invalid`).
   */
  'models.previewChatTemplate': z
    .object({ path: folder.optional(), modelId: modelId.optional(), template: chatTemplateChoiceSchema })
    .strict()
    .refine((input) => (input.path === undefined) !== (input.modelId === undefined), 'give either path or modelId'),
  /** Checks the template as the preview does, then saves it beside an installed model (used from its next load). */
  'models.setChatTemplate': z.object({ id: modelId, template: chatTemplateChoiceSchema }).strict(),
  /** The sampling the model's generation_config.json recommends, and what it stated that could not be used. */
  'models.defaults': z.object({ id: modelId }).strict(),
} as const;

export interface ChatTemplatePreview {
  /** The sample conversation as the model will read it. */
  rendered: string;
  /** Its length in the model's tokens (counted with its tokenizer.json on the main side). */
  tokenCount: number;
}

export interface ModelDefaults {
  sampling: ModelSamplingDefaults;
  ignored: Array<{ key: string; reason: string }>;
}

export interface ChatTemplateCallOutputs {
  'models.previewChatTemplate': ChatTemplatePreview;
  'models.setChatTemplate': InstalledModel;
  'models.defaults': ModelDefaults;
}
