// The object the preload exposes as window.jielong: two functions, typed from the contract.
//   - call(name, input): one invoke on the call channel; resolves with the dispatch's
//     CallResult, so the renderer gets the error's code (a rejection crossing contextBridge
//     keeps only its message);
//   - on(name, listener): a listener for one event of the push channel; returns an unsubscribe.
// The main process checks who calls and the dispatch checks what is called; the bridge only
// carries. It never hands the page ipcRenderer, the IpcRendererEvent (its `sender` is
// ipcRenderer) or a way to name another channel.
import type { CallInput, CallName, CallOutput, CallResult, EventName, EventPayload } from '../shared/contract.ts';
import { CALL_CHANNEL, EVENT_CHANNEL } from '../shared/ipc-channels.ts';

/** The parts of Electron's ipcRenderer the bridge uses. */
export interface IpcRendererLike {
  invoke(channel: string, ...args: unknown[]): Promise<unknown>;
  on(channel: string, listener: (event: unknown, ...args: unknown[]) => void): unknown;
}

/** What the renderer sees as `window.jielong` (declared for it in window.d.ts). */
export interface JielongBridge {
  call<N extends CallName>(name: N, input: CallInput<N>): Promise<CallResult<CallOutput<N>>>;
  on<N extends EventName>(name: N, listener: (payload: EventPayload<N>) => void): () => void;
}

export function createBridge(ipc: IpcRendererLike): JielongBridge {
  const listeners = new Map<string, Set<(payload: unknown) => void>>();
  // One listener on the push channel for the page's lifetime, fanning out by event name.
  ipc.on(EVENT_CHANNEL, (_event, name, payload) => {
    for (const listener of listeners.get(name as string) ?? []) {
      try {
        listener(payload);
      } catch (error) {
        console.error(`A listener of ${String(name)} failed`, error);
      }
    }
  });
  const bridge: JielongBridge = {
    // Exactly two arguments cross, whatever the page passes.
    call: (name, input) => ipc.invoke(CALL_CHANNEL, name, input) as Promise<never>,
    on(name, listener) {
      if (typeof name !== 'string') throw new TypeError(`An event name is a string, not ${typeof name}`);
      if (typeof listener !== 'function') throw new TypeError('The listener must be a function');
      let set = listeners.get(name);
      if (!set) listeners.set(name, (set = new Set()));
      // A wrapper of its own, so the same function subscribed twice unsubscribes once.
      const entry = (payload: unknown): void => listener(payload as never);
      set.add(entry);
      return () => {
        set.delete(entry);
      };
    },
  };
  return Object.freeze(bridge);
}
