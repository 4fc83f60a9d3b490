import { EventEmitter } from 'node:events';
import { describe, expect, it, vi } from 'vitest';
import type { BrowserWindowConstructorOptions } from 'electron';
import { APP_ENTRY_URL } from './app-origin.ts';
import { TrustedWindows } from './sender-check.ts';
import { fakeNavigationEvent, fakeSession, fakeWebContents, type FakeWebContents } from '../test-support/main/electron-fakes.ts';
import { createSecureWindow, denyAllPermissions, guardAllWebContents, hardenWebContents, secureWebPreferences } from './window-security.ts';

function guarded() {
  const contents = fakeWebContents();
  const openExternal = vi.fn();
  const log = vi.fn();
  hardenWebContents(contents, { openExternal, log });
  return { contents, openExternal, log };
}

describe('secureWebPreferences', () => {
  it('turns on isolation and the sandbox and turns off everything that reaches Node or the web', () => {
    expect(secureWebPreferences('/app/preload.cjs')).toEqual({
      preload: '/app/preload.cjs',
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
      devTools: false,
    });
    expect(secureWebPreferences('/p', { devTools: true }).devTools).toBe(true);
  });
});

describe('hardenWebContents: navigation', () => {
  it.each(['app://jielong/index.html', 'app://jielong/settings.html?x=1#y'])('lets a same-origin navigation to %s through', (url) => {
    const { contents, openExternal } = guarded();
    for (const event of ['will-navigate', 'will-redirect'] as const) {
      const details = fakeNavigationEvent(url);
      contents.emit(event, details);
      expect(details.defaultPrevented).toBe(false);
    }
    expect(openExternal).not.toHaveBeenCalled();
  });

  it.each([
    ['https://example.com/', true],
    ['http://example.com/', false],
    ['file:///etc/passwd', false],
    ['javascript:alert(1)', false],
    ['data:text/html,hi', false],
    ['app://jielong.evil/index.html', false],
    ['app://other/index.html', false],
    ['about:blank', false],
  ])('stops a main-frame navigation to %s (external flow: %s)', (url, forwarded) => {
    const { contents, openExternal } = guarded();
    const details = fakeNavigationEvent(url);
    contents.emit('will-navigate', details);
    expect(details.defaultPrevented).toBe(true);
    if (forwarded) expect(openExternal).toHaveBeenCalledExactlyOnceWith(url);
    else expect(openExternal).not.toHaveBeenCalled();
  });

  it('stops redirects off the origin without opening anything', () => {
    const { contents, openExternal } = guarded();
    const details = fakeNavigationEvent('https://example.com/');
    contents.emit('will-redirect', details);
    expect(details.defaultPrevented).toBe(true);
    expect(openExternal).not.toHaveBeenCalled();
  });

  it('stops sub-frame navigations off the origin', () => {
    const { contents, openExternal } = guarded();
    const external = fakeNavigationEvent('https://example.com/', { isMainFrame: false });
    contents.emit('will-frame-navigate', external);
    expect(external.defaultPrevented).toBe(true);
    const own = fakeNavigationEvent('app://jielong/frame.html', { isMainFrame: false });
    contents.emit('will-frame-navigate', own);
    expect(own.defaultPrevented).toBe(false);
    expect(openExternal).not.toHaveBeenCalled();
  });

  it('refuses to attach webviews', () => {
    const { contents } = guarded();
    const event = fakeNavigationEvent('');
    contents.emit('will-attach-webview', event, {}, { src: 'https://example.com/' });
    expect(event.defaultPrevented).toBe(true);
  });

  it('does not let a throwing external-link flow break the guard', () => {
    const contents = fakeWebContents();
    hardenWebContents(contents, {
      openExternal: () => {
        throw new Error('boom');
      },
      log: () => undefined,
    });
    const details = fakeNavigationEvent('https://example.com/');
    expect(() => contents.emit('will-navigate', details)).not.toThrow();
    expect(details.defaultPrevented).toBe(true);
  });
});

