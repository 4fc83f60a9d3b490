// The browser host's WebSocket protocol: JSON text frames between a tab (the renderer's
// transport.ts) and server/browser-host.ts. The host checks what a tab sends (the dispatch
// validates the call); what the host sends is typed here and not parsed again.
import type { CallResult, EventName, EventPayload } from './contract.ts';

/** Tab -> host: one call; its answer carries the same id. */
export interface CallFrame {
  type: 'call';
  id: number;
  name: string;
  input: unknown;
}

/** Host -> tab: one event of the contract, as the services emitted it. */
export interface EventFrame<N extends EventName = EventName> {
  type: 'event';
  name: N;
  payload: EventPayload<N>;
}

/** Host -> tab. `error` answers a frame that was not a call at all. */
export type HostFrame = { type: 'result'; id: number; result: CallResult<unknown> } | EventFrame | { type: 'error'; message: string };
