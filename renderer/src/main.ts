// The renderer's entry: styles, the remembered theme and language (before the first paint),
// then the app.
import 'katex/dist/katex.min.css';
import './app.css';
import { mount } from 'svelte';
import App from './App.svelte';
import { detectLanguage, setLanguage } from './lib/i18n/index.svelte.ts';
import { applyRememberedTheme } from './lib/theme.ts';

applyRememberedTheme();
let remembered: string | null = null;
try {
  remembered = localStorage.getItem('jielong.language');
} catch {
  remembered = null;
}
setLanguage(remembered === 'en' || remembered === 'zh-CN' ? remembered : detectLanguage());

const target = document.getElementById('app');
if (!target) throw new Error('index.html has no #app');
mount(App, { target });
