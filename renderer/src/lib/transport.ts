// How the renderer reaches the services: one interface over the two transports of the contract.
// - Electron: the preload's `window.jielong` ({ call, on }, typed by electron/preload/window.d.ts).
// - Browser host: a WebSocket to the page's own host, authenticated by the token in the URL
//   fragment, reconnecting with backoff; calls still open when the socket drops fail with a
//   clear error (the server may or may not have run them: the UI reloads what it shows).
// Both carry the dispatch's CallResult unchanged; `unwrap` below turns a failure into an
// ApiError, in this one place.
import type { ApiErrorShape, CallInput, CallName, CallOutput, EventName, EventPayload } from '@shared/contract.ts';
import type { CallFrame, HostFrame } from '@shared/socket-frames.ts';

/** What the Electron preload gives this page (absent in a browser tab). */
export type PreloadBridge = NonNullable<Window['jielong']>;

export type ConnectionState = 'connecting' | 'open' | 'closed';

export interface Transport {
  call<N extends CallName>(name: N, input: CallInput<N>): Promise<CallOutput<N>>;
  on<N extends EventName>(event: N, listener: (payload: EventPayload<N>) => void): () => void;
  /** Called now with the current state, then on every change; returns an unsubscribe. */
  onConnection(listener: (state: ConnectionState, detail: ConnectionDetail) => void): () => void;
  close(): void;
}

export interface ConnectionDetail {
  /** How many times the socket was (re)opened; a value above 1 means state may have been missed. */
  opens: number;
  /** Milliseconds until the next attempt, while `closed` and retrying. */
  retryInMs: number | null;
  /** A code for why the connection cannot work as it is (`no_token`, `refused`), if so. */
  fatal: string | null;
}

/** A failed call: the contract's error code and a message a person can read. */
export class ApiError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
  }
}

/** Codes the transport itself produces (never from the services). */
export const TRANSPORT_ERRORS = {
  disconnected: 'disconnected',
  unavailable: 'transport_unavailable',
} as const;

function isResultShape(value: unknown): value is { ok: true; value: unknown } | { ok: false; error: ApiErrorShape } {
  if (typeof value !== 'object' || value === null || typeof (value as { ok?: unknown }).ok !== 'boolean') return false;
  const keys = Object.keys(value);
  return keys.length === 2 && (keys.includes('value') || keys.includes('error'));
}

/** A call's answer as either transport carries it: its value, or its failure thrown as an ApiError. */
function unwrap(result: unknown, name: string): unknown {
  if (!isResultShape(result)) throw new ApiError('internal', `The app answered ${name} with something unexpected`);
  if (result.ok) return result.value;
  throw new ApiError(String(result.error.code), String(result.error.message));
}

/** Electron rejects an invoke only when the main process could not answer at all. */
function rejectionToApiError(error: unknown): ApiError {
  const message = error instanceof Error ? error.message : String(error);
  // Electron prefixes it with "Error invoking remote method 'x': Error: ".
  return new ApiError('internal', message.replace(/^Error invoking remote method '[^']*': (?:\w*Error: )?/, ''));
}

export function createPreloadTransport(bridge: PreloadBridge): Transport {
  return {
    async call(name, input) {
      let result: unknown;
      try {
        result = await bridge.call(name, input);
      } catch (error) {
        throw rejectionToApiError(error);
      }
      return unwrap(result, name) as never;
    },
    on(event, listener) {
      return bridge.on(event, listener);
    },
    onConnection(listener) {
      listener('open', { opens: 1, retryInMs: null, fatal: null });
      return () => undefined;
    },
    close() {},
  };
}

/** The parts of the WebSocket API the client uses (the browser's, or `ws` in tests). */
export interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
}

export interface WebSocketTransportOptions {
  url: string;
  createSocket?: (url: string) => SocketLike;
  /** Delays between reconnection attempts; the last one repeats. */
  backoffMs?: readonly number[];
  /** A call that gets no answer in this time fails (0: never). Generation is event-driven, so calls are short. */
  callTimeoutMs?: number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
  /**
   * After a lost connection: is this page's token still the host's? false (the host restarted
   * with a new token) ends the retries with fatal `stale_token`; true or null (cannot tell,
   * e.g. the host is down) retries as usual.
   */
  checkToken?: () => Promise<boolean | null>;
}

