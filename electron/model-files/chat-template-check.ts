// A model's chat template, rendered on a sample conversation before the model is accepted.
// A template with a syntax error, or one that raises on an ordinary conversation, would
// otherwise be imported and loaded, and fail only at the first message with the template
// engine's internals. Rendered the way transformers.js renders it (the same Jinja engine, the
// special tokens of tokenizer_config.json), never echoing the template's text.
import { Template } from '@huggingface/jinja';
import { ModelHostError } from '../shared/model-host-error.ts';

/** What the check renders: the turns every chat has (no system turn: some templates refuse one). */
const SAMPLE_CONVERSATION = [
  { role: 'user', content: 'Hello! 你好' },
  { role: 'assistant', content: 'Hello. How can I help?' },
  { role: 'user', content: 'Name a dragon.' },
];

/** Special tokens transformers.js hands to the template (tokenization_utils.js SPECIAL_TOKEN_ATTRIBUTES). */
const SPECIAL_TOKENS = ['bos_token', 'eos_token', 'unk_token', 'sep_token', 'pad_token', 'cls_token', 'mask_token'] as const;

/** Longest piece of the template engine's message shown: enough for its reason, not for content. */
const MAX_REASON_CHARS = 160;

function invalid(reason: string): ModelHostError {
  return new ModelHostError('model_invalid', `The model's chat template (in tokenizer_config.json) cannot be used: ${reason}`);
}

/** The template transformers.js would use: a string, or the `default` of a list of named ones. */
function templateSource(config: Record<string, unknown>): string {
  const template = config['chat_template'];
  if (typeof template === 'string' && template.trim() !== '') return template;
  if (Array.isArray(template)) {
    const named = template.find((t): t is { name: string; template: string } => typeof t?.name === 'string' && t.name === 'default' && typeof t.template === 'string');
    if (named) return named.template;
    throw invalid('it lists named templates but none called "default"');
  }
  if (template === undefined || template === null) {
    throw new ModelHostError('model_invalid', 'tokenizer_config.json has no chat_template: this is not a chat model');
  }
  throw invalid('it is not text');
}

/** The template engine's message in plain words: its first line, shortened, without quoted template text. */
function plainReason(error: unknown): string {
  const message = (error instanceof Error ? error.message : String(error)).split('\n')[0]!.replace(/\s+/g, ' ').trim();
  const short = message.length > MAX_REASON_CHARS ? `${message.slice(0, MAX_REASON_CHARS)}…` : message;
  return short || 'the template engine gave no reason';
}

/** Throws a `model_invalid` ModelHostError saying why the template cannot render a chat. */
export function checkChatTemplate(tokenizerConfig: Record<string, unknown>): void {
  const source = templateSource(tokenizerConfig);
  let template: Template;
  try {
    template = new Template(source);
  } catch (error) {
    throw invalid(`it has a syntax error (${plainReason(error)})`);
  }
  const specialTokens: Record<string, string> = {};
  for (const key of SPECIAL_TOKENS) {
    const value = tokenizerConfig[key];
    const content = typeof value === 'string' ? value : typeof (value as { content?: unknown } | null)?.content === 'string' ? (value as { content: string }).content : null;
    if (content) specialTokens[key] = content;
  }
  let rendered: string;
  try {
    rendered = template.render({ messages: SAMPLE_CONVERSATION, add_generation_prompt: true, ...specialTokens });
  } catch (error) {
    throw invalid(`it fails on an ordinary conversation (${plainReason(error)})`);
  }
  if (!rendered.includes('Name a dragon.')) throw invalid('a conversation rendered with it leaves out the messages');
}
