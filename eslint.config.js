// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';
import svelte from 'eslint-plugin-svelte';
import svelteConfig from './svelte.config.js';

/**
 * Which folder may import which (the README's Layout section).
 * Arrows point down only: main/server -> services -> storage | host client -> model host.
 * @param {string[]} folders electron/<folder> names this code must not import
 * @param {string[]} [extra] other forbidden module names
 * @param {{ group: string[]; message: string }[]} [patterns] other forbidden import patterns
 * @returns {import('eslint').Linter.RulesRecord}
 */
const forbid = (folders, extra = [], patterns = []) => ({
  'no-restricted-imports': [
    'error',
    {
      paths: extra.map((name) => ({ name, message: `not allowed in this layer (see eslint.config.js)` })),
      patterns: [
        ...folders.map((folder) => ({
          group: [`**/${folder}/*`, `**/electron/${folder}/*`],
          message: `this layer must not import electron/${folder} (see the README's Layout section)`,
        })),
        ...(extra.includes('node:') ? [{ group: ['node:*'], message: 'the shared contract is pure: no node: imports' }] : []),
        ...patterns,
      ],
    },
  ],
});

const nodeBuiltins = ['fs', 'path', 'os', 'child_process', 'crypto', 'http', 'net', 'stream', 'worker_threads', 'url'];

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'out/', 'resources/', '.models/', 'coverage/', 'test-results/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node }, ecmaVersion: 2023, sourceType: 'module' },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  // The pure contract: no electron, no node, no other layer.
  { files: ['electron/shared/**'], rules: forbid(['main', 'preload', 'server', 'services', 'storage', 'model-host'], ['electron', 'node:', ...nodeBuiltins]) },
  // The model host knows nothing of conversations or UI.
  { files: ['electron/model-host/**'], rules: forbid(['main', 'preload', 'server', 'services', 'storage'], ['electron', 'better-sqlite3']) },
  // Model files on disk (folder checks, layouts): plain Node shared by the model host and the services.
  { files: ['electron/model-files/**'], rules: forbid(['main', 'preload', 'server', 'services', 'storage', 'model-host'], ['electron']) },
  // Storage knows nothing of models.
  { files: ['electron/storage/**'], rules: forbid(['main', 'preload', 'server', 'services', 'model-host'], ['electron', '@huggingface/transformers', 'onnxruntime-node']) },
  // Services are plain Node: no electron; they reach the model host only through its client and the protocol.
  { files: ['electron/services/**'], rules: forbid(['main', 'preload', 'server', 'model-host'], ['electron']) },
  { files: ['electron/server/**'], rules: forbid(['main', 'preload', 'model-host'], ['electron']) },
  { files: ['electron/preload/**'], rules: forbid(['main', 'server', 'services', 'storage', 'model-host']) },
  { files: ['electron/main/**'], rules: forbid(['server', 'preload']) },
  // Test helpers live in electron/test-support; production code never imports them. (A rule of
  // its own name, so it adds to each layer's no-restricted-imports instead of replacing it.)
  {
    files: ['electron/**', 'renderer/**'],
    ignores: ['**/*.test.ts', 'electron/test-support/**'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        { patterns: [{ group: ['**/test-support/*', '**/test-support/**'], message: 'test helpers (electron/test-support) are for tests only' }] },
      ],
    },
  },
  // The renderer (Svelte 5, a browser page) knows only the contract: electron/shared (types and
  // schemas, imported as @shared/..., the alias in vite.renderer.config.ts), never other electron/
  // code, never node: or electron. Svelte files are parsed with
  // eslint-plugin-svelte (TypeScript inside), so the same rule holds for them.
  ...svelte.configs.recommended.map((config) => ({ ...config, files: ['renderer/**/*.svelte', 'renderer/**/*.svelte.ts'] })),
  {
    files: ['renderer/**/*.svelte', 'renderer/**/*.svelte.ts'],
    languageOptions: { parserOptions: { parser: tseslint.parser, extraFileExtensions: ['.svelte'], svelteConfig } },
  },
  {
    files: ['renderer/**'],
    languageOptions: { globals: { ...globals.browser } },
    rules: forbid(
      ['main', 'preload', 'server', 'services', 'storage', 'model-host', 'model-files'],
      ['electron', 'node:', ...nodeBuiltins],
      [{ group: ['**/electron/shared/*', '@shared/**/..'], message: 'the renderer imports the contract as @shared/<file> (vite.renderer.config.ts)' }],
    ),
  },
);
