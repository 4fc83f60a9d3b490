import { describe, expect, it } from 'vitest';
import { StorageError } from './errors.ts';
import { openTemp } from '../test-support/storage/temp-storage.ts';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return error instanceof StorageError ? error.code : `not a StorageError: ${String(error)}`;
  }
  return undefined;
}

describe('conversations', () => {
  it('creates with defaults and with settings, typed on the way out', () => {
    const storage = openTemp();
    const plain = storage.createConversation();
    expect(plain).toMatchObject({ title: 'New conversation', pinned: false, deletedAt: null, modelId: null, systemPrompt: null, sampling: null, selectedLeafId: null });
    expect(plain.createdAt).toBe(plain.updatedAt);
    const set = storage.createConversation({ title: '  Trip \n plans ', modelId: 'demo-tiny', systemPrompt: 'Be brief.', sampling: { temperature: 0.7, topK: 40 } });
    expect(set).toMatchObject({ title: 'Trip plans', modelId: 'demo-tiny', systemPrompt: 'Be brief.', sampling: { temperature: 0.7, topK: 40 } });
    expect(storage.getConversation(set.id)).toEqual(set);
  });

  it('renames, pins without reordering by time, and updates settings', () => {
    const storage = openTemp();
    const a = storage.createConversation({ title: 'A' });
    const renamed = storage.renameConversation(a.id, 'Alpha');
    expect(renamed.title).toBe('Alpha');
    expect(renamed.updatedAt).toBeGreaterThan(a.updatedAt);
    const pinned = storage.setPinned(a.id, true);
    expect(pinned.pinned).toBe(true);
    expect(pinned.updatedAt).toBe(renamed.updatedAt);
    const updated = storage.updateConversationSettings(a.id, { sampling: { temperature: 0 }, systemPrompt: null });
    expect(updated).toMatchObject({ sampling: { temperature: 0 }, systemPrompt: null, modelId: null, title: 'Alpha' });
  });

  it('lists pinned first, then most recent, paged by cursor without gaps or repeats', () => {
    const storage = openTemp();
    const created = Array.from({ length: 23 }, (_, i) => storage.createConversation({ title: `c${i}` }));
    storage.setPinned((created[3] as { id: string }).id, true);
    storage.setPinned((created[10] as { id: string }).id, true);
    // Activity moves a conversation up.
    storage.appendUserMessage({ conversationId: (created[0] as { id: string }).id, content: 'hello' });
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = storage.listConversations({ limit: 5, cursor });
      seen.push(...page.items.map((item) => item.title));
      cursor = page.nextCursor;
      pages += 1;
    } while (cursor !== null);
    expect(pages).toBe(5);
    expect(seen.slice(0, 3)).toEqual(['c10', 'c3', 'c0']);
    expect(seen.slice(3, 6)).toEqual(['c22', 'c21', 'c20']);
    expect(new Set(seen).size).toBe(23);
  });

  it('soft delete hides from the list, undo restores it exactly, purge needs the trash first', () => {
    const storage = openTemp();
    const keep = storage.createConversation({ title: 'keep' });
    const gone = storage.createConversation({ title: 'gone' });
    storage.appendUserMessage({ conversationId: gone.id, content: 'a message worth keeping' });
    const before = storage.loadActivePath(gone.id);

    expect(codeOf(() => storage.purgeConversation(gone.id))).toBe('CONFLICT');
    const deleted = storage.softDeleteConversation(gone.id);
    expect(deleted.deletedAt).not.toBeNull();
    expect(storage.listConversations().items.map((c) => c.id)).toEqual([keep.id]);
    expect(storage.listTrash().items.map((c) => c.id)).toEqual([gone.id]);
    expect(codeOf(() => storage.loadActivePath(gone.id))).toBe('NOT_FOUND');
    expect(codeOf(() => storage.appendUserMessage({ conversationId: gone.id, content: 'x' }))).toBe('NOT_FOUND');

    const restored = storage.restoreConversation(gone.id);
    expect(restored.deletedAt).toBeNull();
    expect(storage.loadActivePath(gone.id)).toEqual({ ...before, conversation: { ...before.conversation } });
    expect(storage.listTrash().items).toEqual([]);

    storage.softDeleteConversation(gone.id);
    storage.purgeConversation(gone.id);
    expect(codeOf(() => storage.getConversation(gone.id))).toBe('NOT_FOUND');
    expect(codeOf(() => storage.getMessage(before.messages[0]?.id ?? ''))).toBe('NOT_FOUND');
    expect(storage.listConversations().items.map((c) => c.id)).toEqual([keep.id]);
  });

  it('empties the trash up to a time', () => {
    const storage = openTemp();
    const a = storage.createConversation({ title: 'a' });
    const b = storage.createConversation({ title: 'b' });
    const aDeleted = storage.softDeleteConversation(a.id);
    storage.softDeleteConversation(b.id);
    expect(storage.emptyTrash(aDeleted.deletedAt as number)).toBe(1);
    expect(storage.listTrash().items.map((c) => c.id)).toEqual([b.id]);
    expect(storage.emptyTrash()).toBe(1);
    expect(storage.listTrash().items).toEqual([]);
  });

  it('refuses bad input with INVALID_INPUT or NOT_FOUND and a clear message', () => {
    const storage = openTemp();
    const c = storage.createConversation();
    expect(codeOf(() => storage.createConversation({ title: '   ' }))).toBe('INVALID_INPUT');
    expect(codeOf(() => storage.createConversation({ title: 'x'.repeat(501) }))).toBe('INVALID_INPUT');
    expect(codeOf(() => storage.createConversation({ sampling: { temperature: Number.NaN } }))).toBe('INVALID_INPUT');
    expect(codeOf(() => storage.createConversation({ sampling: 'hot' as never }))).toBe('INVALID_INPUT');
    expect(codeOf(() => storage.renameConversation(c.id, 42 as never))).toBe('INVALID_INPUT');
    expect(codeOf(() => storage.setPinned(c.id, 'yes' as never))).toBe('INVALID_INPUT');
    expect(codeOf(() => storage.getConversation(''))).toBe('INVALID_INPUT');
    expect(codeOf(() => storage.getConversation('nope'))).toBe('NOT_FOUND');
    expect(codeOf(() => storage.listConversations({ limit: 0 }))).toBe('INVALID_INPUT');
    expect(codeOf(() => storage.listConversations({ cursor: 'garbage' }))).toBe('INVALID_INPUT');
    expect(() => storage.createConversation({ title: '' })).toThrow(/title.*must not be empty/i);
  });
});
