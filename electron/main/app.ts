// The app's lifecycle, wired from the pieces beside it. Electron's modules are passed in
// (index.ts passes the real ones, the tests pass fakes), so the order of things, which matters
// a great deal in Electron, can be tested without the binary:
//
//   before ready: single-instance lock, the renderer sandbox for every window, the privileged
//                 app:// scheme, guards for every webContents that will ever be created;
//   on ready:     permissions denied, app:// served from the renderer folder, the services
//                 (storage, and the model host as a utilityProcess), the contract's call
//                 channel, then the window, then the default model starts loading;
//   later:        a second launch focuses the first window; quitting removes the channel and
//                 closes the services (an answer in progress is kept as interrupted).
import type { BrowserWindowConstructorOptions, CustomScheme } from 'electron';
import { createAppServices, type AppServices, type AppServicesOptions } from '../services/app-services.ts';
import { resolveAppPaths, type AppPaths } from './app-paths.ts';
import { registerAppScheme, serveAppProtocol } from './app-protocol.ts';
import { registerCallChannel, type CallChannelBinding, type IpcMainLike } from './call-channel.ts';
import { createExternalLinkOpener, type ConfirmDialog, type ConfirmOptions, type ExternalOpener } from './external-links.ts';
import { utilityHostSpawner, type ForkUtilityProcess } from './model-host-process.ts';
import { TrustedWindows } from './sender-check.ts';
import { createSecureWindow, denyAllPermissions, guardAllWebContents, type GuardableWebContents, type LockableSession, type SecureWindow } from './window-security.ts';
import { loadWindowState, trackWindowState, type Rectangle, type TrackableWindow } from './window-state.ts';

/** The parts of BrowserWindow the app uses (what createSecureWindow and trackWindowState need, and focus). */
export interface AppWindow extends Omit<SecureWindow, 'on'>, Omit<TrackableWindow, 'on'> {
  on(event: 'closed', listener: () => void): unknown;
  on(event: 'resize' | 'move' | 'maximize' | 'unmaximize' | 'close', listener: () => void): unknown;
  focus(): void;
  restore(): void;
}

/** The parts of Electron's `app` used here. */
export interface AppLike {
  readonly isPackaged: boolean;
  enableSandbox(): void;
  requestSingleInstanceLock(): boolean;
  whenReady(): Promise<void>;
  quit(): void;
  exit(code?: number): void;
  getPath(name: 'userData'): string;
  getAppPath(): string;
  on(event: 'second-instance', listener: () => void): unknown;
  on(event: 'window-all-closed', listener: () => void): unknown;
  on(event: 'activate', listener: () => void): unknown;
  on(event: 'will-quit', listener: (event: { preventDefault(): void }) => void): unknown;
  on(event: 'web-contents-created', listener: (event: unknown, contents: GuardableWebContents) => void): unknown;
}

/** The subset of Electron's OpenDialogOptions the folder chooser uses. */
export interface OpenFolderOptions {
  title: string;
  properties: Array<'openDirectory'>;
}

export interface ElectronApi<W extends AppWindow> {
  app: AppLike;
  /** `(options) => new BrowserWindow(options)` */
  createWindow(options: BrowserWindowConstructorOptions): W;
  ipcMain: IpcMainLike;
  protocol: {
    registerSchemesAsPrivileged(schemes: CustomScheme[]): void;
    handle(scheme: string, handler: (request: Request) => Response | Promise<Response>): void;
  };
  /** Only valid after ready: `() => session.defaultSession`. */
  defaultSession(): LockableSession;
  /** Only valid after ready: `() => screen.getAllDisplays().map((d) => d.workArea)`. */
  workAreas(): Rectangle[];
  dialog: {
    showMessageBox(window: W, options: ConfirmOptions): Promise<{ response: number }>;
    showMessageBox(options: ConfirmOptions): Promise<{ response: number }>;
    showErrorBox(title: string, content: string): void;
    showOpenDialog(window: W, options: OpenFolderOptions): Promise<{ canceled: boolean; filePaths: string[] }>;
  };
  shell: ExternalOpener;
  /** `(entry, args, options) => utilityProcess.fork(entry, args, options)` */
  forkUtilityProcess: ForkUtilityProcess;
  /** `process.resourcesPath` */
  resourcesPath: string;
  platform: NodeJS.Platform;
  /** Allow DevTools (development runs only). */
  devTools?: boolean;
  /** Defaults to createAppServices; replaceable in tests. */
  createServices?: (options: AppServicesOptions) => AppServices;
  /** How remote models' API keys are kept at rest: `safeStorageCodec(safeStorage)`. */
  secrets?: AppServicesOptions['secrets'];
  /** Defaults to call-channel.ts; replaceable in tests. */
  registerCallChannel?: (binding: CallChannelBinding) => () => void;
  log?: (message: string, detail?: unknown) => void;
}