describe('hardenWebContents: window.open', () => {
  it.each([
    ['https://example.com/', true],
    ['app://jielong/index.html', false],
    ['http://example.com/', false],
    ['javascript:alert(1)', false],
    ['file:///etc/passwd', false],
    ['about:blank', false],
  ])('denies window.open(%s) (external flow: %s)', (url, forwarded) => {
    const { contents, openExternal } = guarded();
    expect(contents.windowOpenHandler).not.toBeNull();
    expect(contents.windowOpenHandler!({ url })).toEqual({ action: 'deny' });
    if (forwarded) expect(openExternal).toHaveBeenCalledExactlyOnceWith(url);
    else expect(openExternal).not.toHaveBeenCalled();
  });
});

describe('denyAllPermissions', () => {
  it.each(['media', 'notifications', 'geolocation', 'clipboard-read', 'openExternal', 'fullscreen', 'unknown'])('denies a request for %s', (permission) => {
    const session = fakeSession();
    denyAllPermissions(session);
    const callback = vi.fn();
    (session.permissionRequestHandler as unknown as (wc: unknown, p: string, cb: (granted: boolean) => void) => void)({}, permission, callback);
    expect(callback).toHaveBeenCalledExactlyOnceWith(false);
    expect((session.permissionCheckHandler as unknown as (wc: unknown, p: string) => boolean)(null, permission)).toBe(false);
  });

  it('denies device access', () => {
    const session = fakeSession();
    denyAllPermissions(session);
    expect((session.deviceHandler as unknown as (details: unknown) => boolean)({ deviceType: 'usb' })).toBe(false);
  });
});

describe('guardAllWebContents', () => {
  it('guards every webContents the app creates', () => {
    const app = new EventEmitter();
    const openExternal = vi.fn();
    guardAllWebContents(app, { openExternal, log: () => undefined });
    const contents = fakeWebContents();
    app.emit('web-contents-created', {}, contents);
    const details = fakeNavigationEvent('https://example.com/');
    contents.emit('will-navigate', details);
    expect(details.defaultPrevented).toBe(true);
    expect(contents.windowOpenHandler!({ url: 'https://example.com/' })).toEqual({ action: 'deny' });
  });
});

describe('createSecureWindow', () => {
  class FakeWindow extends EventEmitter {
    shown = false;
    maximized = false;
    constructor(
      readonly options: BrowserWindowConstructorOptions,
      readonly webContents: FakeWebContents,
    ) {
      super();
    }
    show() {
      this.shown = true;
    }
    maximize() {
      this.maximized = true;
    }
  }

  it('creates a hidden, secure window, trusts it until closed, and shows it when ready', () => {
    const trust = new TrustedWindows();
    const contents = fakeWebContents();
    const window = createSecureWindow({
      createWindow: (options) => new FakeWindow(options, contents),
      preload: '/app/electron/preload.cjs',
      trust,
      state: { x: 5, y: 6, width: 1000, height: 700, maximized: true },
    });
    expect(window.options).toMatchObject({ x: 5, y: 6, width: 1000, height: 700, show: false });
    expect(window.options.webPreferences).toEqual(secureWebPreferences('/app/electron/preload.cjs'));
    expect(contents.loadedUrls).toEqual([APP_ENTRY_URL]);
    expect(trust.has(contents)).toBe(true);
    expect(window.shown).toBe(false);
    window.emit('ready-to-show');
    expect(window.shown).toBe(true);
    expect(window.maximized).toBe(true);
    window.emit('closed');
    expect(trust.has(contents)).toBe(false);
  });

  it('lets the window manager place a window without a remembered position', () => {
    const window = createSecureWindow({
      createWindow: (options) => new FakeWindow(options, fakeWebContents()),
      preload: '/p.cjs',
      trust: new TrustedWindows(),
      state: { width: 900, height: 600, maximized: false },
    });
    expect(window.options).not.toHaveProperty('x');
    expect(window.options).not.toHaveProperty('y');
    window.emit('ready-to-show');
    expect(window.maximized).toBe(false);
  });

  it('logs, rather than throws, when the page fails to load', async () => {
    const contents = fakeWebContents();
    contents.loadURL = () => Promise.reject(new Error('ERR_FILE_NOT_FOUND'));
    const log = vi.fn();
    createSecureWindow({ createWindow: (options) => new FakeWindow(options, contents), preload: '/p.cjs', trust: new TrustedWindows(), state: { width: 900, height: 600, maximized: false }, log });
    await vi.waitFor(() => expect(log).toHaveBeenCalledWith('the window could not load the app', expect.any(Error)));
  });
});
