// The calls of this window over the transport: which of them are in flight and change a
// conversation (so this window's own change events need no reload), and `guard`, which turns a
// failure into a notice.
import type { CallInput, CallName, CallOutput } from '@shared/contract.ts';
import { describeError } from '../errors.ts';
import { ApiError, type Transport } from '../transport.ts';
import type { Notices } from './notices.svelte.ts';

/** Calls that change a conversation (the main side then tells every window). */
const CHANGING_CALLS: ReadonlySet<CallName> = new Set<CallName>([
  'conversations.create',
  'conversations.rename',
  'conversations.pin',
  'conversations.updateSettings',
  'conversations.delete',
  'conversations.restore',
  'conversations.importJson',
  'messages.select',
  'chat.send',
  'chat.regenerate',
  'chat.branch',
  'chat.continue',
  'chat.editAndResend',
]);

/** What a failure met by `guard` asks of the rest of the app. */
export interface FailureHooks {
  /** The database is damaged: the recovery screen takes over (no notice). */
  storageCorrupt: () => void;
  /** Another window changed what this one shows: show the latest (and say so). */
  staleView: () => void;
}

export class Calls {
  /** Calls of this window that change a conversation, in flight. */
  private changing = 0;

  constructor(
    private readonly transport: Transport,
    private readonly notices: Notices,
    private readonly hooks: FailureHooks,
  ) {}

  /** True while a call of this window that changes a conversation has not answered yet. */
  get ownChangeInFlight(): boolean {
    return this.changing > 0;
  }

  call<N extends CallName>(name: N, input: CallInput<N>): Promise<CallOutput<N>> {
    if (!CHANGING_CALLS.has(name)) return this.transport.call(name, input);
    // This window's own change: the conversations.changed it causes arrives before the answer
    // (same socket, in order) and needs no reload here.
    this.changing += 1;
    return this.transport.call(name, input).finally(() => {
      this.changing -= 1;
    });
  }

  /** Runs an action, turning a failure into an error notice; resolves false when it failed. */
  async guard(action: () => Promise<unknown>): Promise<boolean> {
    try {
      await action();
      return true;
    } catch (error) {
      this.fail(error);
      return false;
    }
  }

  /** What a failed action shows: the recovery screen for damage, else a notice (and the latest view if stale). */
  private fail(error: unknown): void {
    if (error instanceof ApiError && error.code === 'storage_corrupt') {
      this.hooks.storageCorrupt();
      return;
    }
    if (error instanceof ApiError && error.code === 'stale_view') this.hooks.staleView();
    this.notices.toast(() => describeError(error), { kind: 'error' });
  }
}
