// The object the preload exposes as window.jielong, built from lists of channel names so it
// knows nothing of any particular contract. It hands the page exactly:
//   - one function per call channel: (payload) => ipcRenderer.invoke(channel, payload), whose
//     promise resolves with the main side's typed { ok, value | error } result;
//   - on(eventName, listener), for the listed event channels only, returning an unsubscribe.
// Never ipcRenderer itself, never the IpcRendererEvent (its `sender` is ipcRenderer), never a
// way to name a channel that is not on the lists.

/** The parts of Electron's ipcRenderer the bridge uses. */
export interface IpcRendererLike {
  invoke(channel: string, ...args: unknown[]): Promise<unknown>;
  on(channel: string, listener: (event: unknown, ...args: unknown[]) => void): unknown;
  removeListener(channel: string, listener: (event: unknown, ...args: unknown[]) => void): unknown;
}

export interface BridgeChannels {
  calls: readonly string[];
  events: readonly string[];
}

export type BridgeCall = (payload?: unknown) => Promise<unknown>;
export type Unsubscribe = () => void;

export interface JielongBridge {
  readonly [call: string]: BridgeCall | JielongBridge['on'];
  on(eventName: string, listener: (payload: unknown) => void): Unsubscribe;
}

const NAME = /^[A-Za-z][A-Za-z0-9:._/-]{0,199}$/;
/** Names that would shadow `on` or reach into the object's prototype machinery. */
const RESERVED = new Set(['on', '__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty', 'then']);

function checkNames(kind: string, names: readonly string[]): void {
  const seen = new Set<string>();
  for (const name of names) {
    if (typeof name !== 'string' || !NAME.test(name)) throw new TypeError(`Invalid ${kind} channel name: ${JSON.stringify(name)}`);
    if (RESERVED.has(name)) throw new TypeError(`Reserved name cannot be a ${kind} channel: ${name}`);
    if (seen.has(name)) throw new TypeError(`Duplicate ${kind} channel: ${name}`);
    seen.add(name);
  }
}

export function createBridge(channels: BridgeChannels, ipc: IpcRendererLike): JielongBridge {
  checkNames('call', channels.calls);
  checkNames('event', channels.events);
  const events = new Set(channels.events);
  const api: Record<string, unknown> = {};
  for (const channel of channels.calls) {
    // Exactly one argument crosses, whatever the page passes: the main side refuses extras.
    api[channel] = (payload?: unknown) => ipc.invoke(channel, payload);
  }
  api.on = (eventName: unknown, listener: unknown): Unsubscribe => {
    if (typeof eventName !== 'string' || !events.has(eventName)) {
      throw new TypeError(`Unknown event: ${typeof eventName === 'string' ? eventName : typeof eventName}`);
    }
    if (typeof listener !== 'function') throw new TypeError('The listener must be a function');
    const forward = (_event: unknown, payload: unknown) => {
      (listener as (payload: unknown) => void)(payload);
    };
    ipc.on(eventName, forward);
    let subscribed = true;
    return () => {
      if (!subscribed) return;
      subscribed = false;
      ipc.removeListener(eventName, forward);
    };
  };
  return Object.freeze(api) as unknown as JielongBridge;
}
