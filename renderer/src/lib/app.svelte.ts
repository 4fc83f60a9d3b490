// The renderer's state and every action the UI takes, over the one transport. Coarse state is
// reactive ($state.raw, replaced as a whole); the text of an answer being written is not — it
// lives in LiveAnswer objects that the views read once per frame (see live-answer.ts).
import type {
  AppSettings,
  Conversation,
  GenerationStarted,
  Message,
  MessageStats,
  ModelStatus,
  PathMessage,
  SearchHit,
  StoredSampling,
} from '@shared/chat-types.ts';
import type { CallInput, CallName, CallOutput, EventPayload } from '@shared/contract.ts';
import type { InstalledModel } from '@shared/model-registry-types.ts';
import { ModelsState } from './models.svelte.ts';
import { ApiError, type ConnectionDetail, type ConnectionState, type Transport } from './transport.ts';
import { compareConversations, titleFrom } from './conversations.ts';
import { LiveAnswers } from './live-answer.ts';
import { t, type MessageKey } from './i18n/index.svelte.ts';

export interface Toast {
  id: number;
  text: () => string;
  kind: 'info' | 'error';
  action?: { label: () => string; run: () => void };
  timeoutMs: number;
}

export interface DraftSettings {
  systemPrompt: string | null;
  sampling: StoredSampling | null;
}

/** Calls that change a conversation (the main side then tells every window). */
const CHANGING_CALLS: ReadonlySet<CallName> = new Set<CallName>([
  'conversations.create',
  'conversations.rename',
  'conversations.pin',
  'conversations.updateSettings',
  'conversations.delete',
  'conversations.restore',
  'conversations.importJson',
  'messages.select',
  'chat.send',
  'chat.regenerate',
  'chat.editAndResend',
]);

const SEARCH_DEBOUNCE_MS = 180;
const PAGE_SIZE = 100;
const TOKEN_VIEW_KEY = 'jielong.tokenView';

/** What a failed call means for a person, in the UI language. */
export function describeError(error: unknown): string {
  const code = error instanceof ApiError ? error.code : 'internal';
  const message = error instanceof Error ? error.message : String(error);
  return describeCode(code, message);
}

/** An error code and the host's message, in the UI language (the message as the detail). */
export function describeCode(code: string, message: string): string {
  const known: Record<string, MessageKey> = {
    not_loaded: 'errors.not_loaded',
    no_model: 'errors.no_model',
    busy: 'errors.busy',
    host_exited: 'errors.host_exited',
    disconnected: 'errors.disconnected',
    transport_unavailable: 'errors.transport_unavailable',
    timeout: 'errors.timeout',
    not_found: 'errors.not_found',
    invalid_input: 'errors.invalid_input',
    context_full: 'errors.context_full',
    generation_failed: 'errors.generation_failed',
    load_failed: 'errors.load_failed',
    model_not_found: 'errors.model_not_found',
    storage_corrupt: 'errors.storage_corrupt',
    storage_readonly: 'errors.storage_readonly',
    storage_full: 'errors.storage_full',
    storage_busy: 'errors.storage_busy',
    storage_io: 'errors.storage_io',
    conflict: 'errors.storage_conflict',
    stale_view: 'errors.stale_view',
  };
  const key = known[code];
  return key ? t(key, { message }) : t('errors.generic', { message });
}

export class AppState {
  connection = $state<ConnectionState>('connecting');
  connectionDetail = $state.raw<ConnectionDetail>({ opens: 0, retryInMs: null, fatal: null });
  settings = $state.raw<AppSettings | null>(null);
  models = $state.raw<InstalledModel[]>([]);
  /** What the main area shows. */
  view = $state<'chat' | 'models'>('chat');
  modelStatus = $state.raw<ModelStatus>({ state: 'none', modelId: null, progress: null, info: null, error: null });
  modelFile = $state<string | null>(null);
  conversations = $state.raw<Conversation[]>([]);
  conversationsCursor = $state<string | null>(null);
  conversationsLoaded = $state(false);
  activeId = $state<string | null>(null);
  conversation = $state.raw<Conversation | null>(null);
  messages = $state.raw<PathMessage[]>([]);
  pathLoading = $state(false);
  generating = $state.raw<{ conversationId: string; messageId: string } | null>(null);
  draft = $state.raw<DraftSettings>({ systemPrompt: null, sampling: null });
  searchQuery = $state('');
  searchHits = $state.raw<SearchHit[]>([]);
  searching = $state(false);
  searchNextOffset = $state<number | null>(null);
  toasts = $state.raw<Toast[]>([]);
  /** A message to bring into view (search hit); the nonce makes the same one jump again. */
  focusMessage = $state.raw<{ id: string; nonce: number } | null>(null);
  tokenView = $state(false);
  settingsOpen = $state(false);
  modelPickerOpen = $state(false);
  shortcutsOpen = $state(false);
  /** The conversation database is damaged: the recovery screen replaces the app. */
  recovery = $state.raw<Exclude<CallOutput<'recovery.status'>, { state: 'ok' }> | null>(null);
  recovering = $state(false);

