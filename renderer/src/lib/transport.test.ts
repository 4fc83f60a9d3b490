// The WebSocket client against a real `ws` server speaking the browser host's frames, and the
// preload transport against the bridge's { call, on }.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { ApiError, createPreloadTransport, createWebSocketTransport, webSocketUrlFor, type ConnectionState, type PreloadBridge, type SocketLike, type Transport } from './transport.ts';

interface TestServer {
  url: string;
  server: WebSocketServer;
  frames: unknown[];
  close(): Promise<void>;
}

/** A tiny host: answers `conversations.rename` with the input, `models.status` with an error, ignores `chat.send`. */
async function startServer(port = 0): Promise<TestServer> {
  const server = new WebSocketServer({ port, host: '127.0.0.1' });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const frames: unknown[] = [];
  server.on('connection', (socket) => {
    socket.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as { id: number; name: string; input: unknown };
      frames.push(frame);
      if (frame.name === 'conversations.rename') socket.send(JSON.stringify({ type: 'result', id: frame.id, result: { ok: true, value: frame.input } }));
      if (frame.name === 'models.status') socket.send(JSON.stringify({ type: 'result', id: frame.id, result: { ok: false, error: { code: 'busy', message: 'not now' } } }));
      if (frame.name === 'chat.stop') {
        socket.send(JSON.stringify({ type: 'event', name: 'generation.token', payload: { conversationId: 'c', messageId: 'm', text: 'hi', tokenId: 1, probability: 0.5 } }));
        socket.send(JSON.stringify({ type: 'result', id: frame.id, result: { ok: true, value: { stopped: true } } }));
      }
    });
  });
  const address = server.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  return {
    url: `ws://127.0.0.1:${actualPort}/ws?token=t`,
    server,
    frames,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of server.clients) client.terminate();
        server.close(() => resolve());
      }),
  };
}

const createSocket = (url: string): SocketLike => new WebSocket(url) as unknown as SocketLike;
const open: Array<{ transport?: Transport; server?: TestServer }> = [];

afterEach(async () => {
  for (const entry of open.splice(0)) {
    entry.transport?.close();
    await entry.server?.close();
  }
});

function waitForState(transport: Transport, wanted: ConnectionState, opens?: number): Promise<void> {
  return new Promise((resolve) => {
    const stop = transport.onConnection((state, detail) => {
      if (state === wanted && (opens === undefined || detail.opens >= opens)) {
        queueMicrotask(() => stop());
        resolve();
      }
    });
  });
}

describe('WebSocket transport', () => {
  it('sends calls as frames and resolves with their results, queuing calls made before the socket opens', async () => {
    const server = await startServer();
    const transport = createWebSocketTransport({ url: server.url, createSocket });
    open.push({ transport, server });
    const renamed = await transport.call('conversations.rename', { id: 'a', title: 'b' });
    expect(renamed).toEqual({ id: 'a', title: 'b' });
    expect(server.frames[0]).toMatchObject({ type: 'call', name: 'conversations.rename', input: { id: 'a', title: 'b' } });
  });

  it('rejects with the error code and message of a failed call', async () => {
    const server = await startServer();
    const transport = createWebSocketTransport({ url: server.url, createSocket });
    open.push({ transport, server });
    const failure = await transport.call('models.status', {}).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ApiError);
    expect(failure).toMatchObject({ code: 'busy', message: 'not now' });
  });

  it('delivers events to their listeners until unsubscribed', async () => {
    const server = await startServer();
    const transport = createWebSocketTransport({ url: server.url, createSocket });
    open.push({ transport, server });
    const texts: string[] = [];
    const unsubscribe = transport.on('generation.token', (event) => texts.push(event.text));
    await transport.call('chat.stop', { conversationId: 'c' });
    expect(texts).toEqual(['hi']);
    unsubscribe();
    await transport.call('chat.stop', { conversationId: 'c' });
    expect(texts).toEqual(['hi']);
  });

  it('fails pending calls with a clear error when the socket drops, then reconnects with backoff', async () => {
    const server = await startServer();
    const port = Number(new URL(server.url).port);
    const transport = createWebSocketTransport({ url: server.url, createSocket, backoffMs: [50, 100] });
    open.push({ transport });
    await waitForState(transport, 'open');
    const pending = transport.call('chat.send', { conversationId: 'c', content: 'x' }); // never answered
    await new Promise((resolve) => setTimeout(resolve, 50));
    await server.close();
    const failure = await pending.catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: 'disconnected' });
    expect((failure as Error).message).toMatch(/lost.*chat\.send may or may not have been done/);

    const states: ConnectionState[] = [];
    transport.onConnection((state) => states.push(state));
    expect(states.at(-1)).not.toBe('open');
    // The host comes back on the same port: the client finds it again.
    const again = await startServer(port);
    open.push({ server: again });
    await waitForState(transport, 'open', 2);
    await expect(transport.call('conversations.rename', { id: 'x', title: 'y' })).resolves.toEqual({ id: 'x', title: 'y' });
  });

  it('times out a call that gets no answer', async () => {
    const server = await startServer();
    const transport = createWebSocketTransport({ url: server.url, createSocket, callTimeoutMs: 80 });
    open.push({ transport, server });
    await expect(transport.call('chat.send', { conversationId: 'c', content: 'x' })).rejects.toMatchObject({ code: 'timeout' });
  });

  it('refuses calls after close', async () => {
    const server = await startServer();
    const transport = createWebSocketTransport({ url: server.url, createSocket });
    open.push({ server });
    transport.close();
    await expect(transport.call('models.list', {})).rejects.toMatchObject({ code: 'disconnected' });
  });
});

