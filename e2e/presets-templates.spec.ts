// Each model at its best, in English and in Chinese: the settings show where each sampling
// value comes from (the model's generation_config.json, a preset, this chat, the app) and let
// the user reset to the model's own; presets are created from the chat, chosen, made the
// default for new chats, renamed and deleted (the chat keeps its values); a folder without a
// chat template is imported by choosing one (a broken template refused with the UI's words,
// ChatML's sample rendered and counted), then chats. Screenshots light and dark.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page, TestInfo } from '@playwright/test';
import { expect, screenshot, send, test, waitForAnswer } from './support/fixtures.ts';
import type { PageGlobals } from './support/page-globals.ts';
import { editedTinyModel } from '../electron/test-support/model-copies.ts';
import type { TestHost } from './support/test-host.ts';

type WithApp = PageGlobals & { __jielong: { settings: { update(patch: { theme: string }): Promise<boolean> } } };

const ROOT = mkdtempSync(path.join(os.tmpdir(), 'jielong-presets-e2e-'));
/** A bundled model that recommends its own sampling, as Qwen2.5 Instruct does. */
const RECOMMENDING = editedTinyModel(path.join(ROOT, 'tiny-recommends'), ({ generation }) => Object.assign(generation, { temperature: 0.7, top_p: 0.8, top_k: 20, repetition_penalty: 1.05 }));
/** A folder that lacks only its chat template. */
const NO_TEMPLATE = editedTinyModel(path.join(ROOT, 'no-template'), ({ tokenizerConfig }) => delete tokenizerConfig['chat_template']);
test.afterAll(() => rmSync(ROOT, { recursive: true, force: true }));

test.describe.configure({ mode: 'serial' });
test.use({ hostOptions: { bundledModelDir: RECOMMENDING } });

const WORDS = {
  en: {
    fromModel: 'from the model',
    fromPreset: 'from the preset',
    fromChat: 'from this chat',
    recommends: /recommends: Temperature 0\.7 · Top-k 20 · Top-p 0\.8/i,
    precise: 'Always the most likely next token',
    keepsValues: /chat keeps its values/,
    noTemplate: 'This folder has no chat template',
    refused: 'The chat template was refused: Your chat template cannot be used: it has a syntax error',
    tokens: /^\d+ tokens$/,
    imported: 'was imported',
  },
  'zh-CN': {
    fromModel: '来自模型',
    fromPreset: '来自预设',
    fromChat: '来自此对话',
    recommends: /推荐：温度 0\.7 · Top-k 20 · Top-p 0\.8/,
    precise: '总是选概率最高的下一个词元',
    keepsValues: /个对话保留了它的值/,
    noTemplate: '此文件夹没有聊天模板',
    refused: '聊天模板未被接受：Your chat template cannot be used: it has a syntax error',
    tokens: /^\d+ 个词元$/,
    imported: '已导入',
  },
} as const;

async function open(page: Page, host: TestHost, language: 'en' | 'zh-CN', theme: 'light' | 'dark'): Promise<void> {
  await host.services.dispatch('settings.update', { theme, language });
  await page.emulateMedia({ colorScheme: theme, reducedMotion: 'reduce' });
  await page.goto(host.url);
  await expect(page.locator('html')).toHaveAttribute('lang', language);
  await expect(page.getByTestId('composer')).toBeEnabled({ timeout: 20_000 });
}

/** Both themes of what is on screen now (the theme changed as the settings' own switch does). */
async function shots(page: Page, testInfo: TestInfo, name: string, language: string): Promise<void> {
  for (const theme of ['light', 'dark'] as const) {
    await page.evaluate((next) => (globalThis as unknown as WithApp).__jielong.settings.update({ theme: next }), theme);
    await page.emulateMedia({ colorScheme: theme, reducedMotion: 'reduce' });
    await expect(page.locator('html')).toHaveAttribute('data-theme', theme);
    await screenshot(page, testInfo, `${name}-${theme}-${language}`);
  }
}

