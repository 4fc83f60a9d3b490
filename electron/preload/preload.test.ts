import { beforeEach, describe, expect, it, vi } from 'vitest';

// The real `electron` package cannot load without its binary; the preload only needs these two.
const exposed = new Map<string, unknown>();
const ipcRenderer = { invoke: vi.fn(async () => ({ ok: true, value: null })), on: vi.fn(), removeListener: vi.fn() };
vi.mock('electron', () => ({
  contextBridge: { exposeInMainWorld: (key: string, api: unknown) => exposed.set(key, api) },
  ipcRenderer,
}));
vi.mock('./preload-channels.ts', () => ({ CALL_CHANNELS: ['models:list', 'chat:send'], EVENT_CHANNELS: ['chat:token'] }));

beforeEach(() => {
  exposed.clear();
  vi.resetModules();
});

describe('preload', () => {
  it('exposes window.jielong (and only it) with exactly the listed calls and on', async () => {
    await import('./preload.ts');
    expect([...exposed.keys()]).toEqual(['jielong']);
    const api = exposed.get('jielong') as Record<string, (...args: unknown[]) => unknown>;
    expect(Object.keys(api).sort()).toEqual(['chat:send', 'models:list', 'on']);
    await api['models:list']!();
    expect(ipcRenderer.invoke).toHaveBeenCalledWith('models:list', undefined);
    const unsubscribe = api.on!('chat:token', () => undefined) as () => void;
    expect(ipcRenderer.on).toHaveBeenCalledWith('chat:token', expect.any(Function));
    unsubscribe();
    expect(ipcRenderer.removeListener).toHaveBeenCalledWith('chat:token', ipcRenderer.on.mock.calls[0]![1]);
    expect(() => api.on!('models:list', () => undefined)).toThrow(TypeError);
  });
});
