// Presets: the built-in ones and the user's, and what can be done with them (create from the
// chat's settings, rename, delete). The default for new chats is a setting (settings store).
import { isBuiltInPresetId, type Preset, type PresetSampling } from '@shared/presets.ts';
import { t } from '../i18n/index.svelte.ts';
import type { Calls } from './calls.ts';
import type { Notices } from './notices.svelte.ts';

export class PresetsStore {
  items = $state.raw<Preset[]>([]);

  constructor(
    private readonly calls: Calls,
    private readonly notices: Notices,
    /** A deletion changed conversations and maybe the default: the others reload what they show. */
    private readonly afterDelete: () => void,
  ) {}

  find(id: string | null | undefined): Preset | null {
    return id ? (this.items.find((preset) => preset.id === id) ?? null) : null;
  }

  /** The name a person reads: a built-in preset's in the UI language. */
  nameOf(preset: Preset): string {
    return isBuiltInPresetId(preset.id) ? t(`presets.builtin.${builtInKey(preset.id)}`) : preset.name;
  }

  async load(): Promise<void> {
    await this.calls.guard(async () => {
      this.items = await this.calls.call('presets.list', {});
    });
  }

  /** A new preset; resolves it, or null when it was refused (the notice says why). */
  async create(name: string, systemPrompt: string | null, sampling: PresetSampling): Promise<Preset | null> {
    let created: Preset | null = null;
    await this.calls.guard(async () => {
      created = await this.calls.call('presets.create', { name, systemPrompt, sampling });
      this.items = [...this.items, created];
      this.notices.toast(() => t('presets.created', { name }));
    });
    return created;
  }

  async rename(id: string, name: string): Promise<boolean> {
    return this.calls.guard(async () => {
      const renamed = await this.calls.call('presets.rename', { id, name });
      this.items = this.items.map((preset) => (preset.id === id ? renamed : preset));
    });
  }

  async remove(id: string): Promise<boolean> {
    const preset = this.find(id);
    return this.calls.guard(async () => {
      const { conversationsKept } = await this.calls.call('presets.delete', { id });
      this.items = this.items.filter((p) => p.id !== id);
      this.notices.toast(() => t('presets.deleted', { name: preset?.name ?? '', count: conversationsKept }));
      this.afterDelete();
    });
  }
}

/** 'builtin:precise' -> 'precise' (i18next reads ':' as a namespace separator). */
export function builtInKey(id: string): 'precise' | 'balanced' | 'creative' {
  return id.replace(/^builtin:/, '') as 'precise' | 'balanced' | 'creative';
}
