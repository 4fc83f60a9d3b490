// The app state is created once (App.svelte) and handed to every component through context.
import { getContext, setContext } from 'svelte';
import type { AppState } from './app.svelte.ts';

const KEY = Symbol('jielong-app');

export function provideApp(app: AppState): void {
  setContext(KEY, app);
}

export function useApp(): AppState {
  const app = getContext<AppState | undefined>(KEY);
  if (!app) throw new Error('useApp() outside <App>');
  return app;
}
