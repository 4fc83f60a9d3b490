// The sidebar's list of conversations, a page at a time, kept in storage's order; renaming,
// pinning, deleting (with undo) and restoring.
import type { Conversation } from '@shared/chat-types.ts';
import { compareConversations } from '../conversations.ts';
import { t } from '../i18n/index.svelte.ts';
import type { Calls } from './calls.ts';
import type { Notices } from './notices.svelte.ts';

const PAGE_SIZE = 100;

/** What the views that show a conversation hear from the list. */
export interface ListWatcher {
  /** The main side returned a conversation changed here (renamed, pinned, its settings). */
  updated: (conversation: Conversation) => void;
  /** A conversation was deleted here. */
  removed: (id: string) => void;
}

export class ConversationList {
  items = $state.raw<Conversation[]>([]);
  /** Where the next page starts; null when the list is complete. */
  cursor = $state<string | null>(null);
  loaded = $state(false);
  private reloadTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly calls: Calls,
    private readonly notices: Notices,
    private readonly watcher: ListWatcher,
  ) {}

  find(id: string): Conversation | undefined {
    return this.items.find((c) => c.id === id);
  }

  async load(more = false): Promise<void> {
    await this.calls.guard(async () => {
      const page = await this.calls.call('conversations.list', { limit: PAGE_SIZE, cursor: more ? this.cursor : null });
      const known = more ? this.items : [];
      // eslint-disable-next-line svelte/prefer-svelte-reactivity -- a local lookup
      const seen = new Set(known.map((c) => c.id));
      this.items = [...known, ...page.items.filter((c) => !seen.has(c.id))];
      this.cursor = page.nextCursor;
      this.loaded = true;
    });
  }

  /** One reload for a burst of changes (from any window). */
  reloadSoon(): void {
    this.reloadTimer ??= setTimeout(() => {
      this.reloadTimer = null;
      void this.load();
    }, 50);
  }

  /** Puts a conversation as the main side returned it in its place. */
  upsert(conversation: Conversation): void {
    const others = this.items.filter((c) => c.id !== conversation.id);
    this.items = [...others, conversation].sort(compareConversations);
    this.watcher.updated(conversation);
  }

  /** Moves a conversation up as it is written to now. */
  touch(id: string): void {
    const conversation = this.find(id);
    if (conversation) this.upsert({ ...conversation, updatedAt: Date.now() });
  }

  /** Forgets a conversation the main side no longer has. */
  drop(id: string): void {
    this.items = this.items.filter((c) => c.id !== id);
  }

  async rename(id: string, title: string): Promise<boolean> {
    const clean = title.trim();
    if (!clean) return false;
    return this.calls.guard(async () => this.upsert(await this.calls.call('conversations.rename', { id, title: clean })));
  }

  async setPinned(id: string, pinned: boolean): Promise<void> {
    await this.calls.guard(async () => this.upsert(await this.calls.call('conversations.pin', { id, pinned })));
  }

  async remove(id: string): Promise<void> {
    await this.calls.guard(async () => {
      const deleted = await this.calls.call('conversations.delete', { id });
      this.drop(id);
      this.watcher.removed(id);
      const title = deleted.title;
      let toastId = 0;
      toastId = this.notices.toast(() => t('sidebar.deleted', { title }), {
        action: {
          label: () => t('sidebar.undo'),
          run: () => {
            this.notices.dismiss(toastId);
            void this.restore(id);
          },
        },
        timeoutMs: 10_000,
      });
    });
  }

  async restore(id: string): Promise<void> {
    await this.calls.guard(async () => {
      const restored = await this.calls.call('conversations.restore', { id });
      this.upsert(restored);
      this.notices.toast(() => t('sidebar.restored', { title: restored.title }));
    });
  }
}
