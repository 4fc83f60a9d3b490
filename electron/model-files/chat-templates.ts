// Chat templates the app offers to a model folder that has none: many base or community
// exports lack only the template. Each is the common public format of its family, written as
// Jinja for the same engine transformers.js renders with. A template chosen for a model is
// saved beside its files as chat_template.jinja (the file name newer exports use for it).

import { BUILT_IN_CHAT_TEMPLATE_NAMES, type BuiltInChatTemplateId } from '../shared/chat-template-types.ts';

export type { BuiltInChatTemplateId } from '../shared/chat-template-types.ts';

export const CHAT_TEMPLATE_FILE = 'chat_template.jinja';

export interface BuiltInChatTemplate {
  id: BuiltInChatTemplateId;
  /** Shown in the picker. */
  name: string;
  source: string;
  /** The text that ends an assistant turn: the model must know it (ideally as its end token) to stop. */
  turnEnd: string | null;
}

const CHATML =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

const LLAMA3 =
  "{{ bos_token }}{% for message in messages %}{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + (message['content'] | trim) + '<|eot_id|>' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}";

// Gemma has no system role: a system message opens the next user turn.
const GEMMA =
  "{{ bos_token }}{% set ns = namespace(system='') %}{% for message in messages %}" +
  "{% if message['role'] == 'system' %}{% set ns.system = message['content'] + '\\n\\n' %}" +
  "{% else %}{% set role = 'model' if message['role'] == 'assistant' else 'user' %}<start_of_turn>{{ role }}\n" +
  "{% if role == 'user' %}{{ ns.system }}{% set ns.system = '' %}{% endif %}{{ message['content'] | trim }}<end_of_turn>\n{% endif %}" +
  '{% endfor %}{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}';

// For base models: no special tokens, so the answer ends at the model's end token or the limit.
const PLAIN =
  "{% for message in messages %}{% if message['role'] == 'system' %}{{ message['content'] }}\n\n" +
  "{% elif message['role'] == 'user' %}User: {{ message['content'] }}\n" +
  "{% else %}Assistant: {{ message['content'] }}{{ eos_token if eos_token else '' }}\n{% endif %}{% endfor %}" +
  '{% if add_generation_prompt %}Assistant:{% endif %}';

export const BUILT_IN_CHAT_TEMPLATES: readonly BuiltInChatTemplate[] = [
  { id: 'chatml', name: BUILT_IN_CHAT_TEMPLATE_NAMES.chatml, source: CHATML, turnEnd: '<|im_end|>' },
  { id: 'llama3', name: BUILT_IN_CHAT_TEMPLATE_NAMES.llama3, source: LLAMA3, turnEnd: '<|eot_id|>' },
  { id: 'gemma', name: BUILT_IN_CHAT_TEMPLATE_NAMES.gemma, source: GEMMA, turnEnd: '<end_of_turn>' },
  { id: 'plain', name: BUILT_IN_CHAT_TEMPLATE_NAMES.plain, source: PLAIN, turnEnd: null },
];

export function builtInChatTemplate(id: BuiltInChatTemplateId): BuiltInChatTemplate {
  const template = BUILT_IN_CHAT_TEMPLATES.find((t) => t.id === id);
  if (!template) throw new Error(`unknown built-in chat template: ${String(id)}`);
  return template;
}
