// The open conversation: its active path, the answer being written, and every action on it
// (send, regenerate, edit, stop, switch branch, its settings). The text of an answer being
// written is not reactive state: it lives in LiveAnswer objects that the views read once per
// frame (see live-answer.ts); the path is replaced as a whole.
import type { Conversation, GenerationStarted, Message, MessageStats, PathMessage, SearchHit, StoredSampling } from '@shared/chat-types.ts';
import type { AppSettings, EventPayload } from '@shared/contract.ts';
import { titleFrom } from '../conversations.ts';
import { describeError } from '../errors.ts';
import { LiveAnswer, LiveAnswers, nextFrame } from '../live-answer.ts';
import { answerFromRecord } from '../stored-answer.ts';
import { ApiError, type Transport } from '../transport.ts';
import type { Calls } from './calls.ts';
import type { ConversationList } from './conversation-list.svelte.ts';
import type { Notices } from './notices.svelte.ts';
import type { SettingsStore } from './settings.svelte.ts';

/** The settings of a chat not started yet: they go with its first message. */
export interface DraftSettings {
  systemPrompt: string | null;
  sampling: StoredSampling | null;
  /** undefined: the default preset for new chats (the settings'); null: none. */
  presetId?: string | null;
}

/** A change to the open (or draft) conversation's settings. */
export interface SettingsChange {
  systemPrompt?: string | null;
  sampling?: StoredSampling | null;
  presetId?: string | null;
}

export class ChatStore {
  /** The open conversation's id; null for a new chat not sent yet. */
  activeId = $state<string | null>(null);
  conversation = $state.raw<Conversation | null>(null);
  messages = $state.raw<PathMessage[]>([]);
  pathLoading = $state(false);
  generating = $state.raw<{ conversationId: string; messageId: string } | null>(null);
  /** How often each answer was continued here: its view is made anew, following the answer live. */
  continued = $state.raw<Record<string, number>>({});
  draft = $state.raw<DraftSettings>({ systemPrompt: null, sampling: null });
  /** A message to bring into view (search hit); the nonce makes the same one jump again. */
  focusMessage = $state.raw<{ id: string; nonce: number } | null>(null);

  readonly live = new LiveAnswers();
  private pathRequest = 0;
  private nonce = 0;
  /** Answers followed from the middle (page opened while writing): reload them when done. */
  // eslint-disable-next-line svelte/prefer-svelte-reactivity -- bookkeeping, not state
  private readonly resumed = new Set<string>();

  constructor(
    private readonly calls: Calls,
    private readonly notices: Notices,
    private readonly list: ConversationList,
    private readonly settings: SettingsStore,
  ) {}

  /** Follows the answers being written (in this window or another); returns the unsubscribers. */
  follow(transport: Transport): Array<() => void> {
    return [
      transport.on('generation.prefill', (event) => this.live.getOrCreate(event.conversationId, event.messageId).onPrefill(event)),
      transport.on('generation.token', (event) => this.live.getOrCreate(event.conversationId, event.messageId).onToken(event)),
      transport.on('generation.done', (event) => this.onDone(event)),
      transport.on('generation.error', (event) => this.onError(event)),
    ];
  }

  get isGenerating(): boolean {
    return this.generating !== null;
  }

  /** The conversation as the main side returned it (renamed, pinned, its settings): shown if open. */
  updated(conversation: Conversation): void {
    if (this.conversation?.id === conversation.id) this.conversation = conversation;
  }

  /** A conversation was deleted: a new chat replaces it if it was open. */
  removed(id: string): void {
    if (this.activeId === id) this.newChat();
  }

  /** Another window or tab changed a conversation: show the latest, unless this window is writing into it. */
  changedElsewhere(event: EventPayload<'conversations.changed'>): void {
    if (event.conversationId !== this.activeId || event.reason === 'created') return;
    if (this.calls.ownChangeInFlight || this.generating?.conversationId === event.conversationId) return;
    void this.open(event.conversationId, { keepFocus: true });
  }

  /** A view of this conversation was refused as stale: show the latest. */
  reopen(): void {
    if (this.activeId) void this.open(this.activeId, { keepFocus: true });
  }

  newChat(): void {
    this.pathRequest += 1;
    this.activeId = null;
    this.conversation = null;
    this.messages = [];
    this.draft = { systemPrompt: null, sampling: null };
    this.focusMessage = null;
  }