const OPEN = 1;
const DEFAULT_BACKOFF = [250, 500, 1000, 2000, 4000, 8000];

interface Pending {
  name: string;
  resolve(value: unknown): void;
  reject(error: ApiError): void;
  timer: unknown;
}

export function createWebSocketTransport(options: WebSocketTransportOptions): Transport {
  const createSocket = options.createSocket ?? ((url: string) => new WebSocket(url) as unknown as SocketLike);
  const backoff = options.backoffMs ?? DEFAULT_BACKOFF;
  const callTimeout = options.callTimeoutMs ?? 120_000;
  const setTimer = options.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
  const clearTimer = options.clearTimer ?? ((handle) => clearTimeout(handle as ReturnType<typeof setTimeout>));

  const pending = new Map<number, Pending>();
  const listeners = new Map<string, Set<(payload: unknown) => void>>();
  const connectionListeners = new Set<(state: ConnectionState, detail: ConnectionDetail) => void>();
  /** Calls made while the socket is not open: sent once it opens. */
  let queue: Array<{ id: number; frame: string }> = [];
  let socket: SocketLike | null = null;
  let state: ConnectionState = 'connecting';
  let detail: ConnectionDetail = { opens: 0, retryInMs: null, fatal: null };
  let attempt = 0;
  let nextId = 1;
  let closedByUs = false;
  let retryTimer: unknown = null;

  const setState = (next: ConnectionState, change: Partial<ConnectionDetail> = {}): void => {
    state = next;
    detail = { ...detail, ...change };
    for (const listener of connectionListeners) listener(state, detail);
  };

  const failAll = (message: string): void => {
    const open = [...pending.values()];
    pending.clear();
    queue = [];
    for (const call of open) {
      clearTimer(call.timer);
      call.reject(new ApiError(TRANSPORT_ERRORS.disconnected, `${message} (${call.name} may or may not have been done)`));
    }
  };

  const onFrame = (data: unknown): void => {
    if (typeof data !== 'string') return;
    // The page's own host, behind this run's token: its frames are typed, not checked field by field.
    let frame: HostFrame | null;
    try {
      frame = JSON.parse(data) as HostFrame | null;
    } catch {
      return;
    }
    if (frame?.type === 'result') {
      const call = pending.get(frame.id);
      if (!call) return;
      pending.delete(frame.id);
      clearTimer(call.timer);
      try {
        call.resolve(unwrap(frame.result, call.name));
      } catch (error) {
        call.reject(error as ApiError);
      }
    } else if (frame?.type === 'event') {
      for (const listener of listeners.get(frame.name) ?? []) {
        try {
          listener(frame.payload);
        } catch (error) {
          console.error(`A listener of ${frame.name} failed`, error);
        }
      }
    }
  };

  const connect = (): void => {
    retryTimer = null;
    setState('connecting', { retryInMs: null });
    let ws: SocketLike;
    try {
      ws = createSocket(options.url);
    } catch (error) {
      console.error('Cannot open the connection', error);
      setState('closed', { fatal: 'refused' });
      return;
    }
    socket = ws;
    ws.onopen = () => {
      if (socket !== ws) return;
      attempt = 0;
      setState('open', { opens: detail.opens + 1, retryInMs: null, fatal: null });
      const waiting = queue;
      queue = [];
      for (const { frame } of waiting) ws.send(frame);
    };
    ws.onmessage = (event) => {
      if (socket === ws) onFrame(event.data);
    };
    ws.onerror = () => undefined; // onclose follows and says what to do
    ws.onclose = (event) => {
      if (socket !== ws) return;
      socket = null;
      failAll('The connection to Jielong was lost');
      if (closedByUs) {
        setState('closed', { retryInMs: null });
        return;
      }
      const retry = (): void => {
        const delay = backoff[Math.min(attempt, backoff.length - 1)] ?? 1000;
        attempt += 1;
        setState('closed', { retryInMs: delay, fatal: event.code === 1008 ? 'refused' : null });
        retryTimer = setTimer(connect, delay);
      };
      if (!options.checkToken) return retry();
      setState('closed', { retryInMs: null });
      void options
        .checkToken()
        .catch(() => null)
        .then((valid) => {
          if (closedByUs || socket !== null) return;
          // A token the host no longer knows will never work: say so instead of retrying forever.
          if (valid === false) setState('closed', { retryInMs: null, fatal: 'stale_token' });
          else retry();
        });
    };
  };

  connect();

  return {
    call(name, input) {
      return new Promise((resolve, reject) => {
        if (closedByUs) {
          reject(new ApiError(TRANSPORT_ERRORS.disconnected, 'The connection is closed'));
          return;
        }
        const id = nextId++;
        const frame = JSON.stringify({ type: 'call', id, name, input: input ?? {} } satisfies CallFrame);
        const timer =
          callTimeout > 0
            ? setTimer(() => {
                if (!pending.delete(id)) return;
                queue = queue.filter((entry) => entry.id !== id);
                reject(new ApiError('timeout', `${name} got no answer in ${Math.round(callTimeout / 1000)} s`));
              }, callTimeout)
            : null;
        pending.set(id, { name, resolve: resolve as (value: unknown) => void, reject, timer });
        if (socket && socket.readyState === OPEN) socket.send(frame);
        else queue.push({ id, frame });
      });
    },
    on(event, listener) {
      let set = listeners.get(event);
      if (!set) listeners.set(event, (set = new Set()));
      const wrapped = listener as (payload: unknown) => void;
      set.add(wrapped);
      return () => set.delete(wrapped);
    },
    onConnection(listener) {
      connectionListeners.add(listener);
      listener(state, detail);
      return () => connectionListeners.delete(listener);
    },
    close() {
      closedByUs = true;
      if (retryTimer !== null) clearTimer(retryTimer);
      const ws = socket;
      socket = null;
      failAll('The connection was closed');
      setState('closed', { retryInMs: null });
      ws?.close(1000, 'closing');
    },
  };
}

