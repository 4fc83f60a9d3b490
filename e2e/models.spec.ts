// Models through the UI, against a local hub serving the generated tiny model (set as the
// mirror) with a catalog of it: the first-run screen downloads the recommended model with its
// progress bar moving and then chats with it; the Models screen pauses, resumes and cancels a
// download, sets the default, deletes with confirmation, adds by repo id and imports a folder.
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Locator, Page } from '@playwright/test';
import { answers, expect, send, test, waitForAnswer, type PageWatch } from './support/fixtures.ts';
import type { PageGlobals } from './support/page-globals.ts';

type WithApp = PageGlobals & { __jielong: { chat: { messages: Array<{ role: string; content: string; modelId: string | null }> } } };

const TEST_MODEL = 'Jielong tiny (test hub)';

/** Reads a progress bar's value every 50 ms until `done` is visible; returns the values seen. */
async function followProgress(bar: Locator, done: Locator, timeoutMs = 60_000): Promise<number[]> {
  const seen: number[] = [];
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await done.isVisible()) return seen;
    const value = await bar.getAttribute('aria-valuenow', { timeout: 200 }).catch(() => null);
    if (value !== null && seen.at(-1) !== Number(value)) seen.push(Number(value));
    await bar.page().waitForTimeout(50);
  }
  throw new Error(`not done within ${timeoutMs} ms; progress seen: ${seen.join(', ')}`);
}

function expectClean(watch: PageWatch): void {
  expect(watch.pageErrors, 'page errors').toEqual([]);
  expect(watch.cspViolations, 'CSP violations').toEqual([]);
  expect(watch.outsideRequests, 'requests leaving the host').toEqual([]);
}

async function openModels(page: Page): Promise<Locator> {
  await page.getByTestId('open-models').click();
  const screen = page.getByTestId('models-screen');
  await expect(screen).toBeVisible();
  await expect(screen.getByTestId('system-info')).toContainText(/of memory/);
  return screen;
}

/** Opens the Models screen and starts the test model's fp32 download from the catalog. */
async function startFp32Download(page: Page): Promise<{ screen: Locator; entry: Locator; row: Locator }> {
  const screen = await openModels(page);
  const entry = screen.getByTestId('catalog-entry').filter({ hasText: TEST_MODEL });
  await entry.getByText('fp32', { exact: true }).click();
  await entry.getByTestId('catalog-download').click();
  const row = screen.getByTestId('download').filter({ hasText: TEST_MODEL });
  await expect(row).toHaveAttribute('data-state', 'downloading');
  return { screen, entry, row };
}

test.describe('first run', () => {
  test.use({ hostOptions: { hub: { bytesPerSecond: 160 * 1024 }, firstRun: true } });

  test('downloads the recommended model with the progress bar moving, then chats with it', async ({ page, host, watch }) => {
    await page.goto(host.url);
    const firstRun = page.getByTestId('first-run');
    await expect(firstRun).toBeVisible();
    await expect(firstRun.getByTestId('first-run-demo')).toContainText('Jielong tiny (random weights)');
    const recommended = firstRun.getByTestId('first-run-recommended');
    await expect(recommended).toContainText(TEST_MODEL);
    await expect(recommended.getByTestId('fit-hint')).toHaveAttribute('data-fit', 'fits');
    // Nothing was asked of the hub before the button.
    expect(host.hub!.hub.connections).toBe(0);

    await recommended.getByTestId('first-run-download').click();
    const values = await followProgress(recommended.getByTestId('download-progress'), recommended.getByTestId('first-run-start'));
    const between = values.filter((v) => v > 0 && v < 100);
    expect(between.length, `progress values seen: ${values.join(', ')}`).toBeGreaterThanOrEqual(3);
    expect([...values].sort((a, b) => a - b)).toEqual(values);

    await recommended.getByTestId('first-run-start').click();
    await expect(firstRun).toBeHidden();
    await expect(page.getByTestId('model-button')).toContainText(TEST_MODEL, { timeout: 30_000 });
    await send(page, 'Hello, downloaded model');
    await waitForAnswer(page);
    await expect(answers(page).last()).not.toHaveText('');
    const last = await page.evaluate(() => (globalThis as unknown as WithApp).__jielong.chat.messages.at(-1));
    expect(last).toMatchObject({ role: 'assistant', modelId: 'jielong-tiny-test-fp32' });
    expect(last!.content.length).toBeGreaterThan(0);

    // Answered once: the next start goes straight to the chat.
    await page.reload();
    await expect(page.getByTestId('composer')).toBeVisible();
    await expect(page.getByTestId('first-run')).toHaveCount(0);
    expectClean(watch);
  });

  test('the demo model needs nothing from the network', async ({ page, host, watch }) => {
    await page.goto(host.url);
    await page.getByTestId('first-run-use-demo').click();
    await expect(page.getByTestId('composer')).toBeVisible();
    await send(page, 'Hi demo');
    await waitForAnswer(page);
    expect(host.hub!.hub.connections).toBe(0);
    expect(host.services.settings.get().firstRunDone).toBe(true);
    expectClean(watch);
  });
});

