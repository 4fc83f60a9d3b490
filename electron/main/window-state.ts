// Remembers the main window's size, position and maximized state between runs, in a small
// JSON file under userData. The file is untrusted input like any other: it is validated on
// read, and a corrupt, unreadable or off-screen state (a monitor was unplugged) falls back to
// defaults instead of opening a window nobody can see.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

export interface Rectangle {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface WindowState {
  /** Absent: let the window manager place the window (centred). */
  x?: number;
  y?: number;
  width: number;
  height: number;
  maximized: boolean;
}

export const DEFAULT_WINDOW_STATE: Readonly<WindowState> = Object.freeze({ width: 1200, height: 800, maximized: false });
export const MIN_WINDOW_SIZE = Object.freeze({ width: 480, height: 360 });
/** How much of the window's top edge must be on a screen to count as reachable. */
const MIN_VISIBLE = Object.freeze({ width: 120, height: 40 });
const LIMIT = 100_000;

const coordinate = z.number().int().min(-LIMIT).max(LIMIT);
const size = z.number().int().min(1).max(LIMIT);

export const windowStateSchema = z
  .object({
    version: z.literal(1),
    x: coordinate.optional(),
    y: coordinate.optional(),
    width: size,
    height: size,
    maximized: z.boolean(),
  })
  .strict()
  .refine((state) => (state.x === undefined) === (state.y === undefined), 'x and y come together');

function intersection(a: Rectangle, b: Rectangle): { width: number; height: number } {
  return {
    width: Math.max(0, Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x)),
    height: Math.max(0, Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y)),
  };
}

/**
 * Fits a remembered state to the screens there are now: the size is clamped between the
 * minimum and the largest work area, and a position whose top strip (where the title bar
 * is) is not on any screen is dropped so the window opens centred instead.
 */
export function fitToDisplays(state: WindowState, workAreas: readonly Rectangle[]): WindowState {
  if (workAreas.length === 0) return { ...DEFAULT_WINDOW_STATE };
  const maxWidth = Math.max(...workAreas.map((area) => area.width));
  const maxHeight = Math.max(...workAreas.map((area) => area.height));
  const width = Math.max(MIN_WINDOW_SIZE.width, Math.min(state.width, maxWidth));
  const height = Math.max(MIN_WINDOW_SIZE.height, Math.min(state.height, maxHeight));
  const fitted: WindowState = { width, height, maximized: state.maximized };
  if (state.x === undefined || state.y === undefined) return fitted;
  const titleStrip: Rectangle = { x: state.x, y: state.y, width, height: Math.min(height, MIN_VISIBLE.height) };
  const reachable = workAreas.some((area) => {
    const overlap = intersection(titleStrip, area);
    return overlap.width >= Math.min(MIN_VISIBLE.width, width) && overlap.height >= Math.min(MIN_VISIBLE.height, titleStrip.height);
  });
  return reachable ? { ...fitted, x: state.x, y: state.y } : fitted;
}

export type WindowStateSource = 'file' | 'missing' | 'corrupt';

/** Reads and validates the file, then fits it to the screens; never throws. */
export function loadWindowState(file: string, workAreas: readonly Rectangle[]): { state: WindowState; source: WindowStateSource } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return { state: fitToDisplays({ ...DEFAULT_WINDOW_STATE }, workAreas), source: 'missing' };
  }
  let parsed: z.infer<typeof windowStateSchema>;
  try {
    const result = windowStateSchema.safeParse(JSON.parse(text));
    if (!result.success) return { state: fitToDisplays({ ...DEFAULT_WINDOW_STATE }, workAreas), source: 'corrupt' };
    parsed = result.data;
  } catch {
    return { state: fitToDisplays({ ...DEFAULT_WINDOW_STATE }, workAreas), source: 'corrupt' };
  }
  const { version: _version, ...state } = parsed;
  return { state: fitToDisplays(state, workAreas), source: 'file' };
}

/** Writes atomically (temp file + rename) so a crash mid-write leaves the old state. */
export function saveWindowState(file: string, state: WindowState): void {
  const record = { version: 1 as const, ...state };
  const checked = windowStateSchema.parse(record);
  mkdirSync(path.dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, `${JSON.stringify(checked, null, 2)}\n`);
  renameSync(temp, file);
}

/** The parts of BrowserWindow the tracker uses. */
export interface TrackableWindow {
  on(event: 'resize' | 'move' | 'maximize' | 'unmaximize' | 'close', listener: () => void): unknown;
  getNormalBounds(): Rectangle;
  isMaximized(): boolean;
  isMinimized(): boolean;
  isFullScreen(): boolean;
  isDestroyed(): boolean;
}

export interface TrackOptions {
  debounceMs?: number;
  log?: (message: string, detail?: unknown) => void;
  setTimer?: (callback: () => void, ms: number) => unknown;
  clearTimer?: (timer: unknown) => void;
}

/**
 * Saves the window's state (debounced) as it is moved, resized or (un)maximized, and once
 * more when it closes. The normal bounds are saved even while maximized, so un-maximizing
 * next time returns to the size the person chose. Returns a function that saves now.
 */
export function trackWindowState(window: TrackableWindow, file: string, options: TrackOptions = {}): () => void {
  const debounceMs = options.debounceMs ?? 500;
  const setTimer = options.setTimer ?? ((callback: () => void, ms: number) => setTimeout(callback, ms));
  const clearTimer = options.clearTimer ?? ((timer: unknown) => clearTimeout(timer as ReturnType<typeof setTimeout>));
  const log = options.log ?? ((message: string, detail?: unknown) => console.warn(`[window-state] ${message}`, detail ?? ''));
  let timer: unknown = null;

  const saveNow = () => {
    if (timer !== null) clearTimer(timer);
    timer = null;
    try {
      if (window.isDestroyed() || window.isMinimized() || window.isFullScreen()) return;
      const bounds = window.getNormalBounds();
      saveWindowState(file, {
        x: Math.round(bounds.x),
        y: Math.round(bounds.y),
        width: Math.round(bounds.width),
        height: Math.round(bounds.height),
        maximized: window.isMaximized(),
      });
    } catch (error) {
      log('could not save the window state', error);
    }
  };
  const saveSoon = () => {
    if (timer !== null) clearTimer(timer);
    timer = setTimer(saveNow, debounceMs);
  };
  for (const event of ['resize', 'move', 'maximize', 'unmaximize'] as const) window.on(event, saveSoon);
  window.on('close', saveNow);
  return saveNow;
}
