import { EventEmitter } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  DEFAULT_WINDOW_STATE,
  MIN_WINDOW_SIZE,
  fitToDisplays,
  loadWindowState,
  saveWindowState,
  trackWindowState,
  type Rectangle,
  type TrackableWindow,
} from './window-state.ts';

const SCREEN: Rectangle = { x: 0, y: 0, width: 1920, height: 1080 };
const RIGHT_SCREEN: Rectangle = { x: 1920, y: 0, width: 1280, height: 1024 };
let dir: string;
let file: string;

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'jielong-window-state-'));
  file = path.join(dir, 'nested', 'window-state.json');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('loadWindowState', () => {
  it('uses the defaults when there is no file', () => {
    expect(loadWindowState(file, [SCREEN])).toEqual({ state: DEFAULT_WINDOW_STATE, source: 'missing' });
  });

  it('round-trips a saved state', () => {
    saveWindowState(file, { x: 100, y: 50, width: 1000, height: 700, maximized: true });
    expect(loadWindowState(file, [SCREEN])).toEqual({ state: { x: 100, y: 50, width: 1000, height: 700, maximized: true }, source: 'file' });
  });

  it.each([
    ['not JSON', '{"width": 1000,'],
    ['empty', ''],
    ['an array', '[1,2,3]'],
    ['null', 'null'],
    ['a wrong version', JSON.stringify({ version: 2, width: 1000, height: 700, maximized: false })],
    ['strings for numbers', JSON.stringify({ version: 1, width: '1000', height: 700, maximized: false })],
    ['a negative size', JSON.stringify({ version: 1, width: -5, height: 700, maximized: false })],
    ['an absurd size', JSON.stringify({ version: 1, width: 1e12, height: 700, maximized: false })],
    ['NaN-ish fractional coordinates', JSON.stringify({ version: 1, x: 1.5, y: 2, width: 1000, height: 700, maximized: false })],
    ['x without y', JSON.stringify({ version: 1, x: 10, width: 1000, height: 700, maximized: false })],
    ['an unknown field', JSON.stringify({ version: 1, width: 1000, height: 700, maximized: false, alwaysOnTop: true })],
  ])('falls back to the defaults for a corrupt file: %s', (_name, content) => {
    writeFileSync(path.join(dir, 'state.json'), content);
    expect(loadWindowState(path.join(dir, 'state.json'), [SCREEN])).toEqual({ state: DEFAULT_WINDOW_STATE, source: 'corrupt' });
  });

  it('drops a position that is off every screen (an unplugged monitor) but keeps the size', () => {
    saveWindowState(file, { x: 2000, y: 100, width: 1000, height: 700, maximized: false });
    // With the right-hand screen attached, the position is kept.
    expect(loadWindowState(file, [SCREEN, RIGHT_SCREEN]).state).toEqual({ x: 2000, y: 100, width: 1000, height: 700, maximized: false });
    // Without it, the window opens centred on what is left.
    expect(loadWindowState(file, [SCREEN]).state).toEqual({ width: 1000, height: 700, maximized: false });
  });
});

describe('fitToDisplays', () => {
  it('keeps a window whose title strip is partly visible', () => {
    expect(fitToDisplays({ x: -500, y: 10, width: 800, height: 600, maximized: false }, [SCREEN])).toMatchObject({ x: -500, y: 10 });
  });

  it('drops a window whose title bar is above the screen', () => {
    expect(fitToDisplays({ x: 100, y: -500, width: 800, height: 400, maximized: false }, [SCREEN])).not.toHaveProperty('x');
  });

  it('clamps the size between the minimum and the largest screen', () => {
    expect(fitToDisplays({ width: 10, height: 10, maximized: false }, [SCREEN])).toEqual({ ...MIN_WINDOW_SIZE, maximized: false });
    expect(fitToDisplays({ width: 5000, height: 4000, maximized: false }, [SCREEN, RIGHT_SCREEN])).toEqual({ width: 1920, height: 1080, maximized: false });
  });

  it('uses the defaults when no screen is known', () => {
    expect(fitToDisplays({ x: 1, y: 1, width: 900, height: 900, maximized: true }, [])).toEqual(DEFAULT_WINDOW_STATE);
  });
});

describe('trackWindowState', () => {
  class FakeWindow extends EventEmitter implements TrackableWindow {
    bounds: Rectangle = { x: 10, y: 20, width: 900, height: 600 };
    maximized = false;
    minimized = false;
    fullScreen = false;
    destroyed = false;
    getNormalBounds() {
      return this.bounds;
    }
    isMaximized() {
      return this.maximized;
    }
    isMinimized() {
      return this.minimized;
    }
    isFullScreen() {
      return this.fullScreen;
    }
    isDestroyed() {
      return this.destroyed;
    }
  }

  function manualTimers() {
    const pending = new Set<() => void>();
    return {
      setTimer: (callback: () => void) => (pending.add(callback), callback),
      clearTimer: (timer: unknown) => pending.delete(timer as () => void),
      flush: () => {
        for (const callback of [...pending]) {
          pending.delete(callback);
          callback();
        }
      },
      pending,
    };
  }

  it('saves the normal bounds after moves settle, and on close', () => {
    const window = new FakeWindow();
    const timers = manualTimers();
    trackWindowState(window, file, timers);
    window.emit('resize');
    window.emit('move');
    expect(timers.pending.size).toBe(1); // debounced into one pending save
    expect(existsSync(file)).toBe(false);
    timers.flush();
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ version: 1, x: 10, y: 20, width: 900, height: 600, maximized: false });

    window.maximized = true;
    window.bounds = { x: 11, y: 21, width: 901, height: 601 };
    window.emit('maximize');
    window.emit('close');
    expect(timers.pending.size).toBe(0);
    expect(loadWindowState(file, [SCREEN]).state).toEqual({ x: 11, y: 21, width: 901, height: 601, maximized: true });
  });

  it('does not overwrite the state with a minimized or full-screen window', () => {
    const window = new FakeWindow();
    trackWindowState(window, file, manualTimers());
    window.emit('close');
    const before = readFileSync(file, 'utf8');
    window.minimized = true;
    window.bounds = { x: -32000, y: -32000, width: 160, height: 28 };
    window.emit('close');
    expect(readFileSync(file, 'utf8')).toBe(before);
  });

  it('survives a failing save (logs, does not throw)', () => {
    const window = new FakeWindow();
    const logged: string[] = [];
    writeFileSync(path.join(dir, 'blocker'), 'a file where a folder should be');
    const save = trackWindowState(window, path.join(dir, 'blocker', 'state.json'), { ...manualTimers(), log: (message) => logged.push(message) });
    expect(() => save()).not.toThrow();
    expect(logged).toEqual(['could not save the window state']);
  });
});
