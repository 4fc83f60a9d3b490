// The facade's methods come from the operation tables: every declared operation is a method,
// runs through the guard, and has the operation's own arguments less what the facade supplies.
import { describe, expect, expectTypeOf, it } from 'vitest';
import { openTemp } from '../test-support/storage/temp-storage.ts';
import type { ListOptions, NewConversation } from './conversations.ts';
import type { StorageError } from './errors.ts';
import { readOperations, stampedWriteOperations, writeOperations } from './operations.ts';
import type { Conversation, ConversationPage } from './types.ts';

const names = [...Object.keys(readOperations), ...Object.keys(writeOperations), ...Object.keys(stampedWriteOperations)];

describe('the storage facade', () => {
  it('has every declared operation as a method, and each is refused once the storage is closed', () => {
    const storage = openTemp();
    storage.close();
    expect(names.length).toBeGreaterThan(15);
    for (const name of names) {
      const method = (storage as unknown as Record<string, (...args: unknown[]) => unknown>)[name];
      expect(typeof method, name).toBe('function');
      expect(() => method!.call(storage, 'an-id', 'text'), name).toThrow(expect.objectContaining({ name: 'StorageError', code: 'CLOSED' }) as StorageError);
    }
  });

  it('runs reads on the reader, writes on the writer, and stamps writes with its clock', () => {
    let clock = 5_000;
    const storage = openTemp({ now: () => (clock += 10) });
    const opened = clock;
    const created = storage.createConversation({ title: 'first' });
    expect(created.createdAt).toBe(opened + 10);
    const renamed = storage.renameConversation(created.id, 'second');
    expect(renamed).toMatchObject({ title: 'second', updatedAt: opened + 20 });
    // Pinning is not stamped: the clock is not read and updated_at stays.
    expect(storage.setPinned(created.id, true).updatedAt).toBe(opened + 20);
    expect(clock).toBe(opened + 20);
    expect(storage.listConversations().items.map((c) => c.title)).toEqual(['second']);
    expect(storage.emptyTrash()).toBe(0);
    expect(() => storage.emptyTrash(Number.NaN)).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }) as StorageError);
  });

  it('takes the operations’ arguments less the connection and the time', () => {
    const storage = openTemp();
    expectTypeOf(storage.listConversations).parameters.toEqualTypeOf<[options?: ListOptions]>();
    expectTypeOf(storage.listConversations).returns.toEqualTypeOf<ConversationPage>();
    expectTypeOf(storage.createConversation).parameters.toEqualTypeOf<[input?: NewConversation]>();
    expectTypeOf(storage.renameConversation).parameters.toEqualTypeOf<[id: string, title: string]>();
    expectTypeOf(storage.renameConversation).returns.toEqualTypeOf<Conversation>();
    expectTypeOf(storage.emptyTrash).parameters.toEqualTypeOf<[deletedBefore?: number]>();
  });
});
