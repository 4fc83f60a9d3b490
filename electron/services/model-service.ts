// Which model is loaded, and keeping it loaded: loads through the host client, restarts the
// host to switch models (killing the process is the only way all of a model's memory comes
// back), and after a host crash restarts it with backoff and reloads the same model so the
// next message works.
import type { ModelStatus, ModelSummary } from '../shared/chat-types.ts';
import { ModelHostError } from '../shared/model-host-error.ts';
import type { LoadedModelInfo, ModelDtype } from '../shared/model-host-protocol.ts';
import type { EventBus } from './event-bus.ts';
import type { ModelHostClient } from './model-host-client.ts';

/** Where models come from (the registry: bundled, downloaded and imported models). */
export interface ModelSource {
  list(): Promise<ModelSummary[]>;
  /** The folder and dtype to load for a model id; throws a ModelHostError('model_not_found') for an unknown id. */
  resolve(modelId: string): Promise<{ modelDir: string; dtype: ModelDtype }>;
}

export interface ModelServiceOptions {
  /** Delays before each restart attempt after a crash; the last repeats are not tried. */
  restartBackoffMs?: readonly number[];
}

const DEFAULT_BACKOFF_MS = [200, 1000, 3000, 10_000];

export class ModelService {
  private status: ModelStatus = { state: 'none', modelId: null, progress: null, info: null, error: null };
  /** Settles when the current load (or crash recovery) ends. */
  private pending: Promise<void> | null = null;
  private crashesInARow = 0;
  private readonly backoff: readonly number[];

  constructor(
    private readonly host: ModelHostClient,
    private readonly source: ModelSource,
    private readonly events: EventBus,
    options: ModelServiceOptions = {},
  ) {
    this.backoff = options.restartBackoffMs ?? DEFAULT_BACKOFF_MS;
    host.onUnexpectedExit((error) => this.recover(error));
  }

  getStatus(): ModelStatus {
    return structuredClone(this.status);
  }

  async load(modelId: string): Promise<ModelStatus> {
    await this.pending?.catch(() => undefined);
    const run = this.loadNow(modelId, this.status.modelId !== null && this.status.state !== 'none');
    this.pending = run;
    await run.finally(() => {
      if (this.pending === run) this.pending = null;
    });
    return this.getStatus();
  }

  async unload(): Promise<ModelStatus> {
    await this.pending?.catch(() => undefined);
    // A fresh process, not host.unload(): only that gives all the memory back.
    this.host.stop();
    this.setStatus({ state: 'none', modelId: null, progress: null, info: null, error: null });
    return this.getStatus();
  }

  /** The loaded model, waiting for a load or a crash recovery in progress. */
  async ready(): Promise<{ modelId: string; info: LoadedModelInfo }> {
    await this.pending?.catch(() => undefined);
    const { state, modelId, info, error } = this.status;
    if (state === 'ready' && modelId && info) return { modelId, info };
    throw new ModelHostError('not_loaded', error ? `No model is loaded: ${error.message}` : 'No model is loaded: choose one in the model picker');
  }

  /** Called when an answer finished normally: the host is healthy again. */
  markHealthy(): void {
    this.crashesInARow = 0;
  }

  private async loadNow(modelId: string, restartFirst: boolean): Promise<void> {
    // An unknown id (or a model whose folder fails its check) is refused before anything
    // changes: the working model stays loaded and the status says so.
    let resolved: { modelDir: string; dtype: ModelDtype };
    try {
      resolved = await this.source.resolve(modelId);
    } catch (error) {
      const failure = error instanceof ModelHostError ? error : new ModelHostError('load_failed', String(error));
      if (this.status.state !== 'ready') this.setStatus({ state: 'error', modelId, progress: null, info: null, error: { code: failure.code, message: failure.message } });
      throw failure;
    }
    const { modelDir, dtype } = resolved;
    const previous = this.status.state === 'ready' && this.status.modelId !== null && this.status.modelId !== modelId ? this.status.modelId : null;
    this.setStatus({ state: 'loading', modelId, progress: 0, info: null, error: null });
    try {
      if (restartFirst) await this.host.restart();
      const info = await this.host.load({ modelDir, dtype }, (event) => {
        this.events.emit('models.progress', { modelId, file: event.file, progress: event.progress });
      });
      this.setStatus({ state: 'ready', modelId, progress: 100, info, error: null });
    } catch (error) {
      const failure = error instanceof ModelHostError ? error : new ModelHostError('load_failed', String(error));
      // A model that fails to load never leaves the user without the one that worked.
      if (previous !== null && (await this.reloadPrevious(previous))) throw failure;
      this.setStatus({ state: 'error', modelId, progress: null, info: null, error: { code: failure.code, message: failure.message } });
      throw failure;
    }
  }

  /** After a failed switch: loads the model that was working again, in a fresh process. */
  private async reloadPrevious(modelId: string): Promise<boolean> {
    try {
      const { modelDir, dtype } = await this.source.resolve(modelId);
      this.setStatus({ state: 'loading', modelId, progress: 0, info: null, error: null });
      await this.host.restart();
      const info = await this.host.load({ modelDir, dtype }, (event) => {
        this.events.emit('models.progress', { modelId, file: event.file, progress: event.progress });
      });
      this.setStatus({ state: 'ready', modelId, progress: 100, info, error: null });
      return true;
    } catch {
      return false;
    }
  }

  private recover(crash: ModelHostError): void {
    const modelId = this.status.modelId;
    if (!modelId || this.status.state === 'none') return;
    const attempt = this.crashesInARow++;
    if (attempt >= this.backoff.length) {
      this.setStatus({ state: 'error', modelId, progress: null, info: null, error: { code: crash.code, message: `${crash.message}; it kept stopping, so it was not restarted again` } });
      return;
    }
    this.setStatus({ state: 'loading', modelId, progress: 0, info: null, error: { code: crash.code, message: crash.message } });
    const run = new Promise<void>((resolve) => setTimeout(resolve, this.backoff[attempt])).then(() => this.loadNow(modelId, false));
    this.pending = run;
    run
      .catch(() => undefined)
      .finally(() => {
        if (this.pending === run) this.pending = null;
      });
  }

  private setStatus(status: ModelStatus): void {
    this.status = status;
    this.events.emit('models.status', this.getStatus());
  }
}
