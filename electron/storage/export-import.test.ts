import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { StorageError } from './errors.ts';
import { exportFileName, type ExportFile } from './export-import.ts';
import { Storage } from './storage.ts';
import { openTemp, steppingClock, tempDir, track } from '../test-support/storage/temp-storage.ts';

/** A storage with a branched tree, every status, stats, settings, a pinned and a trashed conversation. */
function richStorage(): Storage {
  const storage = openTemp();
  const a = storage.createConversation({ title: 'Trip 旅行', modelId: 'demo-tiny', systemPrompt: 'Be brief.\nUse lists.', sampling: { temperature: 0.7, topP: 0.95 } });
  const q = storage.appendUserMessage({ conversationId: a.id, content: 'Where should I go?' });
  const first = storage.beginAssistantMessage({ conversationId: a.id, modelId: 'demo-tiny', sampling: { temperature: 0.7 }, seed: 99 });
  first.append('Kyoto, ');
  first.append('in spring.');
  first.finish({ status: 'complete', stats: { timeToFirstTokenMs: 20.5, decodeTokensPerSecond: 31.25, decodeTokens: 5, cachedTokens: 2, stopReason: 'eos', contextLength: 2048 } });
  storage.appendUserMessage({ conversationId: a.id, content: 'Why?' });
  const err = storage.beginAssistantMessage({ conversationId: a.id });
  err.append('Because');
  err.finish({ status: 'error', error: 'out of memory' });
  const regen = storage.beginAssistantMessage({ conversationId: a.id, parentId: q.id, seed: 7 });
  regen.append('去北京看看长城。');
  regen.finish({ status: 'interrupted' });
  storage.setPinned(a.id, true);

  const b = storage.createConversation({ title: 'Empty one' });
  const c = storage.createConversation({ title: 'Trashed' });
  storage.appendUserMessage({ conversationId: c.id, content: 'delete me (softly)' });
  storage.softDeleteConversation(c.id);
  expect(b.id).toBeTruthy();
  return storage;
}

function withoutExportTime(file: ExportFile): Omit<ExportFile, 'exportedAt'> {
  const { exportedAt: _exportedAt, ...rest } = file;
  return rest;
}

function counts(storage: Storage): { conversations: number; trash: number } {
  return { conversations: storage.listConversations({ limit: 500 }).items.length, trash: storage.listTrash({ limit: 500 }).items.length };
}

