// The chat itself: tokens on screen before the answer ends, stop keeps the partial text,
// regenerate makes an alternate and ‹ › switches, edit and resend, and a reload keeps it all.
// The model host is the scripted one (same protocol, known answers at a known pace).
import { answers, expect, send, test, waitForAnswer } from './support/fixtures.ts';

// About 350 tokens: under the default 512-token limit.
const WORDS = Array.from({ length: 100 }, (_, i) => `word${i}`).join(' ');

test.describe('streaming', () => {
  test.use({ hostOptions: { scripted: { answer: (_m, turn) => `Answer ${turn + 1}: ${WORDS}`, tokensPerBatch: 2, batchDelayMs: 15 } } });

  test('tokens appear on screen before the answer is done', async ({ app }) => {
    await send(app, 'Tell me many words');
    const answer = answers(app).last();
    // Part of the answer is visible while it is still being written.
    await expect(answer.getByTestId('markdown')).toContainText('word10');
    await expect(answer).toHaveAttribute('data-status', 'streaming');
    await expect(app.getByTestId('stop')).toBeVisible();
    await waitForAnswer(app);
    await expect(answer.getByTestId('markdown')).toContainText('word99');
    await expect(answer).toHaveAttribute('data-status', 'complete');
    await expect(answer.getByTestId('message-stats')).toContainText(/prefill \d+ tokens/);
    await expect(answer.getByTestId('message-stats')).toContainText('stop: eos');
  });

  test('stop keeps the partial text, also after a reload', async ({ app }) => {
    await send(app, 'Tell me many words');
    const answer = answers(app).last();
    await expect(answer.getByTestId('markdown')).toContainText('word20');
    await app.getByTestId('stop').click();
    await expect(answer).toHaveAttribute('data-status', 'interrupted');
    await expect(answer.getByTestId('interrupted')).toBeVisible();
    const partial = (await answer.getByTestId('markdown').textContent()) ?? '';
    expect(partial).toContain('word20');
    expect(partial).not.toContain('word99');
    await expect(answer.getByTestId('message-stats')).toContainText('stop: stopped');

    await app.reload();
    const again = answers(app).last();
    await expect(again).toHaveAttribute('data-status', 'interrupted');
    await expect(again.getByTestId('markdown')).toHaveText(partial.trim());
  });

  test('Escape stops the answer from the keyboard', async ({ app }) => {
    await send(app, 'Tell me many words');
    await expect(answers(app).last().getByTestId('markdown')).toContainText('word5');
    await app.keyboard.press('Escape');
    await expect(answers(app).last()).toHaveAttribute('data-status', 'interrupted');
  });
});

test.describe('a model that fails mid-answer', () => {
  test.use({ hostOptions: { scripted: { answer: (_m, turn) => `Answer ${turn + 1}: ${WORDS}`, tokensPerBatch: 2, batchDelayMs: 10, failAt: { turn: 0, tokens: 40 } } } });

  test('shows the error plainly, keeps the partial text, and the next message works', async ({ app }) => {
    await send(app, 'First');
    const answer = answers(app).last();
    await expect(answer).toHaveAttribute('data-status', 'error');
    await expect(answer.getByTestId('message-error')).toContainText('The model failed while writing: The model produced NaN logits');
    await expect(answer.getByTestId('markdown')).toContainText('Answer 1: word0');
    await send(app, 'Second');
    await waitForAnswer(app);
    await expect(answers(app).last()).toHaveAttribute('data-status', 'complete');
    await expect(answers(app).last()).toContainText('Answer 2:');
    // After a reload the error and the partial text are still there.
    await app.reload();
    await expect(answers(app).first()).toHaveAttribute('data-status', 'error');
    await expect(answers(app).first().getByTestId('markdown')).toContainText('Answer 1: word0');
  });
});

test.describe('alternates', () => {
  test.use({ hostOptions: { scripted: { answer: (messages, turn) => `Reply number ${turn + 1} to “${messages.at(-1)?.content ?? ''}”.` } } });

  test('regenerate makes an alternate, ‹ › switches, edit and resend, reload keeps everything', async ({ app }) => {
    await send(app, 'First question');
    await waitForAnswer(app);
    const answer = answers(app).last();
    await expect(answer).toContainText('Reply number 1 to “First question”.');

    // Regenerate: a second answer beside the first.
    await answer.hover();
    await answer.getByTestId('regenerate').click();
    await waitForAnswer(app);
    await expect(answers(app).last()).toContainText('Reply number 2');
    await expect(answers(app).last().getByTestId('alternate-count')).toHaveText('2/2');

    // ‹ goes back to the first.
    await answers(app).last().getByRole('button', { name: 'Previous version' }).click();
    await expect(answers(app).last()).toContainText('Reply number 1');
    await expect(answers(app).last().getByTestId('alternate-count')).toHaveText('1/2');
    await answers(app).last().getByRole('button', { name: 'Next version' }).click();
    await expect(answers(app).last()).toContainText('Reply number 2');

    // Edit the question and resend: a new question beside the old one, with its own answer.
    const question = app.locator('article[data-role="user"]').last();
    await question.hover();
    await question.getByTestId('edit').click();
    const editor = question.getByRole('textbox', { name: 'Edit your message' });
    await editor.fill('Second question');
    await editor.press('Enter');
    await waitForAnswer(app);
    await expect(app.locator('article[data-role="user"]').last()).toContainText('Second question');
    await expect(app.locator('article[data-role="user"]').last().getByTestId('alternate-count')).toHaveText('2/2');
    await expect(answers(app).last()).toContainText('Reply number 3 to “Second question”.');

    // A reload shows the same path, counts and stats.
    await app.reload();
    await expect(app.locator('article[data-role="user"]').last()).toContainText('Second question');
    await expect(app.locator('article[data-role="user"]').last().getByTestId('alternate-count')).toHaveText('2/2');
    await expect(answers(app).last()).toContainText('Reply number 3');
    await expect(answers(app).last().getByTestId('message-stats')).toContainText('stop: eos');
    // The old question and its two answers are still there.
    await app.locator('article[data-role="user"]').last().getByRole('button', { name: 'Previous version' }).click();
    await expect(app.locator('article[data-role="user"]').last()).toContainText('First question');
    await expect(answers(app).last()).toContainText('Reply number 2');
    await expect(answers(app).last().getByTestId('alternate-count')).toHaveText('2/2');
  });
});
