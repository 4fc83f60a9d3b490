import { describe, expect, it } from 'vitest';
import { charsForIndex, findTerms, fold, foldWithMap, parseQuery, segmentForIndex } from './search-tokens.ts';

describe('segmentForIndex', () => {
  it('rewrites CJK runs as overlapping bigrams plus the last character and leaves other text alone', () => {
    expect(segmentForIndex('大模型GPT很好')).toBe(' 大模 模型 型 GPT 很好 好 ');
    expect(segmentForIndex('Hello, world')).toBe('Hello, world');
    expect(segmentForIndex('我')).toBe(' 我 ');
    expect(segmentForIndex('カタカナとひらがな')).toBe(' カタ タカ カナ ナと とひ ひら らが がな な ');
    expect(segmentForIndex('𠀀𠀁')).toBe(' 𠀀𠀁 𠀁 ');
  });

  it('lists each CJK character once for the chars column', () => {
    expect(charsForIndex('模型GPT大模型，好')).toBe('模 型 大 好');
    expect(charsForIndex('no CJK here')).toBe('');
    expect(charsForIndex('𠀀x𠀀')).toBe('𠀀');
  });
});

describe('parseQuery', () => {
  it('quotes every word, so FTS5 syntax in a query is plain text', () => {
    // Punctuation inside a word splits it into adjacent tokens, as the index splits text.
    expect(parseQuery('NEAR(a b) OR "x" *').match).toBe('"NEAR a" "b" "OR" "x"');
    expect(parseQuery('  ').match).toBeNull();
    expect(parseQuery('*** ---').match).toBeNull();
  });

  it('makes the last word a prefix when it is long enough and the query is still open', () => {
    expect(parseQuery('large lang').match).toBe('"large" "lang"*');
    expect(parseQuery('large lang ').match).toBe('"large" "lang"');
    expect(parseQuery('go').match).toBe('"go"');
  });

  it('turns CJK runs into phrases of bigrams; one character becomes a prefix', () => {
    expect(parseQuery('模型').match).toBe('"模型"');
    expect(parseQuery('语言模型').match).toBe('"语言 言模 模型"');
    expect(parseQuery('型').match).toBe('chars : "型"');
    expect(parseQuery('GPT型').match).toBe('"GPT 型"*');
    expect(parseQuery('GPT模型').match).toBe('"GPT 模型"');
    expect(parseQuery('模型GPT').match).toBe('"模型 型 GPT"*');
    expect(parseQuery('型GPT').match).toBe('"型 GPT"*');
  });

  it('lists the terms to highlight, folded', () => {
    expect(parseQuery('Café 模型').terms).toEqual([
      { text: 'cafe', kind: 'word', prefix: false },
      { text: '模型', kind: 'cjk', prefix: false },
    ]);
  });
});

describe('folding and finding terms', () => {
  it('maps folded offsets back to the original text', () => {
    const { folded, map } = foldWithMap('ÉCOLE école');
    expect(folded).toBe('ecole ecole');
    expect(map).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(fold('Straße')).toBe('straße');
  });

  it('matches words at word starts, prefixes to the end of the word, CJK anywhere', () => {
    const text = fold('models model remodel 大模型');
    expect(findTerms(text, [{ text: 'model', kind: 'word', prefix: false }])).toEqual([[7, 12]]);
    expect(findTerms(text, [{ text: 'model', kind: 'word', prefix: true }])).toEqual([[0, 6], [7, 12]]);
    expect(findTerms(text, [{ text: '模型', kind: 'cjk', prefix: false }])).toEqual([[22, 24]]);
  });
});
