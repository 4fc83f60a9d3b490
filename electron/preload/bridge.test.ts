import { EventEmitter } from 'node:events';
import { describe, expect, it, vi } from 'vitest';
import { CALL_CHANNEL, EVENT_CHANNEL } from '../shared/ipc-channels.ts';
import { createBridge, type IpcRendererLike } from './bridge.ts';

class FakeIpcRenderer extends EventEmitter implements IpcRendererLike {
  readonly invoked: unknown[][] = [];
  async invoke(channel: string, ...args: unknown[]): Promise<unknown> {
    this.invoked.push([channel, ...args]);
    return { ok: true, value: args[0] };
  }
  /** What main's webContents.send(EVENT_CHANNEL, name, payload) looks like on this side. */
  push(name: string, payload: unknown): void {
    this.emit(EVENT_CHANNEL, { sender: this, senderId: 0 }, name, payload);
  }
}

const token = (text: string) => ({ conversationId: 'c1', messageId: 'm1', text, tokenId: 1, probability: 0.5 });

describe('createBridge', () => {
  it('exposes exactly call and on, frozen, and never ipcRenderer or its methods', () => {
    const ipc = new FakeIpcRenderer();
    const bridge = createBridge(ipc);
    expect(Object.keys(bridge).sort()).toEqual(['call', 'on']);
    expect(Object.isFrozen(bridge)).toBe(true);
    const values: unknown[] = Object.values(bridge);
    for (const forbidden of [ipc, ipc.invoke, ipc.on, ipc.emit]) expect(values).not.toContain(forbidden);
  });

  it('a call is one invoke on the call channel with exactly the name and the input, answered as it came', async () => {
    const ipc = new FakeIpcRenderer();
    const bridge = createBridge(ipc);
    const call = bridge.call as (...args: unknown[]) => Promise<unknown>;
    expect(await call('conversations.rename', { id: 'c1', title: 'x' }, 'extra', 'args')).toEqual({ ok: true, value: 'conversations.rename' });
    expect(await call('models.list')).toEqual({ ok: true, value: 'models.list' });
    expect(ipc.invoked).toEqual([
      [CALL_CHANNEL, 'conversations.rename', { id: 'c1', title: 'x' }],
      [CALL_CHANNEL, 'models.list', undefined],
    ]);
  });

  it('listens once on the event channel and hands each listener only its own events, payload only', () => {
    const ipc = new FakeIpcRenderer();
    const bridge = createBridge(ipc);
    const tokens = vi.fn();
    const progress = vi.fn();
    const unsubscribe = bridge.on('generation.token', tokens);
    bridge.on('models.progress', progress);
    expect(ipc.listenerCount(EVENT_CHANNEL)).toBe(1);
    ipc.push('generation.token', token('a'));
    expect(tokens).toHaveBeenCalledExactlyOnceWith(token('a'));
    expect(progress).not.toHaveBeenCalled();

    unsubscribe();
    ipc.push('generation.token', token('b'));
    expect(tokens).toHaveBeenCalledTimes(1);
    expect(() => unsubscribe()).not.toThrow();
  });

  it('unsubscribing one listener leaves the others, even the same function subscribed twice', () => {
    const ipc = new FakeIpcRenderer();
    const bridge = createBridge(ipc);
    const listener = vi.fn();
    const first = bridge.on('generation.token', listener);
    bridge.on('generation.token', listener);
    first();
    ipc.push('generation.token', token('a'));
    expect(listener).toHaveBeenCalledTimes(1);
  });

  it('a listener that throws does not keep the event from the others', () => {
    const ipc = new FakeIpcRenderer();
    const bridge = createBridge(ipc);
    const error = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const after = vi.fn();
    bridge.on('generation.token', () => {
      throw new Error('broken view');
    });
    bridge.on('generation.token', after);
    ipc.push('generation.token', token('a'));
    expect(after).toHaveBeenCalledOnce();
    expect(error).toHaveBeenCalledWith('A listener of generation.token failed', expect.any(Error));
    error.mockRestore();
  });

  it('refuses a non-string event name and a non-function listener', () => {
    const bridge = createBridge(new FakeIpcRenderer());
    const on = bridge.on as (name: unknown, listener: unknown) => unknown;
    expect(() => on(42, () => undefined)).toThrow(TypeError);
    expect(() => on('generation.token', 'not a function')).toThrow(TypeError);
  });
});
