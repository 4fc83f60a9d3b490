// Schema version 1: conversations and the message tree.
//
// Integer `seq` primary keys are the rowids (the full-text index refers to them); the public
// ids are UUID strings. Sampling parameters and stats are JSON text, checked by SQLite.
import type { Migration } from './types.ts';

export const migration0001: Migration = {
  version: 1,
  name: 'initial',
  up(db) {
    db.exec(`
      CREATE TABLE conversations (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        title TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        pinned INTEGER NOT NULL DEFAULT 0 CHECK (pinned IN (0, 1)),
        deleted_at INTEGER,
        model_id TEXT,
        system_prompt TEXT,
        sampling TEXT CHECK (sampling IS NULL OR json_valid(sampling)),
        -- The leaf of the branch on screen; kept by the code (a foreign key would cycle).
        selected_leaf_id TEXT
      ) STRICT;

      CREATE TABLE messages (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        parent_id TEXT REFERENCES messages(id) ON DELETE CASCADE,
        -- The child last on screen, so switching back to a sibling restores its branch.
        selected_child_id TEXT,
        role TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
        content TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('streaming', 'complete', 'interrupted', 'error')),
        error TEXT,
        model_id TEXT,
        sampling TEXT CHECK (sampling IS NULL OR json_valid(sampling)),
        seed INTEGER,
        stats TEXT CHECK (stats IS NULL OR json_valid(stats)),
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      ) STRICT;

      -- Siblings (children of one parent, roots when parent_id IS NULL), oldest first by seq.
      CREATE INDEX messages_by_conversation_parent ON messages(conversation_id, parent_id);
      -- ON DELETE CASCADE from a parent looks children up by parent_id alone.
      CREATE INDEX messages_by_parent ON messages(parent_id);
      CREATE INDEX messages_streaming ON messages(status) WHERE status = 'streaming';

      CREATE INDEX conversations_listing ON conversations(pinned DESC, updated_at DESC, seq DESC) WHERE deleted_at IS NULL;
      CREATE INDEX conversations_trash ON conversations(deleted_at DESC, seq DESC) WHERE deleted_at IS NOT NULL;

      -- A message's parent must belong to the same conversation.
      CREATE TRIGGER messages_parent_same_conversation
      BEFORE INSERT ON messages
      WHEN NEW.parent_id IS NOT NULL
        AND (SELECT conversation_id FROM messages WHERE id = NEW.parent_id) IS NOT NEW.conversation_id
      BEGIN
        SELECT RAISE(ABORT, 'a message parent must be in the same conversation');
      END;
    `);
  },
};
