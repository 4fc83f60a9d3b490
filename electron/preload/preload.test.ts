import { beforeEach, describe, expect, it, vi } from 'vitest';
import { CALL_NAMES, EVENT_NAMES } from '../shared/contract.ts';

// The real `electron` package cannot load without its binary; the preload only needs these two.
const exposed = new Map<string, unknown>();
const ipcRenderer = { invoke: vi.fn(async () => ({ ok: true, value: null })), on: vi.fn(), removeListener: vi.fn() };
vi.mock('electron', () => ({
  contextBridge: { exposeInMainWorld: (key: string, api: unknown) => exposed.set(key, api) },
  ipcRenderer,
}));

beforeEach(() => {
  exposed.clear();
  vi.resetModules();
});

describe('preload', () => {
  it("exposes window.jielong (and only it) with exactly the contract's calls and on", async () => {
    await import('./preload.ts');
    expect([...exposed.keys()]).toEqual(['jielong']);
    const api = exposed.get('jielong') as Record<string, (...args: unknown[]) => unknown>;
    expect(CALL_NAMES.length).toBeGreaterThan(0);
    expect(Object.keys(api).sort()).toEqual([...CALL_NAMES, 'on'].sort());

    const [call] = CALL_NAMES;
    await api[call!]!({});
    expect(ipcRenderer.invoke).toHaveBeenCalledWith(call, {});

    const [event] = EVENT_NAMES;
    const unsubscribe = api.on!(event, () => undefined) as () => void;
    expect(ipcRenderer.on).toHaveBeenCalledWith(event, expect.any(Function));
    unsubscribe();
    expect(ipcRenderer.removeListener).toHaveBeenCalledWith(event, ipcRenderer.on.mock.calls[0]![1]);
    expect(() => api.on!(call!, () => undefined)).toThrow(TypeError); // a call name is not an event
  });
});
