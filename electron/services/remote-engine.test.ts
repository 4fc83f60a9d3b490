// A remote OpenAI-compatible engine as a source of answers: against Jielong's own API server
// (the two halves meet), and against a scripted server that refuses keys, rate-limits, fails,
// stalls and cuts its stream part-way.
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scriptedSpawner } from '../../e2e/support/scripted-host.ts';
import type { ModelHostError } from '../shared/model-host-error.ts';
import type { HostEventOf, SeededSamplingParams } from '../shared/model-host-protocol.ts';
import { createAppServices, type AppServices } from './app-services.ts';
import { generateRemote, listRemoteModels, type RemoteEndpoint } from './remote-engine.ts';

const DEMO_MODEL = fileURLToPath(new URL('../../resources/models/jielong-tiny-random', import.meta.url));
const ANSWER = 'The remote answer arrives in pieces over the network.';
const PARAMS: SeededSamplingParams = { temperature: 0.7, topK: 40, topP: 0.95, minP: 0.05, repetitionPenalty: 1.1, maxNewTokens: 64, seed: 11 };

/** A port nothing listens on (not one of the ports fetch refuses outright). */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as { port: number }).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** Runs one remote answer; returns the tokens seen and the outcome. */
async function ask(endpoint: RemoteEndpoint, candidates = 0, stallMs?: number): Promise<{ tokens: Array<HostEventOf<'token'>>; text: string; result: Awaited<ReturnType<typeof generateRemote>['done']> | ModelHostError }> {
  const tokens: Array<HostEventOf<'token'>> = [];
  const generation = generateRemote(endpoint, { messages: [{ role: 'user', content: 'Hello' }], params: PARAMS, candidates, onToken: (event) => tokens.push(event) }, stallMs ? { stallMs } : {});
  const result = await generation.done.catch((error: ModelHostError) => error);
  return { tokens, text: tokens.map((t) => t.text).join(''), result };
}

