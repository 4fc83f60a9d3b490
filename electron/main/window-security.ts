// The secure window and the guards every webContents gets. The renderer runs sandboxed with
// context isolation and no Node; it may show only pages of our own origin (app://jielong), may
// not open windows, attach webviews or get any permission (camera, notifications, ...), and
// an https link it tries to follow goes to the external-link flow (a confirm dialog, then the
// system browser) instead of loading inside the app.
import type { BrowserWindowConstructorOptions, WebPreferences } from 'electron';
import { APP_ENTRY_URL, isAppUrl } from './app-origin.ts';
import type { AppWebContents, TrustedWindows } from './sender-check.ts';
import { MIN_WINDOW_SIZE, type WindowState } from './window-state.ts';

/** The renderer's webPreferences: everything that can be off is off. */
export function secureWebPreferences(preload: string, options: { devTools?: boolean } = {}): WebPreferences {
  return {
    preload,
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    webviewTag: false,
    spellcheck: false,
    experimentalFeatures: false,
    navigateOnDragDrop: false,
    safeDialogs: true,
    devTools: options.devTools ?? false,
  };
}

// ---- guards ----

export interface PreventableEvent {
  preventDefault(): void;
}
export interface NavigationEvent extends PreventableEvent {
  readonly url: string;
}
export interface FrameNavigationEvent extends NavigationEvent {
  readonly isMainFrame: boolean;
}

/** The parts of WebContents the guards attach to. */
export interface GuardableWebContents {
  on(event: 'will-navigate', listener: (details: NavigationEvent) => void): unknown;
  on(event: 'will-redirect', listener: (details: NavigationEvent) => void): unknown;
  on(event: 'will-frame-navigate', listener: (details: FrameNavigationEvent) => void): unknown;
  on(event: 'will-attach-webview', listener: (event: PreventableEvent) => void): unknown;
  setWindowOpenHandler(handler: (details: { url: string }) => { action: 'deny' }): void;
}

export interface GuardOptions {
  /** The external-link flow; called for https links the page tried to open or navigate to. */
  openExternal(url: string): void;
  log?: (message: string) => void;
}

function isHttpsLink(url: string): boolean {
  return url.startsWith('https://');
}

/**
 * Attaches the navigation, redirect, window-open and webview guards to one webContents.
 * Same-origin navigations (a reload, another page of the app) are allowed; everything else
 * is stopped. Only a top-level navigation or window.open to an https URL is forwarded to the
 * external-link flow, which checks the URL itself and asks the person.
 */
export function hardenWebContents(contents: GuardableWebContents, options: GuardOptions): void {
  const log = options.log ?? ((message: string) => console.warn(`[window-security] ${message}`));
  const forward = (url: string) => {
    try {
      options.openExternal(url);
    } catch (error) {
      log(`the external-link flow failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  contents.on('will-navigate', (details) => {
    if (isAppUrl(details.url)) return;
    details.preventDefault();
    log(`blocked navigation to ${clip(details.url)}`);
    if (isHttpsLink(details.url)) forward(details.url);
  });
  contents.on('will-frame-navigate', (details) => {
    if (isAppUrl(details.url)) return;
    details.preventDefault();
    if (!details.isMainFrame) log(`blocked sub-frame navigation to ${clip(details.url)}`);
  });
  contents.on('will-redirect', (details) => {
    if (isAppUrl(details.url)) return;
    details.preventDefault();
    log(`blocked redirect to ${clip(details.url)}`);
  });
  contents.on('will-attach-webview', (event) => {
    event.preventDefault();
    log('blocked a webview');
  });
  contents.setWindowOpenHandler(({ url }) => {
    if (isHttpsLink(url)) forward(url);
    else log(`blocked window.open of ${clip(url)}`);
    return { action: 'deny' };
  });
}

function clip(url: string): string {
  return url.length > 200 ? `${url.slice(0, 200)}…` : url;
}

/** The parts of Session the permission lock needs. */
export interface LockableSession {
  setPermissionRequestHandler(handler: (webContents: unknown, permission: string, callback: (granted: boolean) => void) => void): void;
  setPermissionCheckHandler(handler: (webContents: unknown, permission: string) => boolean): void;
  setDevicePermissionHandler(handler: (details: unknown) => boolean): void;
}

/** Denies every permission request and check (media, notifications, HID, serial, USB...). */
export function denyAllPermissions(session: LockableSession): void {
  session.setPermissionRequestHandler((_webContents, _permission, callback) => callback(false));
  session.setPermissionCheckHandler(() => false);
  session.setDevicePermissionHandler(() => false);
}

export interface WebContentsCreatedSource {
  on(event: 'web-contents-created', listener: (event: unknown, contents: GuardableWebContents) => void): unknown;
}

/**
 * Guards every webContents the app ever creates (windows, devtools, anything a future feature
 * adds), not only the main window's: a defence that does not depend on remembering to call
 * hardenWebContents.
 */
export function guardAllWebContents(app: WebContentsCreatedSource, options: GuardOptions): void {
  app.on('web-contents-created', (_event, contents) => hardenWebContents(contents, options));
}

// ---- the window ----

/** The parts of BrowserWindow createSecureWindow uses. */
export interface SecureWindow {
  readonly webContents: AppWebContents & { loadURL(url: string): Promise<void> };
  once(event: 'ready-to-show', listener: () => void): unknown;
  on(event: 'closed', listener: () => void): unknown;
  show(): void;
  maximize(): void;
}

export interface SecureWindowOptions<W extends SecureWindow> {
  /** `(options) => new BrowserWindow(options)`. */
  createWindow(options: BrowserWindowConstructorOptions): W;
  /** Absolute path of the bundled preload (CommonJS, for the sandbox). */
  preload: string;
  trust: TrustedWindows;
  state: WindowState;
  devTools?: boolean;
  url?: string;
  log?: (message: string, detail?: unknown) => void;
}

export function secureWindowOptions(preload: string, state: WindowState, devTools = false): BrowserWindowConstructorOptions {
  return {
    ...(state.x !== undefined && state.y !== undefined ? { x: state.x, y: state.y } : {}),
    width: state.width,
    height: state.height,
    minWidth: MIN_WINDOW_SIZE.width,
    minHeight: MIN_WINDOW_SIZE.height,
    show: false,
    title: 'Jielong',
    backgroundColor: '#1b1b1f',
    webPreferences: secureWebPreferences(preload, { devTools }),
  };
}

/**
 * Creates the app window: secure webPreferences, trusted for IPC until it closes, shown once
 * its first paint is ready, loading app://jielong/index.html. The guards themselves come from
 * guardAllWebContents (installed once for every webContents) so they are in place before the
 * first navigation.
 */
export function createSecureWindow<W extends SecureWindow>(options: SecureWindowOptions<W>): W {
  const log = options.log ?? ((message: string, detail?: unknown) => console.error(`[window] ${message}`, detail ?? ''));
  const window = options.createWindow(secureWindowOptions(options.preload, options.state, options.devTools ?? false));
  const untrust = options.trust.add(window.webContents);
  window.on('closed', untrust);
  window.once('ready-to-show', () => {
    if (options.state.maximized) window.maximize();
    window.show();
  });
  window.webContents.loadURL(options.url ?? APP_ENTRY_URL).catch((error: unknown) => log('the window could not load the app', error));
  return window;
}
