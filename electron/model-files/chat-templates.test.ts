import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEMO_MODEL_DIR } from '../../scripts/testing/model-fixtures.ts';
import { checkChatTemplate, modelChatTemplate, renderChatTemplate } from './chat-template-check.ts';
import { BUILT_IN_CHAT_TEMPLATES, builtInChatTemplate } from './chat-templates.ts';

const demoConfig = JSON.parse(readFileSync(path.join(DEMO_MODEL_DIR, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
const withSystem = [
  { role: 'system', content: 'Be brief.' },
  { role: 'user', content: 'Hi' },
  { role: 'assistant', content: 'Hello' },
  { role: 'user', content: 'Again' },
];

describe('built-in chat templates', () => {
  it('render a conversation with a system turn in their families\' formats', () => {
    const render = (id: Parameters<typeof builtInChatTemplate>[0], config: Record<string, unknown> = {}): string =>
      renderChatTemplate({ source: builtInChatTemplate(id).source, label: id }, config, withSystem);
    expect(render('chatml')).toBe(
      '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello<|im_end|>\n<|im_start|>user\nAgain<|im_end|>\n<|im_start|>assistant\n',
    );
    expect(render('llama3', { bos_token: '<|begin_of_text|>' })).toBe(
      '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>' +
        '<|start_header_id|>assistant<|end_header_id|>\n\nHello<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nAgain<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n',
    );
    expect(render('gemma', { bos_token: '<bos>' })).toBe(
      '<bos><start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n<start_of_turn>model\nHello<end_of_turn>\n<start_of_turn>user\nAgain<end_of_turn>\n<start_of_turn>model\n',
    );
    expect(render('plain', { eos_token: '</s>' })).toBe('Be brief.\n\nUser: Hi\nAssistant: Hello</s>\nUser: Again\nAssistant:');
    expect(BUILT_IN_CHAT_TEMPLATES.map((t) => t.id)).toEqual(['chatml', 'llama3', 'gemma', 'plain']);
  });

  it('each passes the check a model folder gets, as its chat_template.jinja', () => {
    for (const template of BUILT_IN_CHAT_TEMPLATES) expect(() => checkChatTemplate({}, template.source)).not.toThrow();
  });
});

describe('modelChatTemplate', () => {
  it('prefers chat_template.jinja over tokenizer_config.json, and names where the template came from', () => {
    const fromFile = modelChatTemplate(demoConfig, builtInChatTemplate('chatml').source);
    expect(fromFile.label).toBe("The model's chat template (in chat_template.jinja)");
    expect(fromFile.source).toBe(builtInChatTemplate('chatml').source);
    expect(modelChatTemplate(demoConfig).source).toBe(demoConfig['chat_template']);
    expect(modelChatTemplate(demoConfig, '  ').label).toBe("The model's chat template (in tokenizer_config.json)");
  });

  it("names a broken custom template in its error, and quotes none of it", () => {
    const custom = { source: '{% for m in messages %}{{ m.content }}', label: 'The chat template "mine"' };
    expect(() => renderChatTemplate(custom, {})).toThrow(/^The chat template "mine" cannot be used: it has a syntax error \(/);
    expect(() => checkChatTemplate({}, '{{ raise_exception("no") }}')).toThrow("The model's chat template (in chat_template.jinja) cannot be used: it fails on an ordinary conversation (");
  });
});
