// English and 简体中文 carry the same keys, no empty string, and the same {{placeholders}}.
import { describe, expect, it } from 'vitest';
import { en } from './en.ts';
import { zhCN } from './zh-CN.ts';

function flatten(value: unknown, prefix = ''): Map<string, string> {
  const out = new Map<string, string>();
  for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (typeof child === 'string') out.set(path, child);
    else for (const [k, v] of flatten(child, path)) out.set(k, v);
  }
  return out;
}

const placeholders = (text: string): string[] => [...text.matchAll(/\{\{\s*(\w+)[^}]*\}\}/g)].map((m) => m[1]!).sort();

describe('locales', () => {
  const english = flatten(en);
  const chinese = flatten(zhCN);

  it('have the same keys', () => {
    expect([...chinese.keys()].sort()).toEqual([...english.keys()].sort());
  });

  it('have no empty string', () => {
    for (const [key, text] of [...english, ...chinese]) expect(text.trim(), key).not.toBe('');
  });

  it('use the same placeholders for each key', () => {
    for (const [key, text] of english) expect(placeholders(chinese.get(key) ?? ''), key).toEqual(placeholders(text));
  });

  it('translate: the Chinese strings are not the English ones (names and terms aside)', () => {
    const sameOnPurpose = new Set(['settings.topK', 'settings.topP', 'settings.minP', 'stopReason.unknown']);
    for (const [key, text] of english) {
      if (sameOnPurpose.has(key)) continue;
      expect(chinese.get(key), key).not.toBe(text);
    }
  });
});
