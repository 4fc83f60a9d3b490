import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { BrowserWindowConstructorOptions, CustomScheme } from 'electron';
import type { AppServices, AppServicesOptions } from '../services/app-services.ts';
import { EventBus } from '../services/event-bus.ts';
import { APP_ENTRY_URL } from './app-origin.ts';
import { DEMO_MODEL_NAME, resolveAppPaths } from './app-paths.ts';
import { runApp, type AppWindow, type ElectronApi, type OpenFolderOptions } from './app.ts';
import type { CallChannelBinding } from './call-channel.ts';
import type { ConfirmOptions } from './external-links.ts';
import { CALL_CHANNEL, EVENT_CHANNEL } from '../shared/ipc-channels.ts';
import { FakeIpcMain, fakeInvokeEvent, fakeSession, fakeWebContents, type FakeWebContents } from '../test-support/main/electron-fakes.ts';
import { secureWebPreferences } from './window-security.ts';

class FakeWindow extends EventEmitter implements AppWindow {
  readonly webContents: FakeWebContents = fakeWebContents();
  minimized = false;
  focused = 0;
  restored = 0;
  shown = false;
  constructor(readonly options: BrowserWindowConstructorOptions) {
    super();
  }
  show() {
    this.shown = true;
  }
  maximize() {}
  focus() {
    this.focused += 1;
  }
  restore() {
    this.restored += 1;
    this.minimized = false;
  }
  isMinimized() {
    return this.minimized;
  }
  isMaximized() {
    return false;
  }
  isFullScreen() {
    return false;
  }
  isDestroyed() {
    return false;
  }
  getNormalBounds() {
    return { x: 0, y: 0, width: 1000, height: 700 };
  }
}

class FakeApp extends EventEmitter {
  isPackaged = true;
  lock = true;
  calls: string[] = [];
  exitCode: number | undefined;
  private resolveReady: () => void = () => undefined;
  private readonly readyPromise = new Promise<void>((resolve) => (this.resolveReady = resolve));
  constructor(private readonly userData: string) {
    super();
  }
  enableSandbox() {
    this.calls.push('enableSandbox');
  }
  requestSingleInstanceLock() {
    this.calls.push('requestSingleInstanceLock');
    return this.lock;
  }
  whenReady() {
    return this.readyPromise;
  }
  becomeReady() {
    this.calls.push('ready');
    this.resolveReady();
  }
  quit() {
    this.calls.push('quit');
  }
  exit(code?: number) {
    this.exitCode = code;
    this.calls.push('exit');
  }
  getPath(name: 'userData') {
    expect(name).toBe('userData');
    return this.userData;
  }
  getAppPath() {
    return '/opt/jielong/resources/app.asar';
  }
}

let userData: string;
beforeEach(() => {
  userData = mkdtempSync(path.join(tmpdir(), 'jielong-app-'));
});
afterEach(() => rmSync(userData, { recursive: true, force: true }));

