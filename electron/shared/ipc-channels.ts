// The two Electron IPC channels the contract travels on, named once for the main process
// (main/call-channel.ts) and the preload (preload/bridge.ts).

/** Renderer -> main: `invoke(CALL_CHANNEL, name, input)`, answered with the dispatch's CallResult. */
export const CALL_CHANNEL = 'jielong:call';
/** Main -> renderer: `send(EVENT_CHANNEL, name, payload)` for every event of the contract. */
export const EVENT_CHANNEL = 'jielong:event';
