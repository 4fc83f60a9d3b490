import { beforeEach, describe, expect, it, vi } from 'vitest';
import { CALL_CHANNEL, EVENT_CHANNEL } from '../shared/ipc-channels.ts';

// The real `electron` package cannot load without its binary; the preload only needs these two.
const exposed = new Map<string, unknown>();
const ipcRenderer = { invoke: vi.fn(async () => ({ ok: true, value: null })), on: vi.fn() };
vi.mock('electron', () => ({
  contextBridge: { exposeInMainWorld: (key: string, api: unknown) => exposed.set(key, api) },
  ipcRenderer,
}));

beforeEach(() => {
  exposed.clear();
  vi.resetModules();
});

describe('preload', () => {
  it('exposes window.jielong (and only it) as { call, on } over the two channels', async () => {
    await import('./preload.ts');
    expect([...exposed.keys()]).toEqual(['jielong']);
    const api = exposed.get('jielong') as Record<string, (...args: unknown[]) => unknown>;
    expect(Object.keys(api).sort()).toEqual(['call', 'on']);
    await api.call!('models.list', {});
    expect(ipcRenderer.invoke).toHaveBeenCalledWith(CALL_CHANNEL, 'models.list', {});
    expect(ipcRenderer.on).toHaveBeenCalledExactlyOnceWith(EVENT_CHANNEL, expect.any(Function));
  });
});
