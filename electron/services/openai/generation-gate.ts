// One generation at a time, shared with the app's own chat: an API request waits for its
// turn (behind the chat's answer and earlier API requests), up to a bound of waiting
// requests; past it the request is refused with 429 and Retry-After.
import { OpenAiError } from './errors.ts';

export interface ChatActivity {
  /** The app's chat is writing (or starting) an answer. */
  busy(): boolean;
  /** Settles when the chat's current answer has ended. */
  idle(): Promise<void>;
}

interface Waiter {
  resolve(release: () => void): void;
  reject(error: Error): void;
}

export const DEFAULT_MAX_QUEUE = 4;
/** Seconds a refused client is told to wait. */
export const RETRY_AFTER_SECONDS = 2;

export class GenerationGate {
  private holding = false;
  private readonly waiting: Waiter[] = [];
  private pumping = false;

  constructor(
    private readonly chat: ChatActivity,
    private readonly maxQueue = DEFAULT_MAX_QUEUE,
  ) {}

  /** An API request holds the model (generating, or switching models for its turn). */
  get busy(): boolean {
    return this.holding;
  }

  get queued(): number {
    return this.waiting.length;
  }

  /** Resolves with a release function once it is this request's turn; `signal` withdraws it from the queue. */
  acquire(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(new Error('aborted'));
    if (this.waiting.length >= this.maxQueue) {
      return Promise.reject(
        new OpenAiError(429, `The model is busy and ${this.waiting.length} requests are already waiting: retry in ${RETRY_AFTER_SECONDS} s`, 'rate_limit_error', null, 'rate_limit_exceeded', {
          'Retry-After': String(RETRY_AFTER_SECONDS),
        }),
      );
    }
    return new Promise<() => void>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject };
      this.waiting.push(waiter);
      signal?.addEventListener(
        'abort',
        () => {
          const at = this.waiting.indexOf(waiter);
          if (at >= 0) {
            this.waiting.splice(at, 1);
            reject(new Error('aborted'));
          }
        },
        { once: true },
      );
      void this.pump();
    });
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (!this.holding && this.waiting.length > 0) {
        if (this.chat.busy()) {
          await this.chat.idle();
          // An answer that is still starting has no promise to wait on yet.
          if (this.chat.busy()) await new Promise((resolve) => setTimeout(resolve, 20));
          continue;
        }
        const next = this.waiting.shift()!;
        this.holding = true;
        let released = false;
        next.resolve(() => {
          if (released) return;
          released = true;
          this.holding = false;
          void this.pump();
        });
      }
    } finally {
      this.pumping = false;
    }
  }
}
