import { EventEmitter } from 'node:events';
import { describe, expect, it, vi } from 'vitest';
import { createBridge, type IpcRendererLike } from './bridge.ts';

class FakeIpcRenderer extends EventEmitter implements IpcRendererLike {
  readonly invoked: Array<{ channel: string; args: unknown[] }> = [];
  async invoke(channel: string, ...args: unknown[]): Promise<unknown> {
    this.invoked.push({ channel, args });
    return { ok: true, value: channel };
  }
  /** What main's webContents.send(channel, payload) looks like on this side. */
  push(channel: string, payload: unknown): void {
    this.emit(channel, { sender: this, senderId: 0 }, payload);
  }
}

const channels = { calls: ['conversations:list', 'chat:send'], events: ['chat:token', 'model:progress'] };

describe('createBridge', () => {
  it('exposes exactly one function per call channel, plus on, and nothing else', () => {
    const bridge = createBridge(channels, new FakeIpcRenderer());
    expect(Object.keys(bridge).sort()).toEqual(['chat:send', 'conversations:list', 'on']);
    for (const key of Object.keys(bridge)) expect(typeof bridge[key]).toBe('function');
    expect(Object.isFrozen(bridge)).toBe(true);
  });

  it('never exposes ipcRenderer or its methods', () => {
    const ipc = new FakeIpcRenderer();
    const bridge = createBridge(channels, ipc);
    const values = Object.values(bridge);
    expect(values).not.toContain(ipc);
    expect(values).not.toContain(ipc.invoke);
    expect(values).not.toContain(ipc.on);
    expect(bridge).not.toHaveProperty('send');
    expect(bridge).not.toHaveProperty('invoke');
    expect(bridge).not.toHaveProperty('ipcRenderer');
  });

  it('a call invokes its own channel with exactly one argument and returns the reply', async () => {
    const ipc = new FakeIpcRenderer();
    const bridge = createBridge(channels, ipc);
    const call = bridge['chat:send'] as (...args: unknown[]) => Promise<unknown>;
    expect(await call({ text: 'hi' }, 'extra', 'args')).toEqual({ ok: true, value: 'chat:send' });
    expect(await (bridge['conversations:list'] as () => Promise<unknown>)()).toEqual({ ok: true, value: 'conversations:list' });
    expect(ipc.invoked).toEqual([
      { channel: 'chat:send', args: [{ text: 'hi' }] },
      { channel: 'conversations:list', args: [undefined] },
    ]);
  });

  it('on delivers only the payload (not the IpcRendererEvent) and its unsubscribe works', () => {
    const ipc = new FakeIpcRenderer();
    const bridge = createBridge(channels, ipc);
    const listener = vi.fn();
    const unsubscribe = bridge.on('chat:token', listener);
    ipc.push('chat:token', { text: 'a' });
    expect(listener).toHaveBeenCalledExactlyOnceWith({ text: 'a' });
    ipc.push('model:progress', { progress: 1 });
    expect(listener).toHaveBeenCalledTimes(1);

    unsubscribe();
    ipc.push('chat:token', { text: 'b' });
    expect(listener).toHaveBeenCalledTimes(1);
    expect(ipc.listenerCount('chat:token')).toBe(0);
    expect(() => unsubscribe()).not.toThrow();
  });

  it('unsubscribing one listener leaves the others, even the same function subscribed twice', () => {
    const ipc = new FakeIpcRenderer();
    const bridge = createBridge(channels, ipc);
    const listener = vi.fn();
    const first = bridge.on('chat:token', listener);
    bridge.on('chat:token', listener);
    first();
    ipc.push('chat:token', 1);
    expect(listener).toHaveBeenCalledTimes(1);
  });

  it.each([['not-listed'], ['chat:send'], [''], ['__proto__']])('refuses the unknown event name %j', (name) => {
    const ipc = new FakeIpcRenderer();
    const bridge = createBridge(channels, ipc);
    expect(() => bridge.on(name, () => undefined)).toThrow(TypeError);
    expect(ipc.eventNames()).toEqual([]);
  });

  it('refuses a non-string event name and a non-function listener', () => {
    const bridge = createBridge(channels, new FakeIpcRenderer());
    expect(() => (bridge.on as (name: unknown, listener: unknown) => void)(42, () => undefined)).toThrow(TypeError);
    expect(() => (bridge.on as (name: unknown, listener: unknown) => void)('chat:token', 'not a function')).toThrow(TypeError);
  });

  it.each([
    ['a call named on', { calls: ['on'], events: [] }],
    ['a prototype name', { calls: ['__proto__'], events: [] }],
    ['a thenable trap', { calls: ['then'], events: [] }],
    ['a duplicate', { calls: ['a', 'a'], events: [] }],
    ['an empty name', { calls: [], events: [''] }],
    ['a name with spaces', { calls: ['a b'], events: [] }],
  ])('refuses to build with %s', (_name, bad) => {
    expect(() => createBridge(bad, new FakeIpcRenderer())).toThrow(TypeError);
  });

  it('with empty lists exposes only on, which refuses everything', () => {
    const bridge = createBridge({ calls: [], events: [] }, new FakeIpcRenderer());
    expect(Object.keys(bridge)).toEqual(['on']);
    expect(() => bridge.on('anything', () => undefined)).toThrow(TypeError);
  });
});
