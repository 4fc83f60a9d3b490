// Keeping the full-text index in step with the tables (see migrations/0002-search.ts; its
// columns since migrations/0004-search-chars.ts: title, body, chars).
//
// Invariant, kept by every write path: the index holds the title of each conversation that
// is not in the trash and the text of each of its messages that is not `streaming`. Streaming
// text is indexed once, when the message is finished (or recovered after a crash), so a long
// answer is not re-tokenized on every batch. A contentless index cannot tell a duplicate
// rowid from a new one, so nothing is ever indexed twice: callers follow the invariant.
import { prepare, type WritableDB } from './database.ts';
import { charsForIndex, segmentForIndex } from './search-tokens.ts';

/** Title rows live above every message seq, so one table ranks titles and messages together. */
export const TITLE_ROWID_BASE = 2 ** 52;

export function indexTitle(db: WritableDB, conversationSeq: number, title: string): void {
  prepare(db, 'INSERT INTO search_index(rowid, title, body, chars) VALUES (?, ?, NULL, ?)').run(TITLE_ROWID_BASE + conversationSeq, segmentForIndex(title), charsForIndex(title));
}

export function unindexTitle(db: WritableDB, conversationSeq: number): void {
  prepare(db, 'DELETE FROM search_index WHERE rowid = ?').run(TITLE_ROWID_BASE + conversationSeq);
}

export function indexMessageText(db: WritableDB, messageSeq: number, content: string): void {
  prepare(db, 'INSERT INTO search_index(rowid, title, body, chars) VALUES (?, NULL, ?, ?)').run(messageSeq, segmentForIndex(content), charsForIndex(content));
}

export function unindexMessageText(db: WritableDB, messageSeq: number): void {
  prepare(db, 'DELETE FROM search_index WHERE rowid = ?').run(messageSeq);
}

interface IndexedRow {
  seq: number;
  content: string;
}

/** Adds a conversation's title and finished messages (after restore from the trash, or import). */
export function indexConversation(db: WritableDB, conversationId: string): void {
  const conversation = prepare<[string], { seq: number; title: string }>(db, 'SELECT seq, title FROM conversations WHERE id = ?').get(conversationId);
  if (conversation === undefined) return;
  indexTitle(db, conversation.seq, conversation.title);
  const rows = prepare<[string], IndexedRow>(db, "SELECT seq, content FROM messages WHERE conversation_id = ? AND status <> 'streaming'").all(conversationId);
  for (const row of rows) indexMessageText(db, row.seq, row.content);
}

/** Removes a conversation's title and messages from the index (when it goes to the trash). */
export function unindexConversation(db: WritableDB, conversationId: string): void {
  const conversation = prepare<[string], { seq: number }>(db, 'SELECT seq FROM conversations WHERE id = ?').get(conversationId);
  if (conversation === undefined) return;
  unindexTitle(db, conversation.seq);
  const rows = prepare<[string], { seq: number }>(db, "SELECT seq FROM messages WHERE conversation_id = ? AND status <> 'streaming'").all(conversationId);
  for (const row of rows) unindexMessageText(db, row.seq);
}

/** Drops every row of the index and indexes all live titles and finished messages again. */
export function rebuildSearchIndex(db: WritableDB): void {
  db.prepare("INSERT INTO search_index(search_index) VALUES ('delete-all')").run();
  // better-sqlite3 cannot write while a SELECT is being iterated on the same connection: pages.
  const titles = db.prepare('SELECT seq, title FROM conversations WHERE deleted_at IS NULL AND seq > ? ORDER BY seq LIMIT 1000');
  for (let after = -1; ; ) {
    const rows = titles.all(after) as Array<{ seq: number; title: string }>;
    if (rows.length === 0) break;
    for (const row of rows) indexTitle(db, row.seq, row.title);
    after = (rows[rows.length - 1] as { seq: number }).seq;
  }
  const bodies = db.prepare(
    `SELECT m.seq, m.content FROM messages m JOIN conversations c ON c.id = m.conversation_id
     WHERE c.deleted_at IS NULL AND m.status <> 'streaming' AND m.seq > ? ORDER BY m.seq LIMIT 1000`,
  );
  for (let after = -1; ; ) {
    const rows = bodies.all(after) as Array<{ seq: number; content: string }>;
    if (rows.length === 0) break;
    for (const row of rows) indexMessageText(db, row.seq, row.content);
    after = (rows[rows.length - 1] as { seq: number }).seq;
  }
}
