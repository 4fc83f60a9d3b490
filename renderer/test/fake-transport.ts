// An in-memory transport for the renderer's store tests: calls answered by the handlers given,
// events emitted by the test, every call recorded.
import type { CallInput, CallName, CallOutput, EventName, EventPayload } from '@shared/contract.ts';
import { AppState } from '../src/lib/app.svelte.ts';
import { ApiError, type Transport } from '../src/lib/transport.ts';

export type Handler = (input: unknown) => unknown;

export class FakeTransport implements Transport {
  readonly calls: Array<{ name: CallName; input: unknown }> = [];
  private readonly listeners = new Map<string, Set<(payload: unknown) => void>>();
  constructor(private readonly handlers: Partial<Record<CallName, Handler>>) {}
  async call<N extends CallName>(name: N, input: CallInput<N>): Promise<CallOutput<N>> {
    this.calls.push({ name, input });
    const handler = this.handlers[name];
    if (!handler) throw new ApiError('unknown_call', `no fake for ${name}`);
    return (await handler(input)) as CallOutput<N>;
  }
  on<N extends EventName>(event: N, listener: (payload: EventPayload<N>) => void): () => void {
    const set = this.listeners.get(event) ?? new Set();
    set.add(listener as (payload: unknown) => void);
    this.listeners.set(event, set);
    return () => set.delete(listener as (payload: unknown) => void);
  }
  emit<N extends EventName>(event: N, payload: EventPayload<N>): void {
    for (const listener of this.listeners.get(event) ?? []) listener(payload);
  }
  onConnection(): () => void {
    return () => undefined;
  }
  close(): void {}
}

/** The app over a fake transport that answers the first screen's calls (empty lists, no model). */
export function startApp(handlers: Partial<Record<CallName, Handler>> = {}): { app: AppState; transport: FakeTransport } {
  const transport = new FakeTransport({
    'recovery.status': () => ({ state: 'ok' }),
    'settings.get': () => ({ firstRunDone: true }),
    'models.list': () => [],
    'models.status': () => ({ state: 'none', modelId: null, progress: null, info: null, error: null }),
    'conversations.list': () => ({ items: [], nextCursor: null }),
    'downloads.list': () => [],
    'system.info': () => ({ totalMemoryBytes: 16e9, freeMemoryBytes: 8e9, modelsDir: '/m', freeDiskBytes: 1e11, hubHost: 'https://huggingface.co', canChooseFolder: false }),
    ...handlers,
  });
  const app = new AppState(transport);
  app.start();
  return { app, transport };
}

/** Lets the calls started so far answer. */
export const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));
