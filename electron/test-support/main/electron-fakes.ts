// Plain-object stand-ins for the Electron objects electron/main touches, for its tests (the
// Electron binary is not needed to run them). Each fake records what was done to it so a test
// can assert on it.
import { EventEmitter } from 'node:events';
import { APP_ENTRY_URL } from '../../main/app-origin.ts';
import type { InvokeListener, IpcMainLike } from '../../main/call-channel.ts';
import type { AppWebContents, InvokeEvent, SenderFrame } from '../../main/sender-check.ts';

export interface FakeFrame extends SenderFrame {
  url: string;
  parent: unknown;
  detached: boolean;
  processId: number;
  routingId: number;
  destroyed: boolean;
  isDestroyed(): boolean;
}

let nextRoutingId = 1;

export function fakeFrame(overrides: Partial<Omit<FakeFrame, 'isDestroyed'>> = {}): FakeFrame {
  const frame: FakeFrame = {
    url: APP_ENTRY_URL,
    parent: null,
    detached: false,
    processId: 7,
    routingId: nextRoutingId++,
    destroyed: false,
    isDestroyed() {
      return frame.destroyed;
    },
    ...overrides,
  };
  return frame;
}

let nextContentsId = 100;

export interface FakeWebContents extends AppWebContents, EventEmitter {
  id: number;
  mainFrame: FakeFrame;
  destroyed: boolean;
  sent: Array<{ channel: string; args: unknown[] }>;
  windowOpenHandler: ((details: { url: string }) => { action: 'allow' | 'deny' }) | null;
  session: FakeSession;
  loadedUrls: string[];
  loadURL(url: string): Promise<void>;
  setWindowOpenHandler(handler: (details: { url: string }) => { action: 'allow' | 'deny' }): void;
  getURL(): string;
}

export function fakeWebContents(frame: FakeFrame = fakeFrame(), options: { id?: number; session?: FakeSession } = {}): FakeWebContents {
  const emitter = new EventEmitter();
  const contents = Object.assign(emitter, {
    id: options.id ?? nextContentsId++,
    mainFrame: frame,
    destroyed: false,
    sent: [] as Array<{ channel: string; args: unknown[] }>,
    windowOpenHandler: null as FakeWebContents['windowOpenHandler'],
    session: options.session ?? fakeSession(),
    loadedUrls: [] as string[],
    isDestroyed() {
      return contents.destroyed;
    },
    send(channel: string, ...args: unknown[]) {
      contents.sent.push({ channel, args });
    },
    setWindowOpenHandler(handler: (details: { url: string }) => { action: 'allow' | 'deny' }) {
      contents.windowOpenHandler = handler;
    },
    async loadURL(url: string) {
      contents.loadedUrls.push(url);
      frame.url = url;
    },
    getURL() {
      return frame.url;
    },
  });
  return contents;
}

/** A fake invoke event as Electron would pass it for a call from `frame` in `sender`. */
export function fakeInvokeEvent(sender: AppWebContents, frame: SenderFrame | null = sender.mainFrame): InvokeEvent {
  return { sender, senderFrame: frame };
}

export class FakeIpcMain implements IpcMainLike {
  readonly handlers = new Map<string, InvokeListener>();

  handle(channel: string, listener: InvokeListener): void {
    if (this.handlers.has(channel)) throw new Error(`Attempted to register a second handler for '${channel}'`);
    this.handlers.set(channel, listener);
  }

  removeHandler(channel: string): void {
    this.handlers.delete(channel);
  }

  /** What ipcRenderer.invoke would get back (Electron awaits the listener's value). */
  async invoke(channel: string, event: InvokeEvent, ...args: unknown[]): Promise<unknown> {
    const listener = this.handlers.get(channel);
    if (!listener) throw new Error(`No handler registered for '${channel}'`);
    return await listener(event, ...args);
  }
}

export interface FakeSession {
  permissionRequestHandler: ((...args: never[]) => void) | null;
  permissionCheckHandler: ((...args: never[]) => boolean) | null;
  deviceHandler: ((...args: never[]) => boolean) | null;
  setPermissionRequestHandler(handler: FakeSession['permissionRequestHandler']): void;
  setPermissionCheckHandler(handler: FakeSession['permissionCheckHandler']): void;
  setDevicePermissionHandler(handler: FakeSession['deviceHandler']): void;
}

export function fakeSession(): FakeSession {
  const session: FakeSession = {
    permissionRequestHandler: null,
    permissionCheckHandler: null,
    deviceHandler: null,
    setPermissionRequestHandler(handler) {
      session.permissionRequestHandler = handler;
    },
    setPermissionCheckHandler(handler) {
      session.permissionCheckHandler = handler;
    },
    setDevicePermissionHandler(handler) {
      session.deviceHandler = handler;
    },
  };
  return session;
}

/** An Electron-style event whose default can be prevented. */
export function fakeNavigationEvent(url: string, extra: Record<string, unknown> = {}): { url: string; defaultPrevented: boolean; preventDefault(): void } & Record<string, unknown> {
  const event = {
    url,
    defaultPrevented: false,
    preventDefault() {
      event.defaultPrevented = true;
    },
    ...extra,
  };
  return event;
}
