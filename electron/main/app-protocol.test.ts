import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { CustomScheme } from 'electron';
import {
  APP_SCHEME_PRIVILEGES,
  CONTENT_SECURITY_POLICY,
  createAppRequestHandler,
  mimeTypeFor,
  registerAppScheme,
  requestPathSegments,
  serveAppProtocol,
} from './app-protocol.ts';

const SECRET = 'TOP-SECRET-OUTSIDE-THE-ROOT';
const PNG_BYTES = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 1, 2, 255]);
let base: string;
let root: string;
let handler: (request: Request) => Promise<Response>;
const log = vi.fn();

beforeAll(() => {
  base = mkdtempSync(path.join(tmpdir(), 'jielong-app-protocol-'));
  root = path.join(base, 'renderer');
  mkdirSync(path.join(root, 'assets'), { recursive: true });
  mkdirSync(path.join(root, 'sub'));
  mkdirSync(path.join(base, 'outside'));
  writeFileSync(path.join(root, 'index.html'), '<!doctype html><title>Jielong</title>');
  writeFileSync(path.join(root, 'assets', 'app.js'), 'console.log(1)');
  writeFileSync(path.join(root, 'assets', 'app.css'), 'body{}');
  writeFileSync(path.join(root, 'assets', 'logo.png'), PNG_BYTES);
  writeFileSync(path.join(root, 'assets', 'my file.txt'), 'spaced');
  writeFileSync(path.join(root, 'assets', 'data.bin'), 'binary');
  writeFileSync(path.join(root, '.env'), SECRET);
  writeFileSync(path.join(base, 'secret.txt'), SECRET);
  writeFileSync(path.join(base, 'outside', 'secret.txt'), SECRET);
  symlinkSync(path.join(base, 'secret.txt'), path.join(root, 'leak.txt'));
  symlinkSync(path.join(base, 'outside'), path.join(root, 'linkdir'));
  symlinkSync(path.join(root, 'index.html'), path.join(root, 'alias.html'));
  // A sibling whose name starts with the root's name must not count as inside it.
  mkdirSync(path.join(base, 'renderer-evil'));
  writeFileSync(path.join(base, 'renderer-evil', 'x.js'), SECRET);
  symlinkSync(path.join(base, 'renderer-evil', 'x.js'), path.join(root, 'prefix-trick.js'));
  handler = createAppRequestHandler({ root, log });
});

afterAll(() => rmSync(base, { recursive: true, force: true }));

function get(url: string, method = 'GET'): Promise<Response> {
  return handler(new Request(url, { method }));
}

function expectSecurityHeaders(response: Response): void {
  expect(response.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
  expect(response.headers.get('x-content-type-options')).toBe('nosniff');
}

describe('app protocol: serving', () => {
  it.each([
    ['app://jielong/', 'text/html; charset=utf-8', '<!doctype html><title>Jielong</title>'],
    ['app://jielong/index.html', 'text/html; charset=utf-8', '<!doctype html><title>Jielong</title>'],
    ['app://jielong/index.html?x=1#top', 'text/html; charset=utf-8', '<!doctype html><title>Jielong</title>'],
    ['app://jielong/assets/app.js', 'text/javascript; charset=utf-8', 'console.log(1)'],
    ['app://jielong/assets/app.css', 'text/css; charset=utf-8', 'body{}'],
    ['app://jielong/assets/my%20file.txt', 'text/plain; charset=utf-8', 'spaced'],
    ['app://jielong/assets/data.bin', 'application/octet-stream', 'binary'],
    ['app://jielong/alias.html', 'text/html; charset=utf-8', '<!doctype html><title>Jielong</title>'],
  ])('serves %s as %s with the security headers', async (url, type, body) => {
    const response = await get(url);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe(type);
    expectSecurityHeaders(response);
    expect(await response.text()).toBe(body);
  });

  it('serves binary files byte for byte', async () => {
    const response = await get('app://jielong/assets/logo.png');
    expect(response.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await response.arrayBuffer())).toEqual(PNG_BYTES);
  });

  it('answers HEAD without a body and refuses other methods', async () => {
    const head = await get('app://jielong/assets/app.js', 'HEAD');
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String('console.log(1)'.length));
    expect(await head.text()).toBe('');
    const post = await get('app://jielong/index.html', 'POST');
    expect(post.status).toBe(405);
    expectSecurityHeaders(post);
  });

  it('maps MIME types by extension, case-insensitively', () => {
    expect(mimeTypeFor('a/B.HTML')).toBe('text/html; charset=utf-8');
    expect(mimeTypeFor('font.woff2')).toBe('font/woff2');
    expect(mimeTypeFor('module.wasm')).toBe('application/wasm');
    expect(mimeTypeFor('noext')).toBe('application/octet-stream');
  });
});

