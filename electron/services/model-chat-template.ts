// A model folder's chat template and recommended sampling, on the main side: the preview of a
// chosen template (a sample conversation rendered as the model will read it, its tokens
// counted with the folder's tokenizer.json in a worker thread: token-counter.ts), saving it
// beside the model, the check of a real conversation before it goes to the model host, and the
// sampling generation_config.json recommends. Files are read asynchronously.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { ChatTemplateChoice, ChatTemplatePreview, ModelDefaults } from '../shared/chat-template-types.ts';
import type { ChatMessage } from '../shared/model-host-protocol.ts';
import { ModelHostError } from '../shared/model-host-error.ts';
import { chosenChatTemplate, modelChatTemplate, renderChatTemplate, type NamedChatTemplate } from '../model-files/chat-template-check.ts';
import { CHAT_TEMPLATE_FILE } from '../model-files/chat-templates.ts';
import { generationDefaults } from '../model-files/generation-defaults.ts';
import type { ModelSetup } from './chat-service.ts';
import { writeFileAtomic } from './model-registry-store.ts';
import { ImportRefusal } from './import-guard.ts';
import { countTokens } from './token-counter.ts';

/** A chosen template that cannot render a conversation; the message names the template. */
export class ChatTemplateRefusal extends Error {
  readonly code = 'chat_template_invalid';
  override readonly name = 'ChatTemplateRefusal';
}

async function readJson(file: string): Promise<Record<string, unknown>> {
  const text = await readFile(file, 'utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // JSON.parse's message quotes the file: name it instead.
    throw new ImportRefusal('invalid_model', `${path.basename(file)} is not valid JSON.`);
  }
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

export function readTokenizerConfig(dir: string): Promise<Record<string, unknown>> {
  return readJson(path.join(dir, 'tokenizer_config.json'));
}

/** Renders the sample conversation (or `messages`) with `template`; a failure is a ChatTemplateRefusal. */
function renderOrRefuse(template: NamedChatTemplate, tokenizerConfig: Record<string, unknown>, messages?: readonly ChatMessage[]): string {
  try {
    return renderChatTemplate(template, tokenizerConfig, messages);
  } catch (error) {
    if (error instanceof ModelHostError) throw new ChatTemplateRefusal(error.message);
    throw error;
  }
}

/** Checks a chosen template on the folder's special tokens; returns its source. */
export async function checkChosenTemplate(dir: string, choice: ChatTemplateChoice): Promise<string> {
  const template = chosenChatTemplate(choice);
  renderOrRefuse(template, await readTokenizerConfig(dir));
  return template.source;
}

/** The sample conversation rendered with the chosen template, and how many tokens it is. */
export async function previewChatTemplate(dir: string, choice: ChatTemplateChoice): Promise<ChatTemplatePreview> {
  const rendered = renderOrRefuse(chosenChatTemplate(choice), await readTokenizerConfig(dir));
  // The template writes the special tokens itself: none are added (as the engine encodes it).
  const tokenCount = await countTokens(dir, rendered);
  return { rendered, tokenCount };
}

/** Writes chat_template.jinja into `dir` (a crash leaves the old file or the new one); returns what the manifest lists. */
export async function writeChatTemplate(dir: string, source: string): Promise<{ path: string; size: number; sha256: string }> {
  const bytes = Buffer.from(source, 'utf8');
  await writeFileAtomic(path.join(dir, CHAT_TEMPLATE_FILE), bytes);
  return { path: CHAT_TEMPLATE_FILE, size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
}

// ---- a real conversation ----

/**
 * Checks that the model's template renders `messages` (the real conversation, before it goes
 * to the model host): a template that raises on it gives an error naming the template, not
 * the template engine's internals from inside the host.
 */
export async function conversationTemplateCheck(dir: string): Promise<(messages: readonly ChatMessage[]) => void> {
  const tokenizerConfig = await readTokenizerConfig(dir);
  const templateFile = await readFile(path.join(dir, CHAT_TEMPLATE_FILE), 'utf8').catch(() => null);
  const template = modelChatTemplate(tokenizerConfig, templateFile);
  return (messages) => {
    try {
      renderChatTemplate(template, tokenizerConfig, messages);
    } catch (error) {
      if (!(error instanceof ModelHostError)) throw error;
      throw new ModelHostError('chat_template_invalid', error.message.replace(': it fails on an ordinary conversation', ': it fails on this conversation'));
    }
  };
}

/** What the chat service needs of a loaded model's folder: its recommended sampling and its template's check. */
export async function modelSetupIn(dir: string): Promise<ModelSetup> {
  const [defaults, checkTemplate] = await Promise.all([modelDefaultsIn(dir), conversationTemplateCheck(dir).catch(() => () => undefined)]);
  return { defaults: defaults.sampling, checkTemplate };
}

/** The sampling the folder's generation_config.json recommends (none when it has no such file). */
export async function modelDefaultsIn(dir: string): Promise<ModelDefaults> {
  const config = await readJson(path.join(dir, 'generation_config.json')).catch(() => null);
  return generationDefaults(config);
}