function setup(overrides: Partial<ElectronApi<FakeWindow>> = {}, options: { lock?: boolean } = {}) {
  const app = new FakeApp(userData);
  app.lock = options.lock ?? true;
  const schemes: CustomScheme[][] = [];
  const handled = new Map<string, unknown>();
  const session = fakeSession();
  const windows: FakeWindow[] = [];
  const dialogCalls: Array<{ parent: FakeWindow | undefined; options: ConfirmOptions }> = [];
  const binding: CallChannelBinding[] = [];
  const unregister = vi.fn();
  const serviceOptions: AppServicesOptions[] = [];
  const fakeServices = {
    events: new EventBus(),
    dispatch: vi.fn(async () => ({ ok: true as const, value: null })),
    loadDefaultModel: vi.fn(async () => undefined),
    close: vi.fn(async () => undefined),
  };
  const ipcMain = new FakeIpcMain();
  const electron: ElectronApi<FakeWindow> = {
    app,
    createWindow: (options) => {
      app.calls.push('createWindow');
      const window = new FakeWindow(options);
      windows.push(window);
      return window;
    },
    ipcMain,
    protocol: {
      registerSchemesAsPrivileged: (list) => {
        app.calls.push('registerSchemesAsPrivileged');
        schemes.push(list);
      },
      handle: (scheme, handler) => {
        app.calls.push(`handle:${scheme}`);
        handled.set(scheme, handler);
      },
    },
    defaultSession: () => session,
    workAreas: () => [{ x: 0, y: 0, width: 1920, height: 1080 }],
    dialog: {
      showMessageBox: (async (...args: unknown[]) => {
        const [parent, options] = args.length === 2 ? (args as [FakeWindow, ConfirmOptions]) : [undefined, args[0] as ConfirmOptions];
        dialogCalls.push({ parent, options });
        return { response: 0 };
      }) as ElectronApi<FakeWindow>['dialog']['showMessageBox'],
      showErrorBox: vi.fn(),
      showOpenDialog: vi.fn(async (parent: FakeWindow, options: OpenFolderOptions) => {
        dialogCalls.push({ parent, options: options as unknown as ConfirmOptions });
        return { canceled: false, filePaths: ['/home/someone/models/phi'] };
      }),
    },
    shell: { openExternal: vi.fn(async () => undefined) },
    forkUtilityProcess: vi.fn(),
    resourcesPath: '/opt/jielong/resources',
    platform: 'linux',
    createServices: (options) => {
      app.calls.push('createServices');
      serviceOptions.push(options);
      return fakeServices as unknown as AppServices;
    },
    registerCallChannel: (b) => {
      app.calls.push('registerCallChannel');
      binding.push(b);
      return unregister;
    },
    log: () => undefined,
    ...overrides,
  };
  const running = runApp(electron);
  return { app, electron, running, schemes, handled, session, windows, dialogCalls, binding, unregister, ipcMain, serviceOptions, fakeServices };
}

describe('runApp: before ready', () => {
  it('takes the single-instance lock, then enables the sandbox and registers app:// before ready', () => {
    const { app, schemes } = setup();
    expect(app.calls).toEqual(['requestSingleInstanceLock', 'enableSandbox', 'registerSchemesAsPrivileged']);
    expect(schemes).toEqual([[{ scheme: 'app', privileges: { standard: true, secure: true, supportFetchAPI: true } }]]);
    expect(app.listenerCount('web-contents-created')).toBe(1);
  });

  it('quits without registering anything when another instance holds the lock', () => {
    const { app, running, schemes } = setup({}, { lock: false });
    expect(running).toBeNull();
    expect(app.calls).toEqual(['requestSingleInstanceLock', 'quit']);
    expect(schemes).toEqual([]);
    expect(app.listenerCount('web-contents-created')).toBe(0);
  });
});

