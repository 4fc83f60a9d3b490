// Jielong's OpenAI-compatible API: the local models served over HTTP to other tools (editors,
// scripts, agents) with the official SDKs. Only the /v1 endpoints below are reachable here —
// nothing else of the app (conversations, settings, files). Loopback only unless the user
// chose network access, which needs an API key; browser pages of other origins are refused
// unless their origin is listed; every body is size-limited and validated where it enters.
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import type { ModelStatus } from '../../shared/chat-types.ts';
import { ModelHostError } from '../../shared/model-host-error.ts';
import type { ChatMessage, GenerationStats, HostEventOf, SamplingParams } from '../../shared/model-host-protocol.ts';
import type { Generation, GenerateOptions } from '../model-host-client.ts';
import { OpenAiError, badRequest } from './errors.ts';
import { GenerationGate, type ChatActivity } from './generation-gate.ts';
import { RequestLog } from './request-log.ts';
import {
  chatCompletionRequestSchema,
  chatMessagesFrom,
  completionRequestSchema,
  requestError,
  samplingFrom,
  stopStrings,
  type ChatCompletionRequest,
  type CompletionRequest,
} from './request-schemas.ts';
import { StopFilter } from './stop-filter.ts';

/** What the API needs of the app: its models, the model host, the chat it shares the model with. */
export interface OpenAiBackend {
  listModels(): Promise<Array<{ id: string; name: string; contextLength: number | null; installedAt?: string | null }>>;
  status(): ModelStatus;
  /** Loads (switching if need be) an installed model. */
  load(modelId: string): Promise<unknown>;
  generate(options: GenerateOptions): Generation;
  /** Sampling for the fields a request leaves out (the app's defaults under the loaded model's own). */
  defaults(): Omit<SamplingParams, 'seed'> | Promise<Omit<SamplingParams, 'seed'>>;
  chat: ChatActivity;
  /** Keeps an API chat as a conversation; called only when the user turned that on. */
  store?(record: StoredExchange): void;
}

export interface StoredExchange {
  model: string;
  messages: ChatMessage[];
  answer: string;
  params: SamplingParams;
  stats: GenerationStats;
  interrupted: boolean;
}

export interface OpenAiServerOptions {
  backend: OpenAiBackend;
  /** 0 picks a free port. */
  port: number;
  /** Listen on every interface (0.0.0.0) instead of 127.0.0.1: needs `keyHash`. */
  allowNetwork?: boolean;
  /** Where to listen instead (tests); a non-loopback address counts as network access. */
  host?: string;
  /** SHA-256 hex of the API key; null: no key asked (loopback only). A function: read per request (a new key applies at once). */
  keyHash: string | null | (() => string | null);
  /** Browser origins allowed to call the API (CORS); others are refused. A function: read per request. */
  corsOrigins?: readonly string[] | (() => readonly string[]);
  maxBodyBytes?: number;
  /** Waiting requests before 429. */
  maxQueue?: number;
  /** Whether to keep API chats as conversations (read per request). */
  storeConversations?: () => boolean;
  log?: RequestLog;
}

export interface OpenAiServer {
  /** e.g. http://127.0.0.1:5859/v1 */
  baseUrl: string;
  port: number;
  gate: GenerationGate;
  log: RequestLog;
  close(): Promise<void>;
}

export const DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** A new API key: 32 random bytes, prefixed so people recognise it. */
export function generateApiKey(): string {
  return `jl-${randomBytes(32).toString('base64url')}`;
}

export function isLoopbackAddress(host: string): boolean {
  if (host === 'localhost') return true;
  const bare = host.replace(/^\[|\]$/g, '');
  if (isIP(bare) === 4) return bare.startsWith('127.');
  if (isIP(bare) === 6) return bare === '::1';
  return false;
}

