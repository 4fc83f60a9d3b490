// Schema version 5: presets (a named system prompt and sampling the user reuses across chats)
// and the preset a conversation follows. preset_id has no foreign key: it may name a built-in
// preset, which lives in code, not here; deleting a user's preset copies its values into the
// conversations that used it first (presets.ts), so none of them changes how it answers.
import type { Migration } from './types.ts';

export const migration0005: Migration = {
  version: 5,
  name: 'presets',
  up(db) {
    db.exec(`
      CREATE TABLE presets (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        system_prompt TEXT,
        sampling TEXT NOT NULL CHECK (json_valid(sampling)),
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      );
      ALTER TABLE conversations ADD COLUMN preset_id TEXT;
      CREATE INDEX conversations_preset ON conversations (preset_id) WHERE preset_id IS NOT NULL;
    `);
  },
};
