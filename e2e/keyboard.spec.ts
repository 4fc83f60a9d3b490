// Without a mouse: shortcuts for new chat, search, stop and regenerate; a skip link; every
// control reachable with Tab and visibly focused.
import { answers, expect, test, waitForAnswer } from './support/fixtures.ts';
import type { PageGlobals } from './support/page-globals.ts';

test.use({ hostOptions: { scripted: { answer: (_m, turn) => `Keyboard answer ${turn + 1}. ${'More words follow here. '.repeat(30)}`, tokensPerBatch: 2, batchDelayMs: 10 } } });

test('shortcuts: new chat, focus search, stop, regenerate, help', async ({ app }) => {
  await app.getByTestId('composer').fill('First');
  await app.keyboard.press('Enter');
  await expect(answers(app).last()).toContainText('Keyboard answer 1');
  // Esc stops.
  await app.keyboard.press('Escape');
  await expect(answers(app).last()).toHaveAttribute('data-status', 'interrupted');
  // Ctrl+Shift+G regenerates the last answer.
  await app.keyboard.press('Control+Shift+G');
  await expect(answers(app).last().getByTestId('alternate-count')).toHaveText('2/2');
  await waitForAnswer(app);
  await expect(answers(app).last()).toContainText('Keyboard answer 2');
  // Ctrl+K focuses the search.
  await app.keyboard.press('Control+k');
  await expect(app.getByTestId('search')).toBeFocused();
  // Ctrl+Shift+O starts a new chat, with the composer focused.
  await app.keyboard.press('Control+Shift+O');
  await expect(app.locator('h1')).toHaveText('New chat');
  await expect(app.getByTestId('composer')).toBeFocused();
  // Ctrl+/ shows the shortcuts; Escape closes them.
  await app.keyboard.press('Control+/');
  await expect(app.getByTestId('shortcuts')).toBeVisible();
  await expect(app.getByTestId('shortcuts')).toContainText('Regenerate the last answer');
  await app.keyboard.press('Escape');
  await expect(app.getByTestId('shortcuts')).toBeHidden();
});

test('a whole conversation with the keyboard alone, with visible focus', async ({ app }) => {
  // The skip link comes first and lands in the composer.
  await app.keyboard.press('Tab');
  await expect(app.getByRole('link', { name: 'Skip to the message box' })).toBeFocused();
  await app.keyboard.press('Enter');
  await expect(app.getByTestId('composer')).toBeFocused();
  await app.keyboard.type('Hello from the keyboard');
  await app.keyboard.press('Enter');
  await waitForAnswer(app);

  // Tab from the composer backwards reaches the answer's regenerate button, focus visible.
  const regenerate = answers(app).last().getByTestId('regenerate');
  for (let i = 0; i < 20 && !(await regenerate.evaluate((element) => element === (globalThis as unknown as PageGlobals).document.activeElement)); i++) await app.keyboard.press('Shift+Tab');
  await expect(regenerate).toBeFocused();
  const ring = await regenerate.evaluate((element) => (globalThis as unknown as PageGlobals).getComputedStyle(element).boxShadow);
  expect(ring).not.toBe('none');
  await app.keyboard.press('Enter');
  await expect(answers(app).last().getByTestId('alternate-count')).toHaveText('2/2');
  await waitForAnswer(app);

  // The previous-version button is reachable too, and works.
  const previous = answers(app).last().getByRole('button', { name: 'Previous version' });
  for (let i = 0; i < 10 && !(await previous.evaluate((element) => element === (globalThis as unknown as PageGlobals).document.activeElement)); i++) await app.keyboard.press('Shift+Tab');
  await expect(previous).toBeFocused();
  await app.keyboard.press('Enter');
  await expect(answers(app).last().getByTestId('alternate-count')).toHaveText('1/2');

  // The settings open from the keyboard, and Escape closes them with focus back where it was.
  await app.keyboard.press('Control+,');
  await expect(app.getByTestId('settings')).toBeVisible();
  await app.keyboard.press('Escape');
  await expect(app.getByTestId('settings')).toBeHidden();
});