describe('app protocol: refusing', () => {
  // Chromium (like the Request constructor here) collapses dot segments, %2e included, before
  // the handler sees the URL, so these reach it already normalised to a path inside the root.
  // The raw-path check refuses them anyway in case a caller hands over an unnormalised URL.
  it.each([
    ['a dot-dot segment', 'app://jielong/../secret.txt'],
    ['a dot-dot inside the path', 'app://jielong/assets/../../secret.txt'],
    ['a single dot segment', 'app://jielong/./index.html'],
    ['an encoded dot-dot', 'app://jielong/%2e%2e/secret.txt'],
    ['an upper-case encoded dot-dot', 'app://jielong/%2E%2E/secret.txt'],
    ['a half-encoded dot-dot', 'app://jielong/.%2e/secret.txt'],
  ])('refuses %s in the raw URL, and the normalised request never leaves the root', async (_name, url) => {
    expect(requestPathSegments(url)).toMatchObject({ ok: false, status: 400 });
    const response = await get(url);
    expectSecurityHeaders(response);
    expect(await response.text()).not.toContain(SECRET);
  });

  it.each([
    ['an encoded slash', 'app://jielong/assets%2f..%2f..%2fsecret.txt', 400],
    ['a double-encoded dot-dot', 'app://jielong/%252e%252e/secret.txt', 400],
    ['a backslash (a separator on Windows)', 'app://jielong/..\\secret.txt', 400],
    ['an encoded backslash', 'app://jielong/..%5csecret.txt', 400],
    ['an encoded NUL', 'app://jielong/index.html%00.png', 400],
    ['a raw NUL', 'app://jielong/index.html\u0000.png', 400],
    ['a drive letter', 'app://jielong/C:/Windows/win.ini', 400],
    ['an absolute path (empty first segment)', 'app://jielong//etc/passwd', 404],
    ['a hidden file', 'app://jielong/.env', 404],
    ['a directory', 'app://jielong/sub', 404],
    ['a directory with a slash', 'app://jielong/assets/', 404],
    ['a missing file', 'app://jielong/nope.js', 404],
    ['another host', 'app://other/index.html', 404],
    ['a host with a port', 'app://jielong:1234/index.html', 404],
    ['a symlink to a file outside the root', 'app://jielong/leak.txt', 403],
    ['a symlinked directory outside the root', 'app://jielong/linkdir/secret.txt', 403],
    ['a symlink into a sibling that shares the root name prefix', 'app://jielong/prefix-trick.js', 403],
  ])('refuses %s', async (_name, url, status) => {
    const response = await get(url);
    expect(response.status).toBe(status);
    expectSecurityHeaders(response);
    expect(await response.text()).not.toContain(SECRET);
  });

  it('refuses an absolute path to a real file outside the root', async () => {
    const response = await get(`app://jielong/${path.join(base, 'secret.txt')}`);
    expect(response.status).toBe(404);
    expect(await response.text()).not.toContain(SECRET);
  });

  it('refuses malformed percent-encoding', () => {
    expect(requestPathSegments('app://jielong/%E0%A4%A')).toMatchObject({ ok: false, status: 400 });
  });

  it('answers 500 with the headers, not an exception, when the root itself is unreadable', async () => {
    const broken = createAppRequestHandler({ root: path.join(base, 'assets-missing'), log: () => undefined });
    const response = await broken(new Request('app://jielong/index.html'));
    expect([404, 500]).toContain(response.status);
    expectSecurityHeaders(response);
  });

  it('falls back to index.html for extension-less paths only when asked', async () => {
    expect((await get('app://jielong/chat/42')).status).toBe(404);
    const spa = createAppRequestHandler({ root, spaFallback: true, log: () => undefined });
    const page = await spa(new Request('app://jielong/chat/42'));
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect((await spa(new Request('app://jielong/missing.js'))).status).toBe(404);
  });
});

describe('registration', () => {
  it('registers app as a standard, secure, fetch-capable scheme, and nothing more', () => {
    const registered: CustomScheme[][] = [];
    registerAppScheme({ registerSchemesAsPrivileged: (schemes) => registered.push(schemes) });
    expect(registered).toEqual([[{ scheme: 'app', privileges: { standard: true, secure: true, supportFetchAPI: true } }]]);
    expect(APP_SCHEME_PRIVILEGES.privileges).not.toHaveProperty('bypassCSP');
  });

  it('serveAppProtocol hands the app scheme a working handler', async () => {
    const handlers = new Map<string, (request: Request) => Response | Promise<Response>>();
    serveAppProtocol({ handle: (scheme, h) => handlers.set(scheme, h) }, root);
    const served = handlers.get('app');
    expect(served).toBeDefined();
    const response = await served!(new Request('app://jielong/assets/app.js'));
    expect(await response.text()).toBe('console.log(1)');
  });
});
