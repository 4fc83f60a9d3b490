// The OpenAI-compatible API with the official `openai` client against the real model host and
// the bundled tiny model (it babbles, quickly): chat with and without streaming, usage and
// timings, seeds, logprobs from our sampler, stop strings, raw completions, a switch of
// models, a client that goes away mid-answer, and the errors in OpenAI's shape.
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AutoTokenizer } from '@huggingface/transformers';
import { request as httpRequest } from 'node:http';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostEvent, HostRequest } from '../../shared/model-host-protocol.ts';
import { createAppServices, type AppServices } from '../app-services.ts';
import type { HostProcess, SpawnHost } from '../model-host-client.ts';
import { nodeHostSpawner } from '../node-host-process.ts';

const DEMO_MODEL = fileURLToPath(new URL('../../../resources/models/jielong-tiny-random', import.meta.url));
const MODEL = 'jielong-tiny-random';

/** The real host, with every message each way written down. */
function recordingSpawner(sent: HostRequest[], received: HostEvent[]): SpawnHost {
  const spawn = nodeHostSpawner();
  return (): HostProcess => {
    const child = spawn();
    return {
      get pid() {
        return child.pid;
      },
      send(message) {
        sent.push(message);
        child.send(message);
      },
      onMessage(listener) {
        child.onMessage((message) => {
          received.push(message as HostEvent);
          listener(message);
        });
      },
      onExit: (listener) => child.onExit(listener),
      kill: () => child.kill(),
    };
  };
}