/** The WebSocket address for this page: same host, `/ws`, the token from `#token=`. */
export function webSocketUrlFor(location: Pick<Location, 'protocol' | 'host' | 'hash'>): string | null {
  const token = new URLSearchParams(location.hash.replace(/^#/, '')).get('token');
  if (!token) return null;
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}/ws?token=${encodeURIComponent(token)}`;
}

/** `window.jielong` when the preload gave us one, else the browser host's WebSocket. */
export function createTransport(win: Window = window): Transport {
  if (win.jielong) return createPreloadTransport(win.jielong);
  const url = webSocketUrlFor(win.location);
  if (!url) return createUnavailableTransport('no_token');
  const token = new URLSearchParams(win.location.hash.replace(/^#/, '')).get('token') ?? '';
  return createWebSocketTransport({ url, checkToken: () => checkTokenAt(win.location.origin, token) });
}

/** Asks the browser host whether `token` is this run's (true), not (false), or cannot tell (null). */
export async function checkTokenAt(origin: string, token: string, fetcher: typeof fetch = fetch): Promise<boolean | null> {
  try {
    const response = await fetcher(`${origin}/token-check`, { headers: { 'X-Jielong-Token': token }, cache: 'no-store' });
    if (response.status === 204) return true;
    if (response.status === 401) return false;
    return null;
  } catch {
    return null;
  }
}

/** No way to reach the services; `reason` is a code the UI explains (`no_token`). */
function createUnavailableTransport(reason: string): Transport {
  return {
    call: (name) => Promise.reject(new ApiError(TRANSPORT_ERRORS.unavailable, `${name}: ${reason}`)),
    on: () => () => undefined,
    onConnection(listener) {
      listener('closed', { opens: 0, retryInMs: null, fatal: reason });
      return () => undefined;
    },
    close() {},
  };
}
