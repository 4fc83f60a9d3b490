// A model folder whose chat template lives in chat_template.jinja (newer exports keep it there;
// a template the user picks for a model without one is saved there): transformers.js reads only
// tokenizer_config.json's, so the engine must hand it over.
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { AutoTokenizer } from '@huggingface/transformers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_MODEL_DIR } from '../../scripts/testing/model-fixtures.ts';
import { builtInChatTemplate } from '../model-files/chat-templates.ts';
import type { ChatMessage, SeededSamplingParams } from '../shared/model-host-protocol.ts';
import { Engine } from './engine.ts';

const greedy: SeededSamplingParams = { temperature: 0, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1, maxNewTokens: 4, seed: 1 };
const messages: ChatMessage[] = [
  { role: 'system', content: 'Be brief.' },
  { role: 'user', content: 'Name a dragon.' },
];

describe('Engine with chat_template.jinja', () => {
  let root: string;
  let modelDir: string;
  const engine = new Engine();

  beforeAll(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'jielong-template-'));
    modelDir = path.join(root, 'model');
    await cp(DEMO_MODEL_DIR, modelDir, { recursive: true });
    const configFile = path.join(modelDir, 'tokenizer_config.json');
    const config = JSON.parse(await readFile(configFile, 'utf8')) as Record<string, unknown>;
    delete config['chat_template'];
    await writeFile(configFile, JSON.stringify(config));
    await writeFile(path.join(modelDir, 'chat_template.jinja'), builtInChatTemplate('plain').source);
  });
  afterAll(async () => {
    await engine.unload();
    await rm(root, { recursive: true, force: true });
  });

  it('renders the prompt with the file\'s template, token for token', async () => {
    await engine.load({ modelDir, dtype: 'fp32', device: 'cpu' }, () => undefined);
    const tokenizer = await AutoTokenizer.from_pretrained(modelDir);
    const rendered = tokenizer.apply_chat_template(messages, { add_generation_prompt: true, tokenize: false, chat_template: builtInChatTemplate('plain').source }) as unknown as string;
    expect(rendered).toBe('Be brief.\n\nUser: Name a dragon.\nAssistant:');
    let promptTokens = -1;
    await engine.generate(
      { requestId: 'r', messages, params: greedy, candidates: 0, reuseCache: false },
      { onPrefill: (event) => (promptTokens = event.promptTokens), onToken: () => undefined, isCancelled: () => false },
    );
    expect(promptTokens).toBe(tokenizer.encode(rendered, { add_special_tokens: false }).length);
  });
});
