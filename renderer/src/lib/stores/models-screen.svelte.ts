// The Models screen's state and actions: the catalog, downloads with their live figures, the
// installed models (the app's list), import, removal with confirmation, the default model, and
// "add by repo id". Downloads are followed from the start (they are local records, and a
// download keeps going while the screen is closed); the catalog and system figures are read
// when the screen or the first-run screen first needs them.
import type { ChatTemplateChoice, ChatTemplatePreview } from '@shared/chat-template-types.ts';
import type { SystemInfo } from '@shared/chat-types.ts';
import type { EventPayload } from '@shared/contract.ts';
import type { ModelDtype } from '@shared/model-host-protocol.ts';
import type { Catalog, DownloadInfo, DownloadSpec, RemovalPlan, RepoInspection } from '@shared/model-registry-types.ts';
import { describeError, errorKey } from '../errors.ts';
import { t } from '../i18n/index.svelte.ts';
import { isActiveDownload } from '../model-fit.ts';
import { ApiError, type Transport } from '../transport.ts';
import type { Calls } from './calls.ts';
import type { ModelsStore } from './models.svelte.ts';
import type { Notices } from './notices.svelte.ts';

/** A download, lookup or import failure: the main side's message is the detail a person needs. */
export function describeDownloadError(error: unknown): string {
  const key = error instanceof ApiError ? errorKey('modelsScreen.errors', error.code) : null;
  if (key) return t(key, { message: (error as ApiError).message });
  return describeError(error);
}

/** An import refusal: the main side's plain message, never "not found on the hub" nor "something went wrong". */
export function describeImportError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const key = error instanceof ApiError ? errorKey('modelsScreen.importErrors', error.code) : null;
  if (key) return t(key, { message });
  if (error instanceof ApiError && ['disk_full', 'already_exists', 'io_error'].includes(error.code)) return describeDownloadError(error);
  return t('modelsScreen.importErrors.other', { message });
}

/** A download as the screen shows it: the record, and the last speed and ETA the main side measured. */
export interface LiveDownload {
  info: DownloadInfo;
  speed: number;
  etaSeconds: number | null;
  /** The file being transferred now. */
  file: string | null;
}

export class ModelsScreenStore {
  catalog = $state.raw<Catalog | null>(null);
  catalogError = $state<string | null>(null);
  system = $state.raw<SystemInfo | null>(null);
  downloads = $state.raw<LiveDownload[]>([]);
  /** Downloads being started (the hub is asked for the file list first): keyed by catalog id or repo. */
  starting = $state.raw<string[]>([]);
  inspection = $state.raw<RepoInspection | null>(null);
  inspecting = $state(false);
  inspectError = $state<string | null>(null);
  /** The confirmation dialog's content; null when closed. */
  removal = $state.raw<RemovalPlan | null>(null);
  removing = $state(false);
  importing = $state(false);
  importError = $state<string | null>(null);
  /** The folder last refused for lacking a chat template: the form offers to choose one. */
  importNeedsTemplate = $state<string | null>(null);

  private detailsRequested = false;

  constructor(
    private readonly calls: Calls,
    private readonly notices: Notices,
    private readonly models: ModelsStore,
  ) {}

  /** Follows download events; returns the unsubscriber. */
  attach(transport: Transport): () => void {
    return transport.on('downloads.event', (event) => this.onEvent(event));
  }

  get active(): LiveDownload[] {
    return this.downloads.filter((d) => isActiveDownload(d.info));
  }

  get interrupted(): LiveDownload[] {
    return this.downloads.filter((d) => d.info.interrupted && d.info.state === 'paused');
  }

  /** The downloads list: local records only, no request to the network. */
  async loadDownloads(): Promise<void> {
    await this.calls.guard(async () => {
      const list = await this.calls.call('downloads.list', {});
      // eslint-disable-next-line svelte/prefer-svelte-reactivity -- a local lookup
      const known = new Map(this.downloads.map((d) => [d.info.id, d]));
      this.downloads = list.map((info) => ({ info, speed: known.get(info.id)?.speed ?? 0, etaSeconds: known.get(info.id)?.etaSeconds ?? null, file: known.get(info.id)?.file ?? null }));
    });
  }

