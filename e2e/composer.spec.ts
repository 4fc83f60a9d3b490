// The composer: Enter sends, Shift+Enter is a new line, and Chinese typed through an input
// method (driven with Chromium's own IME commands over CDP) is not sent when Enter confirms
// the composition; the context gauge fills as the conversation grows.
import { answers, expect, test, waitForAnswer } from './support/fixtures.ts';
import type { PageGlobals } from './support/page-globals.ts';

test.use({ hostOptions: { scripted: { answer: (messages) => `收到：${messages.at(-1)?.content ?? ''}` } } });

test('Chinese typed through an IME composition is not sent early', async ({ app }) => {
  const composer = app.getByTestId('composer');
  await composer.click();
  const cdp = await app.context().newCDPSession(app);
  // Pinyin being composed: "ni hao" → 你好, still composing.
  await cdp.send('Input.imeSetComposition', { text: 'n', selectionStart: 1, selectionEnd: 1 });
  await cdp.send('Input.imeSetComposition', { text: 'ni hao', selectionStart: 6, selectionEnd: 6 });
  await cdp.send('Input.imeSetComposition', { text: '你好', selectionStart: 2, selectionEnd: 2 });
  // Enter while the composition is open: the IME takes it to confirm the candidate.
  await cdp.send('Input.dispatchKeyEvent', { type: 'rawKeyDown', key: 'Enter', code: 'Enter', windowsVirtualKeyCode: 229, nativeVirtualKeyCode: 229 });
  await cdp.send('Input.dispatchKeyEvent', { type: 'keyUp', key: 'Enter', code: 'Enter', windowsVirtualKeyCode: 229, nativeVirtualKeyCode: 229 });
  await cdp.send('Input.insertText', { text: '你好' });
  await expect(composer).toHaveValue('你好');
  await expect(app.locator('article[data-role="user"]')).toHaveCount(0);

  // A second word, then Enter after the composition has ended: now it sends.
  await cdp.send('Input.imeSetComposition', { text: 'shijie', selectionStart: 6, selectionEnd: 6 });
  await cdp.send('Input.imeSetComposition', { text: '世界', selectionStart: 2, selectionEnd: 2 });
  await cdp.send('Input.insertText', { text: '世界' });
  await expect(composer).toHaveValue('你好世界');
  await expect(app.locator('article[data-role="user"]')).toHaveCount(0);
  await composer.press('Enter');
  await expect(app.locator('article[data-role="user"]')).toHaveText(/你好世界/);
  await waitForAnswer(app);
  await expect(answers(app).last()).toContainText('收到：你好世界');
  await expect(composer).toHaveValue('');
});

test('an Enter keydown flagged as composing (Safari-style, keyCode 229) does not send', async ({ app }) => {
  const composer = app.getByTestId('composer');
  await composer.fill('拼音输入');
  await composer.evaluate((element) => {
    const { CompositionEvent, KeyboardEvent } = globalThis as unknown as PageGlobals;
    element.dispatchEvent(new CompositionEvent('compositionstart', { bubbles: true }));
    element.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true, cancelable: true, isComposing: true }));
    element.dispatchEvent(new CompositionEvent('compositionend', { bubbles: true, data: '输入' }));
    element.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', keyCode: 229, bubbles: true, cancelable: true }));
  });
  await app.waitForTimeout(300);
  await expect(app.locator('article[data-role="user"]')).toHaveCount(0);
  await expect(composer).toHaveValue('拼音输入');
});

test('Shift+Enter makes a new line, Enter sends, and the context gauge fills', async ({ app }) => {
  const composer = app.getByTestId('composer');
  await expect(app.getByTestId('context-gauge')).toContainText('0 of 4,096 tokens');
  await composer.click();
  await app.keyboard.type('line one');
  await app.keyboard.press('Shift+Enter');
  await app.keyboard.type('line two');
  await expect(composer).toHaveValue('line one\nline two');
  await app.keyboard.press('Enter');
  await expect(app.locator('article[data-role="user"]')).toHaveText(/line one\s+line two/);
  await waitForAnswer(app);
  await expect(app.getByTestId('context-gauge')).not.toContainText('0 of 4,096 tokens');
  await expect(app.getByTestId('context-gauge')).toContainText(/[1-9]\d* of 4,096 tokens/);
});
