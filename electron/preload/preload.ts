// The preload script of every Jielong window (bundled to CommonJS: a sandboxed preload cannot
// load ES modules and may require only 'electron' and a few polyfills). It exposes
// window.jielong, { call, on } (bridge.ts), and nothing more; window.d.ts gives the renderer
// that type.
import { contextBridge, ipcRenderer } from 'electron';
import { createBridge } from './bridge.ts';

contextBridge.exposeInMainWorld('jielong', createBridge(ipcRenderer));