test.describe('the Models screen', () => {
  test.use({ hostOptions: { hub: { bytesPerSecond: 48 * 1024 } } });

  test('pauses, resumes from the part, installs; sets the default; deletes only after confirming', async ({ app, host }) => {
    const { screen, row } = await startFp32Download(app);
    await expect.poll(async () => Number(await row.getByTestId('download-progress').getAttribute('aria-valuenow'))).toBeGreaterThan(5);
    await row.getByTestId('download-pause').click();
    await expect(row).toHaveAttribute('data-state', 'paused');
    const pausedAt = await row.getByTestId('download-bytes').textContent();
    await app.waitForTimeout(500);
    await expect(row.getByTestId('download-bytes')).toHaveText(pausedAt!);

    host.hub!.hub.throttle(null);
    await row.getByTestId('download-resume').click();
    await expect(row).toHaveAttribute('data-state', 'installed', { timeout: 30_000 });
    expect(host.hub!.hub.rangeRequests('onnx/model.onnx').length, 'the resume asked for the rest only').toBeGreaterThan(0);

    const installed = screen.locator('[data-testid="installed-model"][data-model-id="jielong-tiny-test-fp32"]');
    await expect(installed).toBeVisible();
    await installed.getByTestId('installed-default').click();
    await expect(installed.getByTestId('default-tag')).toBeVisible();

    const folder = path.join(host.dataDir, 'models', 'jielong-tiny-test-fp32');
    expect(existsSync(folder)).toBe(true);
    await installed.getByTestId('installed-remove').click();
    const dialog = app.getByTestId('remove-model');
    await expect(dialog).toContainText(`${TEST_MODEL} (fp32)`);
    await expect(dialog).toContainText('default model');
    await dialog.getByTestId('remove-cancel').click();
    await expect(dialog).toBeHidden();
    expect(existsSync(folder)).toBe(true);

    await installed.getByTestId('installed-remove').click();
    await dialog.getByTestId('remove-confirm').click();
    await expect(installed).toHaveCount(0);
    expect(existsSync(folder)).toBe(false);
  });

  test('cancel stops a download and removes its partial files', async ({ app, host }) => {
    const { entry, row } = await startFp32Download(app);
    await expect(app.getByTestId('sidebar-downloading')).toBeVisible();
    await row.getByTestId('download-cancel').click();
    await expect(row).toHaveCount(0);
    await expect(app.getByTestId('sidebar-downloading')).toHaveCount(0);
    const downloads = path.join(host.dataDir, 'models', '.downloads', 'jielong-tiny-test-fp32');
    expect(existsSync(downloads)).toBe(false);
    await expect(entry.getByTestId('catalog-download')).toBeEnabled();
  });

  test('adds a model by repo id after looking it up from the mirror in the settings, and says when a repo does not exist', async ({ app, host }) => {
    // The mirror is set through the settings panel (the host started with it set: clear it first).
    host.services.settings.update({ hubHost: null });
    await app.reload();
    await app.getByTestId('open-settings').click();
    const mirror = app.getByTestId('settings-hub-host');
    await mirror.fill('not a url');
    await mirror.press('Tab');
    await expect(app.getByTestId('settings').getByRole('alert')).toContainText('http(s) address');
    await mirror.fill(`${host.hub!.hub.url}/`);
    await mirror.press('Tab');
    await expect(app.getByTestId('settings').getByRole('status').filter({ hasText: 'Saved' })).toBeVisible();
    expect(host.services.settings.get().hubHost).toBe(host.hub!.hub.url);
    await app.keyboard.press('Escape');

    const screen = await openModels(app);
    const form = screen.getByTestId('hub-form');
    await form.getByTestId('hub-repo').fill('jielong-test/no-such-model');
    await form.getByTestId('hub-inspect').click();
    await expect(form.getByTestId('hub-error')).toContainText(/not found/i);

    await form.getByTestId('hub-repo').fill('jielong-test/tiny-random');
    await form.getByTestId('hub-inspect').click();
    const result = form.getByTestId('hub-result');
    await expect(result).toContainText('jielong-test/tiny-random');
    await expect(result.getByTestId('hub-download-q8')).toBeVisible();
    await result.getByTestId('hub-download-q8').click();
    await expect(screen.getByTestId('download').filter({ hasText: 'tiny-random (q8)' })).toHaveAttribute('data-state', 'installed', { timeout: 60_000 });
    await expect(screen.locator('[data-testid="installed-model"][data-model-id="jielong-test-tiny-random-q8"]')).toBeVisible();
  });

  test('a download from a mirror that states no hash names the files checked by size only', async ({ app, host }) => {
    host.hub!.hub.throttle(null);
    await host.hub!.hub.addRepoFromFolder('jielong-test/hashless', host.hub!.modelDir, { hashless: (file) => file === 'onnx/model.onnx' || file === 'tokenizer.json' });
    const screen = await openModels(app);
    const form = screen.getByTestId('hub-form');
    await form.getByTestId('hub-repo').fill('jielong-test/hashless');
    await form.getByTestId('hub-inspect').click();
    await form.getByTestId('hub-result').getByTestId('hub-download-fp32').click();
    const row = screen.getByTestId('download').filter({ hasText: 'hashless (fp32)' });
    await expect(row).toHaveAttribute('data-state', 'installed', { timeout: 60_000 });
    await expect(row.getByTestId('download-size-only')).toHaveText('Checked by size only (the hub states no hash for them): onnx/model.onnx, tokenizer.json');
    await expect(row.getByTestId('download-size-only').locator('[translate="no"]')).toHaveText('onnx/model.onnx, tokenizer.json');

    // Where the hub states every hash, no file is named.
    await form.getByTestId('hub-repo').fill('jielong-test/tiny-random');
    await form.getByTestId('hub-inspect').click();
    await form.getByTestId('hub-result').getByTestId('hub-download-q4').click();
    const hashed = screen.getByTestId('download').filter({ hasText: 'tiny-random (q4)' });
    await expect(hashed).toHaveAttribute('data-state', 'installed', { timeout: 60_000 });
    await expect(hashed.getByTestId('download-size-only')).toHaveCount(0);
  });

  test('imports a model folder, and refuses one that is not a model with the reason', async ({ app, host }) => {
    const screen = await openModels(app);
    const form = screen.getByTestId('import-form');
    await form.getByTestId('import-path').fill(host.dataDir);
    await form.getByTestId('import-submit').click();
    await expect(form.getByTestId('import-error')).toContainText(/config\.json/);

    await form.getByTestId('import-path').fill(host.hub!.modelDir);
    await form.getByTestId('import-name').fill('My imported tiny');
    await form.getByTestId('import-submit').click();
    await expect(screen.getByTestId('installed-model').filter({ hasText: 'My imported tiny' })).toBeVisible({ timeout: 30_000 });
    await expect(form.getByTestId('import-path')).toHaveValue('');
  });
});
