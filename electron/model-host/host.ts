// The model host's message loop, independent of how messages travel (Electron's parentPort
// or a Node IPC channel: see main.ts). One request runs at a time; a cancel is honoured
// between tokens.
import { ModelHostError } from '../shared/model-host-error.ts';
import { describeIssues, hostRequestSchema, type HostEvent, type ParsedHostRequest } from '../shared/model-host-protocol.ts';
import { Engine } from './engine.ts';

export interface HostPort {
  post(event: HostEvent): void;
  onMessage(handler: (data: unknown) => void): void;
}

export function runModelHost(port: HostPort, engine: Engine = new Engine()): void {
  let busyWith: string | null = null;
  const cancelled = new Set<string>();

  const fail = (requestId: string | undefined, error: unknown): void => {
    const failure =
      error instanceof ModelHostError ? error : new ModelHostError('generation_failed', error instanceof Error ? error.message : String(error));
    port.post({ type: 'error', ...(requestId ? { requestId } : {}), code: failure.code, message: failure.message });
  };

  const run = async (request: ParsedHostRequest): Promise<void> => {
    switch (request.type) {
      case 'load': {
        const info = await engine.load(request, (progress) => port.post({ type: 'load-progress', requestId: request.requestId, ...progress }));
        port.post({ type: 'loaded', requestId: request.requestId, info });
        return;
      }
      case 'unload':
        await engine.unload();
        port.post({ type: 'unloaded', requestId: request.requestId });
        return;
      case 'generate': {
        const { requestId } = request;
        const stats = await engine.generate(request, {
          onPrefill: (event) => port.post({ type: 'prefill', requestId, ...event }),
          onToken: (event) => port.post({ type: 'token', requestId, ...event }),
          isCancelled: () => cancelled.has(requestId),
        });
        port.post({ type: 'done', requestId, stats });
        return;
      }
      case 'cancel':
        return;
    }
  };

  port.onMessage((data) => {
    const parsed = hostRequestSchema.safeParse(data);
    if (!parsed.success) {
      const requestId = typeof (data as { requestId?: unknown })?.requestId === 'string' ? (data as { requestId: string }).requestId : undefined;
      fail(requestId, new ModelHostError('invalid_request', `Refused a malformed request: ${describeIssues(parsed.error)}`));
      return;
    }
    const request = parsed.data;
    if (request.type === 'cancel') {
      if (busyWith === request.requestId) cancelled.add(request.requestId);
      return;
    }
    if (busyWith !== null) {
      fail(request.requestId, new ModelHostError('busy', `The model host is busy with request ${busyWith}`));
      return;
    }
    busyWith = request.requestId;
    run(request)
      .catch((error: unknown) => fail(request.requestId, error))
      .finally(() => {
        cancelled.delete(request.requestId);
        busyWith = null;
      });
  });

  port.post({ type: 'ready', pid: process.pid });
}
