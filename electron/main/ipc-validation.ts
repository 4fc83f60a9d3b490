// Validated IPC between the main process and our own windows, generic over whatever contract
// is registered through it (the contract itself lives in electron/shared and is bound in
// contract-handlers.ts).
//
// Every invoke handler registered here:
//   1. checks who is calling: the frame must still exist, belong to a window we created, be
//      that window's main frame (not an iframe), and show a page of our origin (app://jielong);
//   2. checks what is sent, with the channel's zod schema;
//   3. runs the handler and never lets anything escape: every refusal or failure becomes a
//      typed `{ ok: false, error: { code, message } }`, success is `{ ok: true, value }`.
// Pushes the other way go only to our windows' webContents, after the same origin check.
//
// The idea follows VS Code's validated ipcMain (check the sender frame's URL and that its
// parent is null before dispatching); the differences are deliberate: no frame, a blank URL or
// a frame outside our window registry is refused rather than let through, and errors come
// back as values the renderer can switch on instead of rejected promises.
import type { z } from 'zod';
import { describeIssues } from '../shared/model-host-protocol.ts';
import { isAppUrl } from './app-origin.ts';

// ---- the shapes of Electron objects this module touches (real ones and test fakes fit) ----

/** The parts of `WebFrameMain` the sender check reads. */
export interface SenderFrame {
  readonly url: string;
  /** `null` for a main frame. */
  readonly parent: unknown;
  /** True once the frame has navigated away or been removed (Electron 34+). */
  readonly detached?: boolean;
  readonly processId: number;
  readonly routingId: number;
  isDestroyed(): boolean;
}

/** The parts of `WebContents` this module needs. */
export interface AppWebContents {
  /** Unique for the lifetime of the app; never reused. */
  readonly id: number;
  readonly mainFrame: SenderFrame;
  isDestroyed(): boolean;
  send(channel: string, ...args: unknown[]): void;
}

/** The parts of `IpcMainInvokeEvent` the wrapper reads. */
export interface InvokeEvent {
  readonly sender: AppWebContents;
  /** `null` when the frame navigated or was destroyed before we looked. */
  readonly senderFrame: SenderFrame | null;
}

export type InvokeListener = (event: InvokeEvent, ...args: unknown[]) => unknown;

/** The parts of `ipcMain` used to register handlers. */
export interface IpcMainLike {
  handle(channel: string, listener: InvokeListener): void;
  removeHandler(channel: string): void;
}

// ---- results ----

export const IPC_ERROR = {
  /** The caller is not the main frame of one of our windows showing our origin. */
  forbidden: 'forbidden',
  /** The payload does not match the channel's schema (the contract's code for it, too). */
  invalidInput: 'invalid_input',
  /** The handler failed in a way it did not describe; details are in the main log only. */
  internal: 'internal',
} as const;

/** Codes a handler may report itself (by throwing an error with such a `code`): lower snake case. */
const EXPOSED_CODE = /^[a-z][a-z0-9_]{0,63}$/;
const MAX_MESSAGE_LENGTH = 1_000;

export interface IpcError {
  code: string;
  message: string;
}
export type IpcResult<T> = { ok: true; value: T } | { ok: false; error: IpcError };

export function ipcOk<T>(value: T): IpcResult<T> {
  return { ok: true, value };
}

export function ipcError(code: string, message: string): { ok: false; error: IpcError } {
  return { ok: false, error: { code, message: clip(message) } };
}

function clip(message: string): string {
  return message.length > MAX_MESSAGE_LENGTH ? `${message.slice(0, MAX_MESSAGE_LENGTH - 1)}…` : message;
}

export type IpcLogger = (message: string, detail?: unknown) => void;

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

// ---- which webContents are ours ----

/**
 * The webContents of the windows we created. Only these may call handlers and receive
 * events. Membership is by webContents id (unique and never reused in one app run); a
 * destroyed webContents is never trusted, even before its window's `closed` event removed it.
 */
export class TrustedWindows {
  private readonly byId = new Map<number, AppWebContents>();

  /** Trusts `contents` until the returned function is called (on the window's `closed`). */
  add(contents: AppWebContents): () => void {
    const id = contents.id;
    this.byId.set(id, contents);
    return () => {
      if (this.byId.get(id) === contents) this.byId.delete(id);
    };
  }

  has(contents: AppWebContents | null | undefined): boolean {
    if (!contents || typeof contents.id !== 'number') return false;
    const known = this.byId.get(contents.id);
    return known !== undefined && !known.isDestroyed() && !contents.isDestroyed();
  }

  /** The live trusted webContents. */
  list(): AppWebContents[] {
    return [...this.byId.values()].filter((contents) => !contents.isDestroyed());
  }
}

// ---- the sender check ----

