// Search over every conversation: typed text is searched after a short pause, the newest
// request wins, more hits come a page at a time.
import type { SearchHit } from '@shared/chat-types.ts';
import { describeError } from '../errors.ts';
import type { Calls } from './calls.ts';
import type { Notices } from './notices.svelte.ts';

const DEBOUNCE_MS = 180;
const PAGE_SIZE = 50;

export class SearchStore {
  query = $state('');
  hits = $state.raw<SearchHit[]>([]);
  searching = $state(false);
  /** Where the next page of hits starts; null when there are no more. */
  nextOffset = $state<number | null>(null);
  private request = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly calls: Calls,
    private readonly notices: Notices,
  ) {}

  set(query: string): void {
    this.query = query;
    if (this.timer) clearTimeout(this.timer);
    if (!query.trim()) {
      this.request += 1;
      this.hits = [];
      this.searching = false;
      this.nextOffset = null;
      return;
    }
    this.searching = true;
    this.timer = setTimeout(() => void this.run(query, 0), DEBOUNCE_MS);
  }

  async run(query: string, offset: number): Promise<void> {
    const request = ++this.request;
    try {
      const page = await this.calls.call('conversations.search', { query, limit: PAGE_SIZE, offset });
      if (request !== this.request) return;
      this.hits = offset > 0 ? [...this.hits, ...page.hits] : page.hits;
      this.nextOffset = page.nextOffset;
    } catch (error) {
      if (request === this.request) this.notices.toast(() => describeError(error), { kind: 'error' });
    } finally {
      if (request === this.request) this.searching = false;
    }
  }

  /** Drops the hits of a deleted conversation. */
  forget(conversationId: string): void {
    this.hits = this.hits.filter((hit) => hit.conversationId !== conversationId);
  }
}