  async open(id: string, options: { messageId?: string; keepFocus?: boolean } = {}): Promise<void> {
    const request = ++this.pathRequest;
    if (this.activeId !== id) {
      this.messages = [];
      this.conversation = this.list.find(id) ?? null;
    }
    this.activeId = id;
    this.pathLoading = true;
    try {
      const path = options.messageId
        ? await this.calls.call('messages.select', { messageId: options.messageId })
        : await this.calls.call('messages.activePath', { conversationId: id });
      if (request !== this.pathRequest) return;
      this.conversation = path.conversation;
      this.setMessages(path.messages);
      if (options.messageId) this.focusMessage = { id: options.messageId, nonce: ++this.nonce };
      else if (!options.keepFocus) this.focusMessage = null;
    } catch (error) {
      if (request !== this.pathRequest) return;
      this.notices.toast(() => describeError(error), { kind: 'error' });
      if (error instanceof ApiError && error.code === 'not_found') {
        this.list.drop(id);
        this.newChat();
      }
    } finally {
      if (request === this.pathRequest) this.pathLoading = false;
    }
  }

  async openHit(hit: SearchHit): Promise<void> {
    await this.open(hit.conversationId, hit.messageId ? { messageId: hit.messageId } : {});
  }

  private setMessages(messages: PathMessage[]): void {
    for (const message of messages) {
      if (message.status === 'streaming') {
        if (!this.live.get(message.id)) {
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

  /** Sends into the open conversation; a new chat's first message creates it in the same call. */
  async send(content: string): Promise<boolean> {
    if (this.generating || !content.trim()) return false;
    return this.calls.guard(async () => {
      const conversationId = this.activeId;
      // The message this view answers: the server attaches there, or refuses a stale view.
      const started = conversationId
        ? await this.calls.call('chat.send', { conversationId, content, parentId: this.messages.at(-1)?.id ?? null })
        : await this.calls.call('chat.send', { newConversation: this.newConversation(content), content });
      this.list.upsert(started.conversation);
      if (conversationId === null && this.activeId === null) {
        this.pathRequest += 1;
        this.activeId = started.conversationId;
        this.conversation = started.conversation;
        this.messages = [];
      }
      this.applyStarted(started, this.messages.length);
    });
  }

  private newConversation(content: string): { title: string; systemPrompt?: string; sampling?: StoredSampling; presetId?: string | null } {
    return {
      title: titleFrom(content),
      ...(this.draft.systemPrompt !== null ? { systemPrompt: this.draft.systemPrompt } : {}),
      ...(this.draft.sampling ? { sampling: this.draft.sampling } : {}),
      ...(this.draft.presetId !== undefined ? { presetId: this.draft.presetId } : {}),
    };
  }

  async regenerate(messageId?: string): Promise<boolean> {
    if (this.generating) return false;
    const target = messageId ?? [...this.messages].reverse().find((m) => m.role === 'assistant')?.id;
    if (!target) return false;
    const index = this.messages.findIndex((m) => m.id === target);
    return this.calls.guard(async () => {
      const started = await this.calls.call('chat.regenerate', { messageId: target });
      this.applyStarted(started, index, 'assistant');
    });
  }

  /** A new answer beside `messageId` that keeps its tokens before `index` and takes candidate `tokenId` there. */
  async branchFromToken(messageId: string, index: number, tokenId: number): Promise<boolean> {
    if (this.generating) return false;
    const at = this.messages.findIndex((m) => m.id === messageId);
    return this.calls.guard(async () => {
      const started = await this.calls.call('chat.branch', { messageId, index, tokenId });
      this.applyStarted(started, at, 'assistant');
      this.live.getOrCreate(started.conversationId, started.assistantMessage.id).forkAt = index;
    });
  }

  /** The answer goes on after its last token; its view follows it live, its earlier tokens read from storage. */
  async continueAnswer(message: PathMessage): Promise<boolean> {
    if (this.generating) return false;
    return this.calls.guard(async () => {
      const record = await this.calls.call('messages.tokenRecord', { messageId: message.id });
      const stored = answerFromRecord(message, record, nextFrame);
      const answer = stored.kind === 'record' ? stored.answer : new LiveAnswer(message.conversationId, message.id, nextFrame, message.content);
      answer.status = 'streaming';
      this.live.replace(answer);
      const started = await this.calls.call('chat.continue', { messageId: message.id });
      this.generating = { conversationId: started.conversationId, messageId: message.id };
      this.continued = { ...this.continued, [message.id]: (this.continued[message.id] ?? 0) + 1 };
      if (answer.finished) {
        // A very short continuation may end before the call's answer: show it as stored.
        this.generating = null;
        if (this.activeId) void this.open(this.activeId, { keepFocus: true });
      } else this.finishMessage(message.id, { status: 'streaming' });
    });
  }

  async editAndResend(messageId: string, content: string): Promise<boolean> {
    if (this.generating || !content.trim()) return false;
    const index = this.messages.findIndex((m) => m.id === messageId);
    return this.calls.guard(async () => {
      const started = await this.calls.call('chat.editAndResend', { messageId, content });
      this.applyStarted(started, index, 'user');
    });
  }

  async stop(): Promise<void> {
    const active = this.generating;
    if (!active) return;
    await this.calls.guard(() => this.calls.call('chat.stop', { conversationId: active.conversationId }));
  }

  /**
   * Puts a started answer on the path without reloading it: the new messages replace the path
   * from `index` (the end for a send, the old answer for a regenerate, the edited question for
   * an edit), with their place among their siblings.
   */
  private applyStarted(started: GenerationStarted, index: number, replaced?: 'user' | 'assistant'): void {
    this.generating = { conversationId: started.conversationId, messageId: started.assistantMessage.id };
    this.live.getOrCreate(started.conversationId, started.assistantMessage.id);
    this.list.touch(started.conversationId);
    // The main side records the model on the conversation as the answer starts.
    const conversation = this.list.find(started.conversationId);
    if (conversation && conversation.modelId !== started.assistantMessage.modelId) this.list.upsert({ ...conversation, modelId: started.assistantMessage.modelId });
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

  private onDone(event: EventPayload<'generation.done'>): void {
    const answer = this.live.getOrCreate(event.conversationId, event.messageId);
    answer.onDone(event);
    if (this.generating?.messageId === event.messageId) this.generating = null;
    this.list.touch(event.conversationId);
    this.finishMessage(event.messageId, { status: event.status, stats: { ...event.stats } as MessageStats, content: answer.text });
  }

  private onError(event: EventPayload<'generation.error'>): void {
    const answer = this.live.getOrCreate(event.conversationId, event.messageId);
    answer.onError(event);
    if (this.generating?.messageId === event.messageId) this.generating = null;
    this.finishMessage(event.messageId, { status: event.status, error: event.message, content: answer.text });
  }

  private finishMessage(messageId: string, change: Partial<Message>): void {
    if (this.resumed.delete(messageId)) {
      // We saw only the end of this answer: the stored text is the whole of it.
      if (this.activeId) void this.open(this.activeId, { keepFocus: true });
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
    await this.calls.guard(async () => {
      const siblings = await this.calls.call('messages.siblings', { messageId: message.id });
      const target = siblings.messages[siblings.index + delta];
      if (!target) return;
      const path = await this.calls.call('messages.select', { messageId: target.id });
      if (path.conversation.id !== this.activeId) return;
      this.conversation = path.conversation;
      this.setMessages(path.messages);
    });
  }

  /** The system prompt and sampling of the open conversation, or of the draft before the first message. */
  async updateSettings(change: SettingsChange): Promise<boolean> {
    if (!this.activeId) {
      this.draft = { ...this.draft, ...change };
      return true;
    }
    const id = this.activeId;
    return this.calls.guard(async () => this.list.upsert(await this.calls.call('conversations.updateSettings', { id, ...change })));
  }

  /** The preset the open conversation (or the draft) follows; null: none. */
  get presetId(): string | null {
    if (this.activeId) return this.conversation?.presetId ?? null;
    return this.draft.presetId === undefined ? (this.settings.current?.defaultPresetId ?? null) : this.draft.presetId;
  }

  /** The sampling the next answer of the open (or draft) conversation uses, per field. */
  effectiveSampling(): { stored: StoredSampling; defaults: AppSettings['defaultSampling'] | null } {
    const stored = (this.activeId ? this.conversation?.sampling : this.draft.sampling) ?? {};
    return { stored, defaults: this.settings.current?.defaultSampling ?? null };
  }
}
