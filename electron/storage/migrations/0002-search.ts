// Schema version 2: full-text search over titles and message text.
//
// One contentless FTS5 table (the text stays in conversations/messages; the index stores only
// tokens) with two columns, so titles and messages rank in one list:
//   - message rows use the message's seq as rowid, body column;
//   - title rows use TITLE_ROWID_BASE + the conversation's seq, title column.
// contentless_delete=1 lets rows be removed by rowid alone (soft delete, rename).
// Text is segmented by search-tokens.ts (CJK runs as bigrams) before it is inserted.
// Indexed: titles of conversations not in the trash, and their messages that are not streaming.
import { TITLE_ROWID_BASE } from '../search-index.ts';
import { segmentForIndex } from '../search-tokens.ts';
import type { Migration } from './types.ts';

export const migration0002: Migration = {
  version: 2,
  name: 'search',
  up(db) {
    db.exec(`
      CREATE VIRTUAL TABLE search_index USING fts5(
        title, body,
        content = '',
        contentless_delete = 1,
        tokenize = 'unicode61 remove_diacritics 2'
      );
    `);
    const insertTitle = db.prepare('INSERT INTO search_index(rowid, title, body) VALUES (?, ?, NULL)');
    const insertBody = db.prepare('INSERT INTO search_index(rowid, title, body) VALUES (?, NULL, ?)');
    // better-sqlite3 cannot write while a SELECT is being iterated on the same connection,
    // so existing rows are read in pages.
    const titles = db.prepare('SELECT seq, title FROM conversations WHERE deleted_at IS NULL AND seq > ? ORDER BY seq LIMIT 1000');
    for (let after = 0; ; ) {
      const rows = titles.all(after) as Array<{ seq: number; title: string }>;
      if (rows.length === 0) break;
      for (const row of rows) insertTitle.run(TITLE_ROWID_BASE + row.seq, segmentForIndex(row.title));
      after = (rows[rows.length - 1] as { seq: number }).seq;
    }
    const bodies = db.prepare(
      `SELECT m.seq, m.content FROM messages m JOIN conversations c ON c.id = m.conversation_id
       WHERE c.deleted_at IS NULL AND m.status <> 'streaming' AND m.seq > ? ORDER BY m.seq LIMIT 1000`,
    );
    for (let after = 0; ; ) {
      const rows = bodies.all(after) as Array<{ seq: number; content: string }>;
      if (rows.length === 0) break;
      for (const row of rows) insertBody.run(row.seq, segmentForIndex(row.content));
      after = (rows[rows.length - 1] as { seq: number }).seq;
    }
  },
};
