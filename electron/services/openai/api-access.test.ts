// Who may use the API and when: the queue shared with the app's chat (429 past its bound), the
// settings that turn it on and replace its key, network binding only with a key, browser
// pages of other origins refused, API chats stored only when asked. The scripted model host
// (e2e/support) writes the answers at a pace the test sets.
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { get } from 'node:http';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { scriptedSpawner } from '../../../e2e/support/scripted-host.ts';
import type { ApiServerStatus } from '../../shared/openai-api-types.ts';
import { createAppServices, type AppServices } from '../app-services.ts';
import { hashApiKey, startOpenAiServer, type OpenAiBackend } from './api-server.ts';

const DEMO_MODEL = fileURLToPath(new URL('../../../resources/models/jielong-tiny-random', import.meta.url));
const MODEL = 'jielong-tiny-random';
const ANSWER = 'one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('access to the API', () => {
  let root: string;
  let app: AppServices;

  async function call<T>(name: string, input: unknown): Promise<T> {
    const result = await app.dispatch(name, input);
    if (!result.ok) throw Object.assign(new Error(result.error.message), { code: result.error.code });
    return result.value as T;
  }

  beforeEach(async () => {
    root = mkdtempSync(path.join(os.tmpdir(), 'jielong-openai-access-'));
    const models = path.join(root, 'models');
    cpSync(DEMO_MODEL, path.join(models, 'demo'), { recursive: true });
    app = createAppServices({
      dataDir: path.join(root, 'data'),
      bundledModelsDir: models,
      // 16 tokens, 30 ms apart: about half a second per answer.
      spawnHost: scriptedSpawner({ answer: () => ANSWER, batchDelayMs: 30 }),
      openai: { maxQueue: 1 },
    });
    await app.models.load(MODEL);
  });
  afterEach(async () => {
    await app.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('is off by default: nothing listens until the settings turn it on', async () => {
    const settings = await call<{ api: { enabled: boolean; allowNetwork: boolean; corsOrigins: string[] } }>('settings.get', {});
    expect(settings.api).toMatchObject({ enabled: false, allowNetwork: false, corsOrigins: [] });
    expect(await call<ApiServerStatus>('api.status', {})).toMatchObject({ running: false, baseUrl: null });
  });

  it('turned on in the settings, on 127.0.0.1, with a key that is shown once and can be replaced', async () => {
    const port = await freePort();
    const settings = await call<{ api: Record<string, unknown> }>('settings.get', {});
    await call('settings.update', { api: { ...settings.api, enabled: true, port } });
    const status = await call<ApiServerStatus>('api.status', {});
    expect(status).toMatchObject({ running: true, baseUrl: `http://127.0.0.1:${port}/v1`, hasKey: false, error: null });
    // Loopback without a key: any local program may use it (as with other local servers).
    const open = new OpenAI({ baseURL: status.baseUrl!, apiKey: 'anything', maxRetries: 0 });
    expect((await open.models.list()).data.map((m) => m.id)).toEqual([MODEL]);

    const { key } = await call<{ key: string }>('api.newKey', {});
    expect(key).toMatch(/^jl-[\w-]{40,}$/);
    const stored = await call<{ api: { keyHash: string } }>('settings.get', {});
    expect(stored.api.keyHash).toBe(hashApiKey(key));
    expect(JSON.stringify(stored)).not.toContain(key);
    await expect(open.models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
    const keyed = new OpenAI({ baseURL: status.baseUrl!, apiKey: key, maxRetries: 0 });
    expect((await keyed.models.list()).data).toHaveLength(1);

    const { key: replacement } = await call<{ key: string }>('api.newKey', {});
    await expect(keyed.models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
    expect((await new OpenAI({ baseURL: status.baseUrl!, apiKey: replacement, maxRetries: 0 }).models.list()).data).toHaveLength(1);
    // A settings change cannot set the key's hash: only api.newKey replaces it.
    await call('settings.update', { api: { ...stored.api, keyHash: hashApiKey('chosen-by-a-page') } });
    expect((await call<{ api: { keyHash: string } }>('settings.get', {})).api.keyHash).toBe(hashApiKey(replacement));

    await call('settings.update', { api: { ...stored.api, enabled: false } });
    expect(await call<ApiServerStatus>('api.status', {})).toMatchObject({ running: false });
    await expect(fetch(`${status.baseUrl}/models`)).rejects.toThrow();
  });

  it('network access needs an API key: refused without one, in the settings and at start', async () => {
    const port = await freePort();
    const settings = await call<{ api: Record<string, unknown> }>('settings.get', {});
    await call('settings.update', { api: { ...settings.api, enabled: true, port, allowNetwork: true } });
    const status = await call<ApiServerStatus>('api.status', {});
    expect(status.running).toBe(false);
    expect(status.error).toMatch(/without an API key/);

    const backend = {} as OpenAiBackend;
    await expect(startOpenAiServer({ backend, port: 0, allowNetwork: true, keyHash: null })).rejects.toThrow(/without an API key/);
    await expect(startOpenAiServer({ backend, port: 0, host: '0.0.0.0', keyHash: hashApiKey('k') })).rejects.toThrow(/not a loopback address/);
    const server = await startOpenAiServer({ backend, port: 0, allowNetwork: true, keyHash: hashApiKey('k') });
    await server.close();
  });

  it('refuses browser pages of other origins, preflight included, and answers listed ones with CORS', async () => {
    const { baseUrl, key } = await app.openai.startForThisRun({ port: 0, allowNetwork: false });
    const headers = { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' };
    const body = JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 });
    const evil = 'http://evil.example';
    const preflight = await fetch(`${baseUrl}/chat/completions`, { method: 'OPTIONS', headers: { Origin: evil, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'authorization, content-type' } });
    expect(preflight.status).toBe(403);
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    // A "simple" cross-origin POST (no preflight) must not start a generation either.
    const simple = await fetch(`${baseUrl}/chat/completions`, { method: 'POST', headers: { Origin: evil, 'Content-Type': 'text/plain' }, body });
    expect(simple.status).toBe(403);
    expect(await simple.json()).toMatchObject({ error: { code: 'origin_not_allowed' } });
    const withKey = await fetch(`${baseUrl}/chat/completions`, { method: 'POST', headers: { ...headers, Origin: evil }, body });
    expect(withKey.status).toBe(403);
    // DNS rebinding: a page whose own name resolves to 127.0.0.1.
    const rebound = await new Promise<number>((resolve, reject) => {
      const url = new URL(`${baseUrl}/models`);
      get({ host: url.hostname, port: url.port, path: url.pathname, headers: { Authorization: `Bearer ${key}`, Host: `evil.example:${url.port}` } }, (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      }).on('error', reject);
    });
    expect(rebound).toBe(403);

    const settings = await call<{ api: Record<string, unknown> }>('settings.get', {});
    await call('settings.update', { api: { ...settings.api, corsOrigins: ['http://localhost:3000'] } });
    await app.openai.close();
    const again = await app.openai.startForThisRun({ port: 0, allowNetwork: false });
    const allowed = await fetch(`${again.baseUrl}/chat/completions`, { method: 'OPTIONS', headers: { Origin: 'http://localhost:3000', 'Access-Control-Request-Method': 'POST' } });
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe('http://localhost:3000');
    expect(allowed.headers.get('access-control-allow-headers')).toMatch(/authorization/);
    const answered = await fetch(`${again.baseUrl}/chat/completions`, { method: 'POST', headers: { Authorization: `Bearer ${again.key}`, 'Content-Type': 'application/json', Origin: 'http://localhost:3000' }, body });
    expect(answered.status).toBe(200);
    expect(answered.headers.get('access-control-allow-origin')).toBe('http://localhost:3000');
  });

  it('queues up to its bound behind the running generation, then answers 429 with Retry-After', async () => {
    const { baseUrl, key } = await app.openai.startForThisRun({ port: 0, allowNetwork: false });
    const client = new OpenAI({ baseURL: baseUrl, apiKey: key, maxRetries: 0 });
    const ask = () => client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'count' }] });
    const first = ask();
    await expect.poll(() => app.openai.busy).toBe(true);
    const second = ask();
    await expect.poll(() => app.openai.queued).toBe(1);
    const third = await ask().catch((e: unknown) => e);
    expect(third).toBeInstanceOf(OpenAI.RateLimitError);
    expect((third as InstanceType<typeof OpenAI.RateLimitError>).headers?.get('retry-after')).toBe('2');
    expect((third as InstanceType<typeof OpenAI.RateLimitError>).code).toBe('rate_limit_exceeded');
    // Both queued answers complete, one after the other.
    expect((await first).choices[0]!.message.content).toBe(ANSWER);
    expect((await second).choices[0]!.message.content).toBe(ANSWER);
  });

  it('a client that goes away while queued leaves the queue', async () => {
    const { baseUrl, key } = await app.openai.startForThisRun({ port: 0, allowNetwork: false });
    const client = new OpenAI({ baseURL: baseUrl, apiKey: key, maxRetries: 0 });
    const first = client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'count' }] });
    await expect.poll(() => app.openai.busy).toBe(true);
    const controller = new AbortController();
    const waiting = client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'count' }] }, { signal: controller.signal }).catch((e: unknown) => e);
    await expect.poll(() => app.openai.queued).toBe(1);
    controller.abort();
    await waiting;
    await expect.poll(() => app.openai.queued).toBe(0);
    await first;
  });

  it('shares the model with the chat: each waits for, or is refused by, the other', async () => {
    const { baseUrl, key } = await app.openai.startForThisRun({ port: 0, allowNetwork: false });
    const client = new OpenAI({ baseURL: baseUrl, apiKey: key, maxRetries: 0 });
    const conversation = await call<{ id: string }>('conversations.create', {});
    await call('chat.send', { conversationId: conversation.id, content: 'hello' });
    expect(app.chat.activeAnswer).not.toBeNull();
    // The API request waits for the chat's answer, then gets its own.
    const api = client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'count' }] });
    await expect.poll(() => app.openai.queued).toBe(1);
    await app.chat.idle();
    await expect.poll(() => app.openai.busy).toBe(true);
    // While the API holds the model, the chat is refused as busy (nothing is written).
    const refused = await app.dispatch('chat.send', { conversationId: conversation.id, content: 'again' });
    expect(refused.ok ? null : refused.error).toMatchObject({ code: 'busy', message: expect.stringMatching(/API/) as string });
    expect((await api).choices[0]!.message.content).toBe(ANSWER);
    expect(app.storage.loadActivePath(conversation.id).messages.map((m) => m.role)).toEqual(['user', 'assistant']);
  });

  it('keeps API chats out of the conversations unless the user turns that on', async () => {
    const { baseUrl, key } = await app.openai.startForThisRun({ port: 0, allowNetwork: false });
    const client = new OpenAI({ baseURL: baseUrl, apiKey: key, maxRetries: 0 });
    const messages = [
      { role: 'system' as const, content: 'Be brief.' },
      { role: 'user' as const, content: 'First question' },
    ];
    await client.chat.completions.create({ model: MODEL, messages });
    expect(app.storage.listConversations().items).toHaveLength(0);

    const settings = await call<{ api: Record<string, unknown> }>('settings.get', {});
    await call('settings.update', { api: { ...settings.api, storeConversations: true } });
    await client.chat.completions.create({ model: MODEL, messages });
    const stored = app.storage.listConversations().items;
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({ title: 'API: First question', systemPrompt: 'Be brief.', modelId: MODEL });
    const path = app.storage.loadActivePath(stored[0]!.id).messages;
    expect(path.map((m) => [m.role, m.content, m.status])).toEqual([
      ['user', 'First question', 'complete'],
      ['assistant', ANSWER, 'complete'],
    ]);

    // A client that leaves mid-answer: what was said is kept, as interrupted.
    const controller = new AbortController();
    const stream = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Second question' }], stream: true }, { signal: controller.signal });
    let received = '';
    for await (const chunk of stream) {
      received += chunk.choices[0]?.delta.content ?? '';
      if (received.length > 0) controller.abort();
    }
    await expect.poll(() => app.storage.listConversations().items.length).toBe(2);
    const left = app.storage.listConversations().items.find((c) => c.title === 'API: Second question')!;
    const answer = app.storage.loadActivePath(left.id).messages.at(-1)!;
    expect(answer.status).toBe('interrupted');
    expect(answer.content.startsWith(received)).toBe(true);
    expect(answer.content.length).toBeLessThan(ANSWER.length);
  });
});
