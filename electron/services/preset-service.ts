// Presets for the calls and the chat service: the built-in ones (in code) and the user's (in
// storage) as one list, the default for new chats (in the settings), and what deleting one
// changes: its conversations keep its values, and it stops being the default.
import { BUILT_IN_PRESETS, isBuiltInPresetId, type Preset, type PresetSampling } from '../shared/presets.ts';
import type { EventBus } from './event-bus.ts';
import { StorageError, type Storage, type StoredPreset } from '../storage/index.ts';
import type { SettingsService } from './settings-service.ts';

function fromStorage(preset: StoredPreset): Preset {
  return { ...preset, sampling: preset.sampling as PresetSampling, builtIn: false };
}

function refuseBuiltIn(id: string, what: string): void {
  if (isBuiltInPresetId(id)) throw new StorageError('INVALID_INPUT', `Built-in presets cannot be ${what}: save it as a new preset to change it`);
}

export class PresetService {
  constructor(
    private readonly storage: Storage,
    private readonly settings: SettingsService,
    private readonly events?: EventBus,
  ) {}

  list(): Preset[] {
    return [...BUILT_IN_PRESETS, ...this.storage.listPresets().map(fromStorage)];
  }

  /** The preset with this id, or null when there is none (deleted, or from another machine's export). */
  find(id: string): Preset | null {
    const builtIn = BUILT_IN_PRESETS.find((preset) => preset.id === id);
    if (builtIn) return builtIn;
    try {
      return fromStorage(this.storage.getPreset(id));
    } catch (error) {
      if (error instanceof StorageError && error.code === 'NOT_FOUND') return null;
      throw error;
    }
  }

  /** The preset a new chat follows when its creator names none: the default set in the settings. */
  forNewConversation<T extends { presetId?: string | null | undefined }>(input: T): T & { presetId: string | null } {
    return { ...input, presetId: input.presetId === undefined ? this.settings.get().defaultPresetId : input.presetId };
  }

  create(input: { name: string; systemPrompt: string | null; sampling: PresetSampling }): Preset {
    return this.changed(fromStorage(this.storage.createPreset(input)));
  }

  rename(id: string, name: string): Preset {
    refuseBuiltIn(id, 'renamed');
    return this.changed(fromStorage(this.storage.renamePreset(id, name)));
  }

  delete(id: string): { deleted: true; conversationsKept: number } {
    refuseBuiltIn(id, 'deleted');
    const { conversationsKept, conversationIds } = this.storage.deletePreset(id);
    if (this.settings.get().defaultPresetId === id) this.settings.update({ defaultPresetId: null });
    for (const conversationId of conversationIds) this.events?.emit('conversations.changed', { conversationId, reason: 'settings' });
    return this.changed({ deleted: true, conversationsKept });
  }

  /** Tells every window the list changed, and passes the result on. */
  private changed<T>(result: T): T {
    this.events?.emit('presets.changed', {});
    return result;
  }
}
