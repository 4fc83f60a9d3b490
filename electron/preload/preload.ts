// The preload script of every Jielong window (bundled to CommonJS: a sandboxed preload cannot
// load ES modules, and may require only 'electron' and a few polyfills, so everything else,
// the contract's names included, is inlined by esbuild). It exposes window.jielong with one
// function per call of the contract and `on` for its events, and nothing more; see bridge.ts.
import { contextBridge, ipcRenderer } from 'electron';
import { CALL_NAMES, EVENT_NAMES } from '../shared/contract.ts';
import { createBridge } from './bridge.ts';

contextBridge.exposeInMainWorld('jielong', createBridge({ calls: CALL_NAMES, events: EVENT_NAMES }, ipcRenderer));
