// With the real model host running the bundled tiny model: seeds replay answers, models
// switch, the composer says why it is disabled, and killing the host mid-answer keeps the
// partial text, shows what happened, and the next message works.
import type { Page } from '@playwright/test';
import { answers, expect, send, test, waitForAnswer } from './support/fixtures.ts';
import type { PageGlobals } from './support/page-globals.ts';
import { SECOND_MODEL, type TestHost } from './support/test-host.ts';

type WithApp = PageGlobals & { __jielong: { chat: { messages: Array<{ role: string; content: string; modelId: string | null }> } } };

async function openSettings(page: Page) {
  await page.getByTestId('open-settings').click();
  const dialog = page.getByTestId('settings');
  await expect(dialog).toBeVisible();
  return dialog;
}

async function setField(page: Page, testId: string, value: string): Promise<void> {
  const dialog = await openSettings(page);
  const field = dialog.getByTestId(testId);
  await field.fill(value);
  await field.press('Tab');
  await expect(dialog.getByRole('status').filter({ hasText: 'Saved' })).toBeVisible();
  await page.keyboard.press('Escape');
  await expect(dialog).toBeHidden();
}

async function answerText(page: Page): Promise<string> {
  return page.evaluate(() => {
    const app = (globalThis as unknown as WithApp).__jielong;
    return app.chat.messages.filter((m) => m.role === 'assistant').at(-1)?.content ?? '';
  });
}

test('the same seed gives the same answer and another seed a different one', async ({ app }) => {
  await setField(app, 'sampling-seed', '1234');
  await setField(app, 'sampling-maxNewTokens', '40');
  await send(app, 'Hello, tiny model');
  await waitForAnswer(app);
  const first = await answerText(app);
  expect(first.length).toBeGreaterThan(0);
  await expect(answers(app).last().getByTestId('message-stats')).toContainText('seed 1234');

  await answers(app).last().hover();
  await answers(app).last().getByTestId('regenerate').click();
  await expect(answers(app).last().getByTestId('alternate-count')).toHaveText('2/2');
  await waitForAnswer(app);
  expect(await answerText(app)).toBe(first);

  await setField(app, 'sampling-seed', '99');
  await answers(app).last().hover();
  await answers(app).last().getByTestId('regenerate').click();
  await expect(answers(app).last().getByTestId('alternate-count')).toHaveText('3/3');
  await waitForAnswer(app);
  await expect(answers(app).last().getByTestId('message-stats')).toContainText('seed 99');
  expect(await answerText(app)).not.toBe(first);
});

test.describe('two models', () => {
  test.use({ hostOptions: { secondModel: true } });

  test('switching models: the picker lists both, loads the other, shows its memory use', async ({ app }) => {
    await expect(app.getByTestId('model-button')).toContainText('Jielong tiny (random weights)');
    await app.getByTestId('model-button').click();
    const picker = app.getByTestId('model-picker');
    await expect(picker.locator('[data-model-id]')).toHaveCount(2);
    const first = picker.locator('[data-model-id="jielong-tiny-random"]');
    await expect(first.getByTestId('model-memory')).toContainText(/Memory in use: [\d.,]+ MB/);
    await expect(first.getByTestId('model-graph')).toHaveText('graph: optimum, MatMul+Softmax, KV cache float32');
    const second = picker.locator(`[data-model-id="${SECOND_MODEL.id}"]`);
    await second.getByTestId('load-model').click();
    await expect(second.getByText('Loaded', { exact: true })).toBeVisible({ timeout: 30_000 });
    await expect(second.getByTestId('model-memory')).toBeVisible();
    await expect(first.getByTestId('load-model')).toBeVisible();
    await app.keyboard.press('Escape');
    await expect(app.getByTestId('model-button')).toContainText(SECOND_MODEL.name);

    await send(app, 'Which model are you?');
    await waitForAnswer(app);
    await expect(answers(app).last()).toHaveAttribute('data-status', 'complete');
    const modelId = await app.evaluate(() => (globalThis as unknown as WithApp).__jielong.chat.messages.at(-1)?.modelId);
    expect(modelId).toBe(SECOND_MODEL.id);
  });

  test('a conversation offers to load the model it was written with when another is loaded', async ({ app }) => {
    await send(app, 'Hello from the first model');
    await waitForAnswer(app);
    await expect(app.getByTestId('conversation-model')).toHaveCount(0);
    await app.getByTestId('model-button').click();
    await app.getByTestId('model-picker').locator(`[data-model-id="${SECOND_MODEL.id}"]`).getByTestId('load-model').click();
    await app.keyboard.press('Escape');
    await expect(app.getByTestId('model-button')).toContainText(SECOND_MODEL.name, { timeout: 30_000 });
    const note = app.getByTestId('conversation-model');
    await expect(note).toContainText('Jielong tiny (random weights)');
    // A reload still knows: the model is stored with the conversation.
    await app.reload();
    await expect(note).toContainText('Jielong tiny (random weights)');
    await note.getByTestId('load-conversation-model').click();
    await expect(app.getByTestId('model-button')).toContainText('Jielong tiny (random weights)', { timeout: 30_000 });
    await expect(note).toHaveCount(0);
  });
});

