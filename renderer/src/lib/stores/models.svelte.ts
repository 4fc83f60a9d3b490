// The installed models and the one loaded now (its state, and the file being read while it loads).
import type { ModelStatus } from '@shared/chat-types.ts';
import type { ModelDefaults } from '@shared/chat-template-types.ts';
import type { InstalledModel } from '@shared/model-registry-types.ts';
import { describeError } from '../errors.ts';
import type { Transport } from '../transport.ts';
import type { Calls } from './calls.ts';
import type { Notices } from './notices.svelte.ts';

export class ModelsStore {
  installed = $state.raw<InstalledModel[]>([]);
  status = $state.raw<ModelStatus>({ state: 'none', modelId: null, progress: null, info: null, error: null });
  /** The file being read while a model loads. */
  file = $state<string | null>(null);
  /** The loaded model's recommended sampling (its generation_config.json); null until read, or for a remote model. */
  defaults = $state.raw<{ modelId: string; value: ModelDefaults } | null>(null);

  constructor(
    private readonly calls: Calls,
    private readonly notices: Notices,
  ) {}

  /** Follows the loaded model and the installed list (changed by downloads or another window). */
  follow(transport: Transport): Array<() => void> {
    return [
      transport.on('models.status', (status) => {
        this.status = status;
        if (status.state !== 'loading') this.file = null;
        void this.readDefaults();
      }),
      transport.on('models.changed', () => void this.loadInstalled()),
      transport.on('models.progress', (event) => {
        this.file = event.file;
        if (this.status.state === 'loading') this.status = { ...this.status, progress: event.progress };
      }),
    ];
  }

  find(id: string): InstalledModel | undefined {
    return this.installed.find((m) => m.id === id);
  }

  async loadInstalled(): Promise<void> {
    await this.calls.guard(async () => {
      this.installed = await this.calls.call('models.list', {});
    });
  }

  async loadStatus(): Promise<void> {
    await this.calls.guard(async () => {
      this.status = await this.calls.call('models.status', {});
    });
    await this.readDefaults();
  }

  /** The recommended sampling of the model loaded now (read once per model; a remote one has none). */
  private async readDefaults(): Promise<void> {
    const { modelId, state, remote } = this.status;
    if (state !== 'ready' || modelId === null || remote || this.defaults?.modelId === modelId) return;
    try {
      const value = await this.calls.call('models.defaults', { id: modelId });
      if (this.status.modelId === modelId) this.defaults = { modelId, value };
    } catch {
      // Not an installed model (it was removed meanwhile): the settings show the app's defaults.
    }
  }

  /** The loaded model's recommended sampling, when it is known. */
  get loadedDefaults(): ModelDefaults | null {
    return this.defaults !== null && this.defaults.modelId === this.status.modelId && this.status.state === 'ready' ? this.defaults.value : null;
  }

  /** A model installed here (an import): listed at once. */
  added(model: InstalledModel): void {
    this.installed = [...this.installed.filter((m) => m.id !== model.id), model];
  }

  /** A model removed here. */
  removed(id: string): void {
    this.installed = this.installed.filter((m) => m.id !== id);
  }

  async load(modelId: string): Promise<void> {
    this.status = { state: 'loading', modelId, progress: 0, info: null, error: null };
    try {
      this.status = await this.calls.call('models.load', { modelId });
    } catch (error) {
      this.notices.toast(() => describeError(error), { kind: 'error' });
      await this.loadStatus();
    }
  }

  async unload(): Promise<void> {
    await this.calls.guard(async () => {
      this.status = await this.calls.call('models.unload', {});
    });
  }
}
