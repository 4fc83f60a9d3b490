// After a lost connection the transport asks whether the page's token is still valid: a token
// the host no longer knows (it restarted) ends the retries with `stale_token`.
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { checkTokenAt, createWebSocketTransport, type ConnectionDetail, type SocketLike, type Transport } from './transport.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function server(): Promise<{ url: string; drop(): void; close(): Promise<void> }> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const address = wss.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `ws://127.0.0.1:${port}/ws?token=t`,
    drop: () => {
      for (const client of wss.clients) client.terminate();
    },
    close: () => new Promise<void>((resolve) => wss.close(() => resolve())),
  };
}

function watch(transport: Transport): ConnectionDetail[] {
  const details: ConnectionDetail[] = [];
  transport.onConnection((_state, detail) => details.push(detail));
  return details;
}

describe('a stale token', () => {
  it('ends the retries with stale_token once the host says the token is not its own', async () => {
    const host = await server();
    cleanups.push(() => host.close());
    let valid = true;
    let checks = 0;
    const transport = createWebSocketTransport({
      url: host.url,
      createSocket: (url) => new WebSocket(url) as unknown as SocketLike,
      backoffMs: [20],
      checkToken: async () => {
        checks += 1;
        return valid;
      },
    });
    cleanups.push(() => transport.close());
    const details = watch(transport);
    await expect.poll(() => details.at(-1)?.opens).toBe(1);
    // A drop while the token is still good: retried, and back.
    host.drop();
    await expect.poll(() => details.at(-1)?.opens).toBe(2);
    // The host restarted with a new token.
    valid = false;
    host.drop();
    await expect.poll(() => details.at(-1)?.fatal).toBe('stale_token');
    const seen = details.length;
    const checked = checks;
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(details.length).toBe(seen);
    expect(checks).toBe(checked);
    expect(details.at(-1)?.retryInMs).toBeNull();
  });

  it('keeps retrying when it cannot tell (the host is down)', async () => {
    const host = await server();
    cleanups.push(() => host.close());
    const transport = createWebSocketTransport({ url: host.url, createSocket: (url) => new WebSocket(url) as unknown as SocketLike, backoffMs: [20], checkToken: async () => null });
    cleanups.push(() => transport.close());
    const details = watch(transport);
    await expect.poll(() => details.at(-1)?.opens).toBe(1);
    host.drop();
    await expect.poll(() => details.at(-1)?.opens).toBe(2);
    expect(details.some((detail) => detail.fatal === 'stale_token')).toBe(false);
  });

  it('reads the host’s answer: 204 yes, 401 no, anything else or no answer: cannot tell', async () => {
    const answering = (status: number) => (async () => ({ status })) as unknown as typeof fetch;
    expect(await checkTokenAt('http://h', 't', answering(204))).toBe(true);
    expect(await checkTokenAt('http://h', 't', answering(401))).toBe(false);
    expect(await checkTokenAt('http://h', 't', answering(503))).toBeNull();
    expect(await checkTokenAt('http://h', 't', (async () => Promise.reject(new Error('down'))) as unknown as typeof fetch)).toBeNull();
  });
});
