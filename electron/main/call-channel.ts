// The contract bound to Electron IPC: one invoke channel for every call, one push channel for
// every event (names in shared/ipc-channels.ts; the preload's side is preload/bridge.ts).
//
//   renderer: window.jielong.call(name, input)
//     -> ipcMain.handle(CALL_CHANNEL): the sender check (sender-check.ts), then the same
//        dispatch the browser host uses (services/api.ts), which validates the input against
//        the contract and answers a CallResult; that result crosses back as it is.
//   services: events.emit(name, payload)
//     -> webContents.send(EVENT_CHANNEL, name, payload) to each of our windows. The payloads
//        are typed by the EventBus and come from our own services, so they are not parsed again
//        on the way out (a token event passes here once per token).
//
// Like VS Code's ProxyChannel, calls are dispatched by name over one channel, so adding a call
// to the contract needs nothing here.
import type { AppServices } from '../services/app-services.ts';
import type { CallResult, EventName, EventPayload } from '../shared/contract.ts';
import { CALL_CHANNEL, EVENT_CHANNEL } from '../shared/ipc-channels.ts';
import { isAppUrl } from './app-origin.ts';
import { checkSender, type InvokeEvent, type TrustedWindows } from './sender-check.ts';

export type InvokeListener = (event: InvokeEvent, ...args: unknown[]) => unknown;

/** The parts of `ipcMain` the channel uses. */
export interface IpcMainLike {
  handle(channel: string, listener: InvokeListener): void;
  removeHandler(channel: string): void;
}

export type IpcLogger = (message: string, detail?: unknown) => void;

export interface CallChannelBinding {
  ipcMain: IpcMainLike;
  trust: TrustedWindows;
  /** What the transport needs of the services: the one dispatch and the event bus. */
  services: Pick<AppServices, 'dispatch' | 'events'>;
  log?: IpcLogger;
}

/** The answer to a caller that is not the main frame of one of our windows showing our page. */
export const FORBIDDEN: CallResult<never> = {
  ok: false,
  error: { code: 'forbidden', message: 'This request did not come from a Jielong window and was refused.' },
};

/** Registers the call channel and forwards the services' events; returns a function that undoes both (on quit). */
export function registerCallChannel({ ipcMain, trust, services, log = defaultLog }: CallChannelBinding): () => void {
  ipcMain.handle(CALL_CHANNEL, (event, ...args): Promise<CallResult<unknown>> => {
    const sender = checkSender(event, trust);
    if (!sender.ok) {
      safeLog(log, `refused a call: ${sender.detail}`);
      return Promise.resolve(FORBIDDEN);
    }
    if (args.length !== 2) {
      return Promise.resolve({ ok: false, error: { code: 'invalid_input', message: `A call takes a name and an input; it was given ${args.length} arguments.` } });
    }
    return services.dispatch(args[0], args[1]);
  });
  const showsOurPage = lastAnswerOf(isAppUrl);
  const unsubscribe = services.events.subscribe((name, payload) => pushToWindows(trust, showsOurPage, name, payload, log));
  return () => {
    ipcMain.removeHandler(CALL_CHANNEL);
    unsubscribe();
  };
}

/** Sends one event to every live window of ours that still shows our page. Never throws. */
function pushToWindows<N extends EventName>(
  trust: TrustedWindows,
  showsOurPage: (url: string) => boolean,
  name: N,
  payload: EventPayload<N>,
  log: IpcLogger,
): void {
  for (const contents of trust.list()) {
    try {
      if (showsOurPage(contents.mainFrame.url)) contents.send(EVENT_CHANNEL, name, payload);
    } catch (error) {
      safeLog(log, `sending ${name} to window ${contents.id} failed`, error);
    }
  }
}

/** `check`, remembering its last answer: a window's URL is the same for every token of an answer, and parsing it is most of a push's cost. */
function lastAnswerOf(check: (url: string) => boolean): (url: string) => boolean {
  let lastUrl: string | null = null;
  let lastAnswer = false;
  return (url) => {
    if (url !== lastUrl) {
      lastAnswer = check(url);
      lastUrl = url;
    }
    return lastAnswer;
  };
}

const defaultLog: IpcLogger = (message, detail) => {
  if (detail === undefined) console.warn(`[ipc] ${message}`);
  else console.warn(`[ipc] ${message}`, detail);
};

function safeLog(log: IpcLogger, message: string, detail?: unknown): void {
  try {
    log(message, detail);
  } catch {
    // a broken logger must not turn a typed refusal into an escaped exception
  }
}
