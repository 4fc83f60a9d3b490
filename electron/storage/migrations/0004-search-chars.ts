// Schema version 4: a `chars` column in the search index.
//
// A one-character CJK query (数) used to be the prefix query 数*, which FTS5 answers by
// merging the doclists of every bigram starting with 数: ~60 ms on a million messages. The
// new column holds each distinct CJK character of a row as its own token, so such a query
// reads one doclist. The index is contentless, so it is recreated and refilled from the tables.
import { rebuildSearchIndex } from '../search-index.ts';
import type { Migration } from './types.ts';

export const migration0004: Migration = {
  version: 4,
  name: 'search-chars',
  up(db) {
    db.exec(`
      DROP TABLE search_index;
      CREATE VIRTUAL TABLE search_index USING fts5(
        title, body, chars,
        content = '',
        contentless_delete = 1,
        tokenize = 'unicode61 remove_diacritics 2'
      );
    `);
    rebuildSearchIndex(db);
  },
};
