// The browser host: the same services as the Electron app, reachable from a browser tab on
// this machine. It serves the built renderer over HTTP and speaks the contract over one
// WebSocket per tab. It binds to loopback only (unless told otherwise, explicitly), checks
// the Host header of every request (against DNS rebinding) and the Origin of every
// WebSocket upgrade, and accepts a socket only with this run's random token.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import path from 'node:path';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { Dispatch } from '../services/api.ts';
import type { EventBus } from '../services/event-bus.ts';
import type { CallFrame, HostFrame } from '../shared/socket-frames.ts';

export interface BrowserHostOptions {
  dispatch: Dispatch;
  events: EventBus;
  /** The built renderer (index.html and assets). */
  rendererDir: string;
  /** 0 picks a free port. */
  port?: number;
  host?: string;
  /** Binding to anything but loopback exposes your conversations to the network: say so explicitly. */
  allowNonLoopback?: boolean;
  /** Fixed token (tests); random per run otherwise. */
  token?: string;
}

export interface BrowserHost {
  /** The address to open, with the token in the fragment (never sent to the server in requests). */
  url: string;
  port: number;
  token: string;
  close(): Promise<void>;
}

/** The CSP of the page; the WebSocket is the only connection it may open. */
export const BROWSER_HOST_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self' ws://127.0.0.1:* ws://localhost:*; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const MAX_FRAME_BYTES = 600 * 1024 * 1024; // a JSON import can be large
const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.ttf': 'font/ttf',
  '.map': 'application/json; charset=utf-8',
};

export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost') return true;
  const bare = host.replace(/^\[|\]$/g, '');
  if (isIP(bare) === 4) return bare.startsWith('127.');
  if (isIP(bare) === 6) return bare === '::1';
  return false;
}

export async function startBrowserHost(options: BrowserHostOptions): Promise<BrowserHost> {
  const host = options.host ?? '127.0.0.1';
  if (!isLoopbackHost(host) && !options.allowNonLoopback) {
    throw new Error(
      `Refusing to listen on ${host}: it is not a loopback address, so other machines could read your conversations. Pass --allow-non-loopback to do it anyway.`,
    );
  }
  const token = options.token ?? randomBytes(32).toString('base64url');
  const rendererRoot = await realpath(options.rendererDir).catch(() => path.resolve(options.rendererDir));
  let port = options.port ?? 0;

  /** The Host header values this server answers to (others: a DNS-rebinding page, refused). */
  const allowedHosts = (): Set<string> =>
    new Set([`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, ...(isLoopbackHost(host) ? [] : [`${host}:${port}`])]);
  const allowedOrigins = (): Set<string> => new Set([...allowedHosts()].map((h) => `http://${h}`));

  const server: Server = createServer((request, response) => {
    // Whether a page's token is this run's: a tab left open across a restart learns that its
    // address is out of date instead of retrying forever. Answers only yes (204) or no (401).
    if (request.url === '/token-check' && request.method === 'GET' && allowedHosts().has(request.headers.host ?? '')) {
      const given = request.headers['x-jielong-token'];
      response.writeHead(tokensMatch(typeof given === 'string' ? given : null, token) ? 204 : 401, { 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' }).end();
      return;
    }
    serveStatic(request, response, rendererRoot, allowedHosts()).catch(() => {
      if (!response.headersSent) response.writeHead(500).end();
    });
  });

  const sockets = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });
  server.on('upgrade', (request, socket, head) => {
    const refuse = (status: number, reason: string): void => {
      socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    const url = new URL(request.url ?? '/', 'http://placeholder');
    if (url.pathname !== '/ws') return refuse(404, 'Not Found');
    if (!allowedHosts().has(request.headers.host ?? '')) return refuse(403, 'Forbidden');
    if (!allowedOrigins().has(request.headers.origin ?? '')) return refuse(403, 'Forbidden');
    if (!tokensMatch(url.searchParams.get('token'), token)) return refuse(401, 'Unauthorized');
    sockets.handleUpgrade(request, socket, head, (ws) => connect(ws, options.dispatch));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  // Every event goes to every open tab: written as JSON once, whatever the number of tabs.
  const unsubscribe = options.events.subscribe((name, payload) => {
    if (sockets.clients.size === 0) return;
    const frame = JSON.stringify({ type: 'event', name, payload } satisfies HostFrame);
    for (const client of sockets.clients) if (client.readyState === client.OPEN) client.send(frame);
  });
  const address = server.address();
  port = typeof address === 'object' && address ? address.port : port;
  const shownHost = host.includes(':') ? `[${host}]` : host;

  return {
    url: `http://${shownHost}:${port}/#token=${token}`,
    port,
    token,
    close: async () => {
      unsubscribe();
      for (const client of sockets.clients) client.terminate();
      await new Promise<void>((resolve) => sockets.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function tokensMatch(given: string | null, expected: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** One tab: calls in, results out. A malformed frame is answered, never fatal. */
function connect(ws: WebSocket, dispatch: Dispatch): void {
  const send = (frame: HostFrame): void => {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(frame));
  };
  ws.on('error', () => ws.terminate());
  ws.on('message', (data: RawData, isBinary: boolean) => {
    if (isBinary) return send({ type: 'error', message: 'Binary frames are not part of the protocol' });
    let frame: unknown;
    try {
      frame = JSON.parse(data.toString());
    } catch {
      return send({ type: 'error', message: 'A frame was not valid JSON' });
    }
    const { type, id, name, input } = (frame ?? {}) as Partial<Record<keyof CallFrame, unknown>>;
    if (type !== 'call' || typeof id !== 'number' || !Number.isSafeInteger(id)) {
      return send({ type: 'error', message: 'Expected {"type":"call","id":<integer>,"name":<call>,"input":<object>}' });
    }
    void dispatch(name, input).then((result) => send({ type: 'result', id, result }));
  });
}

async function serveStatic(request: IncomingMessage, response: ServerResponse, root: string, allowedHosts: Set<string>): Promise<void> {
  const headers = {
    'Content-Security-Policy': BROWSER_HOST_CSP,
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cache-Control': 'no-store',
  };
  if (!allowedHosts.has(request.headers.host ?? '')) {
    response.writeHead(403, headers).end('This address is not served here.');
    return;
  }
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.writeHead(405, { ...headers, Allow: 'GET, HEAD' }).end();
    return;
  }
  let pathname: string;
  try {
    pathname = decodeURIComponent(new URL(request.url ?? '/', 'http://placeholder').pathname);
  } catch {
    response.writeHead(400, headers).end();
    return;
  }
  if (pathname.includes('\0')) {
    response.writeHead(400, headers).end();
    return;
  }
  const relative = pathname === '/' ? 'index.html' : pathname.slice(1);
  const candidate = path.resolve(root, relative);
  const real = await realpath(candidate).catch(() => null);
  // Anything that resolves outside the renderer folder (.., symlinks) does not exist here.
  if (!real || (real !== root && !real.startsWith(root + path.sep))) {
    if (relative === 'index.html') {
      response.writeHead(503, { ...headers, 'Content-Type': 'text/plain; charset=utf-8' }).end('The renderer is not built yet: run `npm run build:renderer`.');
      return;
    }
    response.writeHead(404, headers).end();
    return;
  }
  const info = await stat(real);
  if (!info.isFile()) {
    response.writeHead(404, headers).end();
    return;
  }
  response.writeHead(200, { ...headers, 'Content-Type': MIME[path.extname(real).toLowerCase()] ?? 'application/octet-stream', 'Content-Length': info.size });
  if (request.method === 'HEAD') {
    response.end();
    return;
  }
  createReadStream(real).pipe(response);
}
