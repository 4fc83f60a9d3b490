// The `app://jielong/` scheme the renderer is served from. A privileged standard scheme gives
// the pages a real origin (so the CSP's 'self', fetch and the IPC sender check mean
// something) without file:// and its broad privileges, and without a local web server.
//
// The handler serves files from one folder (the built renderer) and nothing else: a request
// path is taken apart segment by segment, anything that could climb out ("..", its encoded
// forms, backslashes, drive letters, NUL, empty segments) is refused outright rather than
// normalised away, and the file's real path (symlinks resolved) must still lie inside the
// folder's real path. Every response, errors included, carries the CSP and nosniff headers.
import type { Stats } from 'node:fs';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { CustomScheme } from 'electron';
import { APP_HOST, APP_SCHEME } from './app-origin.ts';

/**
 * The renderer's Content Security Policy. Nothing is allowed by default; scripts, styles,
 * fonts and fetches only from our own origin; images also as data: URLs (small inline icons
 * and generated images). No inline script or style, no eval, no plugins, no frames, no forms
 * posting anywhere, no <base> tricks, and no one may frame us.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Content-Type-Options': 'nosniff',
};

/**
 * standard: parsed like http (host, path, relative URLs, an origin for 'self');
 * secure: treated like https (no mixed-content downgrade, secure-context APIs);
 * supportFetchAPI: fetch('app://jielong/...') works from the page.
 * Not granted: bypassCSP, corsEnabled, allowServiceWorkers, stream, codeCache.
 */
export const APP_SCHEME_PRIVILEGES: CustomScheme = {
  scheme: APP_SCHEME,
  privileges: { standard: true, secure: true, supportFetchAPI: true },
};

/** Must run before the app's `ready` event (Electron's rule for privileged schemes). */
export function registerAppScheme(protocol: { registerSchemesAsPrivileged(schemes: CustomScheme[]): void }): void {
  protocol.registerSchemesAsPrivileged([APP_SCHEME_PRIVILEGES]);
}

/** Serves `root` at app://jielong/ (after `ready`). */
export function serveAppProtocol(
  protocol: { handle(scheme: string, handler: (request: Request) => Response | Promise<Response>): void },
  root: string,
  options: Omit<AppRequestHandlerOptions, 'root'> = {},
): void {
  protocol.handle(APP_SCHEME, createAppRequestHandler({ ...options, root }));
}

const MIME_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.avif': 'image/avif',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.otf': 'font/otf',
  '.wasm': 'application/wasm',
};

export function mimeTypeFor(file: string): string {
  return MIME_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
}

export type RequestPath = { ok: true; segments: string[] } | { ok: false; status: 400 | 404; reason: string };

/** Raw-path patterns refused before any decoding or normalisation happens. */
const RAW_PATH_REFUSED: ReadonlyArray<[RegExp, string]> = [
  [/(^|\/)\.{1,2}(\/|$)/, 'dot segment'],
  [/%2e/i, 'encoded dot'],
  [/%2f|%5c/i, 'encoded slash'],
  [/%00/, 'encoded NUL'],
  [/\\/, 'backslash'],
  [/%25/i, 'double encoding'],
];

/**
 * Turns a request URL into the path segments of a file under the root, or a refusal.
 * `/` means `index.html`.
 */
export function requestPathSegments(rawUrl: string): RequestPath {
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    return { ok: false, status: 400, reason: 'unparsable URL' };
  }
  if (url.protocol !== `${APP_SCHEME}:` || url.hostname !== APP_HOST || url.port !== '' || url.username !== '' || url.password !== '') {
    return { ok: false, status: 404, reason: 'not our origin' };
  }
  const rawPath = rawPathOf(rawUrl);
  if (rawPath.includes('\0')) return { ok: false, status: 400, reason: 'NUL' };
  for (const [pattern, reason] of RAW_PATH_REFUSED) {
    if (pattern.test(rawPath)) return { ok: false, status: 400, reason };
  }
  const parts = url.pathname.split('/').slice(1); // pathname always starts with "/"
  if (parts.length === 1 && parts[0] === '') return { ok: true, segments: ['index.html'] };
  const segments: string[] = [];
  for (const part of parts) {
    let segment: string;
    try {
      segment = decodeURIComponent(part);
    } catch {
      return { ok: false, status: 400, reason: 'bad percent-encoding' };
    }
    if (segment === '') return { ok: false, status: 404, reason: 'empty path segment' };
    if (segment === '.' || segment === '..') return { ok: false, status: 400, reason: 'dot segment' };
    if (/[/\\:]/.test(segment) || segment.includes('\0')) return { ok: false, status: 400, reason: 'separator or drive in a segment' };
    if (segment.startsWith('.')) return { ok: false, status: 404, reason: 'hidden file' };
    segments.push(segment);
  }
  return { ok: true, segments };
}

