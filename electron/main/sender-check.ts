// Who may talk to the main process: the windows we created, and in them only the main frame
// while it shows a page of our origin (app://jielong). call-channel.ts asks checkSender before
// every call and sends events only to TrustedWindows.
//
// The idea follows VS Code's validated ipcMain (check the sender frame's URL and that its
// parent is null before dispatching); the differences are deliberate: no frame, a blank URL or
// a frame outside our window registry is refused rather than let through.
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

/** The parts of `IpcMainInvokeEvent` the check reads. */
export interface InvokeEvent {
  readonly sender: AppWebContents;
  /** `null` when the frame navigated or was destroyed before we looked. */
  readonly senderFrame: SenderFrame | null;
}

// ---- which webContents are ours ----

/**
 * The webContents of the windows we created. Only these may call and receive events. Membership is by webContents id (unique and never reused in one app run); a
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
