// Speed over a sliding window, and the time left at that speed.

export class RateMeter {
  private samples: { t: number; bytes: number }[] = [];

  constructor(
    private readonly windowMs = 5000,
    private readonly now: () => number = () => performance.now(),
  ) {}

  reset(): void {
    this.samples = [];
  }

  record(bytes: number): void {
    const t = this.now();
    const last = this.samples.at(-1);
    // A restart (bytes going down) starts a new window.
    if (last && bytes < last.bytes) this.samples = [];
    this.samples.push({ t, bytes });
    while (this.samples.length > 2 && t - this.samples[0]!.t > this.windowMs) this.samples.shift();
  }

  /** Bytes per second over the window; 0 until there are 100 ms of samples. */
  speed(): number {
    const first = this.samples[0];
    const last = this.samples.at(-1);
    if (!first || !last) return 0;
    const dt = last.t - first.t;
    if (dt < 100) return 0;
    // Stalled since the last sample: the speed decays towards 0.
    const sinceLast = this.now() - last.t;
    return ((last.bytes - first.bytes) / (dt + Math.max(0, sinceLast - 1000))) * 1000;
  }

  eta(remaining: number | null): number | null {
    if (remaining === null) return null;
    if (remaining <= 0) return 0;
    const speed = this.speed();
    return speed > 0 ? remaining / speed : null;
  }
}
