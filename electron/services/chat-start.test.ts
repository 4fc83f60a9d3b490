// Starting an answer is atomic, and a failed model switch keeps the working model: the chat
// and model services over real storage, with the scripted model host (e2e/support) so the
// answers are quick and a load can be made to fail.
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { scriptedSpawner } from '../../e2e/support/scripted-host.ts';
import type { CallName, CallOutput, CallResult } from '../shared/contract.ts';
import type { HostProcess, SpawnHost } from './model-host-client.ts';
import { createAppServices, type AppServices } from './app-services.ts';

const DEMO_MODEL = fileURLToPath(new URL('../../resources/models/jielong-tiny-random', import.meta.url));

/** The generate requests the host was sent (reset per test). */
const generateRequests: Array<{ params: { seed?: number } }> = [];

/** The scripted host, except that loading a folder named `broken-*` fails as a bad model would. */
function spawnerWithBrokenModels(): SpawnHost {
  const scripted = scriptedSpawner({ answer: () => 'one two three four five six seven eight', batchDelayMs: 5 });
  return (): HostProcess => {
    const host = scripted();
    const listeners: Array<(message: unknown) => void> = [];
    host.onMessage((message) => {
      for (const listener of listeners) listener(message);
    });
    return {
      ...host,
      pid: host.pid,
      send(message) {
        if (message.type === 'generate') generateRequests.push(message);
        if (message.type === 'load' && path.basename(message.modelDir).startsWith('broken-')) {
          setTimeout(() => {
            for (const listener of listeners) listener({ type: 'error', requestId: message.requestId, code: 'load_failed', message: 'The model graph is not valid ONNX' });
          }, 5);
          return;
        }
        host.send(message);
      },
      onMessage(listener) {
        listeners.push(listener);
      },
      onExit: (listener) => host.onExit(listener),
      kill: () => host.kill(),
    };
  };
}