  readonly live = new LiveAnswers();
  readonly modelsScreen: ModelsState = new ModelsState(this);
  private pathRequest = 0;
  private searchRequest = 0;
  private searchTimer: ReturnType<typeof setTimeout> | null = null;
  private toastId = 0;
  private nonce = 0;
  /** Answers followed from the middle (page opened while writing): reload them when done. */
  // eslint-disable-next-line svelte/prefer-svelte-reactivity -- bookkeeping, not state
  private readonly resumed = new Set<string>();
  private readonly unsubscribers: Array<() => void> = [];

  constructor(readonly transport: Transport) {
    try {
      this.tokenView = localStorage.getItem(TOKEN_VIEW_KEY) === '1';
    } catch {
      this.tokenView = false;
    }
  }

  call<N extends CallName>(name: N, input: CallInput<N>): Promise<CallOutput<N>> {
    if (!CHANGING_CALLS.has(name)) return this.transport.call(name, input);
    // This window's own change: the conversations.changed it causes arrives before the answer
    // (same socket, in order) and needs no reload here.
    this.ownChanges += 1;
    return this.transport.call(name, input).finally(() => {
      this.ownChanges -= 1;
    });
  }

  /** Subscribes to the events and loads what the first screen needs (and `conversationId`, if given). */
  start(conversationId: string | null = null): void {
    this.activeId = conversationId;
    const { transport } = this;
    this.unsubscribers.push(
      transport.on('generation.prefill', (event) => this.live.getOrCreate(event.conversationId, event.messageId).onPrefill(event)),
      transport.on('generation.token', (event) => this.live.getOrCreate(event.conversationId, event.messageId).onToken(event)),
      transport.on('generation.done', (event) => this.onDone(event)),
      transport.on('generation.error', (event) => this.onError(event)),
      // Another window or tab (or this one) changed a conversation: show the latest.
      transport.on('conversations.changed', (event) => this.onConversationChanged(event)),
      transport.on('models.status', (status) => {
        this.modelStatus = status;
        if (status.state !== 'loading') this.modelFile = null;
      }),
      // A model installed, removed or made the default elsewhere (downloads, another window).
      transport.on('models.changed', () => {
        void this.guard(async () => {
          this.models = await this.call('models.list', {});
        });
      }),
      transport.on('models.progress', (event) => {
        this.modelFile = event.file;
        if (this.modelStatus.state === 'loading') this.modelStatus = { ...this.modelStatus, progress: event.progress };
      }),
      this.modelsScreen.attach(transport),
      transport.onConnection((state, detail) => {
        const reopened = state === 'open' && this.connection !== 'open' && detail.opens > 1;
        this.connection = state;
        this.connectionDetail = detail;
        if (reopened) void this.reloadAll();
      }),
    );
    void this.reloadAll();
  }

  stop(): void {
    for (const unsubscribe of this.unsubscribers.splice(0)) unsubscribe();
    this.transport.close();
  }

  /** Asks whether the database is damaged; true when it is (the recovery screen shows). */
  async checkRecovery(): Promise<boolean> {
    try {
      const status = await this.call('recovery.status', {});
      this.recovery = status.state === 'ok' ? null : status;
    } catch {
      this.recovery = null;
    }
    return this.recovery !== null;
  }

