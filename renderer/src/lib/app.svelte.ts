// The renderer's state: small stores, each given what it depends on, composed here. This file
// only wires them (which event goes to which store, what a failure or a deletion asks of the
// others) and keeps what belongs to the window as a whole: the screen shown, the dialogs open,
// the first-run rule. What each store is given (its constructor), so arrows point one way:
//   calls -> notices;  settings -> calls;  connection -> (the transport only)
//   recovery, conversation list, search, models -> calls, notices
//   chat -> calls, notices, conversation list, settings;  models screen -> calls, notices, models
//   presets -> calls, notices
// A store that must tell another of something (a deletion, a stale view) is handed a callback
// here instead of importing it.
import type { InstalledModel } from '@shared/model-registry-types.ts';
import type { Transport } from './transport.ts';
import { Calls } from './stores/calls.ts';
import { ChatStore } from './stores/chat.svelte.ts';
import { Connection } from './stores/connection.svelte.ts';
import { ConversationList } from './stores/conversation-list.svelte.ts';
import { ModelsScreenStore } from './stores/models-screen.svelte.ts';
import { ModelsStore } from './stores/models.svelte.ts';
import { PresetsStore } from './stores/presets.svelte.ts';
import { Notices } from './stores/notices.svelte.ts';
import { RecoveryStore } from './stores/recovery.svelte.ts';
import { SearchStore } from './stores/search.svelte.ts';
import { SettingsStore } from './stores/settings.svelte.ts';

export class AppState {
  /** What the main area shows. */
  view = $state<'chat' | 'models'>('chat');
  settingsOpen = $state(false);
  modelPickerOpen = $state(false);
  shortcutsOpen = $state(false);

  readonly notices = new Notices();
  readonly connection = new Connection();
  readonly calls: Calls;
  readonly settings: SettingsStore;
  readonly recovery: RecoveryStore;
  readonly conversations: ConversationList;
  readonly search: SearchStore;
  readonly chat: ChatStore;
  readonly models: ModelsStore;
  readonly modelsScreen: ModelsScreenStore;
  readonly presets: PresetsStore;
  private readonly unsubscribers: Array<() => void> = [];

  constructor(readonly transport: Transport) {
    const notices = this.notices;
    this.calls = new Calls(transport, notices, {
      storageCorrupt: () => void this.recovery.check(),
      staleView: () => this.chat.reopen(),
    });
    this.settings = new SettingsStore(this.calls);
    this.recovery = new RecoveryStore(this.calls, notices, () => this.reloadAll());
    this.conversations = new ConversationList(this.calls, notices, {
      updated: (conversation) => this.chat.updated(conversation),
      removed: (id) => {
        this.search.forget(id);
        this.chat.removed(id);
      },
    });
    this.search = new SearchStore(this.calls, notices);
    this.chat = new ChatStore(this.calls, notices, this.conversations, this.settings);
    this.models = new ModelsStore(this.calls, notices);
    this.modelsScreen = new ModelsScreenStore(this.calls, notices, this.models);
    // A deleted preset may have been the default for new chats.
    this.presets = new PresetsStore(this.calls, notices, () => void this.settings.load());
  }

  /** Subscribes to the events and loads what the first screen needs (and `conversationId`, if given). */
  start(conversationId: string | null = null): void {
    this.chat.activeId = conversationId;
    const { transport } = this;
    this.unsubscribers.push(
      ...this.chat.follow(transport),
      // Another window or tab (or this one) changed a conversation: show the latest.
      transport.on('conversations.changed', (event) => {
        this.conversations.reloadSoon();
        this.chat.changedElsewhere(event);
      }),
      ...this.models.follow(transport),
      // Created, renamed or deleted in another window (or this one): the list as it is now.
      transport.on('presets.changed', () => void this.presets.load()),
      this.modelsScreen.attach(transport),
      this.connection.follow(transport, () => void this.reloadAll()),
    );
    void this.reloadAll();
  }

  stop(): void {
    for (const unsubscribe of this.unsubscribers.splice(0)) unsubscribe();
    this.transport.close();
  }

  async reloadAll(): Promise<void> {
    if (await this.recovery.check()) {
      await this.settings.load();
      return;
    }
    const { activeId } = this.chat;
    await Promise.all([
      this.settings.load(),
      this.presets.load(),
      this.models.loadInstalled(),
      this.models.loadStatus(),
      this.conversations.load(),
      this.modelsScreen.loadDownloads(),
      activeId ? this.chat.open(activeId, { keepFocus: true }) : Promise.resolve(),
    ]);
  }

  /**
   * The first-run screen: until it is answered, for a person with no conversation yet (someone
   * who used the app before this screen existed is not asked).
   */
  get firstRun(): boolean {
    const settings = this.settings.current;
    return settings !== null && !settings.firstRunDone && this.conversations.loaded && this.conversations.items.length === 0 && this.chat.activeId === null;
  }

  /** The installed model the open conversation last used, when another one (or none) is loaded now. */
  get conversationModelElsewhere(): InstalledModel | null {
    const wanted = this.chat.conversation?.modelId;
    if (!wanted || this.models.status.modelId === wanted) return null;
    return this.models.find(wanted) ?? null;
  }

  openModels(): void {
    this.view = 'models';
    this.modelPickerOpen = false;
  }

  /** Loads a model and goes to the chat (answering the first-run screen). */
  async useModel(modelId: string): Promise<void> {
    this.view = 'chat';
    if (this.settings.current && !this.settings.current.firstRunDone) void this.settings.finishFirstRun();
    const { status } = this.models;
    if (status.modelId === modelId && status.state === 'ready') return;
    await this.models.load(modelId);
  }
}
