// Schema version 6: each answer's token record (token-record-codec.ts), one row per committed
// batch while the answer streams, merged into one row when it finishes. Keyed by the
// message's seq (its rowid), so the record goes with the message when it is deleted. Answers
// written before this version have no row: the view says they have no record.
import type { Migration } from './types.ts';

export const migration0006: Migration = {
  version: 6,
  name: 'token-records',
  up(db) {
    db.exec(`
      CREATE TABLE token_records (
        message_seq INTEGER NOT NULL REFERENCES messages(seq) ON DELETE CASCADE,
        part INTEGER NOT NULL,
        data BLOB NOT NULL,
        PRIMARY KEY (message_seq, part)
      ) STRICT;
    `);
  },
};
