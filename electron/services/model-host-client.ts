// The main side's handle on the model host process: spawns it, correlates requests with
// their events, and turns the death of the process into a typed `host_exited` failure for
// every open request (the caller keeps the text it was streamed). It speaks only the protocol
// in electron/shared; how the process is started is injected (Electron's utilityProcess in the
// app, child_process.fork in Node). The host validates requests as they arrive; its events are
// trusted as typed, so the token path does no per-token parsing or copying.
import { randomUUID } from 'node:crypto';
import { ModelHostError } from '../shared/model-host-error.ts';
import {
  type ChatMessage,
  type GenerationStats,
  type HostEvent,
  type HostEventOf,
  type HostRequest,
  type LoadedModelInfo,
  type ModelDevice,
  type ModelDtype,
  type SeededSamplingParams,
} from '../shared/model-host-protocol.ts';

/** A started host process, whatever started it. */
export interface HostProcess {
  readonly pid: number | undefined;
  send(message: HostRequest): void;
  onMessage(listener: (message: unknown) => void): void;
  onExit(listener: (code: number | null, signal: string | null) => void): void;
  kill(): void;
}

export type SpawnHost = () => HostProcess;

export interface GenerateOptions {
  /** A conversation (rendered with the chat template), or a raw `prompt`: exactly one. */
  messages?: ChatMessage[];
  prompt?: string;
  /** The seed included: the caller picks it once and stores it with the answer. */
  params: SeededSamplingParams;
  candidates?: number;
  reuseCache?: boolean;
  /** Token ids of the answer so far (continue, branch), and the token a branch starts with. */
  answerPrefix?: number[];
  forceFirstToken?: number;
  /** The first token event carries the sampler's stages (the sampler view). */
  stages?: boolean;
  onPrefill?(event: HostEventOf<'prefill'>): void;
  onToken?(event: HostEventOf<'token'>): void;
}

export interface Generation {
  readonly requestId: string;
  /** Resolves with the stats when the answer ends (any stop reason); rejects with a ModelHostError. */
  readonly done: Promise<GenerationStats>;
  cancel(): void;
}

interface OpenRequest {
  kind: 'load' | 'unload' | 'generate';
  resolve(value: unknown): void;
  reject(error: ModelHostError): void;
  onEvent?(event: HostEvent): void;
}

const READY_TIMEOUT_MS = 30_000;

export class ModelHostClient {
  private process: HostProcess | null = null;
  private ready: Promise<number> | null = null;
  private readonly open = new Map<string, OpenRequest>();
  private readonly exitListeners = new Set<(error: ModelHostError) => void>();
  private loadedInfo: LoadedModelInfo | null = null;

  constructor(private readonly spawn: SpawnHost) {}

  /** The model loaded in the current process, if any. */
  get loaded(): LoadedModelInfo | null {
    return this.loadedInfo;
  }

  get pid(): number | undefined {
    return this.process?.pid;
  }

  /** Called when the host process dies on its own (not through kill/restart). */
  onUnexpectedExit(listener: (error: ModelHostError) => void): () => void {
    this.exitListeners.add(listener);
    return () => this.exitListeners.delete(listener);
  }

