// A damaged conversation database in the browser: the app starts on the recovery screen,
// says where the damaged file is kept, and salvage brings back the readable conversations.
import { mkdirSync, mkdtempSync, openSync, closeSync, statSync, writeSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, test } from '@playwright/test';
import { Storage } from '../electron/storage/index.ts';
import { startTestHost, type TestHost } from './support/test-host.ts';

let root: string;
let host: TestHost | null = null;

test.beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'jielong-e2e-recovery-'));
  const data = path.join(root, 'data');
  mkdirSync(data, { recursive: true });
  const file = path.join(data, 'jielong.sqlite');
  const storage = Storage.open(file);
  for (let c = 0; c < 30; c += 1) {
    const conversation = storage.createConversation({ title: `Kept conversation ${c}` });
    for (let m = 0; m < 4; m += 1) storage.appendUserMessage({ conversationId: conversation.id, content: `message ${c}/${m} ${'words '.repeat(150)}` });
  }
  storage.close();
  // Damage a few b-tree pages in the second half of the file.
  const pages = statSync(file).size / 4096;
  const fd = openSync(file, 'r+');
  for (let page = Math.floor(pages / 2); page < pages; page += 7) writeSync(fd, Buffer.alloc(12, 0xa5), 0, 12, page * 4096);
  closeSync(fd);
});

test.afterEach(async () => {
  await host?.close();
  host = null;
  rmSync(root, { recursive: true, force: true });
});

for (const language of ['en', 'zh-CN'] as const) {
  test(`starts on the recovery screen and salvages (${language})`, async ({ page }) => {
    host = await startTestHost({ dataDir: root, loadModel: false, scripted: { answer: () => 'ok' } });
    if (language === 'zh-CN') host.services.settings.update({ language: 'zh-CN' });
    await page.goto(host.url);
    const screen = page.getByTestId('recovery');
    await expect(screen).toBeVisible();
    await expect(screen.getByRole('heading', { level: 1 })).toHaveText(language === 'en' ? 'Your conversation database is damaged' : '对话数据库已损坏');
    await expect(page.getByTestId('recovery-kept')).toContainText('jielong.sqlite.corrupt-');
    await page.getByTestId('recovery-salvage').click();
    await expect(screen).toBeHidden();
    await expect(page.locator('[data-conversation-id]').first()).toBeVisible();
    await expect(page.getByTestId('toast').first()).toContainText(language === 'en' ? /Saved \d+ conversations/ : /已保存 \d+ 个对话/);
  });
}