describe('the OpenAI-compatible API with the official client', () => {
  let root: string;
  let app: AppServices;
  let baseUrl: string;
  let key: string;
  let client: OpenAI;
  const sent: HostRequest[] = [];
  const received: HostEvent[] = [];

  beforeAll(async () => {
    root = mkdtempSync(path.join(os.tmpdir(), 'jielong-openai-'));
    const models = path.join(root, 'models');
    cpSync(DEMO_MODEL, path.join(models, 'demo'), { recursive: true });
    cpSync(DEMO_MODEL, path.join(models, 'second'), { recursive: true });
    writeFileSync(path.join(models, 'second', 'jielong.json'), JSON.stringify({ id: 'second-model', name: 'Second', description: 'the same weights under another id', dtypes: ['fp32'], contextLength: 2048 }));
    app = createAppServices({ dataDir: path.join(root, 'data'), bundledModelsDir: models, spawnHost: recordingSpawner(sent, received), openai: { maxBodyBytes: 64 * 1024 } });
    await app.models.load(MODEL);
    ({ baseUrl, key } = await app.openai.startForThisRun({ port: 0, allowNetwork: false }));
    client = new OpenAI({ baseURL: baseUrl, apiKey: key, maxRetries: 0 });
  });
  afterAll(async () => {
    await app?.close();
    rmSync(root, { recursive: true, force: true });
  });

  const greedy = { temperature: 0, top_k: 0, top_p: 1, min_p: 0, repetition_penalty: 1 } as const;

  it('lists the installed models and says which one is loaded', async () => {
    const page = await client.models.list();
    const models = page.data as unknown as Array<{ id: string; object: string; loaded: boolean }>;
    expect(models.map((m) => m.id).sort()).toEqual(['jielong-tiny-random', 'second-model']);
    expect(models.find((m) => m.id === MODEL)).toMatchObject({ object: 'model', loaded: true });
    expect(models.find((m) => m.id === 'second-model')?.loaded).toBe(false);
    expect((await client.models.retrieve(MODEL)).id).toBe(MODEL);
    await expect(client.models.retrieve('no-such-model')).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    const malformed = await fetch(`${baseUrl}/models/%E0%A4%A`, { headers: { Authorization: `Bearer ${key}` } });
    expect(malformed.status).toBe(400);
  });

  it('answers a chat whole, with usage and timings', async () => {
    const completion = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Hello' }], max_tokens: 6, ...greedy } as OpenAI.ChatCompletionCreateParamsNonStreaming);
    expect(completion.object).toBe('chat.completion');
    expect(completion.model).toBe(MODEL);
    expect(completion.choices).toHaveLength(1);
    expect(completion.choices[0]!.message.role).toBe('assistant');
    expect(completion.choices[0]!.message.content!.length).toBeGreaterThan(0);
    expect(completion.choices[0]!.finish_reason).toBe('length');
    expect(completion.choices[0]!.logprobs).toBeNull();
    expect(completion.usage).toMatchObject({ completion_tokens: 6 });
    expect(completion.usage!.prompt_tokens).toBeGreaterThan(3);
    expect(completion.usage!.total_tokens).toBe(completion.usage!.prompt_tokens + 6);
    const timings = (completion as unknown as { timings: Record<string, number> }).timings;
    expect(timings).toMatchObject({ prompt_tokens: completion.usage!.prompt_tokens, decode_tokens: 6 });
    expect(timings['cached_tokens']).toBeGreaterThanOrEqual(0);
    expect(timings['prefill_tokens_per_second']).toBeGreaterThan(0);
    expect(timings['decode_tokens_per_second']).toBeGreaterThan(0);
  });

  it('streams the same answer as server-sent events, with usage at the end when asked', async () => {
    const request = { model: MODEL, messages: [{ role: 'user' as const, content: 'Tell me a story' }], max_completion_tokens: 20, seed: 42, temperature: 1, top_k: 0, top_p: 1, min_p: 0 };
    const whole = await client.chat.completions.create(request);
    const stream = await client.chat.completions.create({ ...request, stream: true, stream_options: { include_usage: true } });
    let text = '';
    let contentChunks = 0;
    const finishes: Array<string | null> = [];
    let usage: OpenAI.CompletionUsage | null | undefined = null;
    let timings: unknown = null;
    for await (const chunk of stream) {
      expect(chunk.object).toBe('chat.completion.chunk');
      if (chunk.usage) {
        usage = chunk.usage;
        timings = (chunk as unknown as { timings: unknown }).timings;
        expect(chunk.choices).toEqual([]);
        continue;
      }
      const delta = chunk.choices[0]!.delta.content ?? '';
      if (delta) contentChunks++;
      text += delta;
      finishes.push(chunk.choices[0]!.finish_reason);
    }
    expect(text).toBe(whole.choices[0]!.message.content);
    expect(contentChunks).toBeGreaterThan(3);
    expect(finishes.filter((f) => f !== null)).toEqual([whole.choices[0]!.finish_reason]);
    expect(usage).toMatchObject({ prompt_tokens: whole.usage!.prompt_tokens, completion_tokens: whole.usage!.completion_tokens });
    expect(timings).toMatchObject({ seed: 42 });
  });

  it('gives the same answer for the same seed and another for another seed', async () => {
    const wide = { temperature: 1.5, top_k: 0, top_p: 1, min_p: 0 };
    const ask = async (seed: number): Promise<string> => {
      const completion = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Pick some words' }], max_tokens: 24, seed, ...wide });
      return completion.choices[0]!.message.content!;
    };
    const first = await ask(7);
    expect(await ask(7)).toBe(first);
    expect(await ask(8)).not.toBe(first);
  });

  it('returns logprobs and top_logprobs from the sampler, best first', async () => {
    const completion = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Hi' }], max_tokens: 5, logprobs: true, top_logprobs: 3, ...greedy } as OpenAI.ChatCompletionCreateParamsNonStreaming);
    const content = completion.choices[0]!.logprobs!.content!;
    expect(content).toHaveLength(5);
    expect(content.map((t) => t.token).join('')).toBe(completion.choices[0]!.message.content);
    for (const token of content) {
      expect(token.logprob).toBeLessThanOrEqual(0);
      expect(token.top_logprobs).toHaveLength(3);
      const tops = token.top_logprobs.map((t) => t.logprob);
      expect([...tops].sort((a, b) => b - a)).toEqual(tops);
      // Greedy: the chosen token is the most probable one.
      expect(token.logprob).toBeCloseTo(tops[0]!, 6);
      expect(token.bytes).toEqual([...Buffer.from(token.token, 'utf8')]);
    }
    const asked = sent.filter((m) => m.type === 'generate').at(-1);
    expect(asked).toMatchObject({ candidates: 3 });
  });

  it('stops at a stop string, whole or streamed, without sending any part of it', async () => {
    const request = { model: MODEL, messages: [{ role: 'user' as const, content: 'Count' }], max_tokens: 40, seed: 3, temperature: 1, top_k: 0, top_p: 1, min_p: 0 };
    const free = (await client.chat.completions.create(request)).choices[0]!.message.content!;
    // Two characters from the middle: long enough to arrive across two tokens at times.
    const stop = [...free].slice(10, 12).join('');
    expect(stop.length).toBeGreaterThanOrEqual(2);
    const expected = free.slice(0, free.indexOf(stop));
    const whole = await client.chat.completions.create({ ...request, stop: [stop, 'never-said-1', 'never-said-2', 'never-said-3'] });
    expect(whole.choices[0]!.message.content).toBe(expected);
    expect(whole.choices[0]!.finish_reason).toBe('stop');

    const stream = await client.chat.completions.create({ ...request, stop, stream: true });
    const chunks: string[] = [];
    let finish: string | null = null;
    for await (const chunk of stream) {
      const delta = chunk.choices[0]?.delta.content;
      if (delta) chunks.push(delta);
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(chunks.join('')).toBe(expected);
    expect(finish).toBe('stop');
    // The generation was cut short: the host was told to stop.
    const last = sent.filter((m) => m.type === 'generate').at(-1)!;
    expect(sent.some((m) => m.type === 'cancel' && m.requestId === last.requestId)).toBe(true);
  });

  it('completes a raw prompt without the chat template, with legacy logprobs', async () => {
    const completion = await client.completions.create({ model: MODEL, prompt: 'Once upon a time', max_tokens: 5, logprobs: 2, ...greedy } as OpenAI.CompletionCreateParamsNonStreaming);
    expect(completion.object).toBe('text_completion');
    expect(completion.choices[0]!.text.length).toBeGreaterThan(0);
    expect(completion.choices[0]!.logprobs!.tokens!.join('')).toBe(completion.choices[0]!.text);
    expect(completion.choices[0]!.logprobs!.top_logprobs![0]).toBeTypeOf('object');
    const asked = sent.filter((m) => m.type === 'generate').at(-1)!;
    expect(asked).toMatchObject({ prompt: 'Once upon a time' });
    expect('messages' in asked).toBe(false);
    // The prompt is the tokenizer's encoding of the text as it is (with its BOS), nothing more.
    const tokenizer = await AutoTokenizer.from_pretrained(DEMO_MODEL, { local_files_only: true });
    expect(completion.usage!.prompt_tokens).toBe(tokenizer.encode('Once upon a time').length);
    const other = await client.completions.create({ model: MODEL, prompt: 'Zebras 42 !?', max_tokens: 5, ...greedy } as OpenAI.CompletionCreateParamsNonStreaming);
    expect(other.usage!.prompt_tokens).toBe(tokenizer.encode('Zebras 42 !?').length);
    const chat = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Once upon a time' }], max_tokens: 1 });
    // The template adds its own tokens around the words.
    expect(chat.usage!.prompt_tokens).toBeGreaterThan(completion.usage!.prompt_tokens);
  });

  it('cancels the generation when the client goes away mid-stream', async () => {
    const controller = new AbortController();
    const stream = await client.chat.completions.create(
      { model: MODEL, messages: [{ role: 'user', content: 'Go on and on' }], max_tokens: 2000, stream: true, ...greedy } as OpenAI.ChatCompletionCreateParamsStreaming,
      { signal: controller.signal },
    );
    let chunks = 0;
    // The client ends its iteration when its request is aborted.
    for await (const chunk of stream) {
      chunks++;
      if (chunk.choices[0]?.delta.content) controller.abort();
    }
    expect(chunks).toBeLessThan(100);
    const generate = sent.filter((m) => m.type === 'generate').at(-1)!;
    expect(generate).toMatchObject({ params: { maxNewTokens: 2000 } });
    await expect.poll(() => received.find((e) => e.type === 'done' && e.requestId === generate.requestId), { timeout: 10_000 }).toBeTruthy();
    expect(sent.some((m) => m.type === 'cancel' && m.requestId === generate.requestId)).toBe(true);
    const done = received.find((e) => e.type === 'done' && e.requestId === generate.requestId) as Extract<HostEvent, { type: 'done' }>;
    expect(done.stats.stopReason).toBe('cancelled');
    expect(done.stats.decodeTokens).toBeLessThan(2000);
  });

  it('switches to the model a request names, and refuses an unknown one with 404', async () => {
    const completion = await client.chat.completions.create({ model: 'second-model', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 2 });
    expect(completion.model).toBe('second-model');
    expect(app.models.getStatus()).toMatchObject({ state: 'ready', modelId: 'second-model' });
    const error = await client.chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'Hi' }] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    expect((error as InstanceType<typeof OpenAI.NotFoundError>).code).toBe('model_not_found');
    expect((error as InstanceType<typeof OpenAI.NotFoundError>).param).toBe('model');
  });

  it('refuses a missing or wrong key with 401', async () => {
    const wrong = new OpenAI({ baseURL: baseUrl, apiKey: 'jl-not-the-key', maxRetries: 0 });
    await expect(wrong.models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
    const bare = await fetch(`${baseUrl}/models`);
    expect(bare.status).toBe(401);
    expect(await bare.json()).toMatchObject({ error: { code: 'invalid_api_key', type: 'invalid_request_error', param: null } });
  });

  it('refuses bad values with 400 naming the field', async () => {
    const refused = async (body: Record<string, unknown>): Promise<InstanceType<typeof OpenAI.BadRequestError>> => {
      const error = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Hi' }], ...body } as never).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.BadRequestError);
      return error as InstanceType<typeof OpenAI.BadRequestError>;
    };
    expect((await refused({ n: 2 })).param).toBe('n');
    expect((await refused({ n: 2 })).message).toMatch(/only n = 1/);
    expect((await refused({ temperature: 3 })).param).toBe('temperature');
    expect((await refused({ top_logprobs: 21, logprobs: true })).param).toBe('top_logprobs');
    expect((await refused({ top_logprobs: 2 })).param).toBe('top_logprobs');
    expect((await refused({ stop: ['a', 'b', 'c', 'd', 'e'] })).param).toBe('stop');
    expect((await refused({ tools: [] })).param).toBe('tools');
    expect((await refused({ messages: [{ role: 'tool', content: 'x' }] })).param).toBe('messages[0].role');
    expect((await refused({ max_tokens: 0 })).param).toBe('max_tokens');
    expect((await refused({ messages: [] })).param).toBe('messages');
  });

  it('refuses malformed JSON with 400 and a body over the limit with 413', async () => {
    const post = (body: string): Promise<Response> =>
      fetch(`${baseUrl}/chat/completions`, { method: 'POST', headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' }, body });
    const malformed = await post('{"model": "jielong-tiny-random", "messages": [');
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toMatchObject({ error: { type: 'invalid_request_error', code: 'invalid_json', param: null } });
    const large = await post(JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'x'.repeat(70 * 1024) }] }));
    expect(large.status).toBe(413);
    expect(await large.json()).toMatchObject({ error: { code: 'request_too_large' } });
    // Sent in chunks with no Content-Length: counted as it arrives.
    const chunked = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const url = new URL(`${baseUrl}/chat/completions`);
      const req = httpRequest({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' } }, (response) => {
        let body = '';
        response.on('data', (data: Buffer) => (body += data.toString()));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.write(`{"model": "${MODEL}", "messages": [{"role": "user", "content": "`);
      for (let i = 0; i < 80; i++) req.write('z'.repeat(1024));
      req.end('"}]}');
    });
    expect(chunked.status).toBe(413);
    expect(JSON.parse(chunked.body)).toMatchObject({ error: { code: 'request_too_large' } });
    const error = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'y'.repeat(70 * 1024) }] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(413);
  });

  it('serves nothing else of the app', async () => {
    for (const [method, url] of [['GET', '/'], ['GET', '/ws'], ['POST', '/v1/conversations'], ['GET', '/index.html'], ['GET', '/v1/settings']] as const) {
      const response = await fetch(new URL(url, baseUrl).toString(), { method, headers: { Authorization: `Bearer ${key}` } });
      expect(response.status).toBe(404);
      expect(await response.json()).toMatchObject({ error: { code: 'unknown_url' } });
    }
  });

  it('logs each request for the settings', async () => {
    const status = (await app.dispatch('api.status', {})) as { ok: true; value: { running: boolean; log: Array<{ path: string; status: number; model: string | null; completionTokens: number | null }> } };
    expect(status.ok).toBe(true);
    expect(status.value.running).toBe(true);
    const chats = status.value.log.filter((e) => e.path === '/v1/chat/completions' && e.status === 200);
    expect(chats.length).toBeGreaterThan(3);
    expect(chats[0]).toMatchObject({ model: expect.any(String) as string, completionTokens: expect.any(Number) as number });
    expect(status.value.log.some((e) => e.status === 401)).toBe(true);
  });
});
