// A model's chat template, rendered on a sample conversation before the model is accepted.
// A template with a syntax error, or one that raises on an ordinary conversation, would
// otherwise be imported and loaded, and fail only at the first message with the template
// engine's internals. Rendered the way transformers.js renders it (the same Jinja engine, the
// special tokens of tokenizer_config.json), never echoing the template's text.
import { Template } from '@huggingface/jinja';
import { ModelHostError } from '../shared/model-host-error.ts';
import type { ChatTemplateChoice } from '../shared/chat-template-types.ts';
import { builtInChatTemplate, CHAT_TEMPLATE_FILE } from './chat-templates.ts';

/** What the check renders: the turns every chat has (no system turn: some templates refuse one). */
export const SAMPLE_CONVERSATION = [
  { role: 'user', content: 'Hello! 你好' },
  { role: 'assistant', content: 'Hello. How can I help?' },
  { role: 'user', content: 'Name a dragon.' },
];

/** Special tokens transformers.js hands to the template (tokenization_utils.js SPECIAL_TOKEN_ATTRIBUTES). */
const SPECIAL_TOKENS = ['bos_token', 'eos_token', 'unk_token', 'sep_token', 'pad_token', 'cls_token', 'mask_token'] as const;

/** Longest piece of the template engine's message shown: enough for its reason, not for content. */
const MAX_REASON_CHARS = 160;

/** A template and the words that name it in messages. */
export interface NamedChatTemplate {
  source: string;
  /** "The model's chat template (in tokenizer_config.json)", 'The chat template "ChatML"'. */
  label: string;
}

function invalid(template: Pick<NamedChatTemplate, 'label'>, reason: string): ModelHostError {
  return new ModelHostError('model_invalid', `${template.label} cannot be used: ${reason}`);
}

const FROM_TOKENIZER_CONFIG = "The model's chat template (in tokenizer_config.json)";

/**
 * The template a model folder uses: its chat_template.jinja when it has one (newer exports keep
 * it there; a template the user chose is saved there), else the one transformers.js reads from
 * tokenizer_config.json: a string, or the `default` of a list of named ones.
 */
export function modelChatTemplate(config: Record<string, unknown>, templateFile: string | null = null): NamedChatTemplate {
  if (templateFile !== null && templateFile.trim() !== '') return { source: templateFile, label: `The model's chat template (in ${CHAT_TEMPLATE_FILE})` };
  const template = config['chat_template'];
  const named = { label: FROM_TOKENIZER_CONFIG };
  if (typeof template === 'string' && template.trim() !== '') return { source: template, ...named };
  if (Array.isArray(template)) {
    const fallback = template.find((t): t is { name: string; template: string } => typeof t?.name === 'string' && t.name === 'default' && typeof t.template === 'string');
    if (fallback) return { source: fallback.template, ...named };
    throw invalid(named, 'it lists named templates but none called "default"');
  }
  if (template === undefined || template === null) {
    // Many base and community exports lack only this: the import offers to give it one.
    throw new ModelHostError('no_chat_template', `The model has no chat template (none in tokenizer_config.json, no ${CHAT_TEMPLATE_FILE}): choose one for it`);
  }
  throw invalid(named, 'it is not text');
}

/** A template the user chose (a built-in one, or their own text), named for messages. */
export function chosenChatTemplate(choice: ChatTemplateChoice): NamedChatTemplate {
  if (choice.kind === 'custom') return { source: choice.source, label: 'Your chat template' };
  const template = builtInChatTemplate(choice.id);
  return { source: template.source, label: `The chat template "${template.name}"` };
}

/** The template engine's message in plain words: its first line, shortened, without quoted template text. */
function plainReason(error: unknown): string {
  const message = (error instanceof Error ? error.message : String(error)).split('\n')[0]!.replace(/\s+/g, ' ').trim();
  const short = message.length > MAX_REASON_CHARS ? `${message.slice(0, MAX_REASON_CHARS)}…` : message;
  return short || 'the template engine gave no reason';
}

/** The special tokens of tokenizer_config.json as the template sees them (plain strings or AddedToken objects). */
function specialTokensOf(tokenizerConfig: Record<string, unknown>): Record<string, string> {
  const specialTokens: Record<string, string> = {};
  for (const key of SPECIAL_TOKENS) {
    const value = tokenizerConfig[key];
    const content = typeof value === 'string' ? value : typeof (value as { content?: unknown } | null)?.content === 'string' ? (value as { content: string }).content : null;
    if (content) specialTokens[key] = content;
  }
  return specialTokens;
}

/**
 * Renders `messages` (a sample conversation by default) with the template, ending with the
 * assistant's prompt; throws a `model_invalid` ModelHostError naming the template and saying why.
 */
export function renderChatTemplate(template: NamedChatTemplate, tokenizerConfig: Record<string, unknown>, messages: readonly { role: string; content: string }[] = SAMPLE_CONVERSATION): string {
  let compiled: Template;
  try {
    compiled = new Template(template.source);
  } catch (error) {
    throw invalid(template, `it has a syntax error (${plainReason(error)})`);
  }
  let rendered: string;
  try {
    rendered = compiled.render({ messages, add_generation_prompt: true, ...specialTokensOf(tokenizerConfig) });
  } catch (error) {
    throw invalid(template, `it fails on an ordinary conversation (${plainReason(error)})`);
  }
  const last = (messages.at(-1)?.content ?? '').trim();
  if (last !== '' && !rendered.includes(last)) throw invalid(template, 'a conversation rendered with it leaves out the messages');
  return rendered;
}

/** Throws a `model_invalid` ModelHostError saying why the model's template cannot render a chat. */
export function checkChatTemplate(tokenizerConfig: Record<string, unknown>, templateFile: string | null = null): void {
  renderChatTemplate(modelChatTemplate(tokenizerConfig, templateFile), tokenizerConfig);
}
