import { describe, expect, it } from 'vitest';
import { HeightIndex } from './virtual.ts';

const keys = (n: number, prefix = 'k'): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

describe('HeightIndex', () => {
  it('uses the estimate until a height is measured, and sums offsets', () => {
    const index = new HeightIndex(() => 100);
    index.setKeys(keys(5));
    expect(index.total()).toBe(500);
    expect(index.setHeight(1, 40)).toBe(-60);
    expect(index.offsetOf(2)).toBe(140);
    expect(index.total()).toBe(440);
    expect(index.setHeight(1, 40)).toBe(0);
  });

  it('finds the item at a height and the range to render', () => {
    const index = new HeightIndex(() => 10);
    index.setKeys(keys(1000));
    expect(index.indexAt(0)).toBe(0);
    expect(index.indexAt(95)).toBe(9);
    expect(index.indexAt(1e9)).toBe(999);
    expect(index.range(500, 100, 50)).toEqual({ start: 45, end: 66 });
  });

  it('keeps measured heights by key when items are added, removed or replaced', () => {
    const index = new HeightIndex(() => 100);
    index.setKeys(['a', 'b', 'c']);
    index.setHeight(0, 10);
    index.setHeight(2, 30);
    index.setKeys(['a', 'c', 'd']);
    expect(index.heightAt(0)).toBe(10);
    expect(index.heightAt(1)).toBe(30);
    expect(index.heightAt(2)).toBe(100);
    expect(index.total()).toBe(140);
    expect(index.isMeasured(1)).toBe(true);
    expect(index.isMeasured(2)).toBe(false);
    expect(index.indexOfKey('d')).toBe(2);
  });

  it('handles ten thousand items quickly', () => {
    const index = new HeightIndex(() => 120);
    index.setKeys(keys(10_000));
    const started = performance.now();
    for (let i = 0; i < 2000; i++) {
      index.setHeight(i * 5, 80 + (i % 7));
      index.range(i * 500, 800, 400);
    }
    expect(performance.now() - started).toBeLessThan(2000);
    expect(index.total()).toBeGreaterThan(10_000 * 80);
  });

  it('is empty-safe', () => {
    const index = new HeightIndex(() => 50);
    index.setKeys([]);
    expect(index.range(0, 100, 10)).toEqual({ start: 0, end: 0 });
    expect(index.total()).toBe(0);
  });
});
