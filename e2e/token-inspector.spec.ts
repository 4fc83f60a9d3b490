// The token inspector on real answers of the bundled tiny model: what a token shows while the
// answer streams (candidates with the sampler's and the model's probabilities, entropy, the
// greedy pick) is what it shows after a reload, read from the stored token record.
import type { Page } from '@playwright/test';
import { answers, expect, screenshot, send, test, waitForAnswer } from './support/fixtures.ts';

const SAMPLING = { temperature: 0.9, topK: 40, topP: 0.95, minP: 0, repetitionPenalty: 1.1, maxNewTokens: 30 };

async function tokenViewOn(app: Page): Promise<void> {
  const toggle = app.getByTestId('token-view-toggle');
  if ((await toggle.getAttribute('aria-pressed')) !== 'true') await toggle.click();
  await expect(toggle).toHaveAttribute('aria-pressed', 'true');
}

/** What the popover of token `index` of the last answer says. */
async function inspect(app: Page, index: number): Promise<{ texts: string[]; probabilities: string[]; facts: string }> {
  const token = answers(app).last().getByTestId('token-view').locator('.tok:not(.tok-cont)').nth(index);
  await token.hover();
  const popover = app.getByTestId('candidates');
  await expect(popover).toBeVisible();
  await expect(popover.getByTestId('candidate').first()).toBeVisible();
  return {
    texts: await popover.getByTestId('candidate').locator('code').allTextContents(),
    probabilities: await popover.getByTestId('candidate-probability').allTextContents(),
    facts: (await popover.getByTestId('token-facts').textContent()) ?? '',
  };
}

test('the inspector shows the same candidates after a reload as it did live', async ({ app, host }, testInfo) => {
  await host.services.dispatch('settings.update', { candidates: 5, defaultSampling: SAMPLING });
  await tokenViewOn(app);
  await send(app, 'Hello! Tell me a story.');
  await waitForAnswer(app);
  await expect(answers(app).last().getByTestId('probability-legend')).toBeVisible();
  const live = await inspect(app, 2);
  expect(live.texts.length).toBeGreaterThan(1);
  expect(live.facts).toMatch(/model alone: \d+(\.\d)?%/);
  expect(live.facts).toMatch(/entropy [\d.]+ bits/);
  expect(live.facts).toMatch(/greedy pick/);
  await screenshot(app, testInfo, 'token-inspector-light');

  await app.reload();
  await tokenViewOn(app);
  const stored = await inspect(app, 2);
  expect(stored).toEqual(live);

  // The same inspector in the dark theme.
  await host.services.dispatch('settings.update', { theme: 'dark' });
  await app.emulateMedia({ colorScheme: 'dark' });
  await expect(app.locator('html')).toHaveAttribute('data-theme', 'dark');
  await inspect(app, 2);
  await screenshot(app, testInfo, 'token-inspector-dark');
});