describe('JSON export and import', () => {
  it('round-trips every conversation losslessly: tree, statuses, stats, settings, trash, selection', async () => {
    const source = richStorage();
    const exported = source.exportJson({ includeTrash: true });
    expect(exported.format).toBe('jielong-conversations');
    expect(exported.version).toBe(1);
    expect(exported.conversations).toHaveLength(3);
    const text = source.exportJsonText({ includeTrash: true });

    const target = openTemp();
    const result = await target.importJson(text);
    expect(result).toMatchObject({ copied: 0, skipped: 0 });
    expect(result.conversationIds).toEqual(exported.conversations.map((c) => c.id));
    expect(withoutExportTime(target.exportJson({ includeTrash: true }))).toEqual(withoutExportTime(exported));
    // The imported database behaves like the original.
    for (const conversation of source.listConversations().items) {
      expect(target.loadActivePath(conversation.id)).toEqual(source.loadActivePath(conversation.id));
    }
    expect(target.search('长城').hits).toHaveLength(1);
    expect(target.search('delete').hits).toEqual([]);
    expect(counts(target)).toEqual({ conversations: 2, trash: 1 });
  });

  it('exports chosen conversations only, and refuses unknown ids', async () => {
    const storage = richStorage();
    const [first] = storage.listConversations().items;
    expect(storage.exportJson({ conversationIds: [first?.id as string] }).conversations.map((c) => c.title)).toEqual(['Trip 旅行']);
    expect(() => storage.exportJson({ conversationIds: ['missing'] })).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
    expect(storage.exportJson().conversations).toHaveLength(2);
  });

  it('imports existing conversations as copies by default, or skips, or refuses', async () => {
    const storage = richStorage();
    const text = storage.exportJsonText();
    const copy = await storage.importJson(text);
    expect(copy.copied).toBe(2);
    expect(counts(storage).conversations).toBe(4);
    const copied = storage.loadActivePath(copy.conversationIds[0] as string);
    expect(copied.messages.map((m) => m.content)).toEqual(['Where should I go?', '去北京看看长城。']);
    expect(copied.messages[1]).toMatchObject({ siblingIndex: 1, siblingCount: 2 });
    expect(await storage.importJson(text, { onConflict: 'skip' })).toEqual({ conversationIds: [], copied: 0, skipped: 2 });
    await expect(storage.importJson(text, { onConflict: 'fail' })).rejects.toMatchObject({ code: 'CONFLICT' });
    expect(counts(storage).conversations).toBe(4);
  });

  it('refuses malformed or unknown-version files with a clear error and imports nothing', async () => {
    const storage = richStorage();
    const before = storage.exportJson({ includeTrash: true });
    const good = JSON.parse(storage.exportJsonText({ includeTrash: true })) as ExportFile;
    // A file that would otherwise import (new ids), so a partial import would show.
    const fresh = structuredClone(good);
    fresh.conversations.forEach((c, i) => {
      c.id = `new-${i}`;
      const ids = new Map(c.messages.map((m, j) => [m.id, `new-${i}-${j}`]));
      c.selectedLeafId = c.selectedLeafId === null ? null : (ids.get(c.selectedLeafId) as string);
      for (const m of c.messages) {
        m.id = ids.get(m.id) as string;
        m.parentId = m.parentId === null ? null : (ids.get(m.parentId) as string);
        m.selectedChildId = m.selectedChildId === null ? null : (ids.get(m.selectedChildId) as string);
      }
    });
    const broken = (mutate: (file: ExportFile & Record<string, unknown>) => void): string => {
      const file = structuredClone(fresh) as ExportFile & Record<string, unknown>;
      mutate(file);
      return JSON.stringify(file);
    };
    const lastConversation = (file: ExportFile) => file.conversations[file.conversations.length - 1] as ExportFile['conversations'][number];
    const cases: Array<[string, string, string]> = [
      ['not JSON', '{"format": "jielong-conversations", ', 'IMPORT_MALFORMED'],
      ['not our format', JSON.stringify({ hello: 'world' }), 'IMPORT_MALFORMED'],
      ['an array', '[]', 'IMPORT_MALFORMED'],
      ['a newer version', broken((f) => Object.assign(f, { version: 2 })), 'IMPORT_UNSUPPORTED_VERSION'],
      ['no version', broken((f) => Object.assign(f, { version: undefined })), 'IMPORT_UNSUPPORTED_VERSION'],
      ['a bad status in the last conversation', broken((f) => Object.assign(lastConversation(f).messages[0] as object, { status: 'done' })), 'IMPORT_MALFORMED'],
      ['an unknown field', broken((f) => Object.assign(f.conversations[0] as object, { colour: 'red' })), 'IMPORT_MALFORMED'],
      ['a missing parent', broken((f) => Object.assign(lastConversation(f).messages[0] as object, { parentId: 'ghost' })), 'IMPORT_MALFORMED'],
      ['a duplicate message id', broken((f) => f.conversations[0]?.messages.push(structuredClone(f.conversations[0].messages[0]) as never)), 'IMPORT_MALFORMED'],
      ['a child before its parent', broken((f) => f.conversations[0]?.messages.reverse()), 'IMPORT_MALFORMED'],
      ['a leaf from elsewhere', broken((f) => Object.assign(f.conversations[0] as object, { selectedLeafId: 'ghost' })), 'IMPORT_MALFORMED'],
      ['a selected child that is not a child', broken((f) => Object.assign(f.conversations[0]?.messages[0] as object, { selectedChildId: f.conversations[0]?.messages[0]?.id })), 'IMPORT_MALFORMED'],
      ['error text on a complete message', broken((f) => Object.assign(f.conversations[0]?.messages[0] as object, { error: 'x' })), 'IMPORT_MALFORMED'],
      ['an empty title', broken((f) => Object.assign(f.conversations[1] as object, { title: '' })), 'IMPORT_MALFORMED'],
      ['a string seed', broken((f) => Object.assign(f.conversations[0]?.messages[1] as object, { seed: '99' })), 'IMPORT_MALFORMED'],
    ];
    for (const [what, text, code] of cases) {
      let thrown: unknown;
      try {
        await storage.importJson(text);
      } catch (error) {
        thrown = error;
      }
      expect(thrown, what).toBeInstanceOf(StorageError);
      expect((thrown as StorageError).code, what).toBe(code);
      expect((thrown as StorageError).message, what).toMatch(/Nothing was imported/);
      expect(withoutExportTime(storage.exportJson({ includeTrash: true })), what).toEqual(withoutExportTime(before));
    }
    // The fixed-up file itself is fine: the failures above were the mutations.
    expect((await storage.importJson(JSON.stringify(fresh))).copied).toBe(0);
  });

  it('brings a message exported mid-stream back as interrupted', async () => {
    const storage = openTemp();
    const c = storage.createConversation();
    const writer = storage.beginAssistantMessage({ conversationId: c.id }, { maxChunks: 1 });
    writer.append('half an ans');
    const file = storage.exportJson();
    expect(file.conversations[0]?.messages[0]?.status).toBe('streaming');
    const target = openTemp();
    await target.importJson(JSON.stringify(file));
    expect(target.getMessage(writer.messageId)).toMatchObject({ status: 'interrupted', content: 'half an ans' });
    writer.finish({ status: 'complete' });
  });
});