describe('runApp: on ready', () => {
  it('denies permissions, serves app://, binds the contract with the services, then opens the secure window', async () => {
    const { app, running, session, handled, windows, binding, serviceOptions, fakeServices } = setup();
    app.becomeReady();
    await running!.ready;
    expect(app.calls.slice(3)).toEqual(['ready', 'handle:app', 'createServices', 'registerCallChannel', 'createWindow']);
    expect(session.permissionRequestHandler).not.toBeNull();
    expect(session.permissionCheckHandler).not.toBeNull();
    expect(handled.has('app')).toBe(true);

    const services = running!.services()!;
    expect(services).toBe(fakeServices);
    expect(binding[0]!.services).toBe(services);
    expect(binding[0]!.trust).toBe(running!.trust);
    expect(serviceOptions).toHaveLength(1);
    expect(serviceOptions[0]!.dataDir).toBe(userData);
    expect(serviceOptions[0]!.bundledModelsDir).toBe(path.join('/opt/jielong/resources', 'models'));
    expect(typeof serviceOptions[0]!.spawnHost).toBe('function');
    expect(fakeServices.loadDefaultModel).toHaveBeenCalledTimes(1);

    const [window] = windows;
    expect(windows).toHaveLength(1);
    expect(window!.options.webPreferences).toEqual(secureWebPreferences('/opt/jielong/resources/app.asar/electron/preload.cjs'));
    expect(window!.webContents.loadedUrls).toEqual([APP_ENTRY_URL]);
    expect(running!.trust.has(window!.webContents)).toBe(true);
    expect(running!.mainWindow()).toBe(window);
  });

  it('a second launch restores and focuses the existing window instead of opening another', async () => {
    const { app, running, windows } = setup();
    app.becomeReady();
    await running!.ready;
    windows[0]!.minimized = true;
    app.emit('second-instance', {}, ['jielong'], '/');
    expect(windows).toHaveLength(1);
    expect(windows[0]!.restored).toBe(1);
    expect(windows[0]!.focused).toBe(1);
  });

  it('opens a new window on a second launch after the first was closed', async () => {
    const { app, running, windows } = setup();
    app.becomeReady();
    await running!.ready;
    windows[0]!.emit('closed');
    expect(running!.mainWindow()).toBeNull();
    expect(running!.trust.has(windows[0]!.webContents)).toBe(false);
    app.emit('second-instance');
    expect(windows).toHaveLength(2);
  });

  it('quits when the last window closes (except on macOS), and holds the quit until the services closed', async () => {
    const { app, running, unregister, fakeServices } = setup();
    app.becomeReady();
    await running!.ready;
    app.emit('window-all-closed');
    expect(app.calls.at(-1)).toBe('quit');
    const quitsBefore = app.calls.filter((call) => call === 'quit').length;
    const willQuit = { preventDefault: vi.fn() };
    app.emit('will-quit', willQuit);
    expect(willQuit.preventDefault).toHaveBeenCalledTimes(1);
    expect(unregister).toHaveBeenCalledTimes(1);
    expect(fakeServices.close).toHaveBeenCalledTimes(1);
    await vi.waitFor(() => expect(app.calls.filter((call) => call === 'quit')).toHaveLength(quitsBefore + 1));
    // The second will-quit (after closing) goes through.
    const again = { preventDefault: vi.fn() };
    app.emit('will-quit', again);
    expect(again.preventDefault).not.toHaveBeenCalled();
    expect(fakeServices.close).toHaveBeenCalledTimes(1);

    const mac = setup({ platform: 'darwin' });
    mac.app.becomeReady();
    await mac.running!.ready;
    mac.app.emit('window-all-closed');
    expect(mac.app.calls).not.toContain('quit');
  });

  it('routes a link the page opens to the confirm dialog, parented on the main window', async () => {
    const { app, running, windows, dialogCalls, electron } = setup();
    app.becomeReady();
    await running!.ready;
    // Electron emits web-contents-created for the window's contents; the guard is installed there.
    const contents = windows[0]!.webContents;
    app.emit('web-contents-created', {}, contents);
    expect(contents.windowOpenHandler!({ url: 'https://example.com/' })).toEqual({ action: 'deny' });
    await vi.waitFor(() => expect(dialogCalls).toHaveLength(1));
    expect(dialogCalls[0]!.parent).toBe(windows[0]);
    expect(dialogCalls[0]!.options.message).toBe('Open example.com in your browser?');
    expect(electron.shell.openExternal).not.toHaveBeenCalled(); // the fake dialog answers Cancel
  });

  it('gives the services a folder chooser modal on the main window, answering null when cancelled', async () => {
    const { app, running, windows, dialogCalls, serviceOptions, electron } = setup();
    app.becomeReady();
    await running!.ready;
    const choose = serviceOptions[0]!.chooseFolder!;
    expect(await choose('Import a model folder')).toBe('/home/someone/models/phi');
    expect(dialogCalls).toEqual([{ parent: windows[0], options: { title: 'Import a model folder', properties: ['openDirectory'] } }]);
    vi.mocked(electron.dialog.showOpenDialog).mockResolvedValueOnce({ canceled: true, filePaths: [] });
    expect(await choose('Import a model folder')).toBeNull();
  });

  it('shows an error and exits with 1 when startup fails', async () => {
    const { app, running, electron } = setup({
      defaultSession: () => {
        throw new Error('no session');
      },
    });
    app.becomeReady();
    await running!.ready;
    expect(electron.dialog.showErrorBox).toHaveBeenCalledWith('Jielong could not start', 'no session');
    expect(app.exitCode).toBe(1);
  });
});

