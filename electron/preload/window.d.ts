// The renderer's view of what preload.ts exposes: renderer/tsconfig.json includes this file,
// so `window.jielong` has the bridge's own type, taken from the contract.
import type { JielongBridge } from './bridge.ts';

declare global {
  interface Window {
    /** Present in the Electron window; absent in a browser tab (the WebSocket transport). */
    readonly jielong?: JielongBridge;
  }
}

export {};
