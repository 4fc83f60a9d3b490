// The arithmetic of a virtualized list with items of unknown, changing heights: measured
// heights by key (an estimate until measured), offsets as prefix sums recomputed lazily from
// the first change, and the window of items to render for a scroll position.

export class HeightIndex {
  private keys: string[] = [];
  private readonly measured = new Map<string, number>();
  private heights: number[] = [];
  private offsets: number[] = [0];
  /** offsets[0..validUpTo] are correct. */
  private validUpTo = 0;

  constructor(private readonly estimate: (index: number) => number) {}

  get count(): number {
    return this.keys.length;
  }

  /** The list's items, by key, in order; known heights follow their keys. */
  setKeys(keys: readonly string[]): void {
    let firstChange = 0;
    while (firstChange < keys.length && firstChange < this.keys.length && keys[firstChange] === this.keys[firstChange]) firstChange += 1;
    if (firstChange === keys.length && keys.length === this.keys.length) return;
    this.keys = [...keys];
    this.heights.length = keys.length;
    for (let i = firstChange; i < keys.length; i++) this.heights[i] = this.measured.get(keys[i]!) ?? this.estimate(i);
    this.offsets.length = keys.length + 1;
    this.validUpTo = Math.min(this.validUpTo, firstChange);
    // Forget the heights of keys that are gone, so the map does not grow forever.
    if (this.measured.size > keys.length * 2 + 100) {
      const live = new Set(keys);
      for (const key of this.measured.keys()) if (!live.has(key)) this.measured.delete(key);
    }
  }

  keyAt(index: number): string | undefined {
    return this.keys[index];
  }

  indexOfKey(key: string, hint = -1): number {
    if (hint >= 0 && this.keys[hint] === key) return hint;
    return this.keys.indexOf(key);
  }

  heightAt(index: number): number {
    return this.heights[index] ?? 0;
  }

  /** Records a measured height; returns the change (0 when the same). */
  setHeight(index: number, height: number): number {
    const key = this.keys[index];
    if (key === undefined) return 0;
    this.measured.set(key, height);
    const before = this.heights[index] ?? 0;
    if (before === height) return 0;
    this.heights[index] = height;
    this.validUpTo = Math.min(this.validUpTo, index);
    return height - before;
  }

  isMeasured(index: number): boolean {
    const key = this.keys[index];
    return key !== undefined && this.measured.has(key);
  }

  /** The top of item `index` (index === count gives the total height). */
  offsetOf(index: number): number {
    const target = Math.max(0, Math.min(index, this.keys.length));
    if (target > this.validUpTo) {
      for (let i = this.validUpTo; i < target; i++) this.offsets[i + 1] = (this.offsets[i] ?? 0) + (this.heights[i] ?? 0);
      this.validUpTo = target;
    }
    return this.offsets[target] ?? 0;
  }

  total(): number {
    return this.offsetOf(this.keys.length);
  }

  /** The item at height `y` (clamped to the list). */
  indexAt(y: number): number {
    const count = this.keys.length;
    if (count === 0) return 0;
    this.offsetOf(count);
    let low = 0;
    let high = count - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if ((this.offsets[mid] ?? 0) <= y) low = mid;
      else high = mid - 1;
    }
    return low;
  }

  /** [start, end) of the items to render for a viewport, with `overscan` pixels either side. */
  range(scrollTop: number, viewportHeight: number, overscan: number): { start: number; end: number } {
    const count = this.keys.length;
    if (count === 0) return { start: 0, end: 0 };
    const start = this.indexAt(Math.max(0, scrollTop - overscan));
    const end = Math.min(count, this.indexAt(scrollTop + viewportHeight + overscan) + 1);
    return { start, end: Math.max(end, start + 1) };
  }
}
