// Builds the Electron bundles into a temporary folder and runs them as far as they can run
// without the Electron binary: the preload in a sandbox-like context whose require knows only
// 'electron', the main bundle under Node with a fake 'electron' module, and the model host
// bundle as a Node child that must announce itself ready.
import { fork, spawnSync } from 'node:child_process';
import { builtinModules } from 'node:module';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import vm from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXTERNALS, PROJECT_ROOT, buildElectron, packagingProblems, requiredModules, type BuildElectronResult } from './build-electron.ts';

let outDir: string;
let result: BuildElectronResult;

beforeAll(async () => {
  outDir = mkdtempSync(path.join(tmpdir(), 'jielong-build-'));
  result = await buildElectron({ outDir, log: () => undefined });
});
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

const read = (relative: string) => readFileSync(path.join(outDir, relative), 'utf8');

describe('build:electron', () => {
  it('writes the three CommonJS bundles and the app package.json', () => {
    expect(result.files.map((file) => path.relative(outDir, file.output)).sort()).toEqual(['electron/main.cjs', 'electron/model-host.cjs', 'electron/preload.cjs']);
    const manifest = JSON.parse(read('package.json')) as { main: string; dependencies: Record<string, string>; productName: string };
    expect(manifest.main).toBe('electron/main.cjs');
    expect(manifest.productName).toBe('Jielong');
    expect(Object.keys(manifest.dependencies).sort()).toEqual(['@huggingface/transformers', 'better-sqlite3', 'onnxruntime-node']);
    for (const version of Object.values(manifest.dependencies)) expect(version).toMatch(/^\d+\.\d+\.\d+/);
    expect(manifest.dependencies).not.toHaveProperty('electron');
    // The production install electron-builder runs in dist/ follows the project's install-script policy.
    expect((manifest as { allowScripts?: Record<string, boolean> }).allowScripts).toMatchObject({ 'onnxruntime-node': false, 'better-sqlite3': true });
  });

  it('keeps electron and the native/large packages external, and bundles everything else', () => {
    const main = requiredModules(read('electron/main.cjs'));
    const host = requiredModules(read('electron/model-host.cjs'));
    expect(main).toContain('electron');
    expect(host).toContain('@huggingface/transformers');
    for (const name of [...main, ...host]) {
      const external = EXTERNALS.some((e) => name === e || name.startsWith(`${e}/`));
      expect(external || name.startsWith('node:') || builtinModules.includes(name), name).toBe(true);
    }
    expect(main).not.toContain('zod');
    // Test helpers are not shipped.
    expect(read('electron/main.cjs')).not.toContain('fakeWebContents');
  });

  it('the preload requires nothing but electron and exposes window.jielong in a sandbox-like context', () => {
    const code = read('electron/preload.cjs');
    expect(requiredModules(code)).toEqual(['electron']);
    const exposed: Record<string, unknown> = {};
    const fakeElectron = {
      contextBridge: { exposeInMainWorld: (key: string, api: unknown) => (exposed[key] = api) },
      ipcRenderer: { invoke: async () => null, on: () => undefined, removeListener: () => undefined },
    };
    const module = { exports: {} };
    const sandboxRequire = (name: string) => {
      if (name === 'electron') return fakeElectron;
      throw new Error(`module not found in the sandbox: ${name}`);
    };
    vm.runInNewContext(code, { require: sandboxRequire, module, exports: module.exports, console });
    expect(Object.keys(exposed)).toEqual(['jielong']);
    expect(typeof (exposed.jielong as { on: unknown }).on).toBe('function');
  });

  it('the main bundle runs its pre-ready wiring against a fake electron module', () => {
    const fake = path.join(outDir, 'fake-electron.cjs');
    const record = path.join(outDir, 'calls.json');
    writeFileSync(
      fake,
      `
const Module = require('node:module');
const fs = require('node:fs');
const calls = [];
const save = () => fs.writeFileSync(${JSON.stringify(record)}, JSON.stringify(calls));
const app = {
  isPackaged: false,
  enableSandbox: () => { calls.push('enableSandbox'); save(); },
  requestSingleInstanceLock: () => { calls.push('requestSingleInstanceLock'); save(); return true; },
  whenReady: () => new Promise(() => {}),
  on: (event) => { calls.push('on:' + event); save(); },
  quit: () => {}, exit: () => {}, getPath: () => '/tmp', getAppPath: () => '/tmp',
};
const electron = {
  app,
  protocol: { registerSchemesAsPrivileged: (schemes) => { calls.push('scheme:' + JSON.stringify(schemes)); save(); }, handle: () => {} },
  BrowserWindow: function () {}, dialog: {}, ipcMain: {}, screen: {}, session: {}, shell: {}, utilityProcess: {},
};
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) { return request === 'electron' ? 'electron' : resolve.call(this, request, ...rest); };
require.cache.electron = { id: 'electron', filename: 'electron', loaded: true, exports: electron };
`,
    );
    const run = spawnSync(process.execPath, ['-r', fake, path.join(outDir, 'electron/main.cjs')], {
      encoding: 'utf8',
      timeout: 20_000,
      env: { ...process.env, NODE_PATH: path.join(PROJECT_ROOT, 'node_modules') }, // see the host test below
    });
    expect(run.stderr).toBe('');
    const calls = JSON.parse(readFileSync(record, 'utf8')) as string[];
    expect(calls.slice(0, 3)).toEqual([
      'requestSingleInstanceLock',
      'enableSandbox',
      'scheme:[{"scheme":"app","privileges":{"standard":true,"secure":true,"supportFetchAPI":true}}]',
    ]);
    expect(calls).toEqual(expect.arrayContaining(['on:web-contents-created', 'on:second-instance', 'on:window-all-closed']));
  });

  it('the model host bundle starts as a Node child and says it is ready', async () => {
    // The bundle sits in a temporary folder here, not under the project: point Node at the
    // project's node_modules for the externals, as dist/ finds them by walking up.
    const child = fork(path.join(outDir, 'electron/model-host.cjs'), [], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, NODE_PATH: path.join(PROJECT_ROOT, 'node_modules') },
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    try {
      const message = await new Promise<unknown>((resolve, reject) => {
        child.once('message', resolve);
        child.once('exit', (code) => reject(new Error(`the host exited with ${code}: ${stderr}`)));
      });
      expect(message).toEqual({ type: 'ready', pid: child.pid });
    } finally {
      child.kill();
    }
  });
});