describe('Markdown export', () => {
  it('writes the active path with roles, model, system prompt and statuses', async () => {
    const storage = richStorage();
    const [trip] = storage.listConversations().items;
    const markdown = storage.exportMarkdown(trip?.id as string);
    expect(markdown).toContain('# Trip 旅行');
    expect(markdown).toContain('- Model: demo\\-tiny');
    expect(markdown).toContain('## System prompt\n\n```text\nBe brief.\nUse lists.\n```');
    expect(markdown).toContain('### You\n\n```text\nWhere should I go?\n```');
    expect(markdown).toContain('### Assistant\n\n```text\n去北京看看长城。\n```\n\n_(interrupted)_');
    // Only the active path: the first answer is on another branch.
    expect(markdown).not.toContain('Kyoto');
    const all = storage.exportAllMarkdown();
    expect(all).toContain('# Trip 旅行');
    expect(all).toContain('# Empty one');
    expect(all).not.toContain('# Trashed');
    storage.selectMessage(storage.search('Kyoto').hits[0]?.messageId as string);
    expect(storage.exportMarkdown(trip?.id as string)).toContain('### Assistant · demo\\-tiny\n\n```text\nKyoto, in spring.');
    expect(storage.exportMarkdown(trip?.id as string)).toContain('_(error: out of memory)_');
  });

  it('suggests safe file names', async () => {
    expect(exportFileName('a/b: c?', 'md')).toBe('a b c.md');
    expect(exportFileName('...', 'json')).toBe('conversation.json');
    expect(exportFileName('模型笔记', 'md')).toBe('模型笔记.md');
  });

  it('writes and reads export files through the file system', async () => {
    const storage = richStorage();
    const file = path.join(tempDir(), 'all.json');
    fs.writeFileSync(file, storage.exportJsonText({ includeTrash: true }));
    const target = track(Storage.open(path.join(tempDir(), 'target.db'), { now: steppingClock() }));
    expect((await target.importJson(fs.readFileSync(file, 'utf8'))).conversationIds).toHaveLength(3);
  });
});
