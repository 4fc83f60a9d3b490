import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEMO_MODEL_DIR } from '../../scripts/testing/model-fixtures.ts';
import { ModelHostError } from '../shared/model-host-error.ts';
import { checkChatTemplate } from './chat-template-check.ts';

const demoConfig = JSON.parse(readFileSync(path.join(DEMO_MODEL_DIR, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;

function refusal(config: Record<string, unknown>): string {
  try {
    checkChatTemplate(config);
  } catch (error) {
    expect(error).toBeInstanceOf(ModelHostError);
    expect((error as ModelHostError).code).toBe('model_invalid');
    return (error as Error).message;
  }
  throw new Error('expected a refusal');
}

describe('checkChatTemplate', () => {
  it('accepts the demo model, a Llama-3-style template with bos_token as an AddedToken, and a named default', () => {
    expect(() => checkChatTemplate(demoConfig)).not.toThrow();
    const llama = "{{ bos_token }}{% for m in messages %}<|start_header_id|>{{ m['role'] }}<|end_header_id|>\n\n{{ m['content'] | trim }}<|eot_id|>{% endfor %}{% if add_generation_prompt %}<|start_header_id|>assistant<|end_header_id|>\n\n{% endif %}";
    expect(() => checkChatTemplate({ chat_template: llama, bos_token: { __type: 'AddedToken', content: '<|begin_of_text|>' } })).not.toThrow();
    expect(() => checkChatTemplate({ chat_template: [{ name: 'tool_use', template: '{{ oops' }, { name: 'default', template: demoConfig['chat_template'] }] })).not.toThrow();
  });

  it('refuses a syntax error, a template that raises, one that drops the messages, and none at all, in plain words', () => {
    const syntax = refusal({ chat_template: '{% for m in messages %}{{ m.content }}' });
    expect(syntax).toMatch(/^The model's chat template \(in tokenizer_config\.json\) cannot be used: it has a syntax error \(.+\)$/);
    const raises = refusal({ chat_template: "{{ raise_exception('Only user and assistant roles are supported!') }}" });
    expect(raises).toContain('it fails on an ordinary conversation (');
    expect(raises).toContain('Only user and assistant roles are supported!');
    expect(refusal({ chat_template: '<|im_start|>assistant\n' })).toContain('leaves out the messages');
    // None at all is its own condition: the import offers to choose one.
    expect(() => checkChatTemplate({})).toThrow(expect.objectContaining({ code: 'no_chat_template', message: 'The model has no chat template (none in tokenizer_config.json, no chat_template.jinja): choose one for it' }));
    expect(refusal({ chat_template: [{ name: 'tool_use', template: 'x' }] })).toContain('none called "default"');
  });

  it('never quotes more than a short reason from the template engine', () => {
    const secret = 'SECRET-'.repeat(100);
    const message = refusal({ chat_template: `{{ raise_exception('${secret}') }}` });
    expect(message.length).toBeLessThan(320);
  });
});
