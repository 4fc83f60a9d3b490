import { describe, expect, it } from 'vitest';
import { tokenViewText } from './token-text.ts';

describe('tokenViewText', () => {
  it('keeps what draws (letters, spaces, tabs, line breaks, CJK, replacement characters) as written', () => {
    for (const text of ['hello', ' the', '    ', '\t', '\n  ', '接龙', '\ufffd', 'a\u0301']) expect(tokenViewText(text)).toBe(text);
  });

  it('shows characters that draw nothing as control pictures, so no token is an empty span', () => {
    expect(tokenViewText('\r    ')).toBe('\u240d    ');
    expect(tokenViewText('\u0017')).toBe('\u2417');
    expect(tokenViewText('\u0000\u007f')).toBe('\u2400\u2421');
    expect(tokenViewText('a\u200bb\ufeff')).toBe('a\u25ccb\u25cc');
    expect(tokenViewText('\u0085')).toBe('\u25cc');
  });
});