  /** Starts the process if it is not running; resolves with its pid once it says it is ready. */
  start(): Promise<number> {
    if (this.ready) return this.ready;
    const child = this.spawn();
    this.process = child;
    this.ready = new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new ModelHostError('host_exited', 'The model host did not start in time')), READY_TIMEOUT_MS);
      child.onMessage((message) => {
        const event = message as HostEvent;
        if (event.type === 'ready') {
          clearTimeout(timer);
          resolve(event.pid);
          return;
        }
        this.dispatch(event);
      });
      child.onExit((code, signal) => {
        clearTimeout(timer);
        if (this.process !== child) return; // an old process we replaced
        this.process = null;
        this.ready = null;
        this.loadedInfo = null;
        const error = new ModelHostError('host_exited', `The model host stopped (${signal ? `signal ${signal}` : `exit code ${code}`})`);
        reject(error);
        this.failAll(error);
        for (const listener of this.exitListeners) listener(error);
      });
    });
    // Nobody may be waiting on start() when the process dies before it is ready.
    this.ready.catch(() => undefined);
    return this.ready;
  }

  async load(model: { modelDir: string; dtype: ModelDtype; device?: ModelDevice }, onProgress?: (event: HostEventOf<'load-progress'>) => void): Promise<LoadedModelInfo> {
    const info = (await this.request(
      { type: 'load', requestId: randomUUID(), modelDir: model.modelDir, dtype: model.dtype, device: model.device ?? 'cpu' },
      'load',
      (event) => {
        if (event.type === 'load-progress') onProgress?.(event);
      },
    )) as LoadedModelInfo;
    this.loadedInfo = info;
    return info;
  }

  async unload(): Promise<void> {
    await this.request({ type: 'unload', requestId: randomUUID() }, 'unload');
    this.loadedInfo = null;
  }

  generate(options: GenerateOptions): Generation {
    const requestId = randomUUID();
    const done = this.request(
      {
        type: 'generate',
        requestId,
        ...(options.prompt !== undefined ? { prompt: options.prompt } : { messages: options.messages }),
        params: options.params,
        candidates: options.candidates ?? 0,
        reuseCache: options.reuseCache ?? true,
        ...(options.answerPrefix?.length ? { answerPrefix: options.answerPrefix } : {}),
        ...(options.forceFirstToken !== undefined ? { forceFirstToken: options.forceFirstToken } : {}),
        ...(options.stages ? { stages: true } : {}),
      },
      'generate',
      (event) => {
        if (event.type === 'token') options.onToken?.(event);
        else if (event.type === 'prefill') options.onPrefill?.(event);
      },
    ) as Promise<GenerationStats>;
    return {
      requestId,
      done,
      cancel: () => {
        if (this.open.has(requestId)) this.process?.send({ type: 'cancel', requestId });
      },
    };
  }

  /** Stops the process (all open requests fail with host_exited) and starts a fresh one. */
  async restart(): Promise<number> {
    this.stop();
    return this.start();
  }

  /** Kills the process; the reliable way to give all of a model's memory back. */
  stop(): void {
    const child = this.process;
    this.process = null;
    this.ready = null;
    this.loadedInfo = null;
    if (child) {
      this.failAll(new ModelHostError('host_exited', 'The model host was stopped'));
      child.kill();
    }
  }

  private async request(message: HostRequest, kind: OpenRequest['kind'], onEvent?: (event: HostEvent) => void): Promise<unknown> {
    await this.start();
    const child = this.process;
    if (!child) throw new ModelHostError('host_exited', 'The model host is not running');
    return new Promise((resolve, reject) => {
      this.open.set(message.requestId, { kind, resolve, reject, ...(onEvent ? { onEvent } : {}) });
      child.send(message);
    });
  }

  private dispatch(event: HostEvent): void {
    if (event.type === 'ready') return;
    const requestId = event.requestId;
    const open = requestId ? this.open.get(requestId) : undefined;
    if (!open || !requestId) return;
    switch (event.type) {
      case 'token':
      case 'prefill':
      case 'load-progress':
        open.onEvent?.(event);
        return;
      case 'loaded':
        this.open.delete(requestId);
        open.resolve(event.info);
        return;
      case 'unloaded':
        this.open.delete(requestId);
        open.resolve(undefined);
        return;
      case 'done':
        this.open.delete(requestId);
        open.resolve(event.stats);
        return;
      case 'error':
        this.open.delete(requestId);
        open.reject(new ModelHostError(event.code, event.message));
        return;
    }
  }

  private failAll(error: ModelHostError): void {
    const open = [...this.open.values()];
    this.open.clear();
    for (const request of open) request.reject(error);
  }
}
