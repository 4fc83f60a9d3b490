// The first start with the trained poet as the bundled demo: the first-run screen says what it
// is, with example prompts, and choosing it answers a poem's opening with Chinese verse, written
// by the real model host.
import path from 'node:path';
import { expect, send, test, waitForAnswer } from './support/fixtures.ts';
import { ROOT } from './support/test-host.ts';

const POET_DIR = path.join(ROOT, 'resources', 'models', 'jielong-poet');
/** Chinese characters, the poems' punctuation and book-title marks, nothing else (no replacement character). */
const VERSE = /^[\p{Script=Han}，。？！；《》]+$/u;

test.use({ hostOptions: { firstRun: true, bundledModelDir: POET_DIR } });

test('the first-run demo choice answers a poem prompt with Chinese text', async ({ page, host, watch }) => {
  await page.goto(host.url);
  const demo = page.getByTestId('first-run-demo');
  await expect(demo).toContainText('Jielong Poet');
  await expect(demo).toContainText('it does not chat');
  await expect(demo.getByTestId('first-run-poet-examples')).toContainText('床前明月光，');
  await demo.getByTestId('first-run-use-demo').click();

  await send(page, '床前明月光，');
  await waitForAnswer(page, 60_000);
  const answer = page.locator('article[data-role="assistant"]').last().getByTestId('markdown');
  const text = (await answer.innerText()).trim();
  expect(text).toMatch(VERSE);
  expect([...text].length).toBeGreaterThanOrEqual(5);
  expect(text).toMatch(/[，。？！；]/); // verse has lines: a random model over the same characters rarely writes punctuation
  expect(watch.pageErrors).toEqual([]);
  expect(watch.cspViolations).toEqual([]);
});

test('the first-run screen describes the poet in Chinese', async ({ page, host }) => {
  await host.services.dispatch('settings.update', { language: 'zh-CN' });
  await page.goto(host.url);
  const demo = page.getByTestId('first-run-demo');
  await expect(demo).toContainText('不会聊天');
  await expect(demo.getByTestId('first-run-poet-examples')).toContainText('《春晓》');
  await expect(demo.getByTestId('first-run-use-demo')).toHaveText('先用接龙诗人');
});