/** The path part of the URL string exactly as it arrived (no dot-segment removal). */
function rawPathOf(rawUrl: string): string {
  const schemeEnd = rawUrl.indexOf('://');
  const afterAuthority = schemeEnd === -1 ? rawUrl : rawUrl.slice(schemeEnd + 3);
  const slash = afterAuthority.search(/[/\\]/);
  if (slash === -1) return '/';
  const pathAndRest = afterAuthority.slice(slash);
  const end = pathAndRest.search(/[?#]/);
  return end === -1 ? pathAndRest : pathAndRest.slice(0, end);
}

export interface AppRequestHandlerOptions {
  /** The folder served at app://jielong/ (the built renderer). */
  root: string;
  /**
   * Serve index.html for a missing path without a file extension (history-API routing).
   * Off unless the renderer needs it.
   */
  spaFallback?: boolean;
  log?: (message: string) => void;
}

type ResponseBody = ConstructorParameters<typeof Response>[0];

function respond(status: number, body: ResponseBody, contentType: string, extra: Record<string, string> = {}): Response {
  return new Response(body, { status, headers: { ...SECURITY_HEADERS, 'Content-Type': contentType, ...extra } });
}

function refusal(status: number, text: string): Response {
  return respond(status, text, 'text/plain; charset=utf-8');
}

export function createAppRequestHandler(options: AppRequestHandlerOptions): (request: Request) => Promise<Response> {
  const root = path.resolve(options.root);
  const log = options.log ?? ((message: string) => console.warn(`[app-protocol] ${message}`));
  return async (request) => {
    try {
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        return respond(405, 'Method not allowed', 'text/plain; charset=utf-8', { Allow: 'GET, HEAD' });
      }
      const requested = requestPathSegments(request.url);
      if (!requested.ok) {
        if (requested.status === 400) log(`refused ${request.url}: ${requested.reason}`);
        return refusal(requested.status, requested.status === 400 ? 'Bad request' : 'Not found');
      }
      let file = await resolveInside(root, requested.segments);
      if (file === 'outside') {
        log(`refused ${request.url}: resolves outside the renderer folder`);
        return refusal(403, 'Forbidden');
      }
      if (file === null && options.spaFallback && path.extname(requested.segments.at(-1) ?? '') === '') {
        const index = await resolveInside(root, ['index.html']);
        file = index === 'outside' ? null : index;
      }
      if (file === null) return refusal(404, 'Not found');
      const headers = { 'Content-Length': String(file.stats.size) };
      if (request.method === 'HEAD') return respond(200, null, mimeTypeFor(file.path), headers);
      const body = await fs.readFile(file.path);
      return respond(200, body, mimeTypeFor(file.path), { 'Content-Length': String(body.byteLength) });
    } catch (error) {
      log(`failed to serve ${request.url}: ${error instanceof Error ? error.message : String(error)}`);
      return refusal(500, 'Internal error');
    }
  };
}

/**
 * The real path of root/segments if it is a regular file whose real path (all symlinks
 * resolved) is inside the root's real path; 'outside' if it escapes; null if it is missing
 * or not a file.
 */
async function resolveInside(root: string, segments: string[]): Promise<{ path: string; stats: Stats } | 'outside' | null> {
  let realRoot: string;
  let realFile: string;
  try {
    realRoot = await fs.realpath(root);
    realFile = await fs.realpath(path.join(root, ...segments));
  } catch (error) {
    if (isMissing(error)) return null;
    throw error;
  }
  if (!realFile.startsWith(realRoot + path.sep)) return 'outside';
  const stats = await fs.stat(realFile);
  return stats.isFile() ? { path: realFile, stats } : null;
}

function isMissing(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP';
}
