// Svelte options for the renderer (renderer/), shared by the Vite build (vite.renderer.config.ts)
// and svelte-check. Runes everywhere: the whole UI is Svelte 5 style.
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

/** @type {import('@sveltejs/vite-plugin-svelte').SvelteConfig} */
export default {
  preprocess: vitePreprocess({ script: true }),
  compilerOptions: {
    runes: true,
  },
};
