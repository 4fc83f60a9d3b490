// How an answer is shown: markdown with highlighted code and a copy button per block, LaTeX,
// safe links; the token view with each token's candidates as bars (mouse and keyboard); the
// details line with prefill, cache and decode figures.
import { answers, expect, send, test, waitForAnswer } from './support/fixtures.ts';
import type { PageGlobals } from './support/page-globals.ts';
import { SHOWCASE } from './support/showcase.ts';

test.use({ hostOptions: { scripted: { answer: () => SHOWCASE, tokensPerBatch: 3, batchDelayMs: 5 } } });

test('markdown, code with a copy button, LaTeX and links', async ({ app, context }) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  await send(app, 'How do I sort?');
  await waitForAnswer(app);
  const answer = answers(app).last();
  await expect(answer.locator('h2')).toHaveText('Sorting in TypeScript');
  await expect(answer.locator('ol > li')).toHaveCount(3);
  await expect(answer.locator('table td')).toHaveCount(4);

  const code = answer.locator('.code-block');
  await expect(code.locator('.code-lang')).toHaveText('ts');
  await expect(code.locator('.hljs-keyword').first()).toHaveText('export');
  await code.getByRole('button', { name: 'Copy' }).click();
  await expect(code.locator('.code-copy')).toHaveAttribute('data-copied', 'Copied');
  expect(await app.evaluate(() => (globalThis as unknown as PageGlobals).navigator.clipboard.readText())).toContain('return [...items].sort((a, b) => key(a) - key(b));');

  // KaTeX typeset, its layout applied through the CSSOM (the CSP allows no style attributes).
  await expect(answer.locator('.katex')).toHaveCount(2);
  await expect(answer.locator('.katex-display')).toHaveCount(1);
  const styled = await answer.locator('.katex [data-style]').first().evaluate((element) => element.style.cssText);
  expect(styled).not.toBe('');

  const link = answer.locator('a[href]');
  await expect(link).toHaveAttribute('href', /^https:\/\/developer\.mozilla\.org\//);
  await expect(link).toHaveAttribute('target', '_blank');
  await expect(link).toHaveAttribute('rel', /noopener/);

  await expect(answer.getByTestId('message-stats')).toContainText(/prefill \d+ tokens \(\d+ from cache\)/);
  await expect(answer.getByTestId('message-stats')).toContainText(/decode [\d.,]+ tok\/s/);
  await expect(answer.getByTestId('message-stats')).toContainText(/TTFT \d+ ms/);
});

test('token view: each token shows its candidates, by mouse and by keyboard', async ({ app }) => {
  await app.getByTestId('token-view-toggle').click();
  await expect(app.getByTestId('token-view-toggle')).toHaveAttribute('aria-pressed', 'true');
  await send(app, 'How do I sort?');
  const tokens = answers(app).last().getByTestId('token-view');
  // Tokens show while the answer is written.
  await expect(tokens.locator('.tok:not(.tok-cont)').nth(5)).toBeVisible();
  await waitForAnswer(app);
  const count = await tokens.locator('.tok:not(.tok-cont)').count();
  expect(count).toBeGreaterThan(100);

  await tokens.locator('.tok:not(.tok-cont)').nth(3).hover();
  const popover = app.getByTestId('candidates');
  await expect(popover).toBeVisible();
  await expect(popover.locator('.bars li')).toHaveCount(5);
  await expect(popover.locator('.bars li.picked')).toHaveCount(1);
  await expect(popover).toContainText(/probability \d+(\.\d)?%/);

  // Keyboard: one tab stop into the tokens, then arrows.
  await app.mouse.move(0, 0);
  await tokens.locator('.tok:not(.tok-cont)').first().focus();
  await expect(popover).toBeVisible();
  await expect(popover.locator('.chosen code')).toHaveText('#');
  await app.keyboard.press('ArrowRight');
  await app.keyboard.press('ArrowRight');
  await expect(tokens.locator('.tok:not(.tok-cont)').nth(2)).toBeFocused();
  // Spaces are made visible in the popover.
  await expect(popover.locator('.chosen code')).toHaveText('␣Sort');
  await app.keyboard.press('End');
  await expect(tokens.locator('.tok:not(.tok-cont)').last()).toBeFocused();
  await app.keyboard.press('Escape');
  await expect(popover).toBeHidden();

  // Off again: the markdown is back.
  await app.getByTestId('token-view-toggle').click();
  await expect(answers(app).last().locator('h2')).toHaveText('Sorting in TypeScript');
});