export type SenderRefusal = 'sender_gone' | 'untrusted_window' | 'not_main_frame' | 'wrong_origin';
export type SenderCheck = { ok: true } | { ok: false; reason: SenderRefusal; detail: string };

function sameFrame(a: SenderFrame, b: SenderFrame): boolean {
  return a === b || (a.processId === b.processId && a.routingId === b.routingId);
}

/**
 * Decides whether an IPC event comes from the main frame of one of our windows showing our
 * origin. Reading a disposed frame's properties throws in Electron; any throw is a refusal.
 */
export function checkSender(event: InvokeEvent, trust: TrustedWindows): SenderCheck {
  try {
    const frame = event.senderFrame;
    if (!frame) return { ok: false, reason: 'sender_gone', detail: 'the sending frame no longer exists' };
    if (frame.isDestroyed() || frame.detached === true) {
      return { ok: false, reason: 'sender_gone', detail: 'the sending frame was destroyed or detached' };
    }
    const sender = event.sender;
    if (!trust.has(sender)) return { ok: false, reason: 'untrusted_window', detail: 'the sender is not a window Jielong created' };
    if (frame.parent !== null || !sameFrame(frame, sender.mainFrame)) {
      return { ok: false, reason: 'not_main_frame', detail: 'the sender is a sub-frame, not the main frame' };
    }
    const url = frame.url;
    if (!isAppUrl(url)) return { ok: false, reason: 'wrong_origin', detail: `the sender's page is not part of the app (${describeUrl(url)})` };
    return { ok: true };
  } catch (error) {
    return { ok: false, reason: 'sender_gone', detail: `the sending frame could not be read (${errorText(error)})` };
  }
}

function describeUrl(url: unknown): string {
  if (typeof url !== 'string') return typeof url;
  if (url === '') return 'empty URL';
  return url.length > 200 ? `${url.slice(0, 200)}…` : url;
}

function errorText(error: unknown): string {
  if (error instanceof Error) return error.message;
  try {
    return String(error);
  } catch {
    return 'unprintable error';
  }
}

// ---- handlers ----

export interface HandlerContext {
  readonly channel: string;
  /** The (checked) webContents that called; e.g. to address progress events to it alone. */
  readonly sender: AppWebContents;
}

export interface HandlerOptions<R> {
  /** Checked against what the handler returns; a mismatch is reported as `internal`. */
  result?: z.ZodType<R>;
  /** Turns a thrown error into what the renderer sees; `undefined` falls back to the default. */
  mapError?: (error: unknown) => IpcError | undefined;
  log?: IpcLogger;
}

/**
 * The default mapping of a thrown error: an error that carries a lower-snake-case `code` and
 * a string `message` (ModelHostError, storage errors, anything written for people) passes
 * through; anything else (a TypeError, a Node ENOENT, a string) becomes `internal` with a
 * generic message, and its details stay in the main process log.
 */
export function exposedError(error: unknown): IpcError | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (typeof code !== 'string' || !EXPOSED_CODE.test(code) || typeof message !== 'string') return undefined;
  if (code === IPC_ERROR.forbidden) return undefined; // only the sender check may say that
  return { code, message: clip(message) };
}

const CHANNEL_NAME = /^[A-Za-z][A-Za-z0-9:._/-]{0,199}$/;

export function assertChannelName(channel: string): void {
  if (typeof channel !== 'string' || !CHANNEL_NAME.test(channel)) {
    throw new TypeError(`Not a valid IPC channel name: ${JSON.stringify(channel)}`);
  }
}

/**
 * Registers an invoke handler whose caller, payload and failures are all checked (see the top
 * of this file). The renderer calls it with exactly one argument, the payload (omitted means
 * `undefined`, which the schema may accept). Returns a function that removes the handler.
 */
export function registerValidatedHandler<S extends z.ZodType, R>(
  ipcMain: IpcMainLike,
  channel: string,
  schema: S,
  handler: (payload: z.output<S>, context: HandlerContext) => R | Promise<R>,
  trust: TrustedWindows,
  options: HandlerOptions<R> = {},
): () => void {
  assertChannelName(channel);
  const log = options.log ?? defaultLog;
  const listener: InvokeListener = (event, ...args) => handleInvoke(channel, schema, handler, trust, options, log, event, args);
  ipcMain.handle(channel, listener);
  return () => ipcMain.removeHandler(channel);
}

