// Seeds the storage bench database: N messages over M conversations, one of which is a single
// branch of `chainLength` messages (its rows interleaved with the others, as a long-running
// conversation's would be). Written with big transactions and prepared statements straight
// into the schema the Storage created, keeping the same invariants the storage code keeps
// (selected child/leaf pointers, the search index of titles and finished messages).
import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import { MESSAGES_PER_CONVERSATION } from '../../electron/storage/message-seq.ts';
import { TITLE_ROWID_BASE } from '../../electron/storage/search-index.ts';
import { charsForIndex, segmentForIndex } from '../../electron/storage/search-tokens.ts';
import { Storage } from '../../electron/storage/storage.ts';
import { makeCorpus, type Corpus } from './storage-corpus.ts';

export interface SeedOptions {
  conversations: number;
  messages: number;
  chainLength: number;
  seed: number;
  log: (line: string) => void;
}

export interface SeedResult {
  chainConversationId: string;
  conversations: number;
  messages: number;
  seconds: number;
  corpus: Corpus;
}

interface Row {
  id: string;
  parentId: string | null;
  selectedChildId: string | null;
  role: 'user' | 'assistant';
  content: string;
  time: number;
  seed: number | null;
}

const SAMPLING = JSON.stringify({ temperature: 0.7, topK: 40, topP: 0.95, minP: 0.05, repetitionPenalty: 1.1, maxNewTokens: 512 });
const START = Date.UTC(2024, 0, 1);
const SPAN = 730 * 24 * 3600 * 1000;

/** A conversation of exactly `size` messages; about 5% of answers were regenerated (a sibling). */
function buildConversation(corpus: Corpus, size: number, start: number): Row[] {
  const rows: Row[] = [];
  const byId = new Map<string, Row>();
  let parent: Row | null = null;
  let time = start;
  const push = (role: Row['role'], under: Row | null): Row => {
    time += 1000 + Math.floor(corpus.rand() * 60_000);
    const row: Row = {
      id: randomUUID(),
      parentId: under?.id ?? null,
      selectedChildId: null,
      role,
      content: role === 'user' ? corpus.userText() : corpus.assistantText(),
      time,
      seed: role === 'assistant' ? Math.floor(corpus.rand() * 2 ** 32) : null,
    };
    if (under !== null) under.selectedChildId = row.id;
    rows.push(row);
    byId.set(row.id, row);
    return row;
  };
  while (rows.length < size) {
    const user = push('user', parent);
    if (rows.length >= size) break;
    let answer = push('assistant', user);
    if (rows.length < size && corpus.rand() < 0.05) answer = push('assistant', user);
    parent = answer;
  }
  return rows;
}

