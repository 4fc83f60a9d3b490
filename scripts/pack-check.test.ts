// pack-check: the list `npm run package:electron` checks before electron-builder runs, on a
// made-up project (app folder + node_modules with native files for linux/x64 and darwin/arm64).
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from './build-electron.ts';
import { linkedAssets, packProblems, readPackConfig, type PackConfig } from './pack-check.ts';

const realConfig = readPackConfig(readFileSync(path.join(PROJECT_ROOT, 'electron-builder.yml'), 'utf8'));

let root: string;
let appDir: string;
let nodeModules: string;

function put(file: string, content = 'x'): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, content);
}

beforeEach(() => {
  root = mkdtempSync(path.join(tmpdir(), 'jielong-pack-'));
  appDir = path.join(root, 'dist');
  nodeModules = path.join(root, 'node_modules');
  put(path.join(appDir, 'package.json'), JSON.stringify({ main: 'electron/main.cjs', dependencies: { 'better-sqlite3': '1.0.0', 'onnxruntime-node': '1.0.0' } }));
  for (const name of ['main', 'preload', 'model-host']) put(path.join(appDir, 'electron', `${name}.cjs`));
  put(
    path.join(appDir, 'renderer', 'index.html'),
    '<html><head><script type="module" crossorigin src="./assets/index-a1.js"></script><link rel="stylesheet" href="./assets/index-b2.css"><link rel="icon" href="data:,"></head></html>',
  );
  put(path.join(appDir, 'renderer', 'assets', 'index-a1.js'));
  put(path.join(appDir, 'renderer', 'assets', 'index-b2.css'));
  put(path.join(nodeModules, 'better-sqlite3', 'package.json'), JSON.stringify({ name: 'better-sqlite3', dependencies: { bindings: '1' } }));
  put(path.join(nodeModules, 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node'));
  put(path.join(nodeModules, 'better-sqlite3', 'build', 'Release', 'test_extension.node')); // excluded by files
  put(path.join(nodeModules, 'bindings', 'package.json'), JSON.stringify({ name: 'bindings' }));
  put(path.join(nodeModules, 'onnxruntime-node', 'package.json'), JSON.stringify({ name: 'onnxruntime-node' }));
  put(path.join(nodeModules, 'onnxruntime-node', 'bin', 'napi-v6', 'linux', 'x64', 'onnxruntime_binding.node'));
  put(path.join(nodeModules, 'onnxruntime-node', 'bin', 'napi-v6', 'linux', 'x64', 'libonnxruntime.so.1'));
  put(path.join(nodeModules, 'onnxruntime-node', 'bin', 'napi-v6', 'darwin', 'arm64', 'libonnxruntime.1.dylib')); // another platform
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const check = (config: PackConfig = realConfig) => packProblems({ appDir, nodeModules, config, platform: 'linux', arch: 'x64' });

describe('pack check', () => {
  it('reads files and asarUnpack from the real electron-builder.yml', () => {
    expect(realConfig.files).toContain('renderer/**/*');
    expect(realConfig.files).toContain('electron/*.cjs');
    expect(realConfig.asarUnpack).toContain('**/*.node');
    expect(realConfig.asarUnpack).toContain('**/libonnxruntime*');
  });

  it('finds nothing wrong with a complete app folder', () => {
    expect(check()).toEqual([]);
  });

  it.each([
    ['electron/main.cjs', 'npm run build:electron'],
    ['electron/preload.cjs', 'npm run build:electron'],
    ['electron/model-host.cjs', 'npm run build:electron'],
    ['renderer/index.html', 'npm run build:renderer'],
    ['renderer/assets/index-a1.js', 'npm run build:renderer'],
    ['renderer/assets/index-b2.css', 'npm run build:renderer'],
  ])('names a missing %s and the command that builds it', (file, command) => {
    rmSync(path.join(appDir, file));
    const problems = check();
    expect(problems.some((problem) => problem.startsWith(`${file} is missing`) && problem.includes(command)), problems.join('\n')).toBe(true);
  });

  it('names a missing package.json', () => {
    rmSync(path.join(appDir, 'package.json'));
    expect(check().join('\n')).toContain('package.json is missing');
  });

  it('refuses when better-sqlite3 has no build for the platform', () => {
    rmSync(path.join(nodeModules, 'better-sqlite3', 'build'), { recursive: true });
    expect(check()).toEqual(['no native file of better-sqlite3 would be packed for linux/x64 (is it built? does files exclude it?)']);
  });

  it('refuses native files that would stay inside app.asar', () => {
    const problems = check({ ...realConfig, asarUnpack: realConfig.asarUnpack.filter((pattern) => pattern !== '**/*.node') });
    expect(problems).toEqual([
      expect.stringContaining('node_modules/better-sqlite3/build/Release/better_sqlite3.node would stay inside app.asar'),
      expect.stringContaining('node_modules/onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node would stay inside app.asar'),
    ]);
  });

  it('refuses parts that files would leave out', () => {
    const problems = check({ ...realConfig, files: realConfig.files.filter((pattern) => pattern !== 'renderer/**/*') });
    expect(problems).toContain("renderer/index.html would not be packed: electron-builder.yml's files leave it out");
  });

  it('ignores files excluded for other platforms and data: links', () => {
    expect(linkedAssets('<script src="./a.js"></script><link href="data:,"><link href="https://x/y.css">')).toEqual(['a.js']);
    // The darwin dylib is not packed for linux, so its (missing) unpack pattern does not matter.
    expect(check({ ...realConfig, asarUnpack: realConfig.asarUnpack.filter((pattern) => pattern !== '**/*.dylib') })).toEqual([]);
  });
});