describe('a remote engine: Jielong serving Jielong', () => {
  let root: string;
  let app: AppServices;
  let endpoint: RemoteEndpoint;

  beforeAll(async () => {
    root = mkdtempSync(path.join(os.tmpdir(), 'jielong-remote-'));
    cpSync(DEMO_MODEL, path.join(root, 'models', 'demo'), { recursive: true });
    app = createAppServices({ dataDir: path.join(root, 'data'), bundledModelsDir: path.join(root, 'models'), spawnHost: scriptedSpawner({ answer: () => ANSWER, batchDelayMs: 2 }) });
    await app.models.load('jielong-tiny-random');
    const { baseUrl, key } = await app.openai.startForThisRun({ port: 0, allowNetwork: false });
    endpoint = { baseUrl, apiKey: key, model: 'jielong-tiny-random', samplingExtensions: true, contextLength: 4096 };
  });
  afterAll(async () => {
    await app.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('the connection test lists the server models', async () => {
    expect(await listRemoteModels(endpoint)).toEqual([{ id: 'jielong-tiny-random', contextLength: 2048 }]);
  });

  it('streams the answer with the server logprobs and its usage as the stats', async () => {
    const { tokens, text, result } = await ask(endpoint, 3);
    expect(text).toBe(ANSWER);
    expect(tokens.length).toBeGreaterThan(5);
    for (const token of tokens) {
      expect(token.probability).toBeGreaterThan(0);
      expect(token.candidates).toHaveLength(3);
    }
    expect(result).toMatchObject({ stopReason: 'eos', seed: 11, contextLength: 4096, decodeTokens: tokens.length });
    expect((result as { promptTokens: number }).promptTokens).toBeGreaterThan(0);
  });

  it('without candidates asked, no logprobs are asked of the server', async () => {
    const { tokens, text } = await ask(endpoint, 0);
    expect(text).toBe(ANSWER);
    for (const token of tokens) expect(token.candidates).toBeUndefined();
  });

  it('a wrong key is a clear 401', async () => {
    const { result } = await ask({ ...endpoint, apiKey: 'jl-wrong' });
    expect(result).toMatchObject({ code: 'remote_unauthorized', message: expect.stringMatching(/refused the API key \(401\): Incorrect API key/) as string });
    await expect(listRemoteModels({ baseUrl: endpoint.baseUrl, apiKey: null })).rejects.toMatchObject({ code: 'remote_unauthorized' });
  });
});

describe('a remote engine that fails', () => {
  let server: Server;
  let base: string;
  const closedBy: string[] = [];

  const sse = (response: ServerResponse): void => {
    response.writeHead(200, { 'Content-Type': 'text/event-stream' });
  };
  const chunk = (response: ServerResponse, content: string): void => {
    response.write(`data: ${JSON.stringify({ choices: [{ index: 0, delta: { content }, finish_reason: null }] })}\n\n`);
  };

  beforeAll(async () => {
    server = createServer((request, response) => {
      let body = '';
      request.on('data', (data: Buffer) => (body += data.toString()));
      request.on('end', () => {
        if (request.url === '/html/v1/models') return void response.writeHead(200, { 'Content-Type': 'text/html' }).end('<html>a router login page</html>');
        const model = request.method === 'POST' ? (JSON.parse(body) as { model: string }).model : '';
        response.on('close', () => closedBy.push(model));
        switch (model) {
          case 'limited':
            return void response.writeHead(429, { 'Retry-After': '3', 'Content-Type': 'application/json' }).end(JSON.stringify({ error: { message: 'Too many requests' } }));
          case 'broken':
            return void response.writeHead(502, { 'Content-Type': 'text/plain' }).end('upstream engine crashed');
          case 'cut':
            sse(response);
            chunk(response, 'Half of ');
            chunk(response, 'an answer');
            return void setTimeout(() => response.socket?.destroy(), 50);
          case 'ends-early':
            sse(response);
            chunk(response, 'No end ');
            return void setTimeout(() => response.end(), 20);
          case 'stall':
            sse(response);
            chunk(response, 'Then ');
            chunk(response, 'silence');
            return; // never ends
          case 'error-mid':
            sse(response);
            chunk(response, 'Started ');
            response.write(`data: ${JSON.stringify({ error: { message: 'out of memory on the GPU' } })}\n\n`);
            return void response.end();
          case 'slow':
            sse(response);
            chunk(response, 'one ');
            return void setTimeout(() => chunk(response, 'two '), 30_000);
          default:
            return void response.writeHead(404).end();
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}/v1`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const at = (model: string): RemoteEndpoint => ({ baseUrl: base, apiKey: 'k', model });

  it('unreachable: says it could not reach the address', async () => {
    const nobody = await closedPort();
    const { result } = await ask({ baseUrl: `http://127.0.0.1:${nobody}/v1`, apiKey: null, model: 'x' });
    expect(result).toMatchObject({ code: 'remote_unreachable', message: `Could not reach http://127.0.0.1:${nobody}/v1 (ECONNREFUSED). Check the address and that the server is running.` });
  });

  it('429 and 5xx: say so, with the retry time and the server message', async () => {
    expect((await ask(at('limited'))).result).toMatchObject({ code: 'remote_rate_limited', message: expect.stringMatching(/\(429\): retry in 3 s: Too many requests/) as string });
    expect((await ask(at('broken'))).result).toMatchObject({ code: 'remote_failed', message: expect.stringMatching(/failed \(502 Bad Gateway\): upstream engine crashed/) as string });
  });

  it('a stream cut, ended early, stalled or failed part-way keeps what arrived', async () => {
    const cut = await ask(at('cut'));
    expect(cut.text).toBe('Half of an answer');
    expect(cut.result).toMatchObject({ code: 'remote_stream_cut', partialText: 'Half of an answer', message: expect.stringMatching(/cut in the middle/) as string });
    const early = await ask(at('ends-early'));
    expect(early.result).toMatchObject({ code: 'remote_stream_cut', partialText: 'No end ', message: expect.stringMatching(/closed in the middle/) as string });
    const stalled = await ask(at('stall'), 0, 300);
    expect(stalled.result).toMatchObject({ code: 'remote_stream_cut', partialText: 'Then silence', message: expect.stringMatching(/stopped sending/) as string });
    const failed = await ask(at('error-mid'));
    expect(failed.result).toMatchObject({ code: 'remote_stream_cut', partialText: 'Started ', message: expect.stringMatching(/out of memory on the GPU/) as string });
  });

  it('cancel ends the answer as cancelled and closes the connection', async () => {
    const tokens: string[] = [];
    const generation = generateRemote(at('slow'), { messages: [{ role: 'user', content: 'Hi' }], params: PARAMS, onToken: (event) => tokens.push(event.text) });
    await expect.poll(() => tokens.length).toBe(1);
    generation.cancel();
    expect(await generation.done).toMatchObject({ stopReason: 'cancelled' });
    await expect.poll(() => closedBy.includes('slow')).toBe(true);
  });

  it('the connection test refuses what is not an OpenAI-compatible address', async () => {
    await expect(listRemoteModels({ baseUrl: base.replace('/v1', '/html/v1'), apiKey: null })).rejects.toMatchObject({ code: 'remote_failed', message: expect.stringMatching(/not answer with an OpenAI-style model list/) as string });
    await expect(listRemoteModels({ baseUrl: `http://127.0.0.1:${await closedPort()}/v1`, apiKey: null })).rejects.toMatchObject({ code: 'remote_unreachable' });
  });
});
