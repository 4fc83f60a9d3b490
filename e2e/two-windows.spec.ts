// Two browser windows on one conversation: B sees what A adds without reloading; a send from
// a view that is behind is never attached under a message that view did not show; two sends
// that arrive together start one answer and get one busy error.
import type { Page } from '@playwright/test';
import { expect, send, test, waitForAnswer } from './support/fixtures.ts';

test.use({ hostOptions: { scripted: { answer: (messages) => `Answer to: ${messages.at(-1)?.content ?? ''}.`, batchDelayMs: 5 } } });

const userTexts = (page: Page) => page.locator('article[data-role="user"]');

test('B sees A’s messages without reload, and a stale send never lands under an unseen message', async ({ app: a, host, browser }) => {
  await send(a, 'first from A');
  await waitForAnswer(a);

  const context = await browser.newContext();
  const b = await context.newPage();
  try {
    await b.goto(host.url);
    await b.locator('[data-conversation-id]').first().locator('.open-button').click();
    await expect(userTexts(b)).toHaveText([/first from A/]);

    // A goes on: B shows it without a reload.
    await send(a, 'second from A');
    await waitForAnswer(a);
    await expect(userTexts(b)).toHaveText([/first from A/, /second from A/]);
    await expect(b.locator('article[data-role="assistant"]').last()).toContainText('Answer to: second from A.');

    // A view that is behind (it shows only the first answer) sends: the question attaches
    // under that first answer (a branch), never under A's newer one it did not show.
    const ids = await b.evaluate(async () => {
      const app = (globalThis as unknown as { __jielong: { chat: { activeId: string; messages: Array<{ id: string }> }; calls: { call(name: string, input: unknown): Promise<{ userMessage: { parentId: string } }> } } }).__jielong;
      const firstAnswer = app.chat.messages[1]!.id;
      const started = await app.calls.call('chat.send', { conversationId: app.chat.activeId, content: 'from a stale B', parentId: firstAnswer });
      return { firstAnswer, parent: started.userMessage.parentId };
    });
    expect(ids.parent).toBe(ids.firstAnswer);
    await waitForAnswer(b);
    // A follows to the branch B's question made.
    await expect(userTexts(a)).toHaveText([/first from A/, /from a stale B/]);
  } finally {
    await context.close();
  }
});

test('two sends that arrive together: one answer, one busy error', async ({ app }) => {
  await send(app, 'hello');
  await waitForAnswer(app);
  const outcomes = await app.evaluate(async () => {
    const { chat, calls } = (globalThis as unknown as { __jielong: { chat: { activeId: string; messages: Array<{ id: string }> }; calls: { call(name: string, input: unknown): Promise<unknown> } } }).__jielong;
    const parentId = chat.messages.at(-1)!.id;
    const results = await Promise.allSettled([
      calls.call('chat.send', { conversationId: chat.activeId, content: 'one', parentId }),
      calls.call('chat.send', { conversationId: chat.activeId, content: 'two', parentId }),
    ]);
    return results.map((result) => (result.status === 'fulfilled' ? 'ok' : String((result.reason as { code?: string }).code)));
  });
  expect(outcomes.sort()).toEqual(['busy', 'ok']);
});
