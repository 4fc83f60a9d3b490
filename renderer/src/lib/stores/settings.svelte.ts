// The app's settings (stored on the main side) and the token view toggle (this browser's own).
import type { AppSettings } from '@shared/contract.ts';
import type { Calls } from './calls.ts';

const TOKEN_VIEW_KEY = 'jielong.tokenView';

export class SettingsStore {
  /** null until loaded. */
  current = $state.raw<AppSettings | null>(null);
  tokenView = $state(false);

  constructor(private readonly calls: Calls) {
    try {
      this.tokenView = localStorage.getItem(TOKEN_VIEW_KEY) === '1';
    } catch {
      this.tokenView = false;
    }
  }

  async load(): Promise<void> {
    await this.calls.guard(async () => {
      this.current = await this.calls.call('settings.get', {});
    });
  }

  async update(patch: Partial<AppSettings>): Promise<boolean> {
    return this.calls.guard(async () => {
      this.current = await this.calls.call('settings.update', patch);
    });
  }

  async finishFirstRun(): Promise<void> {
    await this.update({ firstRunDone: true });
  }

  setTokenView(on: boolean): void {
    this.tokenView = on;
    try {
      localStorage.setItem(TOKEN_VIEW_KEY, on ? '1' : '0');
    } catch {
      // private mode: the toggle just is not remembered
    }
  }
}
