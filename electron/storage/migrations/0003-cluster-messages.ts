// Schema version 3: messages clustered by conversation.
//
// From this version a message's seq is its conversation's seq * 2^24 + its position in the
// conversation (message-seq.ts), so a conversation's rows sit together in the table and a
// 10,000-message conversation loads from contiguous pages. Rows written by versions 1-2 are
// renumbered (order kept), and the full-text index, which refers to message seqs, is rebuilt.
// No column changes: ids, parents and selections refer to ids, not seqs.
import { MESSAGES_PER_CONVERSATION } from '../message-seq.ts';
import { TITLE_ROWID_BASE } from '../search-index.ts';
import { segmentForIndex } from '../search-tokens.ts';
import type { Migration } from './types.ts';

export const migration0003: Migration = {
  version: 3,
  name: 'cluster-messages',
  up(db) {
    db.exec(`
      CREATE TEMP TABLE renumber (old INTEGER PRIMARY KEY, new INTEGER NOT NULL);
      INSERT INTO renumber (old, new)
        SELECT m.seq, c.seq * ${MESSAGES_PER_CONVERSATION} + row_number() OVER (PARTITION BY m.conversation_id ORDER BY m.seq) - 1
        FROM messages m JOIN conversations c ON c.id = m.conversation_id;
      -- Two steps, so no new seq ever meets an old one.
      UPDATE messages SET seq = -seq;
      UPDATE messages SET seq = renumber.new FROM renumber WHERE renumber.old = -messages.seq;
      DROP TABLE renumber;
      INSERT INTO search_index(search_index) VALUES ('delete-all');
    `);
    const insertTitle = db.prepare('INSERT INTO search_index(rowid, title, body) VALUES (?, ?, NULL)');
    const insertBody = db.prepare('INSERT INTO search_index(rowid, title, body) VALUES (?, NULL, ?)');
    // better-sqlite3 cannot write while a SELECT is being iterated on the same connection: pages.
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
    for (let after = -1; ; ) {
      const rows = bodies.all(after) as Array<{ seq: number; content: string }>;
      if (rows.length === 0) break;
      for (const row of rows) insertBody.run(row.seq, segmentForIndex(row.content));
      after = (rows[rows.length - 1] as { seq: number }).seq;
    }
  },
};
