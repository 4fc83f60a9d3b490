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
  await expect(answers(app).last().getByTestId('answer-timeline')).toContainText(/prefill \d+ ms/);
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
  await expect(answers(app).last().getByTestId('answer-timeline')).toContainText(/per token/);

  // The same inspector in the dark theme.
  await host.services.dispatch('settings.update', { theme: 'dark' });
  await app.emulateMedia({ colorScheme: 'dark' });
  await expect(app.locator('html')).toHaveAttribute('data-theme', 'dark');
  await inspect(app, 2);
  await screenshot(app, testInfo, 'token-inspector-dark');
  await answers(app).last().getByTestId('token-view').locator('.tok:not(.tok-cont)').nth(2).click();
  await app.getByTestId('show-stages').click();
  await expect(app.getByTestId('sampler-stages').locator('li')).toHaveCount(5);
  await screenshot(app, testInfo, 'sampler-stages-dark');
});

/** The texts of the first `count` tokens of the last answer's token view. */
async function tokenTexts(app: Page, count: number): Promise<string[]> {
  const spans = answers(app).last().getByTestId('token-view').locator('.tok:not(.tok-cont)');
  await expect(spans.nth(count - 1)).toBeVisible();
  return (await spans.allTextContents()).slice(0, count);
}

test('branching from the 3rd token makes a sibling that keeps the first two; the switcher moves between them', async ({ app, host }, testInfo) => {
  await host.services.dispatch('settings.update', { candidates: 5, defaultSampling: SAMPLING });
  await tokenViewOn(app);
  await send(app, 'Hello! Tell me a story.');
  await waitForAnswer(app);
  const original = await tokenTexts(app, 3);

  // Click the 3rd token: its candidates become buttons; keyboard users press Enter instead.
  await answers(app).last().getByTestId('token-view').locator('.tok:not(.tok-cont)').nth(2).click();
  const popover = app.getByTestId('candidates');
  await expect(popover.getByTestId('branch').first()).toBeFocused();
  await screenshot(app, testInfo, 'token-branch-light');
  // The sampler view of that token: the answer is fed again up to it, each stage reported.
  await popover.getByTestId('show-stages').click();
  const stages = popover.getByTestId('sampler-stages');
  await expect(stages.locator('li')).toHaveCount(5);
  await expect(stages).toContainText(/top-k\s*kept 40, removed \d+/);
  await screenshot(app, testInfo, 'sampler-stages-light');
  await popover.getByTestId('branch').first().click();
  await waitForAnswer(app);

  const answer = answers(app).last();
  await expect(answer.getByTestId('alternate-count')).toHaveText('2/2');
  await expect(answer.getByTestId('fork-note')).toContainText('token 3');
  expect((await tokenTexts(app, 3)).slice(0, 2)).toEqual(original.slice(0, 2));
  await expect(answer.getByTestId('token-view').locator('.tok.fork')).toHaveCount(1);
  // The branch reused the KV cache up to the fork: its timeline says so.
  await expect(answer.getByTestId('answer-timeline')).toContainText(/\d+ prompt tokens from the cache/);

  await answer.getByRole('button', { name: 'Previous version' }).click();
  await expect(answers(app).last().getByTestId('alternate-count')).toHaveText('1/2');
  expect(await tokenTexts(app, 3)).toEqual(original);
  await answers(app).last().getByRole('button', { name: 'Next version' }).click();
  await expect(answers(app).last().getByTestId('alternate-count')).toHaveText('2/2');
  await expect(answers(app).last().getByTestId('fork-note')).toBeVisible();

  // The branch, kept by keyboard this time, in the dark theme.
  await host.services.dispatch('settings.update', { theme: 'dark' });
  await app.emulateMedia({ colorScheme: 'dark' });
  const token = answers(app).last().getByTestId('token-view').locator('.tok:not(.tok-cont)').nth(4);
  await token.focus();
  await token.press('Enter');
  await expect(app.getByTestId('branch').first()).toBeFocused();
  await screenshot(app, testInfo, 'token-branch-dark');
  // Escape closes the choice and gives the focus back to the token (its tooltip shows again).
  await app.keyboard.press('Escape');
  await expect(app.getByTestId('branch')).toHaveCount(0);
  await expect(token).toBeFocused();
});

test('continue after max tokens appends to the same answer', async ({ app, host }) => {
  await host.services.dispatch('settings.update', { candidates: 5, defaultSampling: { ...SAMPLING, maxNewTokens: 6 } });
  await tokenViewOn(app);
  await send(app, 'Hello! Tell me a story.');
  await waitForAnswer(app);
  const answer = answers(app).last();
  await expect(answer.getByTestId('message-stats')).toContainText('stop: max tokens');
  const before = await tokenTexts(app, 6);
  await answer.getByTestId('continue').click();
  await waitForAnswer(app);
  const again = answers(app).last();
  await expect(again.getByTestId('token-view').locator('.tok:not(.tok-cont)')).toHaveCount(12);
  expect((await tokenTexts(app, 12)).slice(0, 6)).toEqual(before);
  await expect(answers(app)).toHaveCount(1);

  // Stored as one answer of 12 tokens: the same after a reload.
  await app.reload();
  await tokenViewOn(app);
  await expect(answers(app).last().getByTestId('token-view').locator('.tok:not(.tok-cont)')).toHaveCount(12);
});