describe('build:electron --for-packaging', () => {
  it('removes dist/node_modules and its lockfile, and only with the flag', async () => {
    const { mkdirSync, existsSync } = await import('node:fs');
    mkdirSync(path.join(outDir, 'node_modules', 'better-sqlite3'), { recursive: true });
    writeFileSync(path.join(outDir, 'package-lock.json'), '{}');
    await buildElectron({ outDir, log: () => undefined });
    expect(existsSync(path.join(outDir, 'node_modules', 'better-sqlite3'))).toBe(true);
    await buildElectron({ outDir, log: () => undefined, forPackaging: true });
    expect(existsSync(path.join(outDir, 'node_modules'))).toBe(false);
    expect(existsSync(path.join(outDir, 'package-lock.json'))).toBe(false);
    expect(existsSync(path.join(outDir, 'electron', 'main.cjs'))).toBe(true);
  });

  it('a real build plus a renderer passes the pack check against the project node_modules, and without the renderer it does not', async () => {
    const { mkdirSync } = await import('node:fs');
    await buildElectron({ outDir, log: () => undefined, forPackaging: true });
    expect(packagingProblems(outDir)).toEqual(['renderer/index.html is missing from ' + outDir + ' (npm run build:renderer)']);
    mkdirSync(path.join(outDir, 'renderer', 'assets'), { recursive: true });
    writeFileSync(path.join(outDir, 'renderer', 'index.html'), '<script type="module" src="./assets/index.js"></script>');
    writeFileSync(path.join(outDir, 'renderer', 'assets', 'index.js'), '');
    expect(packagingProblems(outDir)).toEqual([]);
  });
});
