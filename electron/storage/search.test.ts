import Database from 'better-sqlite3';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Storage } from './storage.ts';
import { openTemp } from '../test-support/storage/temp-storage.ts';
import { RANK_WINDOW } from './search.ts';
import type { SearchHit } from './types.ts';

function say(storage: Storage, conversationId: string, user: string, answer?: string): void {
  storage.appendUserMessage({ conversationId, content: user });
  if (answer !== undefined) {
    const writer = storage.beginAssistantMessage({ conversationId });
    writer.append(answer);
    writer.finish({ status: 'complete' });
  }
}

/** Rows in the contentless index, read through a second connection. */
function countIndexRows(storage: Storage): number {
  const db = new Database(storage.path, { readonly: true });
  const { n } = db.prepare('SELECT count(*) AS n FROM search_index').get() as { n: number };
  db.close();
  return n;
}

const marked = (hit: SearchHit) => {
  let out = '';
  let at = 0;
  for (const [start, end] of hit.snippet.highlights) {
    out += `${hit.snippet.text.slice(at, start)}[${hit.snippet.text.slice(start, end)}]`;
    at = end;
  }
  return out + hit.snippet.text.slice(at);
};

describe('search', () => {
  it('finds English words, ranks, and highlights the original text', () => {
    const storage = openTemp();
    const c = storage.createConversation({ title: 'Cooking' });
    say(storage, c.id, 'How do I bake sourdough bread?', 'Bread needs flour, water, salt and a lively starter. Bake it hot.');
    say(storage, c.id, 'And pizza?', 'Pizza dough is bread dough with more water.');
    const page = storage.search('bread');
    expect(page.hits).toHaveLength(3);
    expect(page.hits.every((hit) => hit.kind === 'message' && hit.conversationTitle === 'Cooking')).toBe(true);
    expect(page.hits.map(marked)).toContain('How do I bake sourdough [bread]?');
    expect(page.hits.map(marked)).toContain('[Bread] needs flour, water, salt and a lively starter. Bake it hot.');
    // Ranked by bm25 (lower is better).
    const scores = page.hits.map((hit) => hit.score);
    expect([...scores].sort((a, b) => a - b)).toEqual(scores);
    // Both words must occur.
    expect(storage.search('bread pizza').hits.map(marked)).toEqual(['[Pizza] dough is [bread] dough with more water.']);
    // The last word is a prefix while typing.
    expect(storage.search('sourd').hits.map(marked)).toEqual(['How do I bake [sourdough] bread?']);
    expect(storage.search('nothing-like-this').hits).toEqual([]);
  });

  it('matches without case or accents and cuts long texts around the match', () => {
    const storage = openTemp();
    const c = storage.createConversation();
    const long = `${'lorem ipsum '.repeat(40)}the CAFÉ on the corner ${'dolor sit '.repeat(40)}`;
    say(storage, c.id, long);
    const [hit] = storage.search('cafe').hits;
    expect(hit).toBeDefined();
    const text = (hit as SearchHit).snippet.text;
    expect(text.startsWith('…')).toBe(true);
    expect(text.endsWith('…')).toBe(true);
    expect(text.length).toBeLessThan(200);
    expect(marked(hit as SearchHit)).toContain('the [CAFÉ] on the corner');
  });

  it('finds every message containing a two-character Chinese word, with highlighted snippets', () => {
    const storage = openTemp();
    const c = storage.createConversation({ title: '语言模型笔记' });
    say(storage, c.id, '请解释一下大模型的注意力机制', '注意力机制让模型在生成每个词时关注输入中最相关的部分。');
    say(storage, c.id, '模型越大越好吗？', '不一定，小模型也可以很好。');
    say(storage, c.id, '今天天气怎么样', '我无法查看天气。');
    say(storage, c.id, 'GPT模型和BERT有什么区别', '它们都是Transformer。');
    const hits = storage.search('模型').hits;
    const messageHits = hits.filter((hit) => hit.kind === 'message');
    expect(messageHits).toHaveLength(5);
    expect(hits.filter((hit) => hit.kind === 'title')).toHaveLength(1);
    for (const hit of hits) expect(marked(hit)).toContain('[模型]');
    expect(storage.search('天气').hits.map(marked).sort()).toEqual(['今天[天气]怎么样', '我无法查看[天气]。']);
    expect(storage.search('注意力机制').hits).toHaveLength(2);
    expect(storage.search('型').hits.length).toBe(6);
    expect(storage.search('GPT模型').hits.map(marked)).toEqual(['[GPT模型]和BERT有什么区别']);
    expect(storage.search('模型 好').hits.map(marked).sort()).toEqual(['[模型]越大越[好]吗？', '不一定，小[模型]也可以很[好]。']);
    expect(storage.search('型和').hits).toHaveLength(1);
    expect(storage.search('模特').hits).toEqual([]);
  });

  it('a CJK query finds exactly the messages that contain it (property)', () => {
    const alphabet = ['模', '型', '语', '言', '大', '小', 'A', 'b', ' ', '，'];
    const text = fc.array(fc.constantFrom(...alphabet), { minLength: 1, maxLength: 24 }).map((chars) => chars.join(''));
    const query = fc.array(fc.constantFrom('模', '型', '语', '言', '大', '小'), { minLength: 1, maxLength: 3 }).map((chars) => chars.join(''));
    fc.assert(
      fc.property(fc.array(text, { minLength: 1, maxLength: 25 }), fc.array(query, { minLength: 1, maxLength: 5 }), (texts, queries) => {
        const storage = openTemp();
        const c = storage.createConversation({ title: 'x' });
        const ids = new Map<string, string>();
        for (const content of texts) {
          if (content.trim().length === 0) continue;
          ids.set(storage.appendUserMessage({ conversationId: c.id, content }).id, content);
        }
        for (const q of queries) {
          const expected = [...ids].filter(([, content]) => content.includes(q)).map(([id]) => id).sort();
          const found = storage.search(q, { limit: 500 }).hits.filter((hit) => hit.kind === 'message');
          expect(found.map((hit) => hit.messageId).sort()).toEqual(expected);
          for (const hit of found) expect(marked(hit)).toContain(`[${q}`);
        }
        storage.close();
      }),
      { numRuns: 40 },
    );
  });

  it('soft delete hides a conversation from search; undo brings it back', () => {
    const storage = openTemp();
    const keep = storage.createConversation({ title: 'Gardening' });
    const gone = storage.createConversation({ title: 'Tomato secrets' });
    say(storage, keep.id, 'tomato plants need sun');
    say(storage, gone.id, 'my tomato sauce recipe', '番茄酱的做法');
    expect(storage.search('tomato').hits).toHaveLength(3);
    expect(storage.search('番茄').hits).toHaveLength(1);

    storage.softDeleteConversation(gone.id);
    expect(storage.search('tomato').hits.map((hit) => hit.conversationId)).toEqual([keep.id]);
    expect(storage.search('番茄').hits).toEqual([]);

    storage.restoreConversation(gone.id);
    expect(storage.search('tomato').hits).toHaveLength(3);
    expect(storage.search('番茄').hits).toHaveLength(1);
    // A rename re-indexes the title.
    storage.renameConversation(gone.id, 'Sauce notes');
    expect(storage.search('secrets').hits).toEqual([]);
    expect(storage.search('sauce').hits.map((hit) => hit.kind).sort()).toEqual(['message', 'title']);
  });

  it('keeps the index equal to the live titles and finished messages through any sequence of operations (property)', () => {
    type Op = { kind: 'create' | 'say' | 'stream' | 'finish' | 'delete' | 'restore' | 'rename' | 'purge' | 'regenerate'; pick: number };
    const op = fc.record({
      kind: fc.constantFrom('create', 'say', 'stream', 'finish', 'delete', 'restore', 'rename', 'purge', 'regenerate'),
      pick: fc.nat(),
    }) as fc.Arbitrary<Op>;
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 30 }), (ops) => {
        const storage = openTemp();
        const conversations: string[] = [storage.createConversation({ title: 'start 开始' }).id];
        const writers: Array<ReturnType<Storage['beginAssistantMessage']>> = [];
        const at = <T>(list: T[], pick: number): T | undefined => list[pick % Math.max(1, list.length)];
        let n = 0;
        for (const { kind, pick } of ops) {
          const id = at(conversations, pick) as string;
          const live = storage.listConversations({ limit: 500 }).items.some((c) => c.id === id);
          n += 1;
          if (kind === 'create') conversations.push(storage.createConversation({ title: `t${n} 标题` }).id);
          else if (kind === 'say' && live) storage.appendUserMessage({ conversationId: id, content: `w${n} 内容` });
          else if (kind === 'stream' && live) {
            const writer = storage.beginAssistantMessage({ conversationId: id }, { maxChunks: 1 });
            writer.append(`s${n} 流`);
            writers.push(writer);
          } else if (kind === 'finish' && writers.length > 0) writers.splice(pick % writers.length, 1)[0]?.finish({ status: 'complete' });
          else if (kind === 'delete' && live) storage.softDeleteConversation(id);
          else if (kind === 'restore') storage.restoreConversation(id);
          else if (kind === 'rename' && live) storage.renameConversation(id, `r${n} 改名`);
          else if (kind === 'purge' && !live) {
            storage.purgeConversation(id);
            conversations.splice(conversations.indexOf(id), 1);
            // Writers into the purged conversation have nothing left to write to.
            const survivors = writers.splice(0);
            for (const writer of survivors) {
              try {
                storage.getMessage(writer.messageId);
                writers.push(writer);
              } catch (error) {
                expect(error).toMatchObject({ code: 'NOT_FOUND' });
                expect(() => writer.finish({ status: 'complete' })).toThrow(/No message/);
              }
            }
            if (conversations.length === 0) conversations.push(storage.createConversation().id);
          } else if (kind === 'regenerate' && live) {
            const leaf = storage.loadActivePath(id).messages.at(-1);
            if (leaf?.role === 'assistant' && leaf.status !== 'streaming') {
              const writer = storage.beginAssistantMessage({ conversationId: id, parentId: leaf.parentId });
              writer.append(`g${n}`);
              writer.finish({ status: 'complete' });
            }
          }
        }
        const exported = storage.exportJson({ includeTrash: true });
        const live = exported.conversations.filter((c) => c.deletedAt === null);
        const expected = live.length + live.reduce((sum, c) => sum + c.messages.filter((m) => m.status !== 'streaming').length, 0);
        expect(countIndexRows(storage)).toBe(expected);
        for (const writer of writers) writer.finish({ status: 'complete' });
        storage.close();
      }),
      { numRuns: 25 },
    );
  });

  it('indexes streamed text when the message is finished, not before', () => {
    const storage = openTemp();
    const c = storage.createConversation();
    const writer = storage.beginAssistantMessage({ conversationId: c.id }, { maxChunks: 1 });
    writer.append('zebra crossing');
    expect(storage.search('zebra').hits).toEqual([]);
    writer.finish({ status: 'complete' });
    expect(storage.search('zebra').hits.map((hit) => hit.messageId)).toEqual([writer.messageId]);
  });

  it('pages through results without repeats', () => {
    const storage = openTemp();
    const c = storage.createConversation();
    for (let i = 0; i < 25; i += 1) say(storage, c.id, `note number ${i} about apples${' apples'.repeat(i % 4)}`);
    const seen: string[] = [];
    let offset: number | null = 0;
    while (offset !== null) {
      const page = storage.search('apples', { limit: 10, offset });
      seen.push(...page.hits.map((hit) => hit.messageId as string));
      offset = page.nextOffset;
    }
    expect(seen).toHaveLength(25);
    expect(new Set(seen).size).toBe(25);
  });

  it('pages on past the ranked window: every match is reached, the oldest ones newest first', () => {
    const storage = openTemp();
    const total = RANK_WINDOW + 230;
    // Oldest first: message i is the i-th created; i % 5 more "pears" give it a better score.
    const ids: string[] = [];
    for (let c = 0; c < 3; c += 1) {
      const conversation = storage.createConversation({ title: `orchard ${c}` });
      for (let i = c * Math.ceil(total / 3); i < Math.min(total, (c + 1) * Math.ceil(total / 3)); i += 1) {
        ids.push(storage.appendUserMessage({ conversationId: conversation.id, content: `note ${i} about pears${' pears'.repeat(i % 5)}` }).id);
      }
    }
    expect(ids).toHaveLength(total);
    const seen: SearchHit[] = [];
    let offset: number | null = 0;
    while (offset !== null) {
      const page = storage.search('pears', { limit: 500, offset });
      seen.push(...page.hits);
      offset = page.nextOffset;
    }
    expect(seen).toHaveLength(total);
    expect(new Set(seen.map((hit) => hit.messageId)).size).toBe(total);
    // The newest RANK_WINDOW matches come first, by score; then the older ones, newest first.
    const ranked = seen.slice(0, RANK_WINDOW);
    expect(new Set(ranked.map((hit) => hit.messageId))).toEqual(new Set(ids.slice(total - RANK_WINDOW)));
    for (let i = 1; i < ranked.length; i += 1) expect(ranked[i]!.score).toBeGreaterThanOrEqual(ranked[i - 1]!.score);
    expect(seen.slice(RANK_WINDOW).map((hit) => hit.messageId)).toEqual(ids.slice(0, total - RANK_WINDOW).reverse());
    // A page that starts past the window, and one that straddles it.
    const beyond = storage.search('pears', { limit: 20, offset: RANK_WINDOW + 200 });
    expect(beyond.hits.map((hit) => hit.messageId)).toEqual(ids.slice(10, 30).reverse());
    expect(beyond.nextOffset).toBe(RANK_WINDOW + 220);
    const straddling = storage.search('pears', { limit: 20, offset: RANK_WINDOW - 10 });
    expect(straddling.hits.map((hit) => hit.messageId)).toEqual([...seen.slice(RANK_WINDOW - 10, RANK_WINDOW).map((hit) => hit.messageId), ...ids.slice(220, 230).reverse()]);
  });

  it('refuses bad queries clearly and survives FTS syntax', () => {
    const storage = openTemp();
    const c = storage.createConversation();
    say(storage, c.id, 'a "quoted" (thing) with stars * and NEAR');
    expect(storage.search('"quoted"').hits).toHaveLength(1);
    expect(storage.search('NEAR(').hits).toHaveLength(1);
    expect(storage.search('* " ) (').hits).toEqual([]);
    expect(() => storage.search('x'.repeat(1001))).toThrow(/at most 1000/);
    expect(() => storage.search(7 as never)).toThrow(/must be a string/);
    expect(() => storage.search('a', { limit: 0 })).toThrow(/page size/);
  });
});