async function handleInvoke<S extends z.ZodType, R>(
  channel: string,
  schema: S,
  handler: (payload: z.output<S>, context: HandlerContext) => R | Promise<R>,
  trust: TrustedWindows,
  options: HandlerOptions<R>,
  log: IpcLogger,
  event: InvokeEvent,
  args: unknown[],
): Promise<IpcResult<R>> {
  try {
    const sender = checkSender(event, trust);
    if (!sender.ok) {
      safeLog(log, `refused ${channel}: ${sender.detail}`);
      return ipcError(IPC_ERROR.forbidden, 'This request did not come from a Jielong window and was refused.');
    }
    if (args.length > 1) {
      return ipcError(IPC_ERROR.invalidInput, `${channel} takes one argument; it was given ${args.length}.`);
    }
    const parsed = schema.safeParse(args[0]);
    if (!parsed.success) return ipcError(IPC_ERROR.invalidInput, `${channel}: ${describeIssues(parsed.error) || 'invalid payload'}`);

    let value: R;
    try {
      value = await handler(parsed.data as z.output<S>, { channel, sender: event.sender });
    } catch (error) {
      const mapped = safeMap(options.mapError, error) ?? exposedError(error);
      if (mapped) return ipcError(mapped.code, mapped.message);
      safeLog(log, `${channel} failed`, error);
      return ipcError(IPC_ERROR.internal, `${channel} failed. The details are in Jielong's log.`);
    }

    if (options.result) {
      const checked = options.result.safeParse(value);
      if (!checked.success) {
        safeLog(log, `${channel} returned a value outside its contract: ${describeIssues(checked.error)}`);
        return ipcError(IPC_ERROR.internal, `${channel} produced an invalid result.`);
      }
      value = checked.data;
    }
    // Electron serialises the reply after we return; a value it cannot clone would reject the
    // renderer's promise there, outside our control. Find out here instead.
    try {
      structuredClone(value);
    } catch (error) {
      safeLog(log, `${channel} returned a value that cannot cross the process boundary`, error);
      return ipcError(IPC_ERROR.internal, `${channel} produced a result that cannot be sent.`);
    }
    return ipcOk(value);
  } catch (error) {
    // Reached only through something truly unexpected (a getter on a hostile payload, a
    // broken schema): still a typed value, never a rejection.
    safeLog(log, `${channel}: unexpected failure`, error);
    return ipcError(IPC_ERROR.internal, `${channel} failed. The details are in Jielong's log.`);
  }
}

function safeMap(mapError: ((error: unknown) => IpcError | undefined) | undefined, error: unknown): IpcError | undefined {
  if (!mapError) return undefined;
  try {
    const mapped = mapError(error);
    if (mapped && typeof mapped.code === 'string' && typeof mapped.message === 'string') return mapped;
  } catch {
    // fall through to the default mapping
  }
  return undefined;
}

// ---- events (main -> renderer) ----

export interface EventDelivery {
  /** How many of our windows the event was sent to. */
  delivered: number;
}

/**
 * Sends `payload` on `channel` to every window of ours whose main frame shows our origin,
 * after checking it with `schema` (a push that breaks its own contract is a main-side bug and
 * is not sent). Never throws.
 */
export function sendToAppWindows<S extends z.ZodType>(
  trust: TrustedWindows,
  channel: string,
  schema: S,
  payload: z.input<S>,
  options: { only?: AppWebContents; log?: IpcLogger } = {},
): IpcResult<EventDelivery> {
  const log = options.log ?? defaultLog;
  try {
    if (!CHANNEL_NAME.test(channel)) return ipcError(IPC_ERROR.invalidInput, `Not a valid event channel: ${JSON.stringify(channel)}`);
    const parsed = schema.safeParse(payload);
    if (!parsed.success) {
      safeLog(log, `not sending ${channel}: ${describeIssues(parsed.error)}`);
      return ipcError(IPC_ERROR.invalidInput, `${channel}: ${describeIssues(parsed.error) || 'invalid payload'}`);
    }
    const targets = options.only ? (trust.has(options.only) ? [options.only] : []) : trust.list();
    let delivered = 0;
    for (const contents of targets) {
      try {
        if (contents.isDestroyed() || !isAppUrl(contents.mainFrame.url)) continue;
        contents.send(channel, parsed.data);
        delivered += 1;
      } catch (error) {
        safeLog(log, `sending ${channel} to window ${contents.id} failed`, error);
      }
    }
    return ipcOk({ delivered });
  } catch (error) {
    safeLog(log, `sending ${channel} failed`, error);
    return ipcError(IPC_ERROR.internal, `${channel} could not be sent.`);
  }
}

/** `sendToAppWindows` bound to one channel and its schema. */
export function createEventSender<S extends z.ZodType>(
  trust: TrustedWindows,
  channel: string,
  schema: S,
  options: { log?: IpcLogger } = {},
): (payload: z.input<S>, only?: AppWebContents) => IpcResult<EventDelivery> {
  assertChannelName(channel);
  return (payload, only) => sendToAppWindows(trust, channel, schema, payload, { ...options, ...(only ? { only } : {}) });
}