export async function startOpenAiServer(options: OpenAiServerOptions): Promise<OpenAiServer> {
  const host = options.host ?? (options.allowNetwork ? '0.0.0.0' : '127.0.0.1');
  const loopback = isLoopbackAddress(host);
  if (!loopback && !options.allowNetwork) {
    throw new Error(`Refusing to serve the API on ${host}: it is not a loopback address. Turn on network access explicitly (and set an API key).`);
  }
  if (!loopback && !currentKeyHash(options)) {
    throw new Error(`Refusing to serve the API on ${host} without an API key: anyone on the network could use your models. Create a key first.`);
  }
  const gate = new GenerationGate(options.backend.chat, options.maxQueue);
  const log = options.log ?? new RequestLog();
  let port = options.port;
  const context: Context = {
    options,
    gate,
    log,
    loopback,
    allowedHosts: () => new Set([`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]),
  };
  const server: Server = createServer((request, response) => {
    handle(context, request, response).catch((error: unknown) => {
      const failure = error instanceof OpenAiError ? error : new OpenAiError(500, `Internal error: ${error instanceof Error ? error.message : String(error)}`, 'server_error');
      if (!response.headersSent) sendError(response, failure);
      else response.end();
    });
  });
  // Slow clients cannot hold sockets forever while sending a body.
  server.requestTimeout = 60_000;
  server.headersTimeout = 20_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  port = typeof address === 'object' && address ? address.port : port;
  const shownHost = host === '0.0.0.0' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  return {
    baseUrl: `http://${shownHost}:${port}/v1`,
    port,
    gate,
    log,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

interface Context {
  options: OpenAiServerOptions;
  gate: GenerationGate;
  log: RequestLog;
  loopback: boolean;
  allowedHosts(): Set<string>;
}

const BASE_HEADERS = { 'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'no-store' };

function currentKeyHash(options: OpenAiServerOptions): string | null {
  return typeof options.keyHash === 'function' ? options.keyHash() : options.keyHash;
}

function currentOrigins(options: OpenAiServerOptions): readonly string[] {
  return typeof options.corsOrigins === 'function' ? options.corsOrigins() : (options.corsOrigins ?? []);
}

function sendJson(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { ...BASE_HEADERS, ...headers, 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  response.end(text);
}

function sendError(response: ServerResponse, error: OpenAiError): void {
  sendJson(response, error.status, error.body(), error.headers);
}

async function handle(context: Context, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const started = performance.now();
  const entry = { model: null as string | null, promptTokens: null as number | null, completionTokens: null as number | null, tokensPerSecond: null as number | null, error: null as string | null };
  const url = new URL(request.url ?? '/', 'http://placeholder');
  const method = request.method ?? 'GET';
  response.once('close', () => {
    context.log.add({
      time: new Date().toISOString(),
      method,
      path: url.pathname.slice(0, 200),
      model: entry.model,
      status: response.statusCode,
      promptTokens: entry.promptTokens,
      completionTokens: entry.completionTokens,
      tokensPerSecond: entry.tokensPerSecond,
      durationMs: Math.round(performance.now() - started),
      error: entry.error ?? (response.writableFinished ? null : 'the client disconnected'),
    });
  });
  try {
    await route(context, request, response, url, method, entry);
  } catch (error) {
    const failure = error instanceof OpenAiError ? error : new OpenAiError(500, `Internal error: ${error instanceof Error ? error.message : String(error)}`, 'server_error');
    entry.error = failure.message;
    if (!response.headersSent) sendError(response, failure);
    else if (!response.writableEnded) {
      response.write(`data: ${JSON.stringify(failure.body())}\n\n`);
      response.end();
    }
  }
}

type LogEntry = { model: string | null; promptTokens: number | null; completionTokens: number | null; tokensPerSecond: number | null; error: string | null };

async function route(context: Context, request: IncomingMessage, response: ServerResponse, url: URL, method: string, entry: LogEntry): Promise<void> {
  const { options } = context;
  // A page that made some name resolve to 127.0.0.1 (DNS rebinding) is not this server's client.
  if (context.loopback && !context.allowedHosts().has(request.headers.host ?? '')) {
    throw new OpenAiError(403, 'This address is not served here (the Host header names another site).', 'permission_error', null, 'host_not_allowed');
  }
  // Browser pages: only the listed origins, and only with CORS; everything else is refused
  // before anything runs (a no-cors POST from a page must not start a generation either).
  const origin = request.headers.origin;
  const corsHeaders: Record<string, string> = {};
  if (origin !== undefined) {
    if (!currentOrigins(options).includes(origin)) {
      throw new OpenAiError(403, `Requests from the web page at ${origin.slice(0, 200)} are not allowed: add its origin to the API's CORS origins in the settings.`, 'permission_error', null, 'origin_not_allowed');
    }
    corsHeaders['Access-Control-Allow-Origin'] = origin;
    corsHeaders['Vary'] = 'Origin';
  }
  if (method === 'OPTIONS') {
    response.writeHead(204, {
      ...BASE_HEADERS,
      ...corsHeaders,
      'Access-Control-Allow-Methods': 'GET, POST, OPTIONS',
      'Access-Control-Allow-Headers': 'authorization, content-type',
      'Access-Control-Max-Age': '600',
    });
    response.end();
    return;
  }
  for (const [name, value] of Object.entries(corsHeaders)) response.setHeader(name, value);

  const keyHash = currentKeyHash(options);
  // Beyond loopback a key is always asked, even if it were somehow gone.
  if ((keyHash || !context.loopback) && !keyMatches(request.headers.authorization, keyHash ?? '')) {
    throw new OpenAiError(
      401,
      request.headers.authorization ? 'Incorrect API key provided.' : "You didn't provide an API key: send it as 'Authorization: Bearer <key>'.",
      'invalid_request_error',
      null,
      'invalid_api_key',
    );
  }

  const path = url.pathname.replace(/\/+$/, '');
  if (path === '/v1/models' || path.startsWith('/v1/models/')) {
    if (method !== 'GET') throw methodNotAllowed('GET');
    const models = await options.backend.listModels();
    const status = options.backend.status();
    const describe = (m: (typeof models)[number]) => ({
      id: m.id,
      object: 'model' as const,
      created: m.installedAt ? Math.floor(Date.parse(m.installedAt) / 1000) || 0 : 0,
      owned_by: 'jielong',
      name: m.name,
      context_length: m.contextLength,
      loaded: status.state === 'ready' && status.modelId === m.id,
    });
    if (path === '/v1/models') {
      sendJson(response, 200, { object: 'list', data: models.map(describe) });
      return;
    }
    let id: string;
    try {
      id = decodeURIComponent(path.slice('/v1/models/'.length));
    } catch {
      throw badRequest('The model id in the path is not valid percent-encoding.', 'model');
    }
    const model = models.find((m) => m.id === id);
    if (!model) throw modelNotFound(id);
    sendJson(response, 200, describe(model));
    return;
  }
  if (path === '/v1/chat/completions' || path === '/v1/completions') {
    if (method !== 'POST') throw methodNotAllowed('POST');
    const body = await readJson(request, options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES);
    if (path === '/v1/chat/completions') {
      const parsed = chatCompletionRequestSchema.safeParse(body);
      if (!parsed.success) throw requestError(parsed.error);
      entry.model = parsed.data.model;
      await complete(context, request, response, { kind: 'chat', request: parsed.data }, entry);
    } else {
      const parsed = completionRequestSchema.safeParse(body);
      if (!parsed.success) throw requestError(parsed.error);
      entry.model = parsed.data.model;
      await complete(context, request, response, { kind: 'text', request: parsed.data }, entry);
    }
    return;
  }
  throw new OpenAiError(404, `Unknown endpoint ${method} ${url.pathname.slice(0, 200)}: this server offers GET /v1/models, POST /v1/chat/completions and POST /v1/completions.`, 'invalid_request_error', null, 'unknown_url');
}

function methodNotAllowed(allowed: string): OpenAiError {
  return new OpenAiError(405, `Use ${allowed} for this endpoint.`, 'invalid_request_error', null, 'method_not_allowed', { Allow: allowed });
}

function modelNotFound(id: string): OpenAiError {
  return new OpenAiError(404, `The model '${id.slice(0, 256)}' does not exist: GET /v1/models lists the installed ones.`, 'invalid_request_error', 'model', 'model_not_found');
}

function keyMatches(header: string | undefined, keyHash: string): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  if (!match) return false;
  const given = Buffer.from(hashApiKey(match[1]!), 'hex');
  const expected = Buffer.from(keyHash, 'hex');
  if (expected.length !== 32) return false;
  return given.length === expected.length && timingSafeEqual(given, expected);
}

async function readJson(request: IncomingMessage, limit: number): Promise<unknown> {
  const tooLarge = (): OpenAiError => new OpenAiError(413, `The request body is larger than the limit of ${limit} bytes.`, 'invalid_request_error', null, 'request_too_large', { Connection: 'close' });
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    request.resume();
    throw tooLarge();
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      request.resume();
      throw tooLarge();
    }
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw badRequest('We could not parse the JSON body of your request: it must be a JSON object.', null, 'invalid_json');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('The request body must be a JSON object.', null, 'invalid_json');
  return body;
}

type Job = { kind: 'chat'; request: ChatCompletionRequest } | { kind: 'text'; request: CompletionRequest };

interface TokenInfo {
  text: string;
  logprob: number;
  top: Array<{ text: string; logprob: number }>;
}

/** log of a probability, finite as JSON needs (OpenAI uses -9999 for "practically impossible"). */
function logprob(probability: number): number {
  return probability > 0 ? Math.max(-9999, Math.log(probability)) : -9999;
}

function finishReason(stats: GenerationStats, stopHit: boolean): 'stop' | 'length' {
  if (stopHit) return 'stop';
  return stats.stopReason === 'max_tokens' || stats.stopReason === 'context_full' ? 'length' : 'stop';
}

function usageOf(stats: GenerationStats) {
  return {
    prompt_tokens: stats.promptTokens,
    completion_tokens: stats.decodeTokens,
    total_tokens: stats.promptTokens + stats.decodeTokens,
    prompt_tokens_details: { cached_tokens: stats.cachedTokens },
  };
}

function timingsOf(stats: GenerationStats) {
  return {
    prompt_tokens: stats.promptTokens,
    cached_tokens: stats.cachedTokens,
    prefill_ms: round(stats.prefillMs),
    prefill_tokens_per_second: round(stats.prefillTokensPerSecond),
    time_to_first_token_ms: round(stats.timeToFirstTokenMs),
    decode_tokens: stats.decodeTokens,
    decode_tokens_per_second: round(stats.decodeTokensPerSecond),
    seed: stats.seed,
  };
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

function hostFailure(error: unknown): OpenAiError {
  if (error instanceof OpenAiError) return error;
  if (error instanceof ModelHostError) {
    if (error.code === 'model_not_found') return new OpenAiError(404, error.message, 'invalid_request_error', 'model', 'model_not_found');
    if (error.code === 'context_full') return badRequest(error.message, 'messages', 'context_length_exceeded');
    if (error.code === 'invalid_request') return badRequest(error.message);
    const status = error.code === 'host_exited' || error.code === 'busy' ? 503 : 500;
    return new OpenAiError(status, `The model failed: ${error.message}`, 'server_error', null, error.code);
  }
  return new OpenAiError(500, error instanceof Error ? error.message : String(error), 'server_error');
}

/** One generation, streamed as server-sent events or answered whole. */
async function complete(context: Context, request: IncomingMessage, response: ServerResponse, job: Job, entry: LogEntry): Promise<void> {
  const { backend } = context.options;
  const body = job.request;
  const wanted = body.model;
  const models = await backend.listModels();
  if (!models.some((m) => m.id === wanted)) throw modelNotFound(wanted);
  let candidates = 0;
  let withLogprobs = false;
  if (job.kind === 'chat') {
    if (job.request.top_logprobs !== null && job.request.top_logprobs !== undefined && job.request.logprobs !== true) {
      throw badRequest("Invalid value for 'top_logprobs': it needs logprobs set to true.", 'top_logprobs');
    }
    withLogprobs = job.request.logprobs === true;
    candidates = withLogprobs ? (job.request.top_logprobs ?? 0) : 0;
  } else if (job.request.logprobs !== null && job.request.logprobs !== undefined) {
    withLogprobs = true;
    candidates = job.request.logprobs;
  }
  if (body.stream !== true && body.stream_options) throw badRequest("Invalid value for 'stream_options': it is only allowed when stream is true.", 'stream_options');

  // The client going away (a closed socket) withdraws the request, queued or generating.
  const disconnect = new AbortController();
  const onClose = (): void => {
    if (!response.writableFinished) disconnect.abort();
  };
  response.once('close', onClose);

  let release: () => void;
  try {
    release = await context.gate.acquire(disconnect.signal);
  } catch (error) {
    if (disconnect.signal.aborted) return;
    throw error;
  }
  try {
    const status = backend.status();
    if (status.state !== 'ready' || status.modelId !== wanted) {
      try {
        await backend.load(wanted);
      } catch (error) {
        throw hostFailure(error);
      }
      if (disconnect.signal.aborted) return;
    }
    const params = samplingFrom(body, await backend.defaults());
    const filter = new StopFilter<TokenInfo>(stopStrings(body));
    const id = `${job.kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${randomUUID().replaceAll('-', '')}`;
    const created = Math.floor(Date.now() / 1000);
    const stream = body.stream === true;
    const includeUsage = stream && body.stream_options?.include_usage === true;
    let text = '';
    const tokens: TokenInfo[] = [];

    const chunk = (fields: Record<string, unknown>): void => {
      const object = job.kind === 'chat' ? 'chat.completion.chunk' : 'text_completion';
      response.write(`data: ${JSON.stringify({ id, object, created, model: wanted, system_fingerprint: null, ...fields })}\n\n`);
    };
    const choiceDelta = (released: { text: string; items: TokenInfo[] }, finish: string | null): Record<string, unknown> =>
      job.kind === 'chat'
        ? { index: 0, delta: finish === null ? { content: released.text } : {}, logprobs: withLogprobs && released.items.length > 0 ? { content: released.items.map(chatLogprob), refusal: null } : null, finish_reason: finish }
        : { index: 0, text: released.text, logprobs: withLogprobs && released.items.length > 0 ? legacyLogprobs(released.items, 0) : null, finish_reason: finish };
    const emit = (released: { text: string; items: TokenInfo[] }): void => {
      text += released.text;
      tokens.push(...released.items);
      if (stream && (released.text !== '' || released.items.length > 0)) chunk({ choices: [choiceDelta(released, null)] });
    };

    if (stream) {
      response.writeHead(200, { ...BASE_HEADERS, 'Content-Type': 'text/event-stream; charset=utf-8', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
      if (job.kind === 'chat') chunk({ choices: [{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }] });
    }

    const generation = backend.generate({
      ...(job.kind === 'chat' ? { messages: chatMessagesFrom(job.request) } : { prompt: typeof job.request.prompt === 'string' ? job.request.prompt : job.request.prompt[0]! }),
      params,
      candidates,
      reuseCache: true,
      onToken: (event: HostEventOf<'token'>) => {
        if (disconnect.signal.aborted) return;
        const info: TokenInfo = {
          text: event.text,
          logprob: logprob(event.probability),
          top: (event.candidates ?? []).map((c) => ({ text: c.text, logprob: logprob(c.probability) })),
        };
        emit(filter.push(event.text, info));
        if (filter.stopped) generation.cancel();
      },
    });
    const cancel = (): void => generation.cancel();
    disconnect.signal.addEventListener('abort', cancel, { once: true });
    let stats: GenerationStats;
    try {
      stats = await generation.done;
    } catch (error) {
      if (disconnect.signal.aborted) return;
      throw hostFailure(error);
    } finally {
      disconnect.signal.removeEventListener('abort', cancel);
    }
    const store = (interrupted: boolean): void => {
      if (job.kind !== 'chat' || !context.options.storeConversations?.() || !backend.store) return;
      try {
        backend.store({ model: wanted, messages: chatMessagesFrom(job.request), answer: text, params: { ...params, seed: stats.seed }, stats, interrupted });
      } catch {
        // Storing is a convenience: the client still gets its answer.
      }
    };
    if (disconnect.signal.aborted) {
      // The client left: what was said so far is kept, as interrupted (when API chats are kept).
      store(true);
      return;
    }
    emit(filter.flush());
    const finish = finishReason(stats, filter.stopped);
    entry.promptTokens = stats.promptTokens;
    entry.completionTokens = stats.decodeTokens;
    entry.tokensPerSecond = round(stats.decodeTokensPerSecond);

    store(false);

    const usage = usageOf(stats);
    const timings = timingsOf(stats);
    if (stream) {
      chunk({ choices: [choiceDelta({ text: '', items: [] }, finish)], ...(includeUsage ? {} : { usage, timings }) });
      if (includeUsage) chunk({ choices: [], usage, timings });
      response.end('data: [DONE]\n\n');
      return;
    }
    const choice =
      job.kind === 'chat'
        ? { index: 0, message: { role: 'assistant', content: text, refusal: null }, logprobs: withLogprobs ? { content: tokens.map(chatLogprob), refusal: null } : null, finish_reason: finish }
        : { index: 0, text, logprobs: withLogprobs ? legacyLogprobs(tokens, 0) : null, finish_reason: finish };
    sendJson(response, 200, { id, object: job.kind === 'chat' ? 'chat.completion' : 'text_completion', created, model: wanted, system_fingerprint: null, choices: [choice], usage, timings });
  } finally {
    release();
  }
}

function bytesOf(text: string): number[] {
  return [...Buffer.from(text, 'utf8')];
}

function chatLogprob(token: TokenInfo) {
  return {
    token: token.text,
    logprob: token.logprob,
    bytes: bytesOf(token.text),
    top_logprobs: token.top.map((t) => ({ token: t.text, logprob: t.logprob, bytes: bytesOf(t.text) })),
  };
}

function legacyLogprobs(tokens: TokenInfo[], offset: number) {
  let at = offset;
  const textOffset: number[] = [];
  for (const token of tokens) {
    textOffset.push(at);
    at += token.text.length;
  }
  return {
    tokens: tokens.map((t) => t.text),
    token_logprobs: tokens.map((t) => t.logprob),
    top_logprobs: tokens.map((t) => Object.fromEntries(t.top.map((c) => [c.text, c.logprob]))),
    text_offset: textOffset,
  };
}
