// The renderer<->main contract (electron/shared/contract.ts) bound to Electron IPC: every call
// of the contract becomes a validated invoke handler on the channel of the same name, every
// event the services emit is pushed to our windows on the channel of the same name. The
// preload exposes the same names (CALL_NAMES, EVENT_NAMES), so window.jielong[name](input)
// reaches services.dispatch(name, input) here, behind the sender check of ipc-validation.ts.
import { z } from 'zod';
import type { AppServices } from '../services/app-services.ts';
import { CALL_NAMES, calls, events, type CallName, type EventName } from '../shared/contract.ts';
import { registerValidatedHandler, sendToAppWindows, type IpcLogger, type IpcMainLike, type TrustedWindows } from './ipc-validation.ts';

export interface ContractBinding {
  ipcMain: IpcMainLike;
  trust: TrustedWindows;
  /** What the transport needs of the services: the one dispatch and the event bus. */
  services: Pick<AppServices, 'dispatch' | 'events'>;
  log?: IpcLogger;
}

/** A failure the dispatch answered with; its code and message go to the renderer as they are. */
class CallFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Like the dispatch (and the browser host), a call made without input means `{}`. */
function inputSchema(name: CallName): z.ZodType {
  return z.preprocess((input) => input ?? {}, calls[name]);
}

/**
 * Registers one handler per contract call and forwards the services' events to our windows.
 * Returns a function that removes the handlers and the event subscription (on quit).
 */
export function registerContractHandlers(binding: ContractBinding): () => void {
  const { ipcMain, trust, services } = binding;
  const options = {
    ...(binding.log ? { log: binding.log } : {}),
    // The dispatch's codes are the contract's (not_found, busy, invalid_input, host codes,
    // internal...): all pass through, including `internal` with the dispatch's message.
    mapError: (error: unknown) => (error instanceof CallFailure ? { code: error.code, message: error.message } : undefined),
  };
  const removers: Array<() => void> = [];
  for (const name of CALL_NAMES) {
    removers.push(
      registerValidatedHandler(
        ipcMain,
        name,
        inputSchema(name),
        async (input: unknown) => {
          const result = await services.dispatch(name, input);
          if (!result.ok) throw new CallFailure(result.error.code, result.error.message);
          return result.value;
        },
        trust,
        options,
      ),
    );
  }
  removers.push(
    services.events.subscribe(<N extends EventName>(name: N, payload: unknown) => {
      sendToAppWindows(trust, name, events[name], payload, binding.log ? { log: binding.log } : {});
    }),
  );
  return () => {
    for (const remove of removers.splice(0)) remove();
  };
}
