// A damaged conversation database: what the recovery screen shows and the choices it offers.
import type { CallOutput } from '@shared/contract.ts';
import { t } from '../i18n/index.svelte.ts';
import type { Calls } from './calls.ts';
import type { Notices } from './notices.svelte.ts';

export type Damage = Exclude<CallOutput<'recovery.status'>, { state: 'ok' }>;
export type RecoveryChoice = { kind: 'salvage' } | { kind: 'fresh' } | { kind: 'backup'; name: string };

export class RecoveryStore {
  /** The damage found; null while the database is sound (the recovery screen replaces the app otherwise). */
  damage = $state.raw<Damage | null>(null);
  recovering = $state(false);

  constructor(
    private readonly calls: Calls,
    private readonly notices: Notices,
    /** Reloads everything the app shows, once the database is usable again. */
    private readonly reload: () => Promise<void>,
  ) {}

  /** Asks whether the database is damaged; true when it is. */
  async check(): Promise<boolean> {
    try {
      const status = await this.calls.call('recovery.status', {});
      this.damage = status.state === 'ok' ? null : status;
    } catch {
      this.damage = null;
    }
    return this.damage !== null;
  }

  /** One of the recovery screen's choices; then the app as usual. */
  async recover(choice: RecoveryChoice): Promise<void> {
    if (this.recovering) return;
    this.recovering = true;
    try {
      const ok = await this.calls.guard(async () => {
        if (choice.kind === 'salvage') {
          const report = await this.calls.call('recovery.salvage', {});
          const values = {
            conversations: report.conversations.saved,
            messages: report.messages.saved,
            lostConversations: report.conversations.lost,
            lostMessages: report.messages.lost,
          };
          this.notices.toast(() => t(report.lostIsEstimate ? 'recovery.salvagedEstimate' : 'recovery.salvaged', values), { timeoutMs: 20_000 });
        } else if (choice.kind === 'fresh') {
          await this.calls.call('recovery.startFresh', {});
          this.notices.toast(() => t('recovery.startedFresh'));
        } else {
          await this.calls.call('recovery.restoreBackup', { name: choice.name });
          this.notices.toast(() => t('recovery.restored'));
        }
      });
      if (ok) {
        this.damage = null;
        await this.reload();
      }
    } finally {
      this.recovering = false;
    }
  }
}
