import { describe, expect, it } from 'vitest';
import { IncrementalDetokenizer } from './incremental-detokenizer.ts';

// A byte-level vocabulary: token id = one byte, as the worst case of a byte-level BPE.
const decodeBytes = (ids: number[]): string => new TextDecoder().decode(Uint8Array.from(ids));
// A SentencePiece-like decoder that drops the leading space of the text it is given.
const decodeStripping = (ids: number[]): string => decodeBytes(ids).replace(/^ /, '');

function stream(text: string, decode = decodeBytes): string[] {
  const detokenizer = new IncrementalDetokenizer(decode);
  const pieces = Array.from(new TextEncoder().encode(text), (byte) => detokenizer.push(byte));
  pieces.push(detokenizer.flush());
  return pieces;
}

describe('IncrementalDetokenizer', () => {
  it.each([['你好，世界！模型'], ['emoji 👩‍💻 and 🐉 dragons'], ['combining é and ñ'], ['plain ascii']])('every piece of %s is whole text', (text) => {
    const pieces = stream(text);
    for (const piece of pieces) expect(piece).not.toContain('\uFFFD');
    expect(pieces.join('')).toBe(text);
  });

  it('holds back a partial character and releases it when complete', () => {
    const detokenizer = new IncrementalDetokenizer(decodeBytes);
    const bytes = new TextEncoder().encode('龙');
    expect(detokenizer.push(bytes[0]!)).toBe('');
    expect(detokenizer.push(bytes[1]!)).toBe('');
    expect(detokenizer.push(bytes[2]!)).toBe('龙');
  });

  it('keeps spaces a decoder strips at the start of the text it sees', () => {
    expect(stream(' hello world', decodeStripping).join('')).toBe('hello world');
  });

  it('flushes an unfinished character at the end rather than losing it', () => {
    const detokenizer = new IncrementalDetokenizer(decodeBytes);
    detokenizer.push(0xe9);
    expect(detokenizer.flush()).toBe('\uFFFD');
  });
});
