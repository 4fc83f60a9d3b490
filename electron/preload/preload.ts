// The preload script of every Jielong window (bundled to CommonJS: a sandboxed preload cannot
// load ES modules, and may require only 'electron' and a few polyfills, so everything else is
// inlined by esbuild). It exposes window.jielong built from the contract's channel lists and
// nothing more; see bridge.ts.
import { contextBridge, ipcRenderer } from 'electron';
import { createBridge } from './bridge.ts';
import { CALL_CHANNELS, EVENT_CHANNELS } from './preload-channels.ts';

contextBridge.exposeInMainWorld('jielong', createBridge({ calls: CALL_CHANNELS, events: EVENT_CHANNELS }, ipcRenderer));