  /** One of the recovery screen's choices; then the app as usual. */
  async recover(choice: { kind: 'salvage' } | { kind: 'fresh' } | { kind: 'backup'; name: string }): Promise<void> {
    if (this.recovering) return;
    this.recovering = true;
    try {
      const ok = await this.guard(async () => {
        if (choice.kind === 'salvage') {
          const report = await this.call('recovery.salvage', {});
          const values = {
            conversations: report.conversations.saved,
            messages: report.messages.saved,
            lostConversations: report.conversations.lost,
            lostMessages: report.messages.lost,
          };
          this.toast(() => t(report.lostIsEstimate ? 'recovery.salvagedEstimate' : 'recovery.salvaged', values), { timeoutMs: 20_000 });
        } else if (choice.kind === 'fresh') {
          await this.call('recovery.startFresh', {});
          this.toast(() => t('recovery.startedFresh'));
        } else {
          await this.call('recovery.restoreBackup', { name: choice.name });
          this.toast(() => t('recovery.restored'));
        }
      });
      if (ok) {
        this.recovery = null;
        await this.reloadAll();
      }
    } finally {
      this.recovering = false;
    }
  }

  async reloadAll(): Promise<void> {
    if (await this.checkRecovery()) {
      await this.guard(async () => {
        this.settings = await this.call('settings.get', {});
      });
      return;
    }
    await Promise.all([
      this.guard(async () => {
        this.settings = await this.call('settings.get', {});
      }),
      this.guard(async () => {
        this.models = await this.call('models.list', {});
      }),
      this.guard(async () => {
        this.modelStatus = await this.call('models.status', {});
      }),
      this.loadConversations(),
      this.modelsScreen.loadDownloads(),
      this.activeId ? this.openConversation(this.activeId, { keepFocus: true }) : Promise.resolve(),
    ]);
  }

  // ---- toasts ----

  toast(text: () => string, options: Partial<Omit<Toast, 'id' | 'text'>> = {}): number {
    const id = ++this.toastId;
    const toast: Toast = { id, text, kind: options.kind ?? 'info', timeoutMs: options.timeoutMs ?? (options.action ? 8000 : 5000), ...(options.action ? { action: options.action } : {}) };
    this.toasts = [...this.toasts, toast].slice(-4);
    return id;
  }

  dismissToast(id: number): void {
    this.toasts = this.toasts.filter((toast) => toast.id !== id);
  }

  /** Runs an action, turning a failure into an error toast; resolves false when it failed. */
  async guard(action: () => Promise<unknown>): Promise<boolean> {
    try {
      await action();
      return true;
    } catch (error) {
      // Damage met in use: the recovery screen says what happened and what can be done.
      if (error instanceof ApiError && error.code === 'storage_corrupt') {
        void this.checkRecovery();
        return false;
      }
      // Another window changed the conversation: say so and show the latest.
      if (error instanceof ApiError && error.code === 'stale_view' && this.activeId) void this.openConversation(this.activeId, { keepFocus: true });
      this.toast(() => describeError(error), { kind: 'error' });
      return false;
    }
  }

  // ---- conversations ----

  async loadConversations(more = false): Promise<void> {
    await this.guard(async () => {
      const page = await this.call('conversations.list', { limit: PAGE_SIZE, cursor: more ? this.conversationsCursor : null });
      const known = more ? this.conversations : [];
      // eslint-disable-next-line svelte/prefer-svelte-reactivity -- a local lookup
      const seen = new Set(known.map((c) => c.id));
      this.conversations = [...known, ...page.items.filter((c) => !seen.has(c.id))];
      this.conversationsCursor = page.nextCursor;
      this.conversationsLoaded = true;
    });
  }

  private upsertConversation(conversation: Conversation): void {
    const others = this.conversations.filter((c) => c.id !== conversation.id);
    this.conversations = [...others, conversation].sort(compareConversations);
    if (this.conversation?.id === conversation.id) this.conversation = conversation;
  }

  private touchConversation(id: string): void {
    const conversation = this.conversations.find((c) => c.id === id);
    if (conversation) this.upsertConversation({ ...conversation, updatedAt: Date.now() });
  }

  newChat(): void {
    this.pathRequest += 1;
    this.activeId = null;
    this.conversation = null;
    this.messages = [];
    this.draft = { systemPrompt: null, sampling: null };
    this.focusMessage = null;
  }

