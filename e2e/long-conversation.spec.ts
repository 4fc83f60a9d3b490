// A conversation of thousands of messages opens at its end, renders only what is near the
// viewport, and scrolls through without long tasks piling up.
import { expect, test } from './support/fixtures.ts';
import { exportFileOf } from './support/export-file.ts';
import type { PageGlobals } from './support/page-globals.ts';

type WithTasks = PageGlobals & { __tasks: number[] };

// Tracing snapshots the DOM on every action, which would be measured as the page's own work.
test.use({ hostOptions: { loadModel: false }, trace: 'off' });

test('3,000 messages: virtualized, opens at the end, scrolls to the start smoothly', async ({ page, host }) => {
  const messages = Array.from({ length: 3000 }, (_, i) => ({
    role: i % 2 === 0 ? ('user' as const) : ('assistant' as const),
    content:
      i % 2 === 0
        ? `Question ${i}: what about item ${i}?`
        : `Answer ${i}.\n\n- point one for ${i}\n- point two\n\n\`\`\`js\nconsole.log(${i});\n\`\`\`\n\n${'Some more words to give the message a height. '.repeat(1 + (i % 5))}`,
  }));
  const imported = await host.services.dispatch('conversations.importJson', { text: exportFileOf('Very long', messages) });
  expect(imported.ok).toBe(true);

  await page.addInitScript(() => {
    const page = globalThis as unknown as WithTasks;
    const tasks: number[] = [];
    page.__tasks = tasks;
    new page.PerformanceObserver((list) => {
      for (const entry of list.getEntries()) tasks.push(entry.duration);
    }).observe({ type: 'longtask' });
  });
  await page.goto(host.url);
  await page.locator('[data-conversation-id]').filter({ hasText: 'Very long' }).locator('.open-button').click();
  await expect(page.locator('article[data-role="assistant"]').last()).toContainText('Answer 2999.');
  // Only the messages near the viewport are in the page.
  expect(await page.locator('article.message').count()).toBeLessThan(40);

  // Wheel scrolling at a brisk pace (600 px a step, a step a frame), measured.
  await page.evaluate(() => ((globalThis as unknown as WithTasks).__tasks.length = 0));
  const list = page.locator('.message-list');
  await list.hover();
  for (let i = 0; i < 60; i++) {
    await page.mouse.wheel(0, -600);
    await page.waitForTimeout(16);
  }
  const wheelTasks = await page.evaluate(() => (globalThis as unknown as WithTasks).__tasks.splice(0));
  // Then jumps of several screens at a time (a scrollbar drag), to the start.
  for (let i = 0; i < 20; i++) {
    await page.mouse.wheel(0, -8000);
    await page.waitForTimeout(16);
  }
  await list.evaluate((element) => (element.scrollTop = 0));
  await expect(page.locator('article[data-role="user"]').first()).toContainText('Question 0:');
  expect(await page.locator('article.message').count()).toBeLessThan(40);
  const jumpTasks = await page.evaluate(() => (globalThis as unknown as WithTasks).__tasks);
  test.info().annotations.push({ type: 'long tasks', description: `wheel: ${JSON.stringify(wheelTasks.map(Math.round))}; jumps: ${JSON.stringify(jumpTasks.map(Math.round))}` });
  // Each newly shown message costs a few ms (markdown, sanitizing, layout); on a shared
  // 2-core machine a jump that shows a whole new screen stays well under 150 ms.
  expect(Math.max(0, ...wheelTasks)).toBeLessThan(100);
  expect(Math.max(0, ...jumpTasks)).toBeLessThan(150);

  // The keyboard scrolls it too (focus inside the list, End goes back to the end).
  await page.locator('article.message').first().focus();
  await page.keyboard.press('End');
  await expect(page.locator('article[data-role="assistant"]').last()).toContainText('Answer 2999.', { timeout: 5000 });
});
