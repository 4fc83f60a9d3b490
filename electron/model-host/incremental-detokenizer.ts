// Turns generated token ids into text as they arrive, so that every piece sent is valid text:
// a byte-level token can end in the middle of a multi-byte UTF-8 character (Chinese, emoji),
// which decodes to U+FFFD until the rest arrives. Decodes a short window with a little
// context before it (the approach of vLLM's incremental detokenizer), never the whole answer.

export type DecodeTokens = (ids: number[]) => string;

export class IncrementalDetokenizer {
  private readonly ids: number[] = [];
  /** Start of the context window: tokens already emitted, decoded only for their effect on spacing. */
  private prefixOffset = 0;
  /** Tokens before this offset have been emitted as text. */
  private readOffset = 0;

  constructor(private readonly decode: DecodeTokens) {}

  /** Adds a token; returns the text it completes ('' while a character is still partial). */
  push(tokenId: number): string {
    this.ids.push(tokenId);
    return this.emit(false);
  }

  /** Everything still held back, at the end of generation. */
  flush(): string {
    return this.emit(true);
  }

  private emit(final: boolean): string {
    if (this.readOffset === this.ids.length) return '';
    const prefixText = this.readOffset > this.prefixOffset ? this.decode(this.ids.slice(this.prefixOffset, this.readOffset)) : '';
    const fullText = this.decode(this.ids.slice(this.prefixOffset));
    if (!final && (fullText.length <= prefixText.length || fullText.endsWith('\uFFFD'))) return '';
    this.prefixOffset = this.readOffset;
    this.readOffset = this.ids.length;
    return fullText.slice(prefixText.length);
  }
}
