// LaTeX in model output, rendered with KaTeX: `$...$` and `\(...\)` inline, `$$...$$` and
// `\[...\]` as blocks. KaTeX runs with `trust: false`, so \href, \url, \includegraphics,
// \htmlClass and friends are refused (no links, no images, no attributes from the model), and
// with limits on sizes and macro expansion so a hostile formula cannot hang the window.
//
// A block that is not closed yet runs to the end of the text, like an open code fence: while
// an answer streams, its opening `$$` must not be taken for a paragraph that later changes
// type (the streaming renderer freezes every block but the last).
import katex from 'katex';
import type { MarkdownIt, StateBlock, StateInline } from 'markdown-it';

export const KATEX_OPTIONS = {
  throwOnError: false,
  trust: false,
  strict: 'ignore',
  maxSize: 20,
  maxExpand: 500,
  output: 'htmlAndMathml',
} as const;

/** Formulas longer than this are shown as code, not typeset. */
const MAX_TEX_LENGTH = 5000;

export function renderTex(tex: string, displayMode: boolean): string {
  if (tex.length > MAX_TEX_LENGTH) return `<code>${escapeHtml(tex)}</code>`;
  try {
    // KaTeX lays out with style attributes, which the CSP refuses (even while DOMPurify parses
    // them): they travel as data-style, filtered by the sanitizer and applied through the CSSOM.
    // KaTeX escapes attribute values and text, so ` style="` only ever starts an attribute.
    return katex.renderToString(tex, { ...KATEX_OPTIONS, displayMode }).replaceAll(' style="', ' data-style="');
  } catch {
    return `<code>${escapeHtml(tex)}</code>`;
  }
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

function mathInline(state: StateInline, silent: boolean): boolean {
  const src = state.src;
  const start = state.pos;
  let open: string;
  let close: string;
  if (src.startsWith('\\(', start)) {
    open = '\\(';
    close = '\\)';
  } else if (src.charCodeAt(start) === 0x24 /* $ */) {
    if (src.charCodeAt(start + 1) === 0x24) return false; // $$ inline is left alone
    open = '$';
    close = '$';
  } else {
    return false;
  }
  const contentStart = start + open.length;
  if (open === '$') {
    // Pandoc's rule: no space just inside the dollars, no digit right after the closing one,
    // so "it costs $5 and $6" stays text.
    const next = src.charCodeAt(contentStart);
    if (Number.isNaN(next) || next === 0x20 || next === 0x09 || next === 0x0a) return false;
  }
  let end = contentStart;
  for (;;) {
    end = src.indexOf(close, end);
    if (end < 0) return false;
    if (src.charCodeAt(end - 1) === 0x5c /* \ */ && open === '$') {
      end += 1;
      continue;
    }
    break;
  }
  if (end === contentStart) return false;
  if (open === '$') {
    const before = src.charCodeAt(end - 1);
    if (before === 0x20 || before === 0x09 || before === 0x0a) return false;
    const after = src.charCodeAt(end + 1);
    if (after >= 0x30 && after <= 0x39) return false;
  }
  if (!silent) {
    const token = state.push('math_inline', 'math', 0);
    token.markup = open;
    token.content = src.slice(contentStart, end);
  }
  state.pos = end + close.length;
  return true;
}

function mathBlock(state: StateBlock, startLine: number, endLine: number, silent: boolean): boolean {
  const lineStart = (line: number): number => (state.bMarks[line] ?? 0) + (state.tShift[line] ?? 0);
  const lineEnd = (line: number): number => state.eMarks[line] ?? 0;
  const first = state.src.slice(lineStart(startLine), lineEnd(startLine));
  if ((state.sCount[startLine] ?? 0) - state.blkIndent >= 4) return false;
  let close: string;
  if (first.startsWith('$$')) close = '$$';
  else if (first.startsWith('\\[')) close = '\\]';
  else return false;
  if (silent) return true;

  const rest = first.slice(2);
  let content: string;
  let nextLine = startLine + 1;
  const sameLineEnd = rest.indexOf(close);
  if (sameLineEnd >= 0) {
    // $$ x $$ on one line (anything after the closing marker is dropped, like a fence's tail).
    content = rest.slice(0, sameLineEnd);
  } else {
    const lines = [rest];
    let closed = false;
    for (; nextLine < endLine; nextLine++) {
      const text = state.src.slice(lineStart(nextLine), lineEnd(nextLine));
      const at = text.indexOf(close);
      if (at >= 0 && text.slice(at + close.length).trim() === '') {
        lines.push(text.slice(0, at));
        closed = true;
        nextLine += 1;
        break;
      }
      lines.push(text);
    }
    content = lines.join('\n');
    // Not closed: the block runs to the end (see the header).
    if (!closed) nextLine = endLine;
  }
  const token = state.push('math_block', 'math', 0);
  token.block = true;
  token.content = content.trim();
  token.markup = close;
  token.map = [startLine, nextLine];
  state.line = nextLine;
  return true;
}

export function mathPlugin(md: MarkdownIt): void {
  md.inline.ruler.before('escape', 'math_inline', mathInline);
  md.block.ruler.after('blockquote', 'math_block', mathBlock, { alt: ['paragraph', 'reference', 'blockquote', 'list'] });
  md.renderer.rules['math_inline'] = (tokens, index) => renderTex(tokens[index]?.content ?? '', false);
  md.renderer.rules['math_block'] = (tokens, index) => `<div class="math-block">${renderTex(tokens[index]?.content ?? '', true)}</div>\n`;
}
