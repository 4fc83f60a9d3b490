// The state of the link to the main side, as the transport reports it.
import type { ConnectionDetail, ConnectionState, Transport } from '../transport.ts';

export class Connection {
  state = $state<ConnectionState>('connecting');
  detail = $state.raw<ConnectionDetail>({ opens: 0, retryInMs: null, fatal: null });

  /** Follows the transport; `reopened` runs when the link comes back after a drop. Returns the unsubscriber. */
  follow(transport: Transport, reopened: () => void): () => void {
    return transport.onConnection((state, detail) => {
      const back = state === 'open' && this.state !== 'open' && detail.opens > 1;
      this.state = state;
      this.detail = detail;
      if (back) reopened();
    });
  }
}
