// The last wall between model output and the page. markdown-it already runs with `html: false`
// (raw HTML in the text is escaped, never parsed), so what reaches here is our own renderer's
// HTML; DOMPurify still checks every tag and attribute in case a rule or plugin slips:
// - no script, no event handlers, no forms, no frames, no <img>/<video>/<use> (nothing that
//   loads a remote resource; the CSP's img-src is the wall behind this one);
// - links keep an href only when it is https:, and open outside the app;
// - no `style` attribute survives; KaTeX's layout arrives as `data-style` (math.ts), keeps only
//   the properties KaTeX needs with plain values, and is applied through the CSSOM
//   (`applyDataStyles`), because the app's CSP has no 'unsafe-inline' for styles.
import DOMPurify, { type Config } from 'dompurify';

const FORBID_TAGS = [
  'style',
  'script',
  'img',
  'image',
  'picture',
  'source',
  'video',
  'audio',
  'track',
  'iframe',
  'frame',
  'object',
  'embed',
  'form',
  'input',
  'textarea',
  'select',
  'link',
  'meta',
  'base',
  'use',
  'foreignObject',
  'animate',
  'set',
  'feImage',
];
const FORBID_ATTR = ['src', 'srcset', 'action', 'formaction', 'xlink:href', 'background', 'poster', 'ping'];

const CONFIG: Config = {
  USE_PROFILES: { html: true, svg: true, mathMl: true },
  FORBID_TAGS,
  FORBID_ATTR,
  ALLOW_UNKNOWN_PROTOCOLS: false,
};

/** CSS properties KaTeX writes in style attributes; anything else is dropped. */
const STYLE_PROPERTIES = new Set([
  'height',
  'width',
  'min-width',
  'max-width',
  'vertical-align',
  'margin-left',
  'margin-right',
  'margin-top',
  'margin-bottom',
  'padding-left',
  'padding-right',
  'top',
  'bottom',
  'left',
  'right',
  'position',
  'border-bottom-width',
  'border-top-width',
  'border-right-width',
  'border-left-width',
  'border-style',
  'border-color',
  'color',
  'background-color',
  'font-size',
]);
/** Lengths, numbers, keywords and plain colours; no url(), no expressions, no escapes. */
const STYLE_VALUE = /^[#a-zA-Z0-9.,%()\s-]{0,80}$/;

export function filterStyle(style: string): string {
  const kept: string[] = [];
  for (const declaration of style.split(';')) {
    const colon = declaration.indexOf(':');
    if (colon < 0) continue;
    const property = declaration.slice(0, colon).trim().toLowerCase();
    const value = declaration.slice(colon + 1).trim();
    if (!STYLE_PROPERTIES.has(property) || !STYLE_VALUE.test(value) || /url|expression|var|image/i.test(value)) continue;
    kept.push(`${property}:${value}`);
  }
  return kept.join(';');
}

/** Only absolute https: addresses are links; everything else (javascript:, data:, http:, relative) is not. */
export function isSafeHref(href: string): boolean {
  try {
    const url = new URL(href);
    return url.protocol === 'https:' && href.trim().toLowerCase().startsWith('https://');
  } catch {
    return false;
  }
}

let purifier: ReturnType<typeof DOMPurify> | null = null;

function getPurifier(): ReturnType<typeof DOMPurify> {
  if (purifier) return purifier;
  const instance = DOMPurify(window);
  instance.addHook('afterSanitizeAttributes', (node) => {
    const element = node as Element;
    if (typeof element.getAttribute !== 'function') return;
    // A style attribute from anywhere is dropped; KaTeX's layout arrives as data-style (math.ts)
    // and keeps only what filterStyle allows.
    element.removeAttribute('style');
    const dataStyle = element.getAttribute('data-style');
    if (dataStyle !== null) {
      const kept = filterStyle(dataStyle);
      if (kept) element.setAttribute('data-style', kept);
      else element.removeAttribute('data-style');
    }
    if (element.hasAttribute('href')) {
      const href = element.getAttribute('href') ?? '';
      if (element.localName === 'a' && isSafeHref(href)) {
        element.setAttribute('target', '_blank');
        element.setAttribute('rel', 'noopener noreferrer nofollow');
        element.setAttribute('referrerpolicy', 'no-referrer');
      } else {
        element.removeAttribute('href');
        element.setAttribute('data-neutralized-link', '');
      }
    }
    // Only our own class names survive: `language-x`, hljs-*, katex*, md-*, code-*, math-*.
    const className = element.getAttribute('class');
    if (className !== null) {
      const kept = className.split(/\s+/).filter((name) => /^(?:language-[\w+#-]{1,30}|hljs[\w-]*|katex[\w-]*|md-[\w-]+|code-[\w-]+|math-[\w-]+|[a-z][\w-]{0,30})$/.test(name));
      if (kept.length) element.setAttribute('class', kept.join(' '));
      else element.removeAttribute('class');
    }
    // No ids from content: they could collide with the app's own.
    element.removeAttribute('id');
  });
  // Set once: passing the config to every sanitize() call makes DOMPurify rebuild its tables.
  instance.setConfig({ ...CONFIG, RETURN_TRUSTED_TYPE: false });
  purifier = instance;
  return instance;
}

export function sanitizeHtml(html: string): string {
  return getPurifier().sanitize(html) as unknown as string;
}

/** Applies the kept KaTeX styles through the CSSOM (allowed by the CSP, unlike style attributes). */
export function applyDataStyles(root: ParentNode): void {
  for (const element of root.querySelectorAll<HTMLElement | SVGElement>('[data-style]')) {
    element.style.cssText = element.getAttribute('data-style') ?? '';
  }
}