  async openConversation(id: string, options: { messageId?: string; keepFocus?: boolean } = {}): Promise<void> {
    const request = ++this.pathRequest;
    if (this.activeId !== id) {
      this.messages = [];
      this.conversation = this.conversations.find((c) => c.id === id) ?? null;
    }
    this.activeId = id;
    this.pathLoading = true;
    try {
      const path = options.messageId
        ? await this.call('messages.select', { messageId: options.messageId })
        : await this.call('messages.activePath', { conversationId: id });
      if (request !== this.pathRequest) return;
      this.conversation = path.conversation;
      this.setMessages(path.messages);
      if (options.messageId) this.focusMessage = { id: options.messageId, nonce: ++this.nonce };
      else if (!options.keepFocus) this.focusMessage = null;
    } catch (error) {
      if (request !== this.pathRequest) return;
      this.toast(() => describeError(error), { kind: 'error' });
      if (error instanceof ApiError && error.code === 'not_found') {
        this.conversations = this.conversations.filter((c) => c.id !== id);
        this.newChat();
      }
    } finally {
      if (request === this.pathRequest) this.pathLoading = false;
    }
  }

  private setMessages(messages: PathMessage[]): void {
    for (const message of messages) {
      if (message.status === 'streaming') {
        const existing = this.live.get(message.id);
        if (!existing) {
          this.live.getOrCreate(message.conversationId, message.id, message.content);
          this.resumed.add(message.id);
        }
        this.generating ??= { conversationId: message.conversationId, messageId: message.id };
      }
    }
    if (this.generating && this.generating.conversationId === this.activeId) {
      const still = messages.find((m) => m.id === this.generating?.messageId);
      if (still && still.status !== 'streaming') this.generating = null;
    }
    this.messages = messages;
  }

  async rename(id: string, title: string): Promise<boolean> {
    const clean = title.trim();
    if (!clean) return false;
    return this.guard(async () => this.upsertConversation(await this.call('conversations.rename', { id, title: clean })));
  }

  async setPinned(id: string, pinned: boolean): Promise<void> {
    await this.guard(async () => this.upsertConversation(await this.call('conversations.pin', { id, pinned })));
  }

  async remove(id: string): Promise<void> {
    await this.guard(async () => {
      const deleted = await this.call('conversations.delete', { id });
      this.conversations = this.conversations.filter((c) => c.id !== id);
      this.searchHits = this.searchHits.filter((hit) => hit.conversationId !== id);
      if (this.activeId === id) this.newChat();
      const title = deleted.title;
      let toastId = 0;
      toastId = this.toast(() => t('sidebar.deleted', { title }), {
        action: {
          label: () => t('sidebar.undo'),
          run: () => {
            this.dismissToast(toastId);
            void this.restore(id);
          },
        },
        timeoutMs: 10_000,
      });
    });
  }

  async restore(id: string): Promise<void> {
    await this.guard(async () => {
      const restored = await this.call('conversations.restore', { id });
      this.upsertConversation(restored);
      this.toast(() => t('sidebar.restored', { title: restored.title }));
    });
  }

  // ---- search ----

  setSearch(query: string): void {
    this.searchQuery = query;
    if (this.searchTimer) clearTimeout(this.searchTimer);
    if (!query.trim()) {
      this.searchRequest += 1;
      this.searchHits = [];
      this.searching = false;
      this.searchNextOffset = null;
      return;
    }
    this.searching = true;
    this.searchTimer = setTimeout(() => void this.runSearch(query, 0), SEARCH_DEBOUNCE_MS);
  }

  async runSearch(query: string, offset: number): Promise<void> {
    const request = ++this.searchRequest;
    try {
      const page = await this.call('conversations.search', { query, limit: 50, offset });
      if (request !== this.searchRequest) return;
      this.searchHits = offset > 0 ? [...this.searchHits, ...page.hits] : page.hits;
      this.searchNextOffset = page.nextOffset;
    } catch (error) {
      if (request === this.searchRequest) this.toast(() => describeError(error), { kind: 'error' });
    } finally {
      if (request === this.searchRequest) this.searching = false;
    }
  }

  async openHit(hit: SearchHit): Promise<void> {
    await this.openConversation(hit.conversationId, hit.messageId ? { messageId: hit.messageId } : {});
  }

  // ---- chat ----

  get isGenerating(): boolean {
    return this.generating !== null;
  }

