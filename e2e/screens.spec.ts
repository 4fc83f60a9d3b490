// Screenshots of every main screen, light and dark, English and 简体中文, saved as test
// artifacts (and under test-results/screenshots/). In Chinese, the rendered page is also
// checked for untranslated text: every text node, label, title and placeholder outside user
// and model content (translate="no") and outside text marked as another language.
import type { Page, TestInfo } from '@playwright/test';
import { expect, screenshot, send, test, waitForAnswer } from './support/fixtures.ts';
import type { PageElement, PageGlobals } from './support/page-globals.ts';
import { SHOWCASE } from './support/showcase.ts';

test.use({
  hostOptions: {
    scripted: {
      answer: (messages) => (/sort|排序/.test(messages.at(-1)?.content ?? '') ? SHOWCASE : 'A short answer, to have something in the list.'),
      tokensPerBatch: 8,
    },
  },
});

/** Latin words that are the same in Chinese UIs: parameter names, keys, units, devices. */
const ALLOWED_LATIN = new Set([
  ...['top', 'min', 'ctrl', 'shift', 'enter', 'esc', 'kb', 'mb', 'gb', 'tb', 'cpu', 'cuda', 'fp', 'npm', 'run', 'serve'],
  // Names of formats, files and services the Models screen points at, the same in any language.
  ...['onnx', 'hugging', 'face', 'transformers', 'js', 'config', 'json', 'tokenizer', 'model', 'id', 'main'],
  // The API settings: protocol and service names Chinese UIs keep as they are, and an example address.
  ...['openai', 'api', 'cors', 'http', 'localhost'],
]);

async function untranslated(page: Page): Promise<string[]> {
  const texts = await page.evaluate(() => {
    const { document, getComputedStyle, NodeFilter } = globalThis as unknown as PageGlobals;
    const out: string[] = [];
    const skip = (element: PageElement | null): boolean => {
      for (let e = element; e; e = e.parentElement) {
        if (e.getAttribute('translate') === 'no') return true;
        const lang = e.getAttribute('lang');
        if (lang && e !== document.documentElement && lang !== document.documentElement.lang) return true;
        if (e.closest('[hidden]')) return true;
      }
      return false;
    };
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const parent = node.parentElement;
      if (!parent || skip(parent) || parent.closest('script, style')) continue;
      const style = getComputedStyle(parent);
      if (style.display === 'none' || style.visibility === 'hidden') continue;
      const text = node.textContent?.trim();
      if (text) out.push(text);
    }
    for (const element of document.querySelectorAll('[aria-label], [title], [placeholder]')) {
      if (skip(element)) continue;
      for (const name of ['aria-label', 'title', 'placeholder']) {
        const value = element.getAttribute(name);
        if (value) out.push(`${name}: ${value}`);
      }
    }
    out.push(`document.title: ${document.title}`);
    return out;
  });
  return texts.filter((text) => {
    const words = text.replace(/^(aria-label|title|placeholder|document\.title): /, '').match(/[A-Za-z]{2,}/g) ?? [];
    return words.some((word) => !ALLOWED_LATIN.has(word.toLowerCase()));
  });
}

async function prepare(page: Page, host: { url: string; services: { dispatch: (name: unknown, input: unknown) => Promise<unknown> } }, theme: 'light' | 'dark', language: 'en' | 'zh-CN'): Promise<void> {
  await host.services.dispatch('settings.update', { theme, language });
  await page.emulateMedia({ colorScheme: theme, reducedMotion: 'reduce' });
  await page.goto(host.url);
  await expect(page.locator('html')).toHaveAttribute('lang', language);
  await expect(page.locator('html')).toHaveAttribute('data-theme', theme);
}

