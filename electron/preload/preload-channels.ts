// The channel names the preload exposes on window.jielong. The renderer<->main contract
// (electron/shared/contract.ts, written separately) owns the real lists; until it exists
// these are empty and window.jielong offers only `on`, which refuses every event name.
// When the contract lands, preload.ts imports its lists instead of these.

/** Calls: each becomes window.jielong[name](payload), answered by ipcMain.handle(name). */
export const CALL_CHANNELS: readonly string[] = [];

/** Events main pushes: window.jielong.on(name, listener) subscribes to them. */
export const EVENT_CHANNELS: readonly string[] = [];
