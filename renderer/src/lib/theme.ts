// Light, dark, or the system's choice: sets data-theme on <html> (the CSS variables follow it)
// and color-scheme (form controls and scrollbars follow that), and tracks the system while
// the setting is `system`.
export type ThemeSetting = 'system' | 'light' | 'dark';

const query = typeof matchMedia === 'function' ? matchMedia('(prefers-color-scheme: dark)') : null;
let current: ThemeSetting = 'system';

function apply(): void {
  const dark = current === 'dark' || (current === 'system' && (query?.matches ?? false));
  const root = document.documentElement;
  root.dataset['theme'] = dark ? 'dark' : 'light';
  root.style.colorScheme = dark ? 'dark' : 'light';
}

query?.addEventListener('change', () => {
  if (current === 'system') apply();
});

export function setTheme(setting: ThemeSetting): void {
  current = setting;
  apply();
  try {
    localStorage.setItem('jielong.theme', setting);
  } catch {
    // not remembered before the settings load; harmless
  }
}

/** The last theme, applied before the settings arrive so the page does not flash. */
export function applyRememberedTheme(): void {
  let remembered: string | null = null;
  try {
    remembered = localStorage.getItem('jielong.theme');
  } catch {
    remembered = null;
  }
  setTheme(remembered === 'light' || remembered === 'dark' ? remembered : 'system');
}
