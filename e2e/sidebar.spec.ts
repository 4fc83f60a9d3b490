// The sidebar: new chat, rename, pin (pinned first), delete with undo, and search that finds a
// message and opens the conversation at it.
import type { Page } from '@playwright/test';
import { expect, send, test, waitForAnswer } from './support/fixtures.ts';

test.use({ hostOptions: { scripted: { answer: (messages) => `You said: ${messages.at(-1)?.content ?? ''}. Here is a fact about zebras and their stripes.` } } });

const items = (page: Page) => page.locator('[data-conversation-id]');
const titles = (page: Page) => items(page).locator('.title');

async function newChat(page: Page, message: string): Promise<void> {
  await page.getByTestId('new-chat').click();
  await send(page, message);
  await waitForAnswer(page);
}

test('new, rename, pin, delete and undo', async ({ app }) => {
  await newChat(app, 'Alpha conversation');
  await newChat(app, 'Beta conversation');
  await newChat(app, 'Gamma conversation');
  // Newest first; each titled from its first message.
  await expect(titles(app)).toHaveText(['Gamma conversation', 'Beta conversation', 'Alpha conversation']);

  // Rename Beta.
  const beta = items(app).filter({ hasText: 'Beta conversation' });
  await beta.getByRole('button', { name: /Actions for/ }).click();
  await beta.getByRole('button', { name: 'Rename' }).click();
  const field = app.getByRole('textbox', { name: 'New title' });
  await field.fill('Renamed beta');
  await field.press('Enter');
  // (A rename counts as activity: the conversation moves up.)
  await expect(titles(app)).toHaveText(['Renamed beta', 'Gamma conversation', 'Alpha conversation']);

  // Pin Alpha: it goes first, marked.
  const alpha = items(app).filter({ hasText: 'Alpha conversation' });
  await alpha.getByRole('button', { name: /Actions for/ }).click();
  await alpha.getByRole('button', { name: 'Pin' }).click();
  await expect(titles(app)).toHaveText(['Alpha conversation', 'Renamed beta', 'Gamma conversation']);
  await expect(items(app).first().locator('.pin-mark')).toBeVisible();
  await expect(items(app).nth(1).locator('.pin-mark')).toHaveCount(0);

  // Delete Gamma, then undo.
  const gamma = items(app).filter({ hasText: 'Gamma conversation' });
  await gamma.getByRole('button', { name: /Actions for/ }).click();
  await gamma.getByRole('button', { name: 'Delete' }).click();
  await expect(titles(app)).toHaveText(['Alpha conversation', 'Renamed beta']);
  const toast = app.getByTestId('toast').filter({ hasText: 'Deleted “Gamma conversation”.' });
  await expect(toast).toBeVisible();
  await toast.getByTestId('toast-action').click();
  await expect(titles(app)).toHaveText(['Alpha conversation', 'Renamed beta', 'Gamma conversation']);

  // All of it survives a reload.
  await app.reload();
  await expect(titles(app)).toHaveText(['Alpha conversation', 'Renamed beta', 'Gamma conversation']);
  await expect(items(app).first().locator('.pin-mark')).toBeVisible();
});

test('search finds a message and opens the conversation at it', async ({ app }) => {
  await newChat(app, 'Tell me about quokkas');
  await newChat(app, 'Something else entirely');
  await app.getByTestId('new-chat').click();

  await app.keyboard.press('Control+k');
  await expect(app.getByTestId('search')).toBeFocused();
  await app.keyboard.type('quokkas');
  // The title, the question and the answer all match; open the answer.
  const hits = app.getByTestId('search-hit');
  await expect(hits).toHaveCount(3);
  await expect(hits.locator('mark').first()).toHaveText(/quokkas/i);
  const answerHit = hits.filter({ hasText: 'You said: Tell me about quokkas' });
  await expect(answerHit.locator('.hit-role')).toHaveText('Answer');
  await answerHit.click();

  await expect(app.locator('h1')).toHaveText('Tell me about quokkas');
  const message = app.locator('article[data-role="assistant"]').filter({ hasText: 'You said: Tell me about quokkas' });
  await expect(message).toBeVisible();
  await expect(message).toBeFocused();
  await expect(message).toHaveClass(/flash/);
});