export function seedDatabase(file: string, options: SeedOptions): SeedResult {
  const started = performance.now();
  Storage.open(file).close(); // the schema, by the real migrations
  const corpus = makeCorpus(options.seed);
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('cache_size = -262144');

  const insertConversation = db.prepare(
    `INSERT INTO conversations (id, title, created_at, updated_at, pinned, model_id, sampling, selected_leaf_id)
     VALUES (?, ?, ?, ?, ?, 'bench-model', ?, ?)`,
  );
  const insertMessage = db.prepare(
    `INSERT INTO messages (seq, id, conversation_id, parent_id, selected_child_id, role, content, status, model_id, sampling, seed, stats, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, 'complete', ?, ?, ?, ?, ?, ?)`,
  );
  const indexRow = db.prepare('INSERT INTO search_index(rowid, title, body, chars) VALUES (?, ?, ?, ?)');

  /** Next seq per conversation: clustered as the storage writes them (message-seq.ts). */
  const nextSeq = new Map<string, number>();
  const writeMessages = (conversationId: string, conversationSeq: number, rows: Row[]): void => {
    for (const row of rows) {
      const seq = nextSeq.get(conversationId) ?? conversationSeq * MESSAGES_PER_CONVERSATION;
      nextSeq.set(conversationId, seq + 1);
      const assistant = row.role === 'assistant';
      const stats = assistant
        ? JSON.stringify({
            timeToFirstTokenMs: 20 + Math.round(corpus.rand() * 300),
            prefillTokensPerSecond: 400 + Math.round(corpus.rand() * 800),
            decodeTokensPerSecond: 10 + Math.round(corpus.rand() * 60),
            promptTokens: 50 + Math.floor(corpus.rand() * 2000),
            decodeTokens: Math.ceil(row.content.length / 4),
            cachedTokens: Math.floor(corpus.rand() * 1000),
            stopReason: 'eos',
          })
        : null;
      insertMessage.run(
        seq,
        row.id,
        conversationId,
        row.parentId,
        row.selectedChildId,
        row.role,
        row.content,
        assistant ? 'bench-model' : null,
        assistant ? SAMPLING : null,
        row.seed,
        stats,
        row.time,
        row.time,
      );
      indexRow.run(seq, null, segmentForIndex(row.content), charsForIndex(row.content));
    }
  };
  const writeConversation = (id: string, title: string, rows: Row[], createdAt: number, pinned: boolean): number => {
    const last = rows[rows.length - 1] as Row;
    const seq = Number(insertConversation.run(id, title, createdAt, last.time, pinned ? 1 : 0, SAMPLING, last.id).lastInsertRowid);
    indexRow.run(TITLE_ROWID_BASE + seq, segmentForIndex(title), null, charsForIndex(title));
    return seq;
  };

  // Sizes of the ordinary conversations: equal shares, then pairs trade messages for variety.
  const ordinary = options.conversations - 1;
  const share = options.messages - options.chainLength;
  const sizes = Array.from({ length: ordinary }, (_, i) => Math.floor(share / ordinary) + (i < share % ordinary ? 1 : 0));
  for (let i = 0; i + 1 < ordinary; i += 2) {
    const move = Math.floor(corpus.rand() * Math.min(sizes[i] as number, sizes[i + 1] as number) * 0.9);
    sizes[i] = (sizes[i] as number) - move;
    sizes[i + 1] = (sizes[i + 1] as number) + move;
  }

  // The long conversation: one branch, written in slices between the others.
  const chainId = randomUUID();
  const chain: Row[] = [];
  {
    let time = START;
    for (let i = 0; i < options.chainLength; i += 1) {
      time += SPAN / options.chainLength;
      chain.push({
        id: randomUUID(),
        parentId: chain[i - 1]?.id ?? null,
        selectedChildId: null,
        role: i % 2 === 0 ? 'user' : 'assistant',
        content: i % 2 === 0 ? corpus.userText() : corpus.assistantText(),
        time: Math.round(time),
        seed: null,
      });
      const previous = chain[i - 1];
      if (previous !== undefined) previous.selectedChildId = (chain[i] as Row).id;
    }
  }
  const slices = Math.ceil(ordinary / 100);
  const sliceLength = Math.ceil(options.chainLength / slices);

  let written = 0;
  let chainSeq = 0;
  const batch = db.transaction((from: number, to: number, slice: number) => {
    if (slice === 0) chainSeq = writeConversation(chainId, 'The very long conversation', chain, START, true);
    for (let i = from; i < to; i += 1) {
      const id = randomUUID();
      const createdAt = START + Math.floor((i / ordinary) * SPAN);
      const rows = buildConversation(corpus, sizes[i] as number, createdAt);
      writeMessages(id, writeConversation(id, corpus.title(), rows, createdAt, corpus.rand() < 0.01), rows);
      written += rows.length;
    }
    const chainSlice = chain.slice(slice * sliceLength, (slice + 1) * sliceLength);
    writeMessages(chainId, chainSeq, chainSlice);
    written += chainSlice.length;
  });
  for (let slice = 0, from = 0; from < ordinary; slice += 1, from += 100) {
    batch(from, Math.min(ordinary, from + 100), slice);
    if (slice % 10 === 9) options.log(`seeded ${written.toLocaleString('en')} messages, ${((performance.now() - started) / 1000).toFixed(0)} s`);
  }
  const counts = db.prepare('SELECT (SELECT count(*) FROM conversations) AS conversations, (SELECT count(*) FROM messages) AS messages').get() as {
    conversations: number;
    messages: number;
  };
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  return { chainConversationId: chainId, ...counts, seconds: (performance.now() - started) / 1000, corpus };
}
