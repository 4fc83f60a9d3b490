// The browser's globals as the e2e specs and the UI bench use them inside page.evaluate and
// addInitScript, which run in the page. The repository's TypeScript project is Node code (no
// DOM library, and adding one would leak DOM types into electron/), so page-side code reaches
// the globals through this small typed view: `const page = globalThis as unknown as PageGlobals`.
// Only types: page-side functions are serialized, they cannot call imported code.

export interface PageAttribute {
  name: string;
  value: string;
}

export type PageList<T> = ArrayLike<T> & Iterable<T>;

export interface PageNode {
  textContent: string | null;
  parentElement: PageElement | null;
}

export interface PageElement extends PageNode {
  localName: string;
  outerHTML: string;
  value?: string;
  disabled?: boolean;
  attributes: PageList<PageAttribute>;
  getAttribute(name: string): string | null;
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): PageList<PageElement>;
  closest(selector: string): PageElement | null;
}

export interface PagePerformanceEntry {
  name: string;
  startTime: number;
  duration: number;
  detail?: unknown;
  renderStart?: number;
  styleAndLayoutStart?: number;
  scripts?: Array<{ duration: number; invoker: string; sourceFunctionName: string }>;
}

export interface PageGlobals {
  document: {
    title: string;
    body: PageElement;
    documentElement: PageElement & { lang: string };
    activeElement: PageElement | null;
    querySelector(selector: string): PageElement | null;
    querySelectorAll(selector: string): PageList<PageElement>;
    createTreeWalker(root: PageElement, whatToShow: number): { nextNode(): PageNode | null };
  };
  NodeFilter: { SHOW_TEXT: number };
  getComputedStyle(element: PageElement): { display: string; visibility: string; boxShadow: string };
  navigator: { clipboard: { readText(): Promise<string> } };
  KeyboardEvent: new (type: string, init: Record<string, unknown>) => unknown;
  CompositionEvent: new (type: string, init: Record<string, unknown>) => unknown;
  PerformanceObserver: new (callback: (list: { getEntries(): PagePerformanceEntry[] }) => void) => { observe(options: { type: string; buffered?: boolean }): void };
  performance: { now(): number; clearMeasures(name?: string): void; getEntriesByName(name: string): PagePerformanceEntry[] };
  requestAnimationFrame(callback: () => void): number;
  setTimeout(callback: () => void, ms?: number): number;
}
