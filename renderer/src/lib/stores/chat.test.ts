// The chat store composed with the others over an in-memory transport: a new chat is one call
// that lists and opens the conversation it made, and a deletion reaches every view of it.
import { describe, expect, it } from 'vitest';
import type { Conversation, Message, SearchHit } from '@shared/chat-types.ts';
import type { SendStarted } from '@shared/contract.ts';
import { settle, startApp } from '../../../test/fake-transport.ts';

const conversation = (change: Partial<Conversation> = {}): Conversation => ({
  id: 'c1',
  title: 'Hello there',
  createdAt: 1,
  updatedAt: 1,
  pinned: false,
  deletedAt: null,
  modelId: 'tiny',
  systemPrompt: null,
  sampling: null,
  selectedLeafId: null,
  presetId: null,
  ...change,
});

const message = (id: string, role: Message['role'], change: Partial<Message> = {}): Message => ({
  id,
  conversationId: 'c1',
  parentId: null,
  role,
  content: '',
  status: 'complete',
  error: null,
  modelId: role === 'assistant' ? 'tiny' : null,
  sampling: null,
  seed: null,
  stats: null,
  createdAt: 1,
  updatedAt: 1,
  ...change,
});

describe('ChatStore', () => {
  it('sends a new chat in one call with the draft settings, then lists and opens the conversation', async () => {
    const started: SendStarted = {
      conversationId: 'c1',
      conversation: conversation({ sampling: { temperature: 0.3 } }),
      userMessage: message('u1', 'user', { content: 'Hello there\nand more' }),
      assistantMessage: message('a1', 'assistant', { parentId: 'u1', status: 'streaming' }),
    };
    const { app, transport } = startApp({ 'chat.send': () => started });
    await settle();
    await app.chat.updateSettings({ sampling: { temperature: 0.3 } });
    const before = transport.calls.length;

    expect(await app.chat.send('Hello there\nand more')).toBe(true);

    expect(transport.calls.slice(before)).toEqual([
      { name: 'chat.send', input: { newConversation: { title: 'Hello there', sampling: { temperature: 0.3 } }, content: 'Hello there\nand more' } },
    ]);
    expect(app.chat.activeId).toBe('c1');
    expect(app.chat.conversation).toMatchObject({ id: 'c1', sampling: { temperature: 0.3 } });
    expect(app.conversations.items.map((c) => c.id)).toEqual(['c1']);
    expect(app.chat.messages.map((m) => [m.id, m.role])).toEqual([
      ['u1', 'user'],
      ['a1', 'assistant'],
    ]);
    expect(app.chat.generating).toEqual({ conversationId: 'c1', messageId: 'a1' });
  });

  it('a send into an open conversation names it and the message it answers', async () => {
    const started: SendStarted = {
      conversationId: 'c1',
      conversation: conversation(),
      userMessage: message('u2', 'user', { parentId: 'a1', content: 'again' }),
      assistantMessage: message('a2', 'assistant', { parentId: 'u2', status: 'streaming' }),
    };
    const path = { conversation: conversation(), messages: [message('u1', 'user'), message('a1', 'assistant', { parentId: 'u1' })].map((m) => ({ ...m, siblingIndex: 0, siblingCount: 1 })) };
    const { app, transport } = startApp({ 'messages.activePath': () => path, 'chat.send': () => started });
    await app.chat.open('c1');
    await app.chat.send('again');
    expect(transport.calls.at(-1)).toEqual({ name: 'chat.send', input: { conversationId: 'c1', content: 'again', parentId: 'a1' } });
    expect(app.chat.messages.map((m) => m.id)).toEqual(['u1', 'a1', 'u2', 'a2']);
  });

  it('deleting a conversation drops it from the list and the search hits, and closes it if open', async () => {
    const hit = { kind: 'title', conversationId: 'c1', conversationTitle: 'Hello there', messageId: null, role: null, createdAt: 1, score: 1, snippet: [] } as unknown as SearchHit;
    const { app } = startApp({
      'conversations.list': () => ({ items: [conversation()], nextCursor: null }),
      'messages.activePath': () => ({ conversation: conversation(), messages: [] }),
      'conversations.search': () => ({ hits: [hit], nextOffset: null }),
      'conversations.delete': () => conversation({ deletedAt: 2 }),
    });
    await settle();
    await app.chat.open('c1');
    await app.search.run('hello', 0);
    expect(app.search.hits).toHaveLength(1);
    await app.conversations.remove('c1');
    expect(app.conversations.items).toEqual([]);
    expect(app.search.hits).toEqual([]);
    expect(app.chat.activeId).toBeNull();
    expect(app.notices.toasts.at(-1)!.text()).toContain('Hello there');
  });
});