  async send(content: string): Promise<boolean> {
    if (this.generating || !content.trim()) return false;
    return this.guard(async () => {
      let conversationId = this.activeId;
      if (!conversationId) {
        const created = await this.call('conversations.create', {
          title: titleFrom(content),
          ...(this.draft.systemPrompt !== null ? { systemPrompt: this.draft.systemPrompt } : {}),
          ...(this.draft.sampling ? { sampling: this.draft.sampling } : {}),
        });
        this.upsertConversation(created);
        this.pathRequest += 1;
        this.activeId = created.id;
        this.conversation = created;
        this.messages = [];
        conversationId = created.id;
      }
      // The message this view answers: the server attaches there, or refuses a stale view.
      const parentId = this.messages.at(-1)?.id ?? null;
      const started = await this.call('chat.send', { conversationId, content, parentId });
      this.applyStarted(started, this.messages.length);
    });
  }

  async regenerate(messageId?: string): Promise<boolean> {
    if (this.generating) return false;
    const target = messageId ?? [...this.messages].reverse().find((m) => m.role === 'assistant')?.id;
    if (!target) return false;
    const index = this.messages.findIndex((m) => m.id === target);
    return this.guard(async () => {
      const started = await this.call('chat.regenerate', { messageId: target });
      this.applyStarted(started, index, 'assistant');
    });
  }

  async editAndResend(messageId: string, content: string): Promise<boolean> {
    if (this.generating || !content.trim()) return false;
    const index = this.messages.findIndex((m) => m.id === messageId);
    return this.guard(async () => {
      const started = await this.call('chat.editAndResend', { messageId, content });
      this.applyStarted(started, index, 'user');
    });
  }

  async stopGenerating(): Promise<void> {
    const active = this.generating;
    if (!active) return;
    await this.guard(() => this.call('chat.stop', { conversationId: active.conversationId }));
  }

  /**
   * Puts a started answer on the path without reloading it: the new messages replace the path
   * from `index` (the end for a send, the old answer for a regenerate, the edited question for
   * an edit), with their place among their siblings.
   */
  private applyStarted(started: GenerationStarted, index: number, replaced?: 'user' | 'assistant'): void {
    this.generating = { conversationId: started.conversationId, messageId: started.assistantMessage.id };
    this.live.getOrCreate(started.conversationId, started.assistantMessage.id);
    this.touchConversation(started.conversationId);
    // The main side records the model on the conversation as the answer starts.
    const conversation = this.conversations.find((c) => c.id === started.conversationId);
    if (conversation && conversation.modelId !== started.assistantMessage.modelId) this.upsertConversation({ ...conversation, modelId: started.assistantMessage.modelId });
    if (started.conversationId !== this.activeId) return;
    const old = index >= 0 ? this.messages[index] : undefined;
    const asNew = (message: Message): PathMessage => ({ ...message, siblingIndex: 0, siblingCount: 1 });
    const asSibling = (message: Message): PathMessage =>
      old ? { ...message, siblingIndex: old.siblingCount, siblingCount: old.siblingCount + 1 } : asNew(message);
    const keep = index >= 0 ? this.messages.slice(0, index) : this.messages;
    if (replaced === 'assistant') this.messages = [...keep, asSibling(started.assistantMessage)];
    else if (replaced === 'user') this.messages = [...keep, asSibling(started.userMessage), asNew(started.assistantMessage)];
    else this.messages = [...this.messages, asNew(started.userMessage), asNew(started.assistantMessage)];
    // Over Electron IPC the end of a very short answer may arrive before the call's result.
    const answer = this.live.get(started.assistantMessage.id);
    if (answer?.finished) {
      this.generating = null;
      this.finishMessage(answer.messageId, {
        status: answer.status === 'streaming' ? 'complete' : answer.status,
        content: answer.text,
        ...(answer.stats ? { stats: { ...answer.stats } as MessageStats } : {}),
        ...(answer.error ? { error: answer.error.message } : {}),
      });
    }
  }

  private listReload: ReturnType<typeof setTimeout> | null = null;
  /** Calls of this window that change a conversation, in flight. */
  private ownChanges = 0;

  private onConversationChanged(event: EventPayload<'conversations.changed'>): void {
    // The list: one reload for a burst of changes.
    this.listReload ??= setTimeout(() => {
      this.listReload = null;
      void this.loadConversations();
    }, 50);
    // The open conversation, unless this window is writing into it (its own events keep it current).
    if (event.conversationId === this.activeId && this.ownChanges === 0 && this.generating?.conversationId !== event.conversationId && event.reason !== 'created') {
      void this.openConversation(event.conversationId, { keepFocus: true });
    }
  }

