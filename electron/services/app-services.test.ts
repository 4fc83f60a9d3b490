// The services against real storage and a real model host running the bundled tiny model,
// through the same dispatch the IPC and WebSocket transports use.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ActivePath, Conversation, GenerationStarted, ModelStatus, Siblings } from '../shared/chat-types.ts';
import { events as eventSchemas, type CallName, type CallOutput, type EventName, type EventPayload } from '../shared/contract.ts';
import { createAppServices, type AppServices } from './app-services.ts';
import { nodeHostSpawner } from './node-host-process.ts';

const BUNDLED_MODELS = fileURLToPath(new URL('../../resources/models', import.meta.url));

describe('app services with real storage and a real model host', () => {
  let dataDir: string;
  let app: AppServices;
  const seen: { name: EventName; payload: unknown }[] = [];

  async function call<N extends CallName>(name: N, input: unknown): Promise<CallOutput<N>> {
    const result = await app.dispatch(name, input);
    if (!result.ok) throw new Error(`${name} failed: ${result.error.code}: ${result.error.message}`);
    return result.value as CallOutput<N>;
  }

  function eventsFor<N extends EventName>(name: N, messageId: string): EventPayload<N>[] {
    return seen.filter((e) => e.name === name && (e.payload as { messageId?: string }).messageId === messageId).map((e) => e.payload as EventPayload<N>);
  }

  async function finished(started: GenerationStarted): Promise<void> {
    await app.chat.idle();
    expect(app.chat.activeAnswer).toBeNull();
    expect(started.assistantMessage.status).toBe('streaming');
  }

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'jielong-services-'));
    app = createAppServices({ dataDir, bundledModelsDir: BUNDLED_MODELS, spawnHost: nodeHostSpawner(), models: { restartBackoffMs: [50, 100, 200] } });
    app.events.subscribe((name, payload) => {
      // Every event must match its contract schema.
      const parsed = eventSchemas[name].safeParse(payload);
      if (!parsed.success) throw new Error(`event ${name} does not match the contract: ${parsed.error.message}`);
      seen.push({ name, payload });
    });
    await app.loadDefaultModel();
  });
  afterAll(async () => {
    await app.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('loads the bundled demo model at start', async () => {
    const status = await call('models.status', {});
    expect(status.state).toBe('ready');
    expect(status.modelId).toBe('jielong-poet');
    const models = await call('models.list', {});
    expect(models.map((m) => m.id)).toContain('jielong-tiny-random');
    // The tests below are written for the random tiny model (its answers rarely end by themselves).
    await call('models.load', { modelId: 'jielong-tiny-random' });
  });

  it('send commits the question first, streams the answer to events and storage, and stores its stats', async () => {
    const conversation = await call('conversations.create', { title: 'Dragons', sampling: { temperature: 0.9, maxNewTokens: 40, seed: 11 } });
    const started = await call('chat.send', { conversationId: conversation.id, content: 'Tell me about 龙 and dragons.' });
    // The question is in the database before the first token arrives.
    const early = app.storage.getMessage(started.userMessage.id);
    expect(early.content).toBe('Tell me about 龙 and dragons.');
    expect(app.storage.getMessage(started.assistantMessage.id).status).toBe('streaming');
    await finished(started);

    const tokens = eventsFor('generation.token', started.assistantMessage.id);
    const done = eventsFor('generation.done', started.assistantMessage.id);
    expect(tokens.length).toBeGreaterThan(0);
    expect(done).toHaveLength(1);
    const answer = app.storage.getMessage(started.assistantMessage.id);
    expect(answer.status).toBe('complete');
    expect(answer.content).toBe(tokens.map((t) => t.text).join(''));
    expect(answer.seed).toBe(11);
    expect(answer.stats?.decodeTokens).toBe(tokens.length);
    expect(answer.stats?.stopReason).toBe(done[0]!.stats.stopReason);
    expect(answer.sampling?.temperature).toBe(0.9);
    // The conversation remembers the model that answered it.
    expect(conversation.modelId).toBeNull();
    expect(app.storage.getConversation(conversation.id).modelId).toBe(answer.modelId);
    expect(answer.modelId).toBe('jielong-tiny-random');
  });

  it('the same seed gives the same answer', async () => {
    const conversation = await call('conversations.create', { sampling: { maxNewTokens: 300, seed: 5, minP: 0, temperature: 1 } });
    const first = await call('chat.send', { conversationId: conversation.id, content: 'Once upon a time' });
    await finished(first);
    const again = await call('chat.regenerate', { messageId: first.assistantMessage.id });
    await finished(again);
    const a = app.storage.getMessage(first.assistantMessage.id);
    const b = app.storage.getMessage(again.assistantMessage.id);
    expect(b.content).toBe(a.content);
  });

  it('stop keeps the partial text as interrupted', async () => {
    // Seed 29 on this prompt runs to maxNewTokens when left alone (proven first, in a
    // conversation of its own), so the stopped answer below cannot end by itself.
    const sampling = { maxNewTokens: 1500, seed: 29, minP: 0, temperature: 1 };
    const alone = await call('conversations.create', { sampling });
    const full = await call('chat.send', { conversationId: alone.id, content: 'Go on, at length' });
    await finished(full);
    expect(eventsFor('generation.done', full.assistantMessage.id)[0]!.stats.stopReason).toBe('max_tokens');
    expect(eventsFor('generation.token', full.assistantMessage.id)).toHaveLength(1500);

    const conversation = await call('conversations.create', { sampling });
    const stopped = await call('chat.send', { conversationId: conversation.id, content: 'Go on, at length' });
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (eventsFor('generation.token', stopped.assistantMessage.id).length >= 5) {
          clearInterval(poll);
          resolve();
        }
      }, 2);
    });
    expect(await call('chat.stop', { conversationId: conversation.id })).toEqual({ stopped: true });
    await finished(stopped);
    const partial = app.storage.getMessage(stopped.assistantMessage.id);
    const streamed = eventsFor('generation.token', stopped.assistantMessage.id);
    expect(eventsFor('generation.done', stopped.assistantMessage.id)[0]!.stats.stopReason).toBe('cancelled');
    expect(partial.status).toBe('interrupted');
    expect(partial.stats?.stopReason).toBe('cancelled');
    expect(streamed.length).toBeGreaterThanOrEqual(5);
    expect(streamed.length).toBeLessThan(1500);
    expect(partial.content).toBe(streamed.map((t) => t.text).join(''));
  });

  it('regenerate and edit-and-resend make siblings, and selecting one switches the active path', async () => {
    const conversation = await call('conversations.create', { sampling: { maxNewTokens: 12 } });
    const first = await call('chat.send', { conversationId: conversation.id, content: 'Question one' });
    await finished(first);
    const second = await call('chat.regenerate', { messageId: first.assistantMessage.id });
    await finished(second);
    const answers: Siblings = await call('messages.siblings', { messageId: first.assistantMessage.id });
    expect(answers.messages.map((m) => m.id)).toEqual([first.assistantMessage.id, second.assistantMessage.id]);

    const edited = await call('chat.editAndResend', { messageId: first.userMessage.id, content: 'Question one, edited' });
    await finished(edited);
    const questions = await call('messages.siblings', { messageId: first.userMessage.id });
    expect(questions.messages).toHaveLength(2);
    let path: ActivePath = await call('messages.activePath', { conversationId: conversation.id });
    expect(path.messages.map((m) => m.content)[0]).toBe('Question one, edited');
    expect(path.messages[0]!.siblingCount).toBe(2);

    path = await call('messages.select', { messageId: first.assistantMessage.id });
    expect(path.messages.map((m) => m.id)).toEqual([first.userMessage.id, first.assistantMessage.id]);
    const reloaded = await call('messages.activePath', { conversationId: conversation.id });
    expect(reloaded.messages.map((m) => m.id)).toEqual([first.userMessage.id, first.assistantMessage.id]);
  });

  it('a second send while an answer is being written is refused as busy', async () => {
    const conversation: Conversation = await call('conversations.create', { sampling: { maxNewTokens: 200, minP: 0 } });
    const started = await call('chat.send', { conversationId: conversation.id, content: 'First' });
    const refused = await app.dispatch('chat.send', { conversationId: conversation.id, content: 'Second' });
    expect(refused).toMatchObject({ ok: false, error: { code: 'busy' } });
    app.chat.stop({ conversationId: conversation.id });
    await finished(started);
  });

  it('a host killed mid-answer keeps the partial text as interrupted, reports an error, restarts, and the next message works', async () => {
    const conversation = await call('conversations.create', { sampling: { maxNewTokens: 300, minP: 0, temperature: 1 } });
    const started = await call('chat.send', { conversationId: conversation.id, content: 'Speak for a long time' });
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (eventsFor('generation.token', started.assistantMessage.id).length >= 6) {
          clearInterval(poll);
          process.kill(app.host.pid!, 'SIGKILL');
          resolve();
        }
      }, 1);
    });
    await finished(started);
    const errors = eventsFor('generation.error', started.assistantMessage.id);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'host_exited', status: 'interrupted' });
    const kept = app.storage.getMessage(started.assistantMessage.id);
    expect(kept.status).toBe('interrupted');
    const streamed = eventsFor('generation.token', started.assistantMessage.id).map((t) => t.text).join('');
    expect(kept.content).toBe(streamed);
    expect(streamed.length).toBeGreaterThan(0);

    // The next message works: send waits for the restart and reload.
    const next = await call('chat.send', { conversationId: conversation.id, content: 'Are you back?' });
    await finished(next);
    expect(app.storage.getMessage(next.assistantMessage.id).status).toBe('complete');
    const status: ModelStatus = await call('models.status', {});
    expect(status.state).toBe('ready');
  });

  it('refuses to send without a model, with a clear reason', async () => {
    await call('models.unload', {});
    const conversation = await call('conversations.create', {});
    const refused = await app.dispatch('chat.send', { conversationId: conversation.id, content: 'hello?' });
    expect(refused).toMatchObject({ ok: false, error: { code: 'not_loaded', message: expect.stringMatching(/No model is loaded/) } });
    // Nothing was written for a send that could not start, nor a conversation made for a new chat.
    expect((await call('messages.activePath', { conversationId: conversation.id })).messages).toHaveLength(0);
    const before = (await call('conversations.list', {})).items.length;
    const refusedNew = await app.dispatch('chat.send', { newConversation: { title: 'hello?' }, content: 'hello?' });
    expect(refusedNew).toMatchObject({ ok: false, error: { code: 'not_loaded' } });
    expect((await call('conversations.list', {})).items).toHaveLength(before);
    await call('models.load', { modelId: 'jielong-tiny-random' });
  });
});
