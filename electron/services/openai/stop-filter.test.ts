import { describe, expect, it } from 'vitest';
import { StopFilter } from './stop-filter.ts';

/** Feeds `pieces` as tokens; returns every released chunk and the items released with it. */
function run(stops: string[], pieces: string[]): { chunks: string[]; items: number[][]; stopped: boolean } {
  const filter = new StopFilter<number>(stops);
  const chunks: string[] = [];
  const items: number[][] = [];
  pieces.forEach((piece, i) => {
    const out = filter.push(piece, i);
    chunks.push(out.text);
    items.push(out.items);
  });
  const end = filter.flush();
  chunks.push(end.text);
  items.push(end.items);
  return { chunks, items, stopped: filter.stopped };
}

describe('stop strings over streamed tokens', () => {
  it('holds back text that may begin a stop string and never sends a part of it', () => {
    const { chunks, stopped } = run(['END'], ['Hello ', 'E', 'N', 'D', ' more']);
    expect(chunks).toEqual(['Hello ', '', '', '', '', '']);
    expect(stopped).toBe(true);
  });

  it('releases held text once it turns out not to be a stop string', () => {
    const { chunks, stopped } = run(['END'], ['a E', 'Nx', 'y']);
    expect(chunks).toEqual(['a ', 'ENx', 'y', '']);
    expect(stopped).toBe(false);
  });

  it('releases what was held at the end of the answer', () => {
    expect(run(['END'], ['abc E', 'N']).chunks.join('')).toBe('abc EN');
    expect(run(['END'], ['abc E', 'N']).chunks.at(-1)).toBe('EN');
  });

  it('cuts at the earliest of several stop strings, inside one token', () => {
    const { chunks, stopped } = run(['zz', '\n\n', 'b'], ['xa\n', '\nab']);
    expect(chunks.join('')).toBe('xa');
    expect(stopped).toBe(true);
  });

  it('releases each token item with the text it ends in and drops those after the stop', () => {
    const { items } = run(['##'], ['one', ' #', 'x', ' t', '#', '#', 'after']);
    // ' #' is held until 'x' shows it is not a stop; '#' then '#' make the stop: both dropped.
    expect(items).toEqual([[0], [], [1, 2], [3], [], [], [], []]);
  });

  it('without stop strings passes everything through at once', () => {
    const { chunks, items } = run([], ['a', 'b']);
    expect(chunks).toEqual(['a', 'b', '']);
    expect(items).toEqual([[0], [1], []]);
  });
});
