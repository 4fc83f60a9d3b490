// The one place where the renderer<->main contract (electron/shared/contract.ts) is bound to
// IPC. Everything it needs arrives as arguments: the services, ipcMain, the set of trusted
// windows and the event sender. Each call of the contract is registered with
// registerValidatedHandler(ipcMain, name, calls[name], handler, trust), each event is pushed
// with createEventSender(trust, name, events[name]); the sender check, payload validation and
// typed errors then come for free. The app (app.ts) calls this once, after `ready` and before
// the first window loads.
import type { ModelHostClient } from '../services/model-host-client.ts';
import type { AppPaths } from './app-paths.ts';
import type { ExternalLinkOutcome } from './external-links.ts';
import type { IpcMainLike, TrustedWindows } from './ipc-validation.ts';

/** What the main process has built by the time the contract is bound. */
export interface AppServices {
  /** The model host, running as a utilityProcess (started on first use). */
  hostClient: ModelHostClient;
  /** userData locations (database, models, cache) and the bundled demo model's folder. */
  paths: AppPaths;
  /** The external-link flow: https only, confirmed by the person. */
  openExternal(url: unknown): Promise<ExternalLinkOutcome>;
}

export interface ContractBinding {
  ipcMain: IpcMainLike;
  trust: TrustedWindows;
  services: AppServices;
}

/**
 * Registers the contract's IPC handlers and returns a function that removes them (called when
 * the app quits). The contract is written separately; until it is bound here, no call channel
 * exists and window.jielong exposes none.
 */
export function registerContractHandlers(binding: ContractBinding): () => void {
  const unregister: Array<() => void> = [];
  void binding;
  return () => {
    for (const remove of unregister.splice(0)) remove();
  };
}