describe('resolveAppPaths', () => {
  it('puts the demo model under resources/models when packaged, and beside dist/ in development', () => {
    const packaged = resolveAppPaths({ userData: '/u', appPath: '/opt/j/resources/app.asar', resourcesPath: '/opt/j/resources', isPackaged: true });
    expect(packaged.bundledModelsDir).toBe(path.join('/opt/j/resources', 'models'));
    expect(packaged.demoModelDir).toBe(path.join('/opt/j/resources', 'models', DEMO_MODEL_NAME));
    expect(packaged.dataDir).toBe('/u');
    expect(packaged.preload).toBe(path.join('/opt/j/resources/app.asar', 'electron', 'preload.cjs'));
    expect(packaged.modelHostEntry).toBe(path.join('/opt/j/resources/app.asar', 'electron', 'model-host.cjs'));
    const dev = resolveAppPaths({ userData: '/u', appPath: '/work/main/dist', resourcesPath: '/work/main/node_modules/electron/dist/resources', isPackaged: false });
    expect(dev.demoModelDir).toBe(path.join('/work/main', 'resources', 'models', DEMO_MODEL_NAME));
    expect(dev.rendererRoot).toBe(path.join('/work/main/dist', 'renderer'));
    expect(dev.windowState).toBe(path.join('/u', 'window-state.json'));
  });
});

describe('runApp with the real services', () => {
  it('answers contract calls from its window over IPC, refuses other windows, and closes on quit', async () => {
    const { app, running, windows, ipcMain } = setup({ createServices: undefined, registerCallChannel: undefined });
    app.becomeReady();
    await running!.ready;
    const window = windows[0]!;
    const event = fakeInvokeEvent(window.webContents);

    const created = (await ipcMain.invoke(CALL_CHANNEL, event, 'conversations.create', { title: 'Hello from IPC' })) as { ok: boolean; value: { id: string } };
    expect(created.ok).toBe(true);
    const listed = await ipcMain.invoke(CALL_CHANNEL, event, 'conversations.list', undefined);
    expect(listed).toMatchObject({ ok: true });
    expect(JSON.stringify(listed)).toContain('Hello from IPC');
    expect(await ipcMain.invoke(CALL_CHANNEL, event, 'conversations.rename', { id: created.value.id, title: '' })).toMatchObject({ ok: false, error: { code: 'invalid_input' } });
    expect(await ipcMain.invoke(CALL_CHANNEL, fakeInvokeEvent(fakeWebContents()), 'conversations.list', {})).toMatchObject({ ok: false, error: { code: 'forbidden' } });

    // Events the services emit reach the window.
    running!.services()!.events.emit('models.progress', { modelId: 'tiny', file: 'model.onnx', progress: 5 });
    expect(window.webContents.sent).toContainEqual({ channel: EVENT_CHANNEL, args: ['models.progress', { modelId: 'tiny', file: 'model.onnx', progress: 5 }] });

    const quits = app.calls.filter((call) => call === 'quit').length;
    app.emit('will-quit', { preventDefault: () => undefined });
    await vi.waitFor(() => expect(app.calls.filter((call) => call === 'quit')).toHaveLength(quits + 1));
    expect(ipcMain.handlers.size).toBe(0);
  });
});
