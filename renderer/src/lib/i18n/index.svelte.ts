// The UI language: English or 简体中文, following the system language unless the user picked
// one. i18next does the lookups, interpolation and plurals; `t` reads a rune so every template
// that calls it re-renders when the language changes.
import { byteSize, byteSizeDecimals } from '@shared/byte-size.ts';
import i18next from 'i18next';
import { en } from './en.ts';
import { zhCN } from './zh-CN.ts';

export type Language = 'en' | 'zh-CN';
export const LANGUAGES: readonly Language[] = ['en', 'zh-CN'];

type Paths<T, Prefix extends string = ''> = {
  [K in keyof T & string]: T[K] extends string ? `${Prefix}${K}` : Paths<T[K], `${Prefix}${K}.`>;
}[keyof T & string];
/** Every key, e.g. `chat.copy`; plural keys are used without their `_one`/`_other` suffix. */
export type MessageKey = Paths<typeof en> | PluralBase<Paths<typeof en>>;
type PluralBase<K> = K extends `${infer Base}_other` ? Base : never;

const instance = i18next.createInstance();
void instance.init({
  lng: 'en',
  fallbackLng: 'en',
  resources: { en: { translation: en }, 'zh-CN': { translation: zhCN } },
  interpolation: { escapeValue: false }, // Svelte escapes text; we never inject these as HTML
  initAsync: false,
  returnNull: false,
});

/** Picks the UI language from the system's preferred languages. */
export function detectLanguage(preferred: readonly string[] = typeof navigator === 'undefined' ? [] : navigator.languages): Language {
  for (const tag of preferred) {
    const lower = tag.toLowerCase();
    if (lower.startsWith('zh')) return 'zh-CN';
    if (lower.startsWith('en')) return 'en';
  }
  return 'en';
}

class LocaleState {
  current = $state<Language>('en');
}
const state = new LocaleState();

export function currentLanguage(): Language {
  return state.current;
}

export function setLanguage(language: Language): void {
  if (state.current === language && instance.language === language) return;
  void instance.changeLanguage(language);
  state.current = language;
  if (typeof document !== 'undefined') document.documentElement.lang = language;
}

/** Strings without values, per language: i18next's lookup is not free and labels repeat a lot. */
// eslint-disable-next-line svelte/prefer-svelte-reactivity -- a cache keyed by language, not state
const plain = new Map<string, string>();

export function t(key: MessageKey, values?: Record<string, string | number>): string {
  // Reading the rune makes the caller depend on the language.
  const language = state.current;
  if (!values) {
    const cacheKey = `${language}\u0000${key}`;
    let text = plain.get(cacheKey);
    if (text === undefined) {
      text = instance.t(key, { lng: language }) as string;
      plain.set(cacheKey, text);
    }
    return text;
  }
  return instance.t(key, { ...values, lng: language }) as string;
}

// eslint-disable-next-line svelte/prefer-svelte-reactivity -- a cache of formatters, not state
const numberFormats = new Map<string, Intl.NumberFormat>();

/** Numbers in the UI language's style (formatters are cached: making one costs far more than using it). */
export function formatNumber(value: number, options?: Intl.NumberFormatOptions): string {
  const key = `${state.current}|${options ? JSON.stringify(options) : ''}`;
  let format = numberFormats.get(key);
  if (!format) {
    format = new Intl.NumberFormat(state.current, options);
    numberFormats.set(key, format);
  }
  return format.format(value);
}

/** A size in the app's one convention (decimal units, see byte-size.ts), the number in the UI language's style. */
export function formatBytes(bytes: number): string {
  const size = byteSize(bytes);
  return `${formatNumber(size.value, { maximumFractionDigits: byteSizeDecimals(size) })} ${size.unit}`;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return t('stats.ms', { value: formatNumber(ms, { maximumFractionDigits: 0 }) });
  return t('stats.s', { value: formatNumber(ms / 1000, { maximumFractionDigits: 2 }) });
}

/** A time left, rounded to what a person reads: seconds, minutes, or hours and minutes. */
export function formatEta(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return t('modelsScreen.etaSeconds', { count: s });
  if (s < 3600) return t('modelsScreen.etaMinutes', { count: Math.round(s / 60) });
  return t('modelsScreen.etaHours', { hours: Math.floor(s / 3600), minutes: Math.round((s % 3600) / 60) });
}

export function formatDate(epochMs: number): string {
  // eslint-disable-next-line svelte/prefer-svelte-reactivity -- a value to format, not state
  return new Intl.DateTimeFormat(state.current, { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(epochMs));
}
