// @vitest-environment jsdom
// What model output becomes: markdown, code, math, and nothing that runs, loads or links out
// except https links.
import { describe, expect, it } from 'vitest';
import { MarkdownRenderer } from './render.ts';
import { filterStyle, isSafeHref } from './sanitize.ts';
import { XSS_MARKDOWN, XSS_PAYLOADS } from './xss-corpus.ts';

const renderer = new MarkdownRenderer({ copyCode: 'Copy code', imageNotLoaded: 'Image not loaded', linkNotAllowed: 'no' });

function dom(html: string): HTMLElement {
  const root = document.createElement('div');
  root.innerHTML = html;
  return root;
}

describe('markdown', () => {
  it('renders headings, lists, emphasis, tables and strikethrough', () => {
    const root = dom(renderer.render('# Title\n\n- one\n- **two**\n\n| a | b |\n|---|---|\n| 1 | ~~2~~ |\n'));
    expect(root.querySelector('h1')?.textContent).toBe('Title');
    expect(root.querySelectorAll('li')).toHaveLength(2);
    expect(root.querySelector('strong')?.textContent).toBe('two');
    expect(root.querySelector('table td s')?.textContent).toBe('2');
  });

  it('aligns table columns with classes, never a style attribute', () => {
    const root = dom(renderer.render('| a | b |\n|--:|:-:|\n| 1 | 2 |\n'));
    expect(root.querySelector('th')?.className).toBe('md-align-right');
    expect(root.querySelector('td:nth-child(2)')?.className).toBe('md-align-center');
    expect(root.querySelector('[style]')).toBeNull();
  });

  it('highlights fenced code with a known language and adds a copy button', () => {
    const root = dom(renderer.render('```ts\nconst x: number = 1;\n```\n'));
    const block = root.querySelector('.code-block');
    expect(block?.querySelector('.code-lang')?.textContent).toBe('ts');
    expect(block?.querySelector('button.code-copy')?.getAttribute('aria-label')).toBe('Copy code');
    expect(block?.querySelector('code.language-ts .hljs-keyword')?.textContent).toBe('const');
    expect(block?.querySelector('pre code')?.textContent).toBe('const x: number = 1;\n');
  });

  it('escapes code in an unknown language', () => {
    const root = dom(renderer.render('```nope\n<b>x</b>\n```'));
    expect(root.querySelector('pre code')?.textContent).toBe('<b>x</b>\n');
    expect(root.querySelector('pre b')).toBeNull();
  });

  it('typesets inline and block LaTeX with KaTeX, keeping prices as text', () => {
    const root = dom(renderer.render('Euler: $e^{i\\pi} + 1 = 0$ and \\(a^2\\).\n\n$$\n\\int_0^1 x\\,dx\n$$\n\nIt costs $5 and $6.'));
    expect(root.querySelectorAll('.katex')).toHaveLength(3);
    expect(root.querySelector('.math-block .katex-display')).not.toBeNull();
    expect(root.textContent).toContain('It costs $5 and $6.');
    // KaTeX's inline styles are moved out of the markup (the CSP forbids style attributes).
    expect(root.querySelector('[style]')).toBeNull();
    expect(root.querySelector('[data-style]')).not.toBeNull();
  });

  it('keeps https links, opening outside, and neutralizes every other scheme', () => {
    const root = dom(renderer.render('[a](https://example.com/x) [b](http://example.com) [c](javascript:alert(1)) <https://example.org> www.example.net'));
    const links = [...root.querySelectorAll('a[href]')].map((a) => a.getAttribute('href'));
    expect(links).toEqual(['https://example.com/x', 'https://example.org']);
    for (const a of root.querySelectorAll('a[href]')) {
      expect(a.getAttribute('target')).toBe('_blank');
      expect(a.getAttribute('rel')).toContain('noopener');
    }
    expect(root.textContent).toContain('[c](javascript:alert(1))');
  });

  it('never renders an image, only its alt text and host', () => {
    const root = dom(renderer.render('![a cat](https://images.example.com/cat.png)'));
    expect(root.querySelector('img')).toBeNull();
    const placeholder = root.querySelector('.md-image');
    expect(placeholder?.textContent).toContain('a cat');
    expect(placeholder?.getAttribute('title')).toBe('Image not loaded (images.example.com)');
  });

  it('shows raw HTML as text', () => {
    const root = dom(renderer.render('<b>bold?</b> <script>x()</script>'));
    expect(root.querySelector('b')).toBeNull();
    expect(root.querySelector('script')).toBeNull();
    expect(root.textContent).toContain('<b>bold?</b>');
  });
});

describe('the XSS corpus', () => {
  const html = renderer.render(XSS_MARKDOWN);
  const root = dom(html);

  it('leaves no script, frame, object, image, form, style or meta element', () => {
    expect(root.querySelectorAll('script, iframe, frame, object, embed, img, image, video, audio, source, form, input, style, link, meta, base, use, foreignObject')).toHaveLength(0);
  });

  it('leaves no event handler and no style attribute anywhere', () => {
    for (const element of root.querySelectorAll('*')) {
      for (const attribute of element.attributes) {
        expect(attribute.name.startsWith('on'), `${element.localName} ${attribute.name}`).toBe(false);
        expect(attribute.name).not.toBe('style');
        expect(attribute.name).not.toBe('srcdoc');
        expect(attribute.name).not.toBe('src');
      }
    }
  });

  it('links only to https, and no attribute mentions javascript: or a remote url() ', () => {
    for (const element of root.querySelectorAll('[href], [xlink\\:href]')) {
      const href = element.getAttribute('href') ?? element.getAttribute('xlink:href') ?? '';
      expect(href.startsWith('https://'), href).toBe(true);
    }
    for (const element of root.querySelectorAll('*')) {
      for (const attribute of element.attributes) {
        expect(attribute.value.toLowerCase()).not.toMatch(/javascript:|url\(/);
      }
    }
  });

  it('makes no link out of KaTeX (trust: false)', () => {
    const katexLinks = root.querySelectorAll('.katex a');
    expect(katexLinks).toHaveLength(0);
  });

  it('renders every payload (none swallows the rest)', () => {
    expect(root.textContent).toContain(`Payload ${XSS_PAYLOADS.length}:`);
  });
});

describe('sanitize helpers', () => {
  it('accepts only absolute https addresses', () => {
    expect(isSafeHref('https://example.com')).toBe(true);
    for (const href of ['http://example.com', 'javascript:alert(1)', ' javascript:x', 'data:text/html,x', '//example.com', '/x', 'HTTPS:example.com', 'vbscript:x']) {
      expect(isSafeHref(href), href).toBe(false);
    }
  });

  it('keeps KaTeX layout properties and drops the rest', () => {
    expect(filterStyle('height:1.2em;vertical-align:-0.25em;background:url(https://x/y);position:absolute;behavior:x')).toBe('height:1.2em;vertical-align:-0.25em;position:absolute');
    expect(filterStyle('color:var(--x);width:expression(alert(1))')).toBe('');
  });
});