describe('webSocketUrlFor', () => {
  it('takes the token from the fragment and keeps the host', () => {
    expect(webSocketUrlFor({ protocol: 'http:', host: '127.0.0.1:5858', hash: '#token=a%2Bb' })).toBe('ws://127.0.0.1:5858/ws?token=a%2Bb');
    expect(webSocketUrlFor({ protocol: 'https:', host: 'h', hash: '#token=x' })).toBe('wss://h/ws?token=x');
    expect(webSocketUrlFor({ protocol: 'http:', host: 'h', hash: '' })).toBeNull();
  });
});

describe('preload transport', () => {
  const fakeBridge = (answer: (name: string, input: unknown) => Promise<unknown>, on: PreloadBridge['on'] = () => () => undefined): PreloadBridge => ({
    call: ((name: string, input: unknown) => answer(name, input)) as PreloadBridge['call'],
    on,
  });

  it("unwraps the dispatch's { ok, value } answer", async () => {
    const transport = createPreloadTransport(fakeBridge(async (_name, input) => ({ ok: true, value: input })));
    await expect(transport.call('conversations.rename', { id: 'a', title: 'b' })).resolves.toEqual({ id: 'a', title: 'b' });
  });

  it('turns { ok: false } into an ApiError with its code and message', async () => {
    const transport = createPreloadTransport(fakeBridge(async () => ({ ok: false, error: { code: 'not_found', message: 'gone' } })));
    const failure = transport.call('messages.activePath', { conversationId: 'x' });
    await expect(failure).rejects.toBeInstanceOf(ApiError);
    await expect(failure).rejects.toMatchObject({ code: 'not_found', message: 'gone' });
  });

  it("turns Electron's own rejection (the main process could not answer) into an internal ApiError without Electron's prefix", async () => {
    const transport = createPreloadTransport(
      fakeBridge(async () => {
        throw new Error("Error invoking remote method 'jielong:call': Error: An object could not be cloned.");
      }),
    );
    await expect(transport.call('models.list', {})).rejects.toMatchObject({ code: 'internal', message: 'An object could not be cloned.' });
  });

  it('refuses an answer of any other shape', async () => {
    const transport = createPreloadTransport(fakeBridge(async () => []));
    await expect(transport.call('models.list', {})).rejects.toMatchObject({ code: 'internal', message: expect.stringContaining('models.list') });
  });

  it("subscribes through the bridge's on and hands back its unsubscribe", () => {
    const unsubscribe = () => undefined;
    const on = vi.fn(() => unsubscribe) as unknown as PreloadBridge['on'];
    const transport = createPreloadTransport(fakeBridge(async () => null, on));
    const listener = () => undefined;
    expect(transport.on('generation.token', listener)).toBe(unsubscribe);
    expect(on).toHaveBeenCalledWith('generation.token', listener);
  });
});
