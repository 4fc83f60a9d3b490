// Builds the renderer (renderer/) into dist/renderer/, which both transports serve: Electron
// through app://jielong and the browser host over HTTP. Relative asset paths (base './') so the
// same build works from either origin.
import { fileURLToPath } from 'node:url';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig, type Plugin } from 'vite';

const root = fileURLToPath(new URL('./renderer', import.meta.url));
const outDir = fileURLToPath(new URL('./dist/renderer', import.meta.url));

/**
 * The renderer reaches the contract (electron/shared: types and schemas) as `@shared/...`.
 * renderer/tsconfig.json's `paths` says the same for svelte-check; Vitest takes this one.
 */
export const SHARED_ALIAS = { '@shared': fileURLToPath(new URL('./electron/shared', import.meta.url)) };

/**
 * The page's own Content-Security-Policy, a second wall behind the headers of both transports.
 * It is stricter than the browser host's header (no inline style attributes, like the Electron
 * app), so the browser tests exercise what the app allows. Build only: Vite's dev server
 * injects inline styles and scripts.
 */
export const RENDERER_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self' ws://127.0.0.1:* ws://localhost:*",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

function cspMeta(): Plugin {
  return {
    name: 'jielong-csp-meta',
    apply: 'build',
    transformIndexHtml: () => [{ tag: 'meta', attrs: { 'http-equiv': 'Content-Security-Policy', content: RENDERER_CSP }, injectTo: 'head-prepend' }],
  };
}

export default defineConfig({
  root,
  base: './',
  resolve: { alias: SHARED_ALIAS },
  plugins: [svelte({ configFile: fileURLToPath(new URL('./svelte.config.js', import.meta.url)) }), cspMeta()],
  build: {
    outDir,
    emptyOutDir: true,
    target: 'chrome120',
    // KaTeX fonts and the like are files, never inlined data: URLs (the CSP allows fonts from 'self' only).
    assetsInlineLimit: 0,
    sourcemap: true,
    chunkSizeWarningLimit: 1500,
  },
  server: { port: 5173, strictPort: false },
});
