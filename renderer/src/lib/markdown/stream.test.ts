// @vitest-environment jsdom
// The streaming renderer shows the same thing as rendering the whole text at once, whatever
// the chunks, while parsing only the last block on each update.
import { describe, expect, it } from 'vitest';
import { MarkdownRenderer } from './render.ts';
import { htmlToFragment, offsetOfLine, StreamingMarkdown } from './stream.ts';

const renderer = new MarkdownRenderer({ copyCode: 'Copy', imageNotLoaded: 'Image', linkNotAllowed: 'no' });

const DOCUMENT = [
  '# A heading',
  '',
  'A paragraph with **bold**, `code` and a [link](https://example.com).',
  'It goes on for a second line.',
  '',
  '- item one',
  '- item two',
  '  continued',
  '',
  '1. first',
  '2. second',
  '',
  '```python',
  'def f(x):',
  '    return x * 2',
  '',
  'print(f(3))',
  '```',
  '',
  'Setext heading',
  '--------------',
  '',
  '> a quote',
  'lazy continuation',
  '',
  '| a | b |',
  '|---|---|',
  '| 1 | 2 |',
  '',
  '$$',
  'E = mc^2',
  '$$',
  '',
  'Inline $x^2$ math.',
  '',
  '---',
  '',
  '    indented code',
  '',
  'The end.',
].join('\n');

function wholeHtml(text: string): string {
  const root = document.createElement('div');
  root.append(htmlToFragment(renderer.render(text)));
  return normalize(root.innerHTML);
}

function streamedHtml(text: string, chunk: (i: number) => number): { html: string; maxTail: number; stream: StreamingMarkdown } {
  const root = document.createElement('div');
  const stream = new StreamingMarkdown(root, renderer);
  let maxTail = 0;
  for (let at = 0, i = 0; at < text.length; i++) {
    at = Math.min(text.length, at + chunk(i));
    stream.update(text.slice(0, at));
    maxTail = Math.max(maxTail, stream.stats.tailChars);
  }
  const html = [...root.children].map((child) => child.innerHTML).join('');
  return { html: normalize(html), maxTail, stream };
}

/** Whitespace between tags differs between one render and several; nothing else may. */
function normalize(html: string): string {
  return html.replace(/>\s+</g, '><').trim();
}

describe('StreamingMarkdown', () => {
  it.each([
    // (jsdom's DOMParser makes each update slow here; Chromium's is not: see npm run bench:ui.)
    ['token-sized chunks', (i: number) => 2 + ((i * 7) % 5)],
    ['big chunks', () => 40],
  ])('matches the whole render when fed %s', (_name, chunk) => {
    const { html } = streamedHtml(DOCUMENT, chunk);
    expect(html).toBe(wholeHtml(DOCUMENT));
  });

  it('freezes finished blocks so the parsed tail stays small', () => {
    const long = Array.from({ length: 60 }, (_, i) => `Paragraph ${i} with some words in it.\n`).join('\n');
    const { maxTail, stream } = streamedHtml(long, () => 16);
    expect(stream.stats.frozenBlocks).toBeGreaterThan(55);
    // The tail is at most about two paragraphs, never the whole answer.
    expect(maxTail).toBeLessThan(120);
  });

  it('keeps an open code fence as the last block until it closes', () => {
    const root = document.createElement('div');
    const stream = new StreamingMarkdown(root, renderer);
    stream.update('Intro\n\n```js\nlet a = 1;\n\nlet b = 2;\n');
    expect(root.querySelector('.md-frozen')?.textContent?.trim()).toBe('Intro');
    expect(root.querySelector('.md-tail pre code')?.textContent).toBe('let a = 1;\n\nlet b = 2;\n');
    stream.update('Intro\n\n```js\nlet a = 1;\n\nlet b = 2;\n```\n\nAfter');
    expect(root.querySelector('.md-frozen pre code')?.textContent).toBe('let a = 1;\n\nlet b = 2;\n');
    expect(root.querySelector('.md-tail')?.textContent?.trim()).toBe('After');
  });

  it('keeps an open $$ block as the last block', () => {
    const root = document.createElement('div');
    const stream = new StreamingMarkdown(root, renderer);
    stream.update('Text\n\n$$\nx\n\ny');
    expect(root.querySelector('.md-frozen')?.textContent?.trim()).toBe('Text');
    stream.update('Text\n\n$$\nx\n\ny\n$$\n\nmore');
    expect(root.querySelector('.md-frozen .math-block .katex')).not.toBeNull();
  });
});

describe('offsetOfLine', () => {
  it('finds where a line starts', () => {
    expect(offsetOfLine('a\nbb\nccc', 0)).toBe(0);
    expect(offsetOfLine('a\nbb\nccc', 2)).toBe(5);
    expect(offsetOfLine('a', 3)).toBe(-1);
  });
});

describe('StreamingMarkdown under a flood', () => {
  it('shows at most maxChars of new text per update and catches up over the next ones', () => {
    const root = document.createElement('div');
    const stream = new StreamingMarkdown(root, renderer);
    const text = Array.from({ length: 40 }, (_, i) => `Paragraph ${i} with some words.\n`).join('\n');
    expect(stream.update(text, 300)).toBe(false);
    expect(stream.stats.shownChars).toBeLessThanOrEqual(300);
    let updates = 1;
    while (!stream.update(text, 300)) updates += 1;
    expect(updates).toBeGreaterThan(3);
    expect(stream.stats.shownChars).toBe(text.length);
    const whole = document.createElement('div');
    whole.append(htmlToFragment(renderer.render(text)));
    expect([...root.children].map((c) => c.innerHTML).join('').replace(/>\s+</g, '><').trim()).toBe(whole.innerHTML.replace(/>\s+</g, '><').trim());
  });
});
