// Renders a growing markdown answer into the page at a cost that does not grow with the answer.
//
// The text is split into a frozen part and a tail. Each update parses only the tail: every
// top-level block in it but the last is finished (markdown-it has moved past it, and no later
// line can change it: an open fence or math block, a paragraph that may still become a setext
// heading or a table, a list that may still grow are always the last block), so those blocks
// are rendered once, appended to the frozen part of the DOM and never touched again; only the
// last block is re-rendered. The work per update is the size of the last block, not of the
// answer. Updates are coalesced by the caller (one per animation frame, whatever the token rate),
// and one update takes at most `maxChars` of new text: when tokens arrive faster than frames
// (a flood starves the frames), the view catches up over a few frames instead of doing one
// long task; `update` says whether it is caught up.
import type { Token } from 'markdown-it';
import { applyDataStyles } from './sanitize.ts';
import { topLevelBlocks, type MarkdownRenderer } from './render.ts';

export interface StreamStats {
  /** Characters of the text shown (frozen and tail). */
  shownChars: number;
  /** Characters frozen so far. */
  frozenChars: number;
  /** Characters of the tail parsed by the last update. */
  tailChars: number;
  frozenBlocks: number;
}

/** Where the frozen part of the text ends, given the tail's tokens: the start of its last block. */
export function splitFinishedBlocks(tail: string, tokens: Token[]): { freezeTokens: number; freezeChars: number } {
  const blocks = topLevelBlocks(tokens);
  if (blocks.length < 2) return { freezeTokens: 0, freezeChars: 0 };
  const last = blocks[blocks.length - 1]!;
  if (last.line <= 0) return { freezeTokens: 0, freezeChars: 0 };
  const chars = offsetOfLine(tail, last.line);
  if (chars <= 0) return { freezeTokens: 0, freezeChars: 0 };
  return { freezeTokens: last.start, freezeChars: chars };
}

export function offsetOfLine(text: string, line: number): number {
  let offset = 0;
  for (let i = 0; i < line; i++) {
    const next = text.indexOf('\n', offset);
    if (next < 0) return -1;
    offset = next + 1;
  }
  return offset;
}

export function htmlToFragment(html: string, doc: Document = document): DocumentFragment {
  const template = doc.createElement('template');
  template.innerHTML = html;
  applyDataStyles(template.content);
  return template.content;
}

export class StreamingMarkdown {
  private readonly frozen: HTMLElement;
  private readonly tail: HTMLElement;
  private text = '';
  private frozenChars = 0;
  private frozenBlocks = 0;
  private lastTailSource: string | null = null;
  private lastTailChars = 0;

  constructor(
    container: HTMLElement,
    private readonly renderer: MarkdownRenderer,
  ) {
    const doc = container.ownerDocument;
    this.frozen = doc.createElement('div');
    this.frozen.className = 'md-frozen';
    this.tail = doc.createElement('div');
    this.tail.className = 'md-tail';
    container.replaceChildren(this.frozen, this.tail);
  }

  get stats(): StreamStats {
    return { shownChars: this.text.length, frozenChars: this.frozenChars, tailChars: this.lastTailChars, frozenBlocks: this.frozenBlocks };
  }

  /**
   * Shows `text`, which must extend what was shown before (an answer only grows), or as much of
   * it as `maxChars` of new text allow; returns false when there is more to show.
   */
  update(full: string, maxChars = 1200): boolean {
    if (!full.startsWith(this.text.slice(0, this.frozenChars))) {
      // Not a continuation (should not happen): start over.
      this.frozen.replaceChildren();
      this.frozenChars = 0;
      this.frozenBlocks = 0;
      this.lastTailSource = null;
    }
    const shownUpTo = this.frozenChars + (this.lastTailSource?.length ?? 0);
    const caughtUp = full.length - shownUpTo <= maxChars;
    // Cut at a line end when holding back, so a half line does not flash as another block type.
    let text = full;
    if (!caughtUp) {
      const cut = full.lastIndexOf('\n', shownUpTo + maxChars);
      text = full.slice(0, cut > shownUpTo ? cut + 1 : shownUpTo + maxChars);
    }
    this.text = text;
    const tail = text.slice(this.frozenChars);
    if (tail === this.lastTailSource) return caughtUp;
    const tokens = this.renderer.parse(tail);
    const { freezeTokens, freezeChars } = splitFinishedBlocks(tail, tokens);
    if (freezeTokens > 0) {
      const html = this.renderer.renderTokens(tokens.slice(0, freezeTokens));
      this.frozen.append(htmlToFragment(html, this.frozen.ownerDocument));
      this.frozenChars += freezeChars;
      this.frozenBlocks += topLevelBlocks(tokens.slice(0, freezeTokens)).length;
    }
    const rest = tokens.slice(freezeTokens);
    this.tail.replaceChildren(htmlToFragment(this.renderer.renderTokens(rest), this.tail.ownerDocument));
    this.lastTailSource = text.slice(this.frozenChars);
    this.lastTailChars = tail.length;
    return caughtUp;
  }
}
