// Events from the services to whoever listens: the Electron windows or the browser host's
// WebSocket clients. The services do not know which transport carries them.
import type { EventName, EventPayload } from '../shared/contract.ts';

export type EventListener = <N extends EventName>(name: N, payload: EventPayload<N>) => void;

export class EventBus {
  private readonly listeners = new Set<EventListener>();

  /** How many listeners there are (a transport that closed must leave none behind). */
  get size(): number {
    return this.listeners.size;
  }

  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit<N extends EventName>(name: N, payload: EventPayload<N>): void {
    for (const listener of this.listeners) {
      try {
        listener(name, payload);
      } catch {
        // One broken subscriber (a closed socket) must not stop the others.
      }
    }
  }
}