for (const language of ['en', 'zh-CN'] as const) {
  const words = WORDS[language];

  test(`model defaults and presets, ${language}`, async ({ page, host }, testInfo) => {
    await open(page, host, language, 'light');
    await page.getByTestId('open-settings').click();
    const settings = page.getByTestId('settings');
    // The model's own recommendation, and each value's source.
    await expect(settings.getByTestId('model-defaults')).toContainText(words.recommends);
    await expect(settings.getByTestId('source-temperature')).toHaveText(words.fromModel);
    await expect(settings.getByTestId('sampling-temperature')).toHaveAttribute('placeholder', /0\.7/);

    // A built-in preset, explained in one line, over the model.
    await settings.getByTestId('preset-select').selectOption('builtin:precise');
    await expect(settings.getByTestId('preset-description')).toContainText(words.precise);
    await expect(settings.getByTestId('source-temperature')).toHaveText(words.fromPreset);
    await expect(settings.getByTestId('source-topP')).toHaveText(words.fromModel);
    // This chat's own value wins over the preset.
    await settings.getByTestId('sampling-topK').fill('5');
    await settings.getByTestId('sampling-topK').blur();
    await expect(settings.getByTestId('source-topK')).toHaveText(words.fromChat);
    await shots(page, testInfo, 'presets-01-settings', language);

    // Saved as a new preset, which the chat then follows, and made the default for new chats.
    await settings.getByTestId('preset-save-as').click();
    await settings.getByTestId('preset-name').fill('Mine 我的');
    await settings.getByTestId('preset-name-save').click();
    await expect(settings.getByTestId('preset-select').locator('option:checked')).toHaveText('Mine 我的');
    await expect(settings.getByTestId('source-topK')).toHaveText(words.fromPreset);
    await settings.getByTestId('preset-default').click();
    await expect(settings.getByTestId('preset-default')).toHaveAttribute('aria-pressed', 'true');
    await page.keyboard.press('Escape');

    await send(page, language === 'en' ? 'Hello there' : '你好');
    await waitForAnswer(page);
    const first = host.services.storage.listConversations().items[0]!;
    const answer = host.services.storage.loadActivePath(first.id).messages.at(-1)!;
    // What the answer used is stored with it: the preset's (greedy, top-k 5) over the model's (top-p 0.8).
    expect(answer.sampling).toMatchObject({ temperature: 0, topK: 5, topP: 0.8, repetitionPenalty: 1.05 });

    // A new chat follows the default preset.
    await page.getByTestId('new-chat').click();
    await page.getByTestId('open-settings').click();
    await expect(settings.getByTestId('preset-select').locator('option:checked')).toHaveText('Mine 我的');
    await page.keyboard.press('Escape');

    // Back in the first chat: renamed, then deleted; the chat keeps its values as its own.
    await page.locator(`[data-conversation-id="${first.id}"]`).click();
    await page.getByTestId('open-settings').click();
    await settings.getByTestId('preset-rename').click();
    await settings.getByTestId('preset-name').fill('Mine 2');
    await settings.getByTestId('preset-name-save').click();
    await expect(settings.getByTestId('preset-select').locator('option:checked')).toHaveText('Mine 2');
    await settings.getByTestId('preset-delete').click();
    await shots(page, testInfo, 'presets-02-delete', language);
    await settings.getByTestId('preset-delete-confirm').click();
    await expect(page.getByTestId('toast').filter({ hasText: words.keepsValues })).toBeVisible();
    await expect(settings.getByTestId('preset-select')).toHaveValue('');
    await expect(settings.getByTestId('source-topK')).toHaveText(words.fromChat);
    await expect(settings.getByTestId('sampling-topK')).toHaveValue('5');
    expect((await host.services.dispatch('settings.get', {})) as { value: { defaultPresetId: unknown } }).toMatchObject({ value: { defaultPresetId: null } });

    // Reset to the model's own settings.
    await settings.getByTestId('use-model-settings').click();
    await expect(settings.getByTestId('source-topK')).toHaveText(words.fromModel);
    await expect(settings.getByTestId('source-temperature')).toHaveText(words.fromModel);
  });

  test(`a folder without a chat template is imported with ChatML and chats, ${language}`, async ({ page, host }, testInfo) => {
    await open(page, host, language, 'light');
    await page.getByTestId('open-models').click();
    const screen = page.getByTestId('models-screen');
    const form = screen.getByTestId('import-form');
    await form.getByTestId('import-path').fill(NO_TEMPLATE);
    await form.getByTestId('import-submit').click();
    await expect(form.getByTestId('import-error')).toContainText(words.noTemplate);
    const picker = screen.getByTestId('chat-template-picker');

    // A broken template of the user's own is refused at save, in the UI's words.
    await picker.getByTestId('chat-template-custom').check();
    await picker.getByTestId('chat-template-source').fill('{% for message in messages %}{{ message.content }}');
    await picker.getByTestId('chat-template-save').click();
    await expect(picker.getByTestId('chat-template-error')).toContainText(words.refused);
    await expect(screen.getByTestId('installed-model')).toHaveCount(1);

    // ChatML: the sample as the model will read it, and its length in tokens.
    await picker.getByTestId('chat-template-chatml').check();
    await picker.getByTestId('chat-template-preview').click();
    await expect(picker.getByTestId('chat-template-rendered')).toContainText('<|im_start|>user\nHello! 你好<|im_end|>');
    await expect(picker.getByTestId('chat-template-tokens')).toHaveText(words.tokens);
    await shots(page, testInfo, 'templates-01-import', language);
    await picker.getByTestId('chat-template-save').click();
    await expect(page.getByTestId('toast').filter({ hasText: words.imported })).toBeVisible({ timeout: 30_000 });
    const row = screen.getByTestId('installed-model').filter({ hasText: 'no-template' });
    await expect(row).toBeVisible();

    // Chat with it.
    await row.getByTestId('installed-load').click();
    await send(page, language === 'en' ? 'Hi' : '你好');
    await waitForAnswer(page);
    const reply = page.locator('article[data-role="assistant"]').last();
    await expect(reply).toHaveAttribute('data-status', 'complete');

    // Later, from the Models screen: the template dialog.
    await page.getByTestId('open-models').click();
    await row.getByTestId('installed-template').click();
    const dialog = page.getByTestId('chat-template-dialog');
    await dialog.getByTestId('chat-template-gemma').check();
    await dialog.getByTestId('chat-template-preview').click();
    await expect(dialog.getByTestId('chat-template-rendered')).toContainText('<start_of_turn>user');
    await shots(page, testInfo, 'templates-02-models-screen', language);
  });
}
