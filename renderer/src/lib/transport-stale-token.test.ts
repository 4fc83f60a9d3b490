// A tab left open across a restart of the browser host (a new token): the page is told its
// token is no longer valid and stops retrying, instead of "Connection lost" forever.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { checkTokenAt, createWebSocketTransport, type ConnectionDetail, type SocketLike } from './transport.ts';
import { EventBus } from '../../../electron/services/event-bus.ts';
import { startBrowserHost, type BrowserHost } from '../../../electron/server/browser-host.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'jielong-stale-token-'));
writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>Jielong</title>');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const start = (token: string, port = 0): Promise<BrowserHost> =>
  startBrowserHost({ dispatch: async () => ({ ok: true, value: null }), events: new EventBus(), rendererDir: dir, port, token });

describe('the token check', () => {
  it('answers 204 for this run’s token and 401 for any other', async () => {
    const host = await start('a'.repeat(43));
    const origin = `http://127.0.0.1:${host.port}`;
    expect(await checkTokenAt(origin, 'a'.repeat(43))).toBe(true);
    expect(await checkTokenAt(origin, 'b'.repeat(43))).toBe(false);
    expect(await checkTokenAt(origin, '')).toBe(false);
    await host.close();
    // No host at all: cannot tell (keep retrying).
    expect(await checkTokenAt(origin, 'a'.repeat(43))).toBeNull();
  });

  it('a page whose host restarted with a new token says so and stops retrying', async () => {
    const oldToken = 'o'.repeat(43);
    const first = await start(oldToken);
    const port = first.port;
    const origin = `http://127.0.0.1:${port}`;
    const details: ConnectionDetail[] = [];
    const transport = createWebSocketTransport({
      url: `ws://127.0.0.1:${port}/ws?token=${oldToken}`,
      createSocket: (url) => new WebSocket(url, { headers: { origin } }) as unknown as SocketLike,
      backoffMs: [50],
      checkToken: () => checkTokenAt(origin, oldToken),
    });
    transport.onConnection((_state, detail) => details.push(detail));
    await expect.poll(() => details.at(-1)?.opens).toBe(1);
    await first.close();
    const second = await start('n'.repeat(43), port);
    try {
      await expect.poll(() => details.at(-1)?.fatal, { timeout: 5_000 }).toBe('stale_token');
      const attempts = details.length;
      await new Promise((resolve) => setTimeout(resolve, 300));
      // No more attempts after that.
      expect(details.length).toBe(attempts);
      expect(details.at(-1)?.retryInMs).toBeNull();
    } finally {
      transport.close();
      await second.close();
    }
  });
});