  /** The catalog and the memory/disk figures, once (again with `force`); downloads are loaded at start and kept by events. */
  async loadDetails(force = false): Promise<void> {
    if (this.detailsRequested && !force) return;
    this.detailsRequested = true;
    await Promise.all([
      this.calls
        .call('catalog.list', {})
        .then((catalog) => {
          this.catalog = catalog;
          this.catalogError = null;
        })
        .catch((error: unknown) => {
          this.catalogError = describeError(error);
        }),
      this.refreshSystem(),
    ]);
  }

  async refreshSystem(): Promise<void> {
    try {
      this.system = await this.calls.call('system.info', {});
    } catch {
      // The hints say "unknown" without the figures; nothing else depends on them.
    }
  }

  isStarting(key: string): boolean {
    return this.starting.includes(key);
  }

  downloadFor(modelId: string): LiveDownload | undefined {
    return this.downloads.find((d) => d.info.modelId === modelId);
  }

  async startCatalog(catalogId: string, dtype: ModelDtype): Promise<DownloadInfo | null> {
    return this.start(catalogId, { source: 'catalog', catalogId, dtype });
  }

  async startHub(repo: string, revision: string | undefined, dtype: ModelDtype): Promise<DownloadInfo | null> {
    return this.start(repo, { source: 'hub', repo, dtype, ...(revision ? { revision } : {}) });
  }

  private async start(key: string, spec: DownloadSpec): Promise<DownloadInfo | null> {
    if (this.isStarting(key)) return null;
    this.starting = [...this.starting, key];
    try {
      const info = await this.calls.call('downloads.start', { spec });
      this.upsert(info);
      void this.refreshSystem();
      return info;
    } catch (error) {
      this.notices.toast(() => describeDownloadError(error), { kind: 'error', timeoutMs: 10_000 });
      return null;
    } finally {
      this.starting = this.starting.filter((k) => k !== key);
    }
  }

  async pause(id: string): Promise<void> {
    await this.calls.guard(async () => this.upsert(await this.calls.call('downloads.pause', { id })));
  }

  async resume(id: string): Promise<void> {
    await this.calls.guard(async () => this.upsert(await this.calls.call('downloads.resume', { id })));
  }

  async resumeInterrupted(): Promise<void> {
    for (const download of this.interrupted) await this.resume(download.info.id);
  }

  async cancel(id: string): Promise<void> {
    const name = this.downloads.find((d) => d.info.id === id)?.info.name ?? id;
    const ok = await this.calls.guard(() => this.calls.call('downloads.cancel', { id }));
    if (ok) {
      this.downloads = this.downloads.filter((d) => d.info.id !== id);
      this.notices.toast(() => t('modelsScreen.cancelled', { name }));
      void this.refreshSystem();
    }
  }

  async inspect(repo: string, revision: string | undefined): Promise<void> {
    this.inspecting = true;
    this.inspectError = null;
    this.inspection = null;
    try {
      this.inspection = await this.calls.call('downloads.inspect', { repo, ...(revision ? { revision } : {}) });
    } catch (error) {
      this.inspectError = describeDownloadError(error);
    } finally {
      this.inspecting = false;
    }
  }

  async requestRemoval(id: string): Promise<void> {
    await this.calls.guard(async () => {
      this.removal = await this.calls.call('models.planRemoval', { id });
    });
  }

  async confirmRemoval(): Promise<void> {
    const plan = this.removal;
    if (!plan || this.removing) return;
    this.removing = true;
    try {
      const ok = await this.calls.guard(() => this.calls.call('models.remove', { id: plan.id, confirm: true }));
      if (ok) {
        this.models.removed(plan.id);
        this.downloads = this.downloads.filter((d) => d.info.modelId !== plan.id);
        this.notices.toast(() => t('modelsScreen.removed', { name: plan.name }));
        void this.refreshSystem();
      }
    } finally {
      this.removing = false;
      this.removal = null;
    }
  }

  async setDefault(id: string | null): Promise<void> {
    await this.calls.guard(async () => {
      await this.calls.call('models.setDefault', { id });
      await this.models.loadInstalled();
    });
  }