for (const theme of ['light', 'dark'] as const) {
  for (const language of ['en', 'zh-CN'] as const) {
    test(`main screens, ${theme}, ${language}`, async ({ page, host, watch }, testInfo: TestInfo) => {
      const zh = language === 'zh-CN';
      const shot = (name: string) => screenshot(page, testInfo, `${name}-${theme}-${language}`);
      const problems: string[] = [];
      const check = async (screen: string): Promise<void> => {
        if (!zh) return;
        for (const text of await untranslated(page)) problems.push(`${screen}: ${text}`);
      };

      await prepare(page, host, theme, language);
      // The empty first screen.
      await expect(page.getByTestId('composer')).toBeEnabled();
      await shot('01-empty');
      await check('empty');

      // A few conversations, one pinned, and an answer with code, math and a table.
      await send(page, zh ? '你好，简单回答一下' : 'Hello, a short answer please');
      await waitForAnswer(page);
      await page.getByTestId('new-chat').click();
      await send(page, zh ? '请再写一个答案' : 'Another short one');
      await waitForAnswer(page);
      const first = page.locator('[data-conversation-id]').last();
      await first.getByRole('button', { name: zh ? /的操作/ : /Actions for/ }).click();
      await first.getByRole('button', { name: zh ? '置顶' : 'Pin' }).click();
      await page.getByTestId('new-chat').click();
      // (What the user types shows in labels such as "Actions for …": Chinese in the Chinese UI.)
      await send(page, zh ? '如何给数组排序？' : 'How do I sort in TypeScript?');
      await waitForAnswer(page);
      await page.mouse.move(1, 1);
      await shot('02-chat');
      await check('chat');

      // The token view, with one token's candidates.
      await page.getByTestId('token-view-toggle').click();
      await page.locator('.tok').nth(12).hover();
      await expect(page.getByTestId('candidates')).toBeVisible();
      await shot('03-token-view');
      await check('token view');
      await page.getByTestId('token-view-toggle').click();

      // Search.
      await page.getByTestId('search').fill(zh ? '答案' : 'short');
      await expect(page.getByTestId('search-hit').first()).toBeVisible();
      await page.mouse.move(1, 1);
      await shot('04-search');
      await check('search');
      await page.getByTestId('search').fill('');

      // The model picker.
      await page.getByTestId('model-button').click();
      await expect(page.getByTestId('model-picker')).toBeVisible();
      await expect(page.getByTestId('model-memory')).toBeVisible();
      await shot('05-model-picker');
      await check('model picker');
      await page.keyboard.press('Escape');

      // The Models screen, with the shipped catalog (read from disk; nothing is fetched).
      await page.getByTestId('open-models').click();
      await expect(page.getByTestId('models-screen')).toBeVisible();
      await expect(page.getByTestId('catalog-entry').first()).toBeVisible();
      await expect(page.getByTestId('system-info')).toBeVisible();
      await page.mouse.move(1, 1);
      await shot('09-models');
      await check('models');
      await page.getByTestId('models-back').click();

      // The settings.
      await page.getByTestId('open-settings').click();
      await expect(page.getByTestId('settings')).toBeVisible();
      await shot('06-settings');
      await check('settings');
      await page.keyboard.press('Escape');

      // The keyboard shortcuts.
      await page.keyboard.press('Control+/');
      await expect(page.getByTestId('shortcuts')).toBeVisible();
      await shot('07-shortcuts');
      await check('shortcuts');
      await page.keyboard.press('Escape');

      // No model loaded: the composer says why.
      await host.services.dispatch('models.unload', {});
      await expect(page.getByTestId('composer')).toBeDisabled();
      await shot('08-no-model');
      await check('no model');

      expect(problems, 'untranslated text in the zh-CN UI').toEqual([]);
      expect(watch.cspViolations).toEqual([]);
      expect(watch.pageErrors).toEqual([]);
    });
  }
}

test.describe('first run', () => {
  test.use({ hostOptions: { firstRun: true, scripted: { answer: () => 'ok', tokensPerBatch: 8 } } });
  for (const [theme, language] of [
    ['light', 'en'],
    ['dark', 'zh-CN'],
  ] as const) {
    test(`first-run screen, ${theme}, ${language}`, async ({ page, host, watch }, testInfo: TestInfo) => {
      await prepare(page, host, theme, language);
      await expect(page.getByTestId('first-run-recommended').getByTestId('first-run-download')).toBeVisible();
      await screenshot(page, testInfo, `10-first-run-${theme}-${language}`);
      if (language === 'zh-CN') expect(await untranslated(page), 'untranslated text in the zh-CN UI').toEqual([]);
      expect(watch.cspViolations).toEqual([]);
      expect(watch.pageErrors).toEqual([]);
    });
  }
});