  private onDone(event: EventPayload<'generation.done'>): void {
    const answer = this.live.getOrCreate(event.conversationId, event.messageId);
    answer.onDone(event);
    if (this.generating?.messageId === event.messageId) this.generating = null;
    this.touchConversation(event.conversationId);
    this.finishMessage(event.messageId, { status: event.status, stats: { ...event.stats } as MessageStats, content: answer.text });
  }

  private onError(event: EventPayload<'generation.error'>): void {
    const answer = this.live.getOrCreate(event.conversationId, event.messageId);
    answer.onError(event);
    if (this.generating?.messageId === event.messageId) this.generating = null;
    this.finishMessage(event.messageId, { status: answer.status === 'interrupted' ? 'interrupted' : 'error', error: event.message, content: answer.text });
  }

  private finishMessage(messageId: string, change: Partial<Message>): void {
    if (this.resumed.delete(messageId)) {
      // We saw only the end of this answer: the stored text is the whole of it.
      if (this.activeId) void this.openConversation(this.activeId, { keepFocus: true });
      return;
    }
    const index = this.messages.findIndex((m) => m.id === messageId);
    if (index < 0) return;
    const next = [...this.messages];
    next[index] = { ...next[index]!, ...change, updatedAt: Date.now() };
    this.messages = next;
  }

  async selectAlternate(message: PathMessage, delta: -1 | 1): Promise<void> {
    if (this.generating) return;
    await this.guard(async () => {
      const siblings = await this.call('messages.siblings', { messageId: message.id });
      const target = siblings.messages[siblings.index + delta];
      if (!target) return;
      const path = await this.call('messages.select', { messageId: target.id });
      if (path.conversation.id !== this.activeId) return;
      this.conversation = path.conversation;
      this.setMessages(path.messages);
    });
  }

  // ---- settings ----

  async updateConversationSettings(change: { systemPrompt?: string | null; sampling?: StoredSampling | null }): Promise<boolean> {
    if (!this.activeId) {
      this.draft = { ...this.draft, ...change };
      return true;
    }
    const id = this.activeId;
    return this.guard(async () => this.upsertConversation(await this.call('conversations.updateSettings', { id, ...change })));
  }

  async updateSettings(patch: Partial<AppSettings>): Promise<boolean> {
    return this.guard(async () => {
      this.settings = await this.call('settings.update', patch);
    });
  }

  setTokenView(on: boolean): void {
    this.tokenView = on;
    try {
      localStorage.setItem(TOKEN_VIEW_KEY, on ? '1' : '0');
    } catch {
      // private mode: the toggle just is not remembered
    }
  }

  // ---- models ----

  /**
   * The first-run screen: until it is answered, for a person with no conversation yet (someone
   * who used the app before this screen existed is not asked).
   */
  get firstRun(): boolean {
    return this.settings !== null && !this.settings.firstRunDone && this.conversationsLoaded && this.conversations.length === 0 && this.activeId === null;
  }

  async finishFirstRun(): Promise<void> {
    await this.updateSettings({ firstRunDone: true });
  }

  /** The installed model this conversation last used, when another one (or none) is loaded now. */
  get conversationModelElsewhere(): InstalledModel | null {
    const wanted = this.conversation?.modelId;
    if (!wanted || this.modelStatus.modelId === wanted) return null;
    return this.models.find((m) => m.id === wanted) ?? null;
  }

  openModels(): void {
    this.view = 'models';
    this.modelPickerOpen = false;
  }

  async loadModel(modelId: string): Promise<void> {
    this.modelStatus = { state: 'loading', modelId, progress: 0, info: null, error: null };
    try {
      this.modelStatus = await this.call('models.load', { modelId });
    } catch (error) {
      this.toast(() => describeError(error), { kind: 'error' });
      await this.guard(async () => {
        this.modelStatus = await this.call('models.status', {});
      });
    }
  }

  async unloadModel(): Promise<void> {
    await this.guard(async () => {
      this.modelStatus = await this.call('models.unload', {});
    });
  }

  /** The sampling the next answer of the active (or draft) conversation uses, per field. */
  effectiveSampling(): { stored: StoredSampling; defaults: AppSettings['defaultSampling'] | null } {
    const stored = (this.activeId ? this.conversation?.sampling : this.draft.sampling) ?? {};
    return { stored, defaults: this.settings?.defaultSampling ?? null };
  }
}