  /** Copies a folder into the models folder; resolves true when it was accepted. */
  async importFolder(folder: string, name?: string, chatTemplate?: ChatTemplateChoice): Promise<boolean> {
    const clean = folder.trim();
    if (!clean || this.importing) return false;
    this.importing = true;
    this.importError = null;
    try {
      const model = await this.calls.call('models.import', { path: clean, ...(name?.trim() ? { name: name.trim() } : {}), ...(chatTemplate ? { chatTemplate } : {}) });
      this.importNeedsTemplate = null;
      this.models.added(model);
      this.notices.toast(() => t('modelsScreen.imported', { name: model.name }));
      void this.refreshSystem();
      return true;
    } catch (error) {
      this.importError = describeImportError(error);
      if (error instanceof ApiError && error.code === 'no_chat_template') this.importNeedsTemplate = clean;
      return false;
    } finally {
      this.importing = false;
    }
  }

  /** A sample conversation rendered with a template, for a folder to import or an installed model; throws the refusal. */
  previewChatTemplate(target: { path: string } | { modelId: string }, template: ChatTemplateChoice): Promise<ChatTemplatePreview> {
    return this.calls.call('models.previewChatTemplate', { ...target, template });
  }

  /** Saves a template beside an installed model; resolves the refusal's words, or null when it was saved. */
  async setChatTemplate(id: string, template: ChatTemplateChoice): Promise<string | null> {
    try {
      const model = await this.calls.call('models.setChatTemplate', { id, template });
      this.models.added(model);
      this.notices.toast(() => t('chatTemplate.saved', { name: model.name }));
      return null;
    } catch (error) {
      return describeImportError(error);
    }
  }

  /** The native folder chooser (Electron); null when cancelled or unavailable. */
  async chooseFolder(): Promise<string | null> {
    try {
      return (await this.calls.call('system.chooseFolder', { title: t('modelsScreen.chooseFolderTitle') })).path;
    } catch (error) {
      this.notices.toast(() => describeDownloadError(error), { kind: 'error' });
      return null;
    }
  }

  private upsert(info: DownloadInfo, figures: Partial<Omit<LiveDownload, 'info'>> = {}): void {
    const index = this.downloads.findIndex((d) => d.info.id === info.id);
    const previous = index >= 0 ? this.downloads[index]! : { info, speed: 0, etaSeconds: null, file: null };
    const moving = info.state === 'downloading';
    const next: LiveDownload = { ...previous, ...figures, info, ...(moving ? {} : { speed: 0, etaSeconds: null }) };
    this.downloads = index >= 0 ? this.downloads.map((d, i) => (i === index ? next : d)) : [...this.downloads, next];
  }

  private onEvent(event: EventPayload<'downloads.event'>): void {
    switch (event.type) {
      case 'added':
      case 'state':
        this.upsert(event.download);
        if (event.type === 'state' && event.download.state === 'failed' && event.download.error) {
          const { name } = event.download;
          const message = event.download.error.message;
          this.notices.toast(() => t('modelsScreen.failed', { name, message }), { kind: 'error', timeoutMs: 10_000 });
        }
        return;
      case 'progress': {
        const current = this.downloads.find((d) => d.info.id === event.id);
        if (!current) return;
        const files = current.info.files.map((f) => (f.path === event.file.path ? { ...f, bytesDone: event.file.bytes, state: 'downloading' as const } : f));
        this.upsert(
          { ...current.info, files, bytesDone: event.total.bytes, bytesTotal: event.total.total ?? current.info.bytesTotal },
          { speed: event.total.speed, etaSeconds: event.total.etaSeconds, file: event.file.path },
        );
        return;
      }
      case 'file-verified': {
        const current = this.downloads.find((d) => d.info.id === event.id);
        if (!current) return;
        const files = current.info.files.map((f) => (f.path === event.path ? { ...f, bytesDone: event.size, state: 'verified' as const } : f));
        this.upsert({ ...current.info, files });
        return;
      }
      case 'installed': {
        const current = this.downloads.find((d) => d.info.id === event.id);
        if (current) this.upsert({ ...current.info, state: 'installed', bytesDone: current.info.bytesTotal ?? current.info.bytesDone });
        const name = current?.info.name ?? event.modelId;
        this.notices.toast(() => t('modelsScreen.installed', { name }));
        void this.refreshSystem();
        return;
      }
      case 'removed':
        this.downloads = this.downloads.filter((d) => d.info.id !== event.id);
        return;
      case 'file-restarted':
        return;
    }
  }
}