test.describe('no model loaded', () => {
  test.use({ hostOptions: { loadModel: false } });

  test('the composer is disabled with the reason, and a way to load one', async ({ app }) => {
    await expect(app.getByTestId('composer')).toBeDisabled();
    await expect(app.getByTestId('composer-reason')).toContainText('No model is loaded');
    await app.getByRole('button', { name: 'Choose a model' }).click();
    await app.getByTestId('model-picker').getByTestId('load-model').first().click();
    await expect(app.getByTestId('composer')).toBeEnabled({ timeout: 30_000 });
    await expect(app.getByTestId('composer-reason')).toHaveCount(0);
  });
});

test('killing the model host mid-answer keeps the partial text, says so, and the next message works', async ({ app, host }) => {
  await setField(app, 'sampling-maxNewTokens', '4000');
  await setField(app, 'sampling-seed', '7');
  await send(app, 'Write for a long time');
  const answer = answers(app).last();
  await expect(answer).toHaveAttribute('data-status', 'streaming');
  // Killed by what the host has written, not by what the page shows yet: a loaded page can lag
  // seconds behind, and the answer must still be going when the kill lands.
  await expect.poll(() => storedAnswerLength(host), { timeout: 20_000, intervals: [20] }).toBeGreaterThan(40);

  host.killModelHost();
  await expect(answer).toHaveAttribute('data-status', 'interrupted');
  await expect(answer.getByTestId('interrupted')).toContainText('the model stopped while writing');
  const partial = ((await answer.getByTestId('markdown').textContent()) ?? '').trim();
  expect(partial.length).toBeGreaterThan(10);

  // The host is restarted and the model reloaded; the next message gets a whole answer.
  await setField(app, 'sampling-maxNewTokens', '20');
  await send(app, 'Are you back?');
  await waitForAnswer(app, 60_000);
  await expect(answers(app).last()).toHaveAttribute('data-status', 'complete');
  // The interrupted answer kept its text, also after a reload.
  await app.reload();
  await expect(answers(app).first()).toHaveAttribute('data-status', 'interrupted');
  await expect(answers(app).first().getByTestId('markdown')).toHaveText(partial);
});

/** The length of the newest assistant answer as stored (the text the host has produced and the app saved). */
function storedAnswerLength(host: TestHost): number {
  const [conversation] = host.services.storage.listConversations().items;
  if (!conversation) return 0;
  const answer = host.services.storage.loadActivePath(conversation.id).messages.findLast((m) => m.role === 'assistant');
  return answer?.content.length ?? 0;
}
