// Each model at its best, through the dispatch over real storage and a real model host on the
// bundled tiny model (written by npm run make:model): its generation_config.json sampling as
// its defaults, presets layered over them, and a chat template chosen for a folder without one.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AutoTokenizer } from '@huggingface/transformers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GenerationStarted } from '../shared/chat-types.ts';
import type { CallName, CallOutput, EventPayload } from '../shared/contract.ts';
import { DEMO_MODEL_DIR } from '../../scripts/testing/model-fixtures.ts';
import { editedTinyModel } from '../test-support/model-copies.ts';
import { createAppServices, type AppServices } from './app-services.ts';
import { appBackend } from './openai/api-controller.ts';
import { nodeHostSpawner } from './node-host-process.ts';
/** What the model's authors recommend, as generation_config.json states it. */
const RECOMMENDED = { temperature: 1.3, top_k: 7, top_p: 0.9, repetition_penalty: 1.2, max_new_tokens: 24 };
const BY_HAND = { temperature: 1.3, topK: 7, topP: 0.9, repetitionPenalty: 1.2, maxNewTokens: 24 };

describe('model defaults, presets and chat templates, end to end on the services', () => {
  let root: string;
  let app: AppServices;
  const errors: EventPayload<'generation.error'>[] = [];
  let presetChanges = 0;

  async function call<N extends CallName>(name: N, input: unknown): Promise<CallOutput<N>> {
    const result = await app.dispatch(name, input);
    if (!result.ok) throw Object.assign(new Error(result.error.message), { code: result.error.code });
    return result.value as CallOutput<N>;
  }
  async function refusal(name: CallName, input: unknown): Promise<{ code: string; message: string }> {
    const result = await app.dispatch(name, input);
    if (result.ok) throw new Error(`${name} was expected to fail`);
    return result.error;
  }
  async function answered(started: GenerationStarted): Promise<ReturnType<AppServices['storage']['getMessage']>> {
    await app.chat.idle();
    return app.storage.getMessage(started.assistantMessage.id);
  }

  beforeAll(async () => {
    root = mkdtempSync(path.join(os.tmpdir(), 'jielong-model-settings-'));
    const bundled = path.join(root, 'bundled');
    editedTinyModel(path.join(bundled, 'tiny-recommends'), ({ generation, manifest }) => {
      Object.assign(generation, RECOMMENDED);
      manifest['id'] = 'tiny-recommends';
    });
    editedTinyModel(path.join(bundled, 'tiny-plain'), ({ manifest }) => (manifest['id'] = 'tiny-plain'));
    editedTinyModel(path.join(root, 'no-template'), ({ tokenizerConfig }) => delete tokenizerConfig['chat_template']);
    app = createAppServices({ dataDir: path.join(root, 'data'), bundledModelsDir: bundled, spawnHost: nodeHostSpawner(), models: { restartBackoffMs: [50] } });
    app.events.subscribe((name, payload) => {
      if (name === 'generation.error') errors.push(payload as EventPayload<'generation.error'>);
      if (name === 'presets.changed') presetChanges += 1;
    });
  });
  afterAll(async () => {
    await app.close();
    rmSync(root, { recursive: true, force: true });
  });

  it("a new chat uses the model's recommended sampling: the seeded answer equals one with those values set by hand", { timeout: 60_000 }, async () => {
    expect(await call('models.defaults', { id: 'tiny-recommends' })).toEqual({ sampling: BY_HAND, ignored: [] });
    await call('models.load', { modelId: 'tiny-recommends' });
    const byModel = await call('chat.send', { newConversation: { sampling: { seed: 77 } }, content: 'Tell me a story' });
    const fromModel = await answered(byModel);
    const byHand = await call('chat.send', { newConversation: { sampling: { ...BY_HAND, seed: 77 } }, content: 'Tell me a story' });
    const fromHand = await answered(byHand);
    expect(fromModel.status).toBe('complete');
    expect(fromModel.content.length).toBeGreaterThan(0);
    expect(fromModel.content).toBe(fromHand.content);
    // What the answer was made with is stored with it: the model's values, the seed chosen.
    expect(fromModel.sampling).toMatchObject({ ...BY_HAND, seed: 77 });
    expect(fromModel.sampling).toEqual(fromHand.sampling);
    // The OpenAI-compatible API's defaults are the same: the app's, under the model's own.
    expect(await appBackend(app).defaults()).toEqual({ ...app.settings.get().defaultSampling, ...BY_HAND });
  });

  it('presets sit over the model and under the conversation; a default preset applies to new chats; deleting one leaves its chats their values', { timeout: 60_000 }, async () => {
    await call('models.load', { modelId: 'tiny-recommends' });
    const list = await call('presets.list', {});
    expect(list.filter((p) => p.builtIn).map((p) => p.id)).toEqual(['builtin:precise', 'builtin:balanced', 'builtin:creative']);
    const terse = await call('presets.create', { name: 'Terse', systemPrompt: 'Answer briefly.', sampling: { temperature: 0.4, maxNewTokens: 9 } });

    await call('settings.update', { defaultPresetId: terse.id });
    const started = await call('chat.send', { newConversation: { sampling: { topK: 3, seed: 5 } }, content: 'Hello' });
    expect(started.conversation.presetId).toBe(terse.id);
    const answer = await answered(started);
    // temperature and maxNewTokens from the preset, topK from the chat, topP from the model, minP from the app.
    expect(answer.sampling).toEqual({ temperature: 0.4, maxNewTokens: 9, topK: 3, topP: 0.9, repetitionPenalty: 1.2, minP: 0.05, seed: 5 });
    // A chat that names no preset (null) follows none.
    const without = await call('chat.send', { newConversation: { presetId: null, sampling: { seed: 5 } }, content: 'Hello' });
    expect((await answered(without)).sampling).toMatchObject({ temperature: 1.3, maxNewTokens: 24 });

    expect(await call('presets.rename', { id: terse.id, name: 'Short' })).toMatchObject({ id: terse.id, name: 'Short' });
    expect((await refusal('presets.delete', { id: 'builtin:precise' })).code).toBe('invalid_input');
    expect(await call('presets.delete', { id: terse.id })).toEqual({ deleted: true, conversationsKept: 1 });
    expect((await call('settings.get', {})).defaultPresetId).toBeNull();
    // Created, renamed, deleted: each told to every window.
    expect(presetChanges).toBe(3);
    const kept = app.storage.getConversation(started.conversation.id);
    expect(kept).toMatchObject({ presetId: null, systemPrompt: 'Answer briefly.', sampling: { temperature: 0.4, maxNewTokens: 9, topK: 3, seed: 5 } });
    const again = await answered(await call('chat.regenerate', { messageId: started.assistantMessage.id }));
    expect(again.sampling).toEqual(answer.sampling);
    expect(again.content).toBe(answer.content);
  });

  it('a folder without a chat template: refused as fixable, ChatML chosen, the sample rendered and counted, saved, and chat works', { timeout: 60_000 }, async () => {
    const folder = path.join(root, 'no-template');
    const missing = await refusal('models.import', { path: folder });
    expect(missing.code).toBe('no_chat_template');

    const preview = await call('models.previewChatTemplate', { path: folder, template: { kind: 'builtIn', id: 'chatml' } });
    expect(preview.rendered).toBe('<|im_start|>user\nHello! 你好<|im_end|>\n<|im_start|>assistant\nHello. How can I help?<|im_end|>\n<|im_start|>user\nName a dragon.<|im_end|>\n<|im_start|>assistant\n');
    // Counted as the engine's tokenizer (transformers.js) counts it.
    const tokenizer = await AutoTokenizer.from_pretrained(folder, { local_files_only: true });
    expect(preview.tokenCount).toBe(tokenizer.encode(preview.rendered, { add_special_tokens: false }).length);

    const broken = await refusal('models.import', { path: folder, chatTemplate: { kind: 'custom', source: '{% for m in messages %}{{ m.content }}' } });
    expect(broken.code).toBe('chat_template_invalid');
    expect(broken.message).toMatch(/^Your chat template cannot be used: it has a syntax error/);

    const model = await call('models.import', { path: folder, chatTemplate: { kind: 'builtIn', id: 'chatml' } });
    expect(readFileSync(path.join(model.dir, 'chat_template.jinja'), 'utf8')).toContain('<|im_start|>');
    await call('models.load', { modelId: model.id });
    const reply = await answered(await call('chat.send', { newConversation: { sampling: { seed: 3, maxNewTokens: 8 } }, content: 'Hi there' }));
    expect(reply.status).toBe('complete');

    // Later, from the Models screen: a template that renders the sample but raises on a real chat (it has a system prompt).
    const noSystem = "{% for m in messages %}{% if m.role == 'system' %}{{ raise_exception('System messages are not supported') }}{% endif %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";
    expect((await refusal('models.setChatTemplate', { id: model.id, template: { kind: 'custom', source: '{{ oops' } })).code).toBe('chat_template_invalid');
    await call('models.setChatTemplate', { id: model.id, template: { kind: 'custom', source: noSystem } });
    expect((await call('models.list', {})).map((m) => m.id)).toContain(model.id);
    const failed = await call('chat.send', { newConversation: {}, content: 'Hi there' });
    const stored = await answered(failed);
    expect(stored.status).toBe('error');
    expect(stored.error).toBe("The model's chat template (in chat_template.jinja) cannot be used: it fails on this conversation (System messages are not supported)");
    expect(errors.find((e) => e.messageId === failed.assistantMessage.id)).toMatchObject({ code: 'chat_template_invalid', status: 'error' });
  });

  it('a preview reads only regular files of the folder: a named pipe for tokenizer.json is refused at once, a missing one named', { timeout: 20_000 }, async () => {
    const piped = editedTinyModel(path.join(root, 'piped'), ({ tokenizerConfig }) => delete tokenizerConfig['chat_template']);
    rmSync(path.join(piped, 'tokenizer.json'));
    execFileSync('mkfifo', [path.join(piped, 'tokenizer.json')]);
    const template = { kind: 'builtIn', id: 'chatml' };
    expect(await refusal('models.previewChatTemplate', { path: piped, template })).toMatchObject({ code: 'unsafe_folder', message: 'tokenizer.json is a named pipe; only regular files can be read.' });
    rmSync(path.join(piped, 'tokenizer.json'));
    expect(await refusal('models.previewChatTemplate', { path: piped, template })).toMatchObject({ code: 'invalid_model', message: 'The folder has no tokenizer.json.' });
    // A broken file is named, never quoted.
    writeFileSync(path.join(piped, 'tokenizer.json'), readFileSync(path.join(DEMO_MODEL_DIR, 'tokenizer.json')));
    writeFileSync(path.join(piped, 'tokenizer_config.json'), '{"secret": "PRIVATE-NOTE-1234",');
    expect(await refusal('models.previewChatTemplate', { path: piped, template })).toMatchObject({ code: 'invalid_model', message: 'tokenizer_config.json is not valid JSON.' });
    writeFileSync(path.join(piped, 'tokenizer_config.json'), readFileSync(path.join(DEMO_MODEL_DIR, 'tokenizer_config.json')));
    writeFileSync(path.join(piped, 'tokenizer.json'), '{"model": "PRIVATE-NOTE-1234",');
    const counted = await refusal('models.previewChatTemplate', { path: piped, template });
    expect(counted.message).toBe('tokenizer.json is not valid JSON.');
  });
});