export interface RunningApp<W extends AppWindow> {
  /** Settles once the first window was created (or the start failed and the app is exiting). */
  readonly ready: Promise<void>;
  readonly trust: TrustedWindows;
  mainWindow(): W | null;
  services(): AppServices | null;
}

/** Returns null when another instance already runs (this one then quits). */
export function runApp<W extends AppWindow>(electron: ElectronApi<W>): RunningApp<W> | null {
  const { app } = electron;
  const log = electron.log ?? ((message: string, detail?: unknown) => console.error(`[jielong] ${message}`, detail ?? ''));

  if (!app.requestSingleInstanceLock()) {
    app.quit();
    return null;
  }
  app.enableSandbox();
  registerAppScheme(electron.protocol);

  const trust = new TrustedWindows();
  let mainWindow: W | null = null;
  let paths: AppPaths | null = null;
  let services: AppServices | null = null;

  // Dialogs for links belong to the window that asked (modal on it).
  const dialog: ConfirmDialog = {
    showMessageBox: (options) => (mainWindow ? electron.dialog.showMessageBox(mainWindow, options) : electron.dialog.showMessageBox(options)),
  };
  const openExternal = createExternalLinkOpener({ dialog, shell: electron.shell });
  // "Import a model folder": a native chooser, modal on the window (none without a window).
  const chooseFolder = async (title: string): Promise<string | null> => {
    if (!mainWindow) return null;
    const result = await electron.dialog.showOpenDialog(mainWindow, { title, properties: ['openDirectory'] });
    return result.canceled ? null : (result.filePaths[0] ?? null);
  };
  guardAllWebContents(app, { openExternal: (url) => void openExternal(url) });

  const openWindow = (): W => {
    if (!paths) throw new Error('The window was requested before the app was ready');
    const { state } = loadWindowState(paths.windowState, electron.workAreas());
    const window = createSecureWindow({
      createWindow: electron.createWindow,
      preload: paths.preload,
      trust,
      state,
      devTools: electron.devTools ?? false,
    });
    trackWindowState(window, paths.windowState);
    window.on('closed', () => {
      if (mainWindow === window) mainWindow = null;
    });
    mainWindow = window;
    return window;
  };

  const showWindow = () => {
    if (!paths) return; // a second launch before ready: the window is about to appear anyway
    const window = mainWindow ?? openWindow();
    if (window.isMinimized()) window.restore();
    window.focus();
  };

  app.on('second-instance', showWindow);
  app.on('activate', () => {
    if (paths && !mainWindow) openWindow();
  });
  app.on('window-all-closed', () => {
    if (electron.platform !== 'darwin') app.quit();
  });

  const ready = app.whenReady().then(
    () => {
      try {
        paths = resolveAppPaths({
          userData: app.getPath('userData'),
          appPath: app.getAppPath(),
          resourcesPath: electron.resourcesPath,
          isPackaged: app.isPackaged,
        });
        denyAllPermissions(electron.defaultSession());
        serveAppProtocol(electron.protocol, paths.rendererRoot);
        const running = (electron.createServices ?? createAppServices)({
          dataDir: paths.dataDir,
          bundledModelsDir: paths.bundledModelsDir,
          spawnHost: utilityHostSpawner({ fork: electron.forkUtilityProcess, entry: paths.modelHostEntry }),
          chooseFolder,
          ...(electron.secrets ? { secrets: electron.secrets } : {}),
        });
        services = running;
        const unregister = (electron.registerCallChannel ?? registerCallChannel)({ ipcMain: electron.ipcMain, trust, services: running, log });
        let closed = false;
        app.on('will-quit', (event) => {
          if (closed) return;
          // Hold the quit until the services have closed: the answer being written is kept
          // (as interrupted), the host is stopped, the database closed.
          event.preventDefault();
          unregister();
          running
            .close()
            .catch((error: unknown) => log('closing the services failed', error))
            .finally(() => {
              closed = true;
              app.quit();
            });
        });
        openWindow();
        void running.loadDefaultModel();
      } catch (error) {
        fail(error);
      }
    },
    (error: unknown) => fail(error),
  );

  function fail(error: unknown): void {
    log('Jielong could not start', error);
    try {
      electron.dialog.showErrorBox('Jielong could not start', error instanceof Error ? error.message : String(error));
    } finally {
      app.exit(1);
    }
  }

  return {
    ready,
    trust,
    mainWindow: () => mainWindow,
    services: () => services,
  };
}
