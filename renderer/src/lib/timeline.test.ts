import { describe, expect, it } from 'vitest';
import { timelineOf } from './timeline.ts';

describe('timelineOf', () => {
  it('folds tokens into bars of their mean time, skipping unknown times', () => {
    const timeline = timelineOf([10, 20, undefined, 40, 5], 2)!;
    expect(timeline.bars).toEqual([
      { from: 0, to: 2, ms: 15 },
      { from: 3, to: 4, ms: 22.5 },
    ]);
    expect(timeline.maxMs).toBe(22.5);
    expect(timeline.decodeMs).toBe(75);
    expect(timeline.timed).toBe(4);
  });

  it('has one bar a token when they fit, and nothing without times', () => {
    expect(timelineOf([1, 2, 3], 240)!.bars).toHaveLength(3);
    expect(timelineOf([undefined, undefined])).toBeNull();
  });
});
