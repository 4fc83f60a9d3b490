// Remote models through the whole app: added with a connection test (key kept apart, readable
// only by the user), chosen in place of the local model, chats stored, searchable and with
// stats like local ones; Jielong chatting through Jielong's own API (the two halves meet), and
// through a server that fails, keeping a cut answer as interrupted.
import { cpSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scriptedSpawner } from '../../e2e/support/scripted-host.ts';
import type { CallName, CallOutput, EventPayload } from '../shared/contract.ts';
import type { RemoteModel } from '../shared/remote-model-types.ts';
import { createAppServices, type AppServices } from './app-services.ts';

const DEMO_MODEL = fileURLToPath(new URL('../../resources/models/jielong-tiny-random', import.meta.url));
const SERVER_ANSWER = 'Served by the other Jielong, token after token.';
const LOCAL_ANSWER = 'local words only';

describe('chatting through a remote engine', () => {
  let root: string;
  let server: AppServices;
  let app: AppServices;
  let baseUrl: string;
  let key: string;
  let failing: Server;
  let failingUrl: string;
  const localGenerates: string[] = [];
  const errors: Array<EventPayload<'generation.error'>> = [];
  const tokens: Array<EventPayload<'generation.token'>> = [];

  async function call<N extends CallName>(name: N, input: unknown): Promise<CallOutput<N>> {
    const result = await app.dispatch(name, input);
    if (!result.ok) throw Object.assign(new Error(result.error.message), { code: result.error.code });
    return result.value as CallOutput<N>;
  }

  async function chat(content: string): Promise<{ conversationId: string; messageId: string }> {
    const conversation = await call('conversations.create', {});
    const started = await call('chat.send', { conversationId: conversation.id, content });
    await app.chat.idle();
    return { conversationId: conversation.id, messageId: started.assistantMessage.id };
  }

  beforeAll(async () => {
    root = mkdtempSync(path.join(os.tmpdir(), 'jielong-remote-chat-'));
    cpSync(DEMO_MODEL, path.join(root, 'models', 'demo'), { recursive: true });
    server = createAppServices({ dataDir: path.join(root, 'server'), bundledModelsDir: path.join(root, 'models'), spawnHost: scriptedSpawner({ answer: () => SERVER_ANSWER, batchDelayMs: 2 }) });
    await server.models.load('jielong-tiny-random');
    ({ baseUrl, key } = await server.openai.startForThisRun({ port: 0, allowNetwork: false }));

    const local = scriptedSpawner({ answer: () => LOCAL_ANSWER, batchDelayMs: 2 });
    app = createAppServices({
      dataDir: path.join(root, 'client'),
      bundledModelsDir: path.join(root, 'models'),
      spawnHost: () => {
        const process = local();
        const send = process.send.bind(process);
        return {
          ...process,
          pid: process.pid,
          send(message) {
            if (message.type === 'generate') localGenerates.push(message.requestId);
            send(message);
          },
        };
      },
      remote: { stallMs: 2000 },
    });
    app.events.subscribe((name, payload) => {
      if (name === 'generation.error') errors.push(payload as EventPayload<'generation.error'>);
      if (name === 'generation.token') tokens.push(payload as EventPayload<'generation.token'>);
    });
    await app.models.load('jielong-tiny-random');

    failing = createServer((request, response) => {
      if (request.url === '/v1/models') return void response.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ object: 'list', data: [{ id: 'cuts' }, { id: 'refuses' }] }));
      let body = '';
      request.on('data', (data: Buffer) => (body += data.toString()));
      request.on('end', () => {
        const { model } = JSON.parse(body) as { model: string };
        if (model === 'refuses') return void response.writeHead(429, { 'Retry-After': '5' }).end('{"error": {"message": "slow down"}}');
        response.writeHead(200, { 'Content-Type': 'text/event-stream' });
        response.write(`data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: 'The first half' }, finish_reason: null }] })}\n\n`);
        setTimeout(() => response.socket?.destroy(), 30);
      });
    });
    await new Promise<void>((resolve) => failing.listen(0, '127.0.0.1', resolve));
    failingUrl = `http://127.0.0.1:${(failing.address() as { port: number }).port}/v1`;
  });
  afterAll(async () => {
    await app?.close();
    await server?.close();
    failing?.closeAllConnections();
    await new Promise<void>((resolve) => failing.close(() => resolve()));
    rmSync(root, { recursive: true, force: true });
  });

  it('adds a remote model after a connection test, keeping its key apart and private', async () => {
    expect(await call('remote.test', { baseUrl, apiKey: key })).toEqual({ models: [{ id: 'jielong-tiny-random', contextLength: 2048 }] });
    await expect(call('remote.test', { baseUrl, apiKey: 'jl-wrong' })).rejects.toMatchObject({ code: 'remote_unauthorized' });
    await expect(call('remote.test', { baseUrl: 'ftp://example.com/v1' })).rejects.toMatchObject({ code: 'invalid_request', message: expect.stringMatching(/http/) as string });
    await expect(call('remote.add', { baseUrl, apiKey: key, model: 'not-there' })).rejects.toMatchObject({ code: 'model_not_found', message: expect.stringMatching(/offers jielong-tiny-random/) as string });

    const added = await call('remote.add', { baseUrl: `${baseUrl}/`, apiKey: key, model: 'jielong-tiny-random', name: 'Other Jielong', samplingExtensions: true });
    expect(added).toMatchObject({ name: 'Other Jielong', baseUrl, model: 'jielong-tiny-random', hasKey: true, contextLength: 2048 });
    expect(added.id).toMatch(/^remote-/);
    expect(await call('remote.list', {})).toEqual([added]);
    const dataDir = path.join(root, 'client');
    expect(readFileSync(path.join(dataDir, 'remote-models.json'), 'utf8')).not.toContain(key);
    expect(readFileSync(path.join(dataDir, 'remote-keys.json'), 'utf8')).toContain(key);
    expect(statSync(path.join(dataDir, 'remote-keys.json')).mode & 0o777).toBe(0o600);
  });

  it('chats through it like a local model: stored, searchable, with stats and the server logprobs', async () => {
    const [remote] = await call('remote.list', {});
    const status = await call('models.load', { modelId: remote!.id });
    expect(status).toMatchObject({ state: 'ready', modelId: remote!.id });
    // The local model's process is stopped: its memory is back.
    expect(app.host.pid).toBeUndefined();
    const before = localGenerates.length;
    const { conversationId, messageId } = await chat('Hello over there');
    expect(localGenerates.length).toBe(before);
    const answer = app.storage.getMessage(messageId);
    expect(answer).toMatchObject({ status: 'complete', content: SERVER_ANSWER, modelId: remote!.id });
    expect(answer.stats).toMatchObject({ stopReason: 'eos', contextLength: 2048 });
    expect(answer.stats!.promptTokens).toBeGreaterThan(0);
    const mine = tokens.filter((t) => t.messageId === messageId);
    expect(mine.length).toBeGreaterThan(5);
    expect(mine.every((t) => t.candidates !== undefined && t.candidates.length > 0)).toBe(true);
    expect(app.storage.search('other Jielong').hits.map((h) => h.conversationId)).toContain(conversationId);

    // Back to the local model.
    await call('models.load', { modelId: 'jielong-tiny-random' });
    const local = await chat('And here?');
    expect(app.storage.getMessage(local.messageId).content).toBe(LOCAL_ANSWER);
  });

  it('a stream cut mid-answer keeps the partial answer as interrupted, with a clear message', async () => {
    const cuts = (await call('remote.add', { baseUrl: failingUrl, model: 'cuts' })) as RemoteModel;
    expect(cuts.hasKey).toBe(false);
    await call('models.load', { modelId: cuts.id });
    const { messageId } = await chat('Tell me everything');
    expect(app.storage.getMessage(messageId)).toMatchObject({ status: 'interrupted', content: 'The first half' });
    expect(errors.find((e) => e.messageId === messageId)).toMatchObject({ code: 'remote_stream_cut', message: expect.stringMatching(/cut in the middle of the answer; what arrived is kept/) as string });
  });

  it('a refusal before any text is an error with the server reason', async () => {
    const refuses = (await call('remote.add', { baseUrl: failingUrl, model: 'refuses' })) as RemoteModel;
    await call('models.load', { modelId: refuses.id });
    const { messageId } = await chat('Anyone?');
    expect(app.storage.getMessage(messageId)).toMatchObject({ status: 'error', content: '', error: expect.stringMatching(/rate-limited \(429\): retry in 5 s: slow down/) as string });
    expect(errors.find((e) => e.messageId === messageId)?.code).toBe('remote_rate_limited');
  });

  it('removing the remote model in use leaves no model chosen', async () => {
    const inUse = app.models.getStatus().modelId!;
    expect(inUse).toMatch(/^remote-/);
    await call('remote.remove', { id: inUse });
    expect(app.models.getStatus()).toMatchObject({ state: 'none', modelId: null });
    expect((await call('remote.list', {})).map((m) => m.id)).not.toContain(inUse);
    await expect(call('remote.remove', { id: inUse })).rejects.toMatchObject({ code: 'model_not_found' });
  });
});
