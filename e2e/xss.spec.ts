// An imported conversation full of hostile text (renderer/src/lib/markdown/xss-corpus.ts:
// script tags, event handlers, javascript: and data: links, remote images, SVG payloads,
// KaTeX commands that make links...) runs no script and makes no remote request. The CSP is
// the second wall: the page must not even need it (no violation is reported either).
import { XSS_MARKDOWN } from '../renderer/src/lib/markdown/xss-corpus.ts';
import { expect, test } from './support/fixtures.ts';
import { exportFileOf } from './support/export-file.ts';
import type { PageGlobals } from './support/page-globals.ts';

type WithXss = PageGlobals & { __xss?: unknown };

test.use({ hostOptions: { loadModel: false } });

test('an imported XSS corpus runs no script and makes no remote request', async ({ page, host, watch }) => {
  const dialogs: string[] = [];
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  // Anything leaving the host is recorded by the fixture; also refuse it outright.
  await page.route(/^(?!http:\/\/127\.0\.0\.1:)/, (route) => route.abort());
  await page.addInitScript(() => {
    (globalThis as unknown as WithXss).__xss = undefined;
  });

  const file = exportFileOf('XSS corpus', [
    { role: 'user', content: XSS_MARKDOWN },
    { role: 'assistant', content: XSS_MARKDOWN },
  ]);
  const imported = await host.services.dispatch('conversations.importJson', { text: file });
  expect(imported.ok).toBe(true);

  await page.goto(host.url);
  await page.locator('[data-conversation-id]').filter({ hasText: 'XSS corpus' }).locator('.open-button').click();
  const answer = page.locator('article[data-role="assistant"]');
  await expect(answer.getByTestId('markdown')).toContainText('Payload 45:');
  // Give anything that would run or load a moment to do so.
  await page.waitForTimeout(1000);

  const result = await page.evaluate(() => {
    const { document } = globalThis as unknown as PageGlobals;
    const root = document.querySelector('article[data-role="assistant"] [data-testid="markdown"]')!;
    const attributes = [...root.querySelectorAll('*')].flatMap((element) => [...element.attributes].map((a) => `${element.localName} ${a.name}=${a.value}`));
    return {
      xss: (globalThis as unknown as WithXss).__xss,
      dangerous: root.querySelectorAll('script, iframe, object, embed, img, image, video, audio, form, style, link, meta, base, use, foreignObject').length,
      handlers: attributes.filter((a) => /^\S+ on/.test(a)),
      hrefs: [...root.querySelectorAll('[href]')].map((element) => element.getAttribute('href')),
      javascript: attributes.filter((a) => /javascript:/i.test(a)),
      katexLinks: root.querySelectorAll('.katex a').length,
      mathRendered: root.querySelectorAll('.katex').length,
    };
  });
  expect(result.xss).toBeUndefined();
  expect(dialogs).toEqual([]);
  expect(result.dangerous).toBe(0);
  expect(result.handlers).toEqual([]);
  expect(result.javascript).toEqual([]);
  expect(result.hrefs.every((href) => href?.startsWith('https://'))).toBe(true);
  expect(result.katexLinks).toBe(0);
  expect(result.mathRendered).toBeGreaterThan(3);
  // The user's own message (scrolled away, so virtualized out) is shown as text, exactly.
  await page.locator('.message-list').evaluate((list) => (list.scrollTop = 0));
  await expect(page.locator('article[data-role="user"]').getByTestId('user-text')).toContainText('<script>window.__xss = 1</script>');

  // Search snippets of the same text are text too.
  await page.getByTestId('search').fill('script');
  await expect(page.getByTestId('search-hit').first()).toBeVisible();
  await page.waitForTimeout(300);
  expect(await page.evaluate(() => (globalThis as unknown as PageGlobals).document.querySelectorAll('.sidebar script, .sidebar img').length)).toBe(0);

  expect(watch.outsideRequests).toEqual([]);
  expect(watch.cspViolations).toEqual([]);
  expect(await page.evaluate(() => (globalThis as unknown as WithXss).__xss)).toBeUndefined();
});
