// The only way the downloader reaches the network: a GET that follows redirects and can be
// aborted. Injected, so tests can count requests and the app can prove it makes none until
// the user starts a download or asks the hub something.
import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';

export interface HttpResponse {
  status: number;
  /** Headers of the final response, lower-case names. */
  headers: Record<string, string>;
  /** Headers of the first response (the hub's, before any redirect to a CDN). */
  firstHeaders: Record<string, string>;
  url: string;
  body: Readable;
}

export interface HttpRequestOptions {
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** No byte for this long (connecting or reading): the request fails. */
  idleTimeoutMs?: number;
}

export type HttpGet = (url: string, options?: HttpRequestOptions) => Promise<HttpResponse>;

/** A network failure (refused, reset, cut, timed out): worth a retry. */
export class NetworkError extends Error {
  override readonly name = 'NetworkError';
  constructor(
    message: string,
    readonly causeCode?: string,
  ) {
    super(message);
  }
}

const MAX_REDIRECTS = 8;
const DEFAULT_IDLE_TIMEOUT_MS = 30_000;
const USER_AGENT = 'Jielong/0.1 (model downloader)';

function flatHeaders(raw: http.IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (value !== undefined) out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

export interface NodeHttpOptions {
  /** Agents to reuse connections; default: Node's global agents. */
  httpAgent?: http.Agent;
  httpsAgent?: https.Agent;
}

/** GET with node:http/https. Rejects only for network failures and aborts; any status resolves. */
export function nodeHttpGet(options: NodeHttpOptions = {}): HttpGet {
  const once = (url: URL, request: HttpRequestOptions): Promise<http.IncomingMessage> =>
    new Promise((resolve, reject) => {
      if (request.signal?.aborted) return reject(abortError(request.signal));
      const client = url.protocol === 'https:' ? https : http;
      const agent = url.protocol === 'https:' ? options.httpsAgent : options.httpAgent;
      const req = client.request(url, {
        method: 'GET',
        headers: { 'user-agent': USER_AGENT, 'accept-encoding': 'identity', ...request.headers },
        ...(agent ? { agent } : {}),
        ...(request.signal ? { signal: request.signal } : {}),
      });
      const idle = request.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
      req.setTimeout(idle, () => req.destroy(new NetworkError(`no answer from ${url.host} for ${Math.round(idle / 1000)} s`, 'ETIMEDOUT')));
      // The socket's idle limit stays on while the body streams: a stall destroys the request,
      // and the body then fails.
      req.on('response', (res) => resolve(res));
      req.on('error', (error: NodeJS.ErrnoException) => {
        if (error.name === 'AbortError') return reject(error);
        reject(error instanceof NetworkError ? error : new NetworkError(`${url.host}: ${error.message}`, error.code));
      });
      req.end();
    });

  return async (url, request = {}) => {
    let current = new URL(url);
    let first: Record<string, string> | null = null;
    for (let hop = 0; ; hop++) {
      if (current.protocol !== 'http:' && current.protocol !== 'https:') throw new NetworkError(`refusing to follow a redirect to ${current.protocol} URL`);
      const res = await once(current, request);
      const headers = flatHeaders(res.headers);
      first ??= headers;
      const status = res.statusCode ?? 0;
      const location = headers['location'];
      if ([301, 302, 303, 307, 308].includes(status) && location) {
        res.resume();
        if (hop >= MAX_REDIRECTS) throw new NetworkError(`more than ${MAX_REDIRECTS} redirects from ${url}`);
        current = new URL(location, current);
        continue;
      }
      res.on('error', () => undefined);
      return { status, headers, firstHeaders: first, url: current.toString(), body: res };
    }
  };
}

function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  const error = new Error('The request was aborted');
  error.name = 'AbortError';
  return error;
}

/** Reads a whole (small) body, refusing more than `limit` bytes. */
export async function readBody(response: HttpResponse, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of response.body as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > limit) {
      response.body.destroy();
      throw new Error(`the answer from ${response.url} is larger than ${limit} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
