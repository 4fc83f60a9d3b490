// App settings in a small JSON file in the data folder: validated when read (a damaged file
// falls back to the defaults, and is kept aside), written atomically.
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync, copyFileSync } from 'node:fs';
import path from 'node:path';
import type { AppSettings } from '../shared/contract.ts';
import { settingsSchema } from '../shared/contract.ts';
import { DEFAULT_SAMPLING_PARAMS } from '../shared/model-host-protocol.ts';
import { DEFAULT_API_SERVER_SETTINGS } from '../shared/openai-api-types.ts';

export const DEFAULT_SETTINGS: AppSettings = {
  theme: 'system',
  language: null,
  candidates: 5,
  defaultSampling: (({ seed: _seed, ...rest }) => rest)(DEFAULT_SAMPLING_PARAMS),
  defaultSystemPrompt: 'You are a helpful assistant.',
  hubHost: null,
  firstRunDone: false,
  api: DEFAULT_API_SERVER_SETTINGS,
  defaultPresetId: null,
};

export class SettingsService {
  private current: AppSettings;
  private readonly file: string;

  constructor(dataDir: string) {
    this.file = path.join(dataDir, 'settings.json');
    this.current = this.read();
  }

  get(): AppSettings {
    return structuredClone(this.current);
  }

  update(patch: Partial<AppSettings>): AppSettings {
    const next = settingsSchema.parse({ ...this.current, ...patch });
    mkdirSync(path.dirname(this.file), { recursive: true });
    const temporary = `${this.file}.${randomUUID()}.tmp`;
    writeFileSync(temporary, `${JSON.stringify(next, null, 2)}\n`, { flush: true });
    renameSync(temporary, this.file);
    this.current = next;
    return this.get();
  }

  private read(): AppSettings {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch {
      return structuredClone(DEFAULT_SETTINGS);
    }
    try {
      return settingsSchema.parse({ ...DEFAULT_SETTINGS, ...(JSON.parse(text) as object) });
    } catch {
      // Keep what the user had, for a person to look at; start from the defaults.
      copyFileSync(this.file, `${this.file}.damaged-${Date.now()}`);
      return structuredClone(DEFAULT_SETTINGS);
    }
  }
}
