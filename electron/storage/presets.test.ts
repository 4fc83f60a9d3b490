import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openTemp, tempDir, track } from '../test-support/storage/temp-storage.ts';
import { StorageError } from './errors.ts';
import { salvageInto } from './salvage.ts';
import { Storage } from './storage.ts';

describe('presets', () => {
  it('are created, listed oldest first, renamed, and refuse an empty name', () => {
    const storage = openTemp();
    const terse = storage.createPreset({ name: 'Terse', systemPrompt: 'Answer in one line.', sampling: { temperature: 0.2, maxNewTokens: 64 } });
    const wild = storage.createPreset({ name: 'Wild', systemPrompt: null, sampling: { temperature: 1.4 } });
    expect(storage.listPresets().map((p) => p.name)).toEqual(['Terse', 'Wild']);
    expect(storage.getPreset(terse.id)).toMatchObject({ systemPrompt: 'Answer in one line.', sampling: { temperature: 0.2, maxNewTokens: 64 } });
    expect(storage.renamePreset(wild.id, '  Very   wild ').name).toBe('Very wild');
    expect(() => storage.renamePreset(wild.id, '   ')).toThrow(StorageError);
    expect(() => storage.renamePreset('no-such-preset', 'x')).toThrow(/No preset/);
  });

  it('a conversation follows a preset; deleting the preset leaves the conversation its values, its own still winning', () => {
    const storage = openTemp();
    const preset = storage.createPreset({ name: 'Terse', systemPrompt: 'Answer in one line.', sampling: { temperature: 0.2, topK: 5, maxNewTokens: 64 } });
    const follower = storage.createConversation({ title: 'Uses it', presetId: preset.id, sampling: { topK: 9 } });
    const ownPrompt = storage.createConversation({ title: 'Own prompt', presetId: preset.id, systemPrompt: 'Mine.' });
    const other = storage.createConversation({ title: 'Other', sampling: { temperature: 1 } });
    expect(follower.presetId).toBe(preset.id);

    expect(storage.deletePreset(preset.id)).toEqual({ conversationsKept: 2, conversationIds: [follower.id, ownPrompt.id] });
    expect(storage.listPresets()).toEqual([]);
    expect(storage.getConversation(follower.id)).toMatchObject({ presetId: null, systemPrompt: 'Answer in one line.', sampling: { temperature: 0.2, topK: 9, maxNewTokens: 64 } });
    expect(storage.getConversation(ownPrompt.id)).toMatchObject({ presetId: null, systemPrompt: 'Mine.', sampling: { temperature: 0.2, topK: 5, maxNewTokens: 64 } });
    expect(storage.getConversation(other.id)).toMatchObject({ presetId: null, systemPrompt: null, sampling: { temperature: 1 } });
  });

  it('travel with the JSON export: a round trip brings back the presets and which conversation follows which', async () => {
    const source = openTemp();
    const preset = source.createPreset({ name: 'Terse', systemPrompt: 'Answer in one line.', sampling: { temperature: 0.2 } });
    const chat = source.createConversation({ title: 'Uses it', presetId: preset.id });
    source.createConversation({ title: 'Built in', presetId: 'builtin:creative' });
    const text = source.exportJsonText();

    const target = openTemp();
    await target.importJson(text);
    expect(target.listPresets()).toEqual(source.listPresets());
    expect(target.getConversation(chat.id).presetId).toBe(preset.id);
    expect(target.listConversations().items.map((c) => c.presetId).sort()).toEqual([preset.id, 'builtin:creative'].sort());

    // Into a database holding a different preset under the same id: a copy with a new id, followed by the import.
    const clash = openTemp();
    clash.createPreset({ id: preset.id, name: 'Something else', systemPrompt: null, sampling: {} });
    const result = await clash.importJson(text);
    const copy = clash.listPresets().find((p) => p.name === 'Terse');
    expect(copy?.id).toBeDefined();
    expect(copy?.id).not.toBe(preset.id);
    const imported = result.conversationIds.map((id) => clash.getConversation(id));
    expect(imported.find((c) => c.title === 'Uses it')?.presetId).toBe(copy?.id);
    // Importing the same file again reuses the identical preset instead of adding another.
    await target.importJson(text);
    expect(target.listPresets()).toHaveLength(1);
  });
});

describe('presets through a salvage', () => {
  it('come along with the conversations that follow them', () => {
    const source = openTemp();
    const preset = source.createPreset({ name: 'Terse', systemPrompt: 'Answer in one line.', sampling: { temperature: 0.2 } });
    const chat = source.createConversation({ title: 'Uses it', presetId: preset.id });
    source.createConversation({ title: 'Built in', presetId: 'builtin:precise' });
    const target = path.join(tempDir(), 'salvaged.sqlite');
    salvageInto(source.path, target);
    const salvaged = track(Storage.open(target));
    expect(salvaged.listPresets()).toEqual(source.listPresets());
    expect(salvaged.getConversation(chat.id).presetId).toBe(preset.id);
    expect(salvaged.listConversations().items.map((c) => c.presetId).sort()).toEqual([preset.id, 'builtin:precise'].sort());
  });
});
