import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createAppServices, type AppServices } from '../services/app-services.ts';
import { startBrowserHost, type BrowserHost } from './browser-host.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function httpGet(port: number, pathname: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: pathname, headers: { host: `127.0.0.1:${port}`, ...headers } }, (res) => {
      let body = '';
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Opens a socket; resolves with it when open, or with the HTTP status that refused it. */
function openSocket(url: string, headers: Record<string, string>): Promise<WebSocket | number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.once('error', () => resolve(-1));
  });
}

function nextMessage(ws: WebSocket): Promise<Record<string, unknown>> {
  return new Promise((resolve) => ws.once('message', (data) => resolve(JSON.parse(data.toString()) as Record<string, unknown>)));
}

describe('browser host', () => {
  let dir: string;
  let app: AppServices;
  let host: BrowserHost;
  let origin: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'jielong-browser-host-'));
    const rendererDir = path.join(dir, 'renderer');
    await mkdir(rendererDir);
    await writeFile(path.join(rendererDir, 'index.html'), '<!doctype html><title>Jielong</title>');
    await writeFile(path.join(dir, 'secret.txt'), 'outside the renderer');
    app = createAppServices({
      dataDir: path.join(dir, 'data'),
      bundledModelsDir: path.join(dir, 'none'),
      spawnHost: () => {
        throw new Error('not needed');
      },
    });
    host = await startBrowserHost({ dispatch: app.dispatch, events: app.events, rendererDir, port: 0 });
    origin = `http://127.0.0.1:${host.port}`;
  });
  afterAll(async () => {
    await host.close();
    await app.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('prints a loopback URL with the token in the fragment', () => {
    expect(host.url).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${host.port}/#token=[A-Za-z0-9_-]{43}$`));
  });

  it('serves the renderer with a strict CSP, and nothing outside its folder', async () => {
    const page = await httpGet(host.port, '/');
    expect(page.status).toBe(200);
    const csp = String(page.headers['content-security-policy']);
    expect(csp).toMatch(/script-src 'self'/);
    // Every directive is separated: a lost ';' would silently merge two of them.
    for (const directive of csp.split(';')) expect(directive.trim()).toMatch(/^[a-z-]+( ('[a-z-]+'|[a-z]+:(\/\/[\w.]+:\*)?|\*))*$/);
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    for (const escape of ['/../secret.txt', '/%2e%2e/secret.txt', '/..%2fsecret.txt', '/%2e%2e%2fsecret.txt']) {
      const response = await httpGet(host.port, escape);
      expect(response.status, escape).not.toBe(200);
      expect(response.body).not.toContain('outside the renderer');
    }
  });

  it('refuses requests for another Host name (DNS rebinding)', async () => {
    const response = await httpGet(host.port, '/', { host: `attacker.example:${host.port}` });
    expect(response.status).toBe(403);
  });

  it('refuses a socket with a wrong or missing token, a foreign or missing Origin, or a foreign Host', async () => {
    const base = `ws://127.0.0.1:${host.port}/ws`;
    expect(await openSocket(`${base}?token=wrong`, { origin })).toBe(401);
    expect(await openSocket(base, { origin })).toBe(401);
    expect(await openSocket(`${base}?token=${host.token}`, { origin: 'https://evil.example' })).toBe(403);
    expect(await openSocket(`${base}?token=${host.token}`, {})).toBe(403);
    expect(await openSocket(`${base}?token=${host.token}`, { origin: 'http://127.0.0.1:1' })).toBe(403);
    expect(await openSocket(`${base}?token=${host.token}`, { origin, host: 'evil.example' })).toBe(403);
  });

  it('answers calls, pushes events, and survives malformed frames', async () => {
    const ws = (await openSocket(`ws://127.0.0.1:${host.port}/ws?token=${host.token}`, { origin })) as WebSocket;
    expect(ws).toBeInstanceOf(WebSocket);
    for (const bad of ['not json', '42', '{"type":"call"}', '{"type":"call","id":"1","name":"settings.get"}', 'null']) {
      ws.send(bad);
      expect(await nextMessage(ws)).toMatchObject({ type: 'error' });
    }
    ws.send(Buffer.from([1, 2, 3]), { binary: true });
    expect(await nextMessage(ws)).toMatchObject({ type: 'error' });

    // Every tab hears of the change (conversations.changed), then this one gets its answer.
    const two = new Promise<Array<Record<string, unknown>>>((resolve) => {
      const frames: Array<Record<string, unknown>> = [];
      const take = (data: WebSocket.RawData): void => {
        frames.push(JSON.parse(data.toString()) as Record<string, unknown>);
        if (frames.length === 2) {
          ws.off('message', take);
          resolve(frames);
        }
      };
      ws.on('message', take);
    });
    ws.send(JSON.stringify({ type: 'call', id: 7, name: 'conversations.create', input: { title: '接龙 over WebSocket' } }));
    const [changed, created] = await two;
    expect(created).toMatchObject({ type: 'result', id: 7, result: { ok: true, value: { title: '接龙 over WebSocket' } } });
    expect(changed).toEqual({ type: 'event', name: 'conversations.changed', payload: { conversationId: (created as { result: { value: { id: string } } }).result.value.id, reason: 'created' } });

    ws.send(JSON.stringify({ type: 'call', id: 8, name: 'conversations.rename', input: { id: 'x' } }));
    expect(await nextMessage(ws)).toMatchObject({ type: 'result', id: 8, result: { ok: false, error: { code: 'invalid_input' } } });

    const event = nextMessage(ws);
    app.events.emit('models.progress', { modelId: 'm', file: 'onnx/model.onnx', progress: 50 });
    expect(await event).toEqual({ type: 'event', name: 'models.progress', payload: { modelId: 'm', file: 'onnx/model.onnx', progress: 50 } });
    ws.close();
  });

  it('pushes each event to every open tab, and stops with the host', async () => {
    const url = `ws://127.0.0.1:${host.port}/ws?token=${host.token}`;
    const tabs = [(await openSocket(url, { origin })) as WebSocket, (await openSocket(url, { origin })) as WebSocket, (await openSocket(url, { origin })) as WebSocket];
    const closed = tabs.pop()!;
    await new Promise((resolve) => {
      closed.once('close', resolve);
      closed.close();
    });
    const frames = tabs.map((tab) => nextMessage(tab));
    app.events.emit('models.progress', { modelId: 'm', file: 'onnx/model.onnx', progress: 70 });
    const expected = { type: 'event', name: 'models.progress', payload: { modelId: 'm', file: 'onnx/model.onnx', progress: 70 } };
    expect(await Promise.all(frames)).toEqual([expected, expected]);
    for (const tab of tabs) tab.close();

    // A host that was closed no longer listens to the services.
    const before = app.events.size;
    const second = await startBrowserHost({ dispatch: app.dispatch, events: app.events, rendererDir: dir, port: 0 });
    expect(app.events.size).toBe(before + 1);
    await second.close();
    expect(app.events.size).toBe(before);
  });

  it('refuses to listen on a non-loopback address unless told so explicitly', async () => {
    const dispatch = app.dispatch;
    await expect(startBrowserHost({ dispatch, events: app.events, rendererDir: dir, host: '0.0.0.0' })).rejects.toThrow(/not a loopback address.*--allow-non-loopback/);
    const explicit = await startBrowserHost({ dispatch, events: app.events, rendererDir: dir, host: '0.0.0.0', allowNonLoopback: true, port: 0 });
    await explicit.close();
  });
});

describe('npm run serve', () => {
  it('starts, prints the URL to open, and refuses a non-loopback host without the flag', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'jielong-serve-'));
    const run = (args: string[]) => spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'electron/server/cli.ts'), ...args], { cwd: ROOT });
    const child = run(['--port', '0', '--data-dir', dataDir, '--no-model', '--renderer-dir', dataDir]);
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (chunk) => {
        out += chunk;
        const match = /Jielong is running at (http:\/\/127\.0\.0\.1:\d+\/#token=\S+)/.exec(out);
        if (match) resolve(match[1]!);
      });
      child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${out}`)));
    });
    child.kill('SIGTERM');
    expect(url).toMatch(/#token=/);

    const refused = run(['--host', '0.0.0.0', '--port', '0', '--data-dir', dataDir, '--renderer-dir', dataDir]);
    let stderr = '';
    refused.stderr.on('data', (chunk) => (stderr += chunk));
    const code = await new Promise<number | null>((resolve) => refused.once('exit', resolve));
    expect(code).toBe(2);
    expect(stderr).toMatch(/not a loopback address/);
    await rm(dataDir, { recursive: true, force: true });
  });
});
