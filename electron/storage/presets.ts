// The user's presets: a named system prompt and sampling. Built-in presets live in code
// (electron/shared/presets.ts); a conversation's preset_id may name either kind. Deleting a
// preset first copies its values under the own settings of every conversation that follows
// it, so those chats answer as before.
import { randomUUID } from 'node:crypto';
import { inTransaction, prepare, type ReadableDB, type WritableDB } from './database.ts';
import { notFound } from './errors.ts';
import { check, checkNullable, idRule, parseJsonColumn, samplingRule, systemPromptRule, titleRule } from './schemas.ts';
import type { SamplingParams } from './types.ts';

export interface StoredPreset {
  id: string;
  name: string;
  systemPrompt: string | null;
  sampling: SamplingParams;
  createdAt: number;
  updatedAt: number;
}

interface PresetRow {
  id: string;
  name: string;
  system_prompt: string | null;
  sampling: string;
  created_at: number;
  updated_at: number;
}

function toPreset(row: PresetRow): StoredPreset {
  return {
    id: row.id,
    name: row.name,
    systemPrompt: row.system_prompt,
    sampling: parseJsonColumn<SamplingParams>(row.sampling) ?? {},
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function presetRow(db: ReadableDB, id: string): PresetRow | undefined {
  return prepare<[string], PresetRow>(db, 'SELECT * FROM presets WHERE id = ?').get(check(idRule, id, 'preset id'));
}

export function listPresets(db: ReadableDB): StoredPreset[] {
  return prepare<[], PresetRow>(db, 'SELECT * FROM presets ORDER BY seq').all().map(toPreset);
}

export function getPreset(db: ReadableDB, id: string): StoredPreset {
  const row = presetRow(db, id);
  if (row === undefined) throw notFound('preset', id);
  return toPreset(row);
}

export interface NewPreset {
  /** Given by an import; a new one otherwise. */
  id?: string;
  name: string;
  systemPrompt: string | null;
  sampling: SamplingParams;
}

export function createPreset(db: WritableDB, now: number, input: NewPreset): StoredPreset {
  const id = input.id === undefined ? randomUUID() : check(idRule, input.id, 'preset id');
  const name = check(titleRule, input.name, 'preset name');
  const systemPrompt = checkNullable(systemPromptRule, input.systemPrompt, 'system prompt') ?? null;
  const sampling = check(samplingRule, input.sampling, 'sampling parameters');
  prepare(db, 'INSERT INTO presets (id, name, system_prompt, sampling, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)').run(id, name, systemPrompt, JSON.stringify(sampling), now, now);
  return getPreset(db, id);
}

export function renamePreset(db: WritableDB, now: number, id: string, name: string): StoredPreset {
  const clean = check(titleRule, name, 'preset name');
  return inTransaction(db, () => {
    if (presetRow(db, id) === undefined) throw notFound('preset', id);
    prepare(db, 'UPDATE presets SET name = ?, updated_at = ? WHERE id = ?').run(clean, now, id);
    return getPreset(db, id);
  });
}

/**
 * Deletes a preset. Each conversation that followed it (in the trash too) gets its values
 * under the conversation's own: its own sampling fields win, its own system prompt wins.
 * Returns which conversations kept its values.
 */
export function deletePreset(db: WritableDB, now: number, id: string): { conversationsKept: number; conversationIds: string[] } {
  return inTransaction(db, () => {
    const preset = getPreset(db, id);
    const users = prepare<[string], { seq: number; id: string; system_prompt: string | null; sampling: string | null }>(db, 'SELECT seq, id, system_prompt, sampling FROM conversations WHERE preset_id = ?').all(id);
    const update = prepare(db, 'UPDATE conversations SET preset_id = NULL, system_prompt = ?, sampling = ?, updated_at = ? WHERE seq = ?');
    for (const row of users) {
      const sampling = { ...preset.sampling, ...(parseJsonColumn<SamplingParams>(row.sampling) ?? {}) };
      update.run(row.system_prompt ?? preset.systemPrompt, Object.keys(sampling).length > 0 ? JSON.stringify(sampling) : null, now, row.seq);
    }
    prepare(db, 'DELETE FROM presets WHERE id = ?').run(id);
    return { conversationsKept: users.length, conversationIds: users.map((row) => row.id) };
  });
}