describe('starting an answer and switching models', () => {
  let root: string;
  let app: AppServices;

  async function call<N extends CallName>(name: N, input: unknown): Promise<CallOutput<N>> {
    const result = await app.dispatch(name, input);
    if (!result.ok) throw Object.assign(new Error(result.error.message), { code: result.error.code });
    return result.value as CallOutput<N>;
  }

  beforeEach(async () => {
    generateRequests.length = 0;
    root = mkdtempSync(path.join(os.tmpdir(), 'jielong-chat-start-'));
    const models = path.join(root, 'models');
    cpSync(DEMO_MODEL, path.join(models, 'a-demo'), { recursive: true });
    cpSync(DEMO_MODEL, path.join(models, 'broken-model'), { recursive: true });
    writeFileSync(path.join(models, 'broken-model', 'jielong.json'), JSON.stringify({ id: 'broken-model', name: 'Broken', description: 'fails to load', dtypes: ['fp32'], contextLength: 2048 }));
    app = createAppServices({ dataDir: path.join(root, 'data'), bundledModelsDir: models, spawnHost: spawnerWithBrokenModels(), models: { restartBackoffMs: [50] } });
    await app.models.load('jielong-tiny-random');
  });
  afterEach(async () => {
    await app.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('two sends that arrive together give one answer and one busy error', { timeout: 20_000 }, async () => {
    const conversation = await call('conversations.create', {});
    const results = await Promise.all([
      app.dispatch('chat.send', { conversationId: conversation.id, content: 'first' }),
      app.dispatch('chat.send', { conversationId: conversation.id, content: 'second' }),
    ]);
    expect(results.filter((result) => result.ok)).toHaveLength(1);
    expect(results.filter((result) => !result.ok).map((result) => (result.ok ? null : result.error.code))).toEqual(['busy']);
    await app.chat.idle();
    const messages = app.storage.loadActivePath(conversation.id).messages;
    expect(messages.map((message) => message.role)).toEqual(['user', 'assistant']);
    expect(messages[0]?.content).toBe('first');
  });

  it('regenerate and edit-and-resend arriving with a send start one answer between them', { timeout: 20_000 }, async () => {
    const conversation = await call('conversations.create', {});
    const first = await call('chat.send', { conversationId: conversation.id, content: 'question' });
    await app.chat.idle();
    const results = await Promise.all([
      app.dispatch('chat.regenerate', { messageId: first.assistantMessage.id }),
      app.dispatch('chat.editAndResend', { messageId: first.userMessage.id, content: 'edited' }),
      app.dispatch('chat.send', { conversationId: conversation.id, content: 'follow-up' }),
    ]);
    expect(results.filter((result) => result.ok)).toHaveLength(1);
    expect(results.filter((result) => !result.ok && result.error.code === 'busy')).toHaveLength(2);
    await app.chat.idle();
    const db = app.storage;
    // Three messages before, plus exactly one new answer (and at most one new question).
    const all = db.exportJson({}).conversations[0]!.messages;
    expect(all.filter((message) => message.role === 'assistant')).toHaveLength(2);
  });

  it('a new chat is one call: chat.send creates the conversation, stores the question, then answers', async () => {
    const started = await call('chat.send', { newConversation: { title: 'Hello there', sampling: { temperature: 0 } }, content: 'Hello there' });
    expect(started.conversation).toMatchObject({ id: started.conversationId, title: 'Hello there', sampling: { temperature: 0 }, modelId: 'jielong-tiny-random' });
    // The question is committed before the answer is written.
    const atStart = app.storage.loadActivePath(started.conversationId).messages;
    expect(atStart.map((message) => message.role)).toEqual(['user', 'assistant']);
    expect(atStart[0]).toMatchObject({ id: started.userMessage.id, parentId: null, content: 'Hello there', status: 'complete' });
    await app.chat.idle();
    expect(app.storage.getMessage(started.assistantMessage.id)).toMatchObject({ status: 'complete', content: 'one two three four five six seven eight' });
    expect(app.storage.listConversations({}).items.map((conversation) => conversation.id)).toEqual([started.conversationId]);
  });

  it('chat.send takes exactly one of conversationId and newConversation', async () => {
    const conversation = await call('conversations.create', {});
    for (const input of [
      { content: 'hello' },
      { conversationId: conversation.id, newConversation: {}, content: 'hello' },
      { newConversation: {}, parentId: 'some-message', content: 'hello' },
    ]) {
      const refused = await app.dispatch('chat.send', input);
      expect(refused).toMatchObject({ ok: false, error: { code: 'invalid_input', message: expect.stringMatching(/^chat\.send: (give either conversationId or newConversation|a new conversation has no parent message)$/) } });
    }
    expect(app.storage.listConversations({}).items).toHaveLength(1);
  });

  it('picks the seed once: the host is sent the seed stored with the answer', async () => {
    const conversation = await call('conversations.create', {});
    const started = await call('chat.send', { conversationId: conversation.id, content: 'which seed?' });
    await app.chat.idle();
    const sentSeeds = generateRequests.map((request) => request.params.seed);
    expect(sentSeeds).toHaveLength(1);
    expect(sentSeeds[0]).toEqual(expect.any(Number));
    expect(app.storage.getMessage(started.assistantMessage.id).seed).toBe(sentSeeds[0]);
  });

  it('a failed start releases the mark: the next send works', async () => {
    const refused = await app.dispatch('chat.send', { conversationId: 'no-such-conversation', content: 'hello' });
    expect(refused.ok).toBe(false);
    const conversation = await call('conversations.create', {});
    await call('chat.send', { conversationId: conversation.id, content: 'hello' });
    await app.chat.idle();
  });

  it('loading an unknown model id keeps the working model loaded', async () => {
    const refused = await app.dispatch('models.load', { modelId: 'no-such-model' });
    expect(refused.ok).toBe(false);
    expect(app.models.getStatus()).toMatchObject({ state: 'ready', modelId: 'jielong-tiny-random' });
    const conversation = await call('conversations.create', {});
    await call('chat.send', { conversationId: conversation.id, content: 'still there?' });
    await app.chat.idle();
    expect(app.storage.loadActivePath(conversation.id).messages.at(-1)?.status).toBe('complete');
  });

  it('a model that fails to load gives the working model back', async () => {
    const refused = await app.dispatch('models.load', { modelId: 'broken-model' });
    expect(refused.ok ? null : refused.error.message).toMatch(/not valid ONNX/);
    expect(app.models.getStatus()).toMatchObject({ state: 'ready', modelId: 'jielong-tiny-random' });
    const conversation = await call('conversations.create', {});
    await call('chat.send', { conversationId: conversation.id, content: 'still there?' });
    await app.chat.idle();
    expect(app.storage.loadActivePath(conversation.id).messages.at(-1)?.status).toBe('complete');
  });
});

describe('one truth across windows', () => {
  let root: string;
  let app: AppServices;
  const changes: Array<{ conversationId: string; reason: string }> = [];

  beforeEach(async () => {
    root = mkdtempSync(path.join(os.tmpdir(), 'jielong-one-truth-'));
    app = createAppServices({ dataDir: path.join(root, 'data'), bundledModelsDir: path.dirname(DEMO_MODEL), spawnHost: spawnerWithBrokenModels() });
    app.events.subscribe((name, payload) => {
      if (name === 'conversations.changed') changes.push(payload as { conversationId: string; reason: string });
    });
    changes.length = 0;
    await app.models.load('jielong-tiny-random');
  });
  afterEach(async () => {
    await app.close();
    rmSync(root, { recursive: true, force: true });
  });

  async function turn(conversationId: string, content: string, parentId?: string | null) {
    const result = (await app.dispatch('chat.send', { conversationId, content, ...(parentId !== undefined ? { parentId } : {}) })) as CallResult<CallOutput<'chat.send'>>;
    await app.chat.idle();
    return result;
  }

  it('a send attaches under the message its view showed last, even when another window went on', async () => {
    const created = (await app.dispatch('conversations.create', {})) as CallResult<CallOutput<'conversations.create'>>;
    if (!created.ok) throw new Error(created.error.message);
    const id = created.value.id;
    const first = await turn(id, 'from A', null);
    if (!first.ok) throw new Error(first.error.message);
    const shownToB = first.value.assistantMessage.id;
    // A goes on; B still shows the first answer.
    const second = await turn(id, 'A again', shownToB);
    expect(second.ok).toBe(true);
    const fromB = await turn(id, 'from B', shownToB);
    if (!fromB.ok) throw new Error(fromB.error.message);
    expect(fromB.value.userMessage.parentId).toBe(shownToB);
  });

  it('a stale view is refused with stale_view and nothing is written', async () => {
    const created = (await app.dispatch('conversations.create', {})) as CallResult<CallOutput<'conversations.create'>>;
    if (!created.ok) throw new Error(created.error.message);
    const id = created.value.id;
    await turn(id, 'from A', null);
    const before = app.storage.exportJson({}).conversations[0]!.messages.length;
    // B opened the conversation while it was empty.
    const empty = await turn(id, 'from B', null);
    expect(empty.ok ? null : empty.error).toEqual({ code: 'stale_view', message: 'This conversation changed: showing the latest.' });
    // B shows a message that was deleted since (another id altogether).
    const gone = await turn(id, 'from B', 'no-such-message');
    expect(gone.ok ? null : gone.error.code).toBe('stale_view');
    expect(app.storage.exportJson({}).conversations[0]!.messages.length).toBe(before);
  });

  it('changes are announced for every window: new messages, selection, title, deletion', async () => {
    const created = (await app.dispatch('conversations.create', {})) as CallResult<CallOutput<'conversations.create'>>;
    if (!created.ok) throw new Error(created.error.message);
    const id = created.value.id;
    const sent = await turn(id, 'hello');
    if (!sent.ok) throw new Error(sent.error.message);
    await app.dispatch('chat.regenerate', { messageId: sent.value.assistantMessage.id });
    await app.chat.idle();
    await app.dispatch('messages.select', { messageId: sent.value.assistantMessage.id });
    await app.dispatch('conversations.rename', { id, title: 'renamed' });
    await app.dispatch('conversations.delete', { id });
    const reasons = changes.filter((change) => change.conversationId === id).map((change) => change.reason);
    // Every window hears of the start of an answer; its text and end come as generation events.
    expect(reasons).toEqual(['created', 'messages', 'messages', 'selected', 'renamed', 'deleted']);
  });
});
