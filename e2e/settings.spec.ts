// Settings: the language follows the system and can be switched, the theme too; a sampling
// value out of range is refused with a reason in the UI language, a valid one is kept.
import { expect, test } from './support/fixtures.ts';

test.describe('a Chinese system', () => {
  test.use({ locale: 'zh-CN', hostOptions: { loadModel: false } });

  test('follows the system language, switches to English and back, and the theme', async ({ app }) => {
    await expect(app.locator('html')).toHaveAttribute('lang', 'zh-CN');
    await expect(app.getByTestId('new-chat')).toHaveText('新对话');

    await app.getByTestId('open-settings').click();
    const settings = app.getByTestId('settings');
    await expect(settings.getByTestId('language').locator('option').first()).toHaveText('跟随系统（简体中文）');
    await settings.getByTestId('language').selectOption('en');
    await expect(app.getByTestId('new-chat')).toHaveText('New chat');
    await expect(settings.getByRole('heading', { name: 'Settings' })).toBeVisible();

    await settings.getByText('Dark', { exact: true }).click();
    await expect(app.locator('html')).toHaveAttribute('data-theme', 'dark');
    await settings.getByText('Light', { exact: true }).click();
    await expect(app.locator('html')).toHaveAttribute('data-theme', 'light');

    // Both stick across a reload.
    await app.reload();
    await expect(app.getByTestId('new-chat')).toHaveText('New chat');
    await expect(app.locator('html')).toHaveAttribute('data-theme', 'light');

    // Back to the system's language.
    await app.getByTestId('open-settings').click();
    await app.getByTestId('settings').getByTestId('language').selectOption('system');
    await expect(app.getByTestId('new-chat')).toHaveText('新对话');
  });
});

test.describe('sampling', () => {
  test.use({ hostOptions: { loadModel: false } });

  test('an out-of-range value is refused with the reason; a valid one is kept for the next chat', async ({ app }) => {
    await app.getByTestId('open-settings').click();
    const settings = app.getByTestId('settings');
    const temperature = settings.getByTestId('sampling-temperature');
    await expect(settings).toContainText('Divides the scores before they become probabilities');
    await temperature.fill('9');
    await temperature.press('Tab');
    await expect(settings.getByRole('alert')).toHaveText('Must be from 0 to 5.');
    await temperature.fill('0.3');
    await temperature.press('Tab');
    await expect(settings.getByRole('alert')).toHaveCount(0);
    await expect(settings.getByRole('status').filter({ hasText: 'Saved' })).toBeVisible();
    const draft = await app.evaluate(() => (globalThis as unknown as { __jielong: { chat: { draft: { sampling: unknown } } } }).__jielong.chat.draft.sampling);
    expect(draft).toEqual({ temperature: 0.3 });
  });
});
