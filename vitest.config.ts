import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'vitest/config';
import { SHARED_ALIAS } from './vite.renderer.config.ts';

export default defineConfig({
  // Compiles the renderer's .svelte.ts state modules (runes) for their unit tests.
  plugins: [svelte()],
  resolve: { alias: SHARED_ALIAS },
  test: {
    include: ['electron/**/*.test.ts', 'scripts/**/*.test.ts', 'renderer/**/*.test.ts'],
    // Real model runs and child processes: give them room on a 2-core machine.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
