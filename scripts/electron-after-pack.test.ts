// The afterPack hook run against stand-in "Electron binaries": files with the fuse sentinel and
// a fuse wire in Electron's layout, so the flips can be read back byte for byte.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FuseV1Options, FuseVersion, getCurrentFuseWire } from '@electron/fuses';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import afterPack, { FUSES, beforeBuild, electronAbi, electronBinaryPath, nativeModuleAbi, nativeModulesWithWrongAbi } from './electron-after-pack.mjs';
import { PROJECT_ROOT } from './build-electron.ts';

const SENTINEL = 'dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX';
const ENABLED = 0x31;
const DISABLED = 0x30;
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'jielong-fuses-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A file shaped like an Electron binary around its fuse wire: Electron's defaults (9 fuses). */
function fakeElectron(file: string): Buffer {
  const defaults = [ENABLED, DISABLED, ENABLED, ENABLED, DISABLED, DISABLED, DISABLED, ENABLED, DISABLED];
  const content = Buffer.concat([Buffer.from('\x7fELF...code...'), Buffer.from(SENTINEL), Buffer.from([1, defaults.length, ...defaults]), Buffer.from('...more code')]);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, content);
  return content;
}

const context = (platform: string, arch = 1) => ({
  appOutDir: path.join(dir, platform),
  electronPlatformName: platform,
  arch,
  packager: { appInfo: { productFilename: 'Jielong' }, executableName: 'jielong' },
});

describe('electron-after-pack', () => {
  it('sets the six required fuses (and file:// privileges off), leaving the rest as they were', async () => {
    const binary = path.join(dir, 'linux', 'jielong');
    const before = fakeElectron(binary);
    await afterPack(context('linux'));
    const wire = await getCurrentFuseWire(binary);
    expect(wire.version).toBe(FuseVersion.V1);
    expect(wire[FuseV1Options.RunAsNode]).toBe(DISABLED);
    expect(wire[FuseV1Options.EnableCookieEncryption]).toBe(ENABLED);
    expect(wire[FuseV1Options.EnableNodeOptionsEnvironmentVariable]).toBe(DISABLED);
    expect(wire[FuseV1Options.EnableNodeCliInspectArguments]).toBe(DISABLED);
    expect(wire[FuseV1Options.EnableEmbeddedAsarIntegrityValidation]).toBe(ENABLED);
    expect(wire[FuseV1Options.OnlyLoadAppFromAsar]).toBe(ENABLED);
    expect(wire[FuseV1Options.GrantFileProtocolExtraPrivileges]).toBe(DISABLED);
    expect(wire[FuseV1Options.LoadBrowserProcessSpecificV8Snapshot]).toBe(DISABLED); // untouched
    expect((wire as unknown as Record<number, number>)[8]).toBe(DISABLED); // a fuse newer than @electron/fuses knows: untouched
    // Nothing but the wire changed.
    const after = readFileSync(binary);
    expect(after.length).toBe(before.length);
    const wireStart = before.indexOf(SENTINEL) + SENTINEL.length + 2;
    for (let i = 0; i < before.length; i++) if (i < wireStart || i >= wireStart + 9) expect(after[i]).toBe(before[i]);
  });

  it('names the binary per platform', () => {
    expect(electronBinaryPath(context('linux'))).toBe(path.join(dir, 'linux', 'jielong'));
    expect(electronBinaryPath(context('win32'))).toBe(path.join(dir, 'win32', 'Jielong.exe'));
    expect(electronBinaryPath(context('darwin'))).toBe(path.join(dir, 'darwin', 'Jielong.app'));
  });

  it('patches the framework inside a macOS .app bundle', async () => {
    const framework = path.join(dir, 'darwin', 'Jielong.app', 'Contents', 'Frameworks', 'Electron Framework.framework', 'Electron Framework');
    fakeElectron(framework);
    await afterPack(context('darwin', 1)); // x64: no ad-hoc re-signing needed (and no codesign here)
    expect((await getCurrentFuseWire(path.join(dir, 'darwin', 'Jielong.app')))[FuseV1Options.RunAsNode]).toBe(DISABLED);
    expect(readFileSync(framework).includes(Buffer.from([1, 9, DISABLED]))).toBe(true);
  });

  it('fails the build when the binary has no fuse wire', async () => {
    const binary = path.join(dir, 'broken', 'jielong');
    mkdirSync(path.dirname(binary), { recursive: true });
    writeFileSync(binary, 'not electron');
    await expect(afterPack({ ...context('linux'), appOutDir: path.join(dir, 'broken') })).rejects.toThrow(/sentinel/);
  });

  it("reads a native module's ABI from its registration symbol", () => {
    const built = readFileSync(path.join(PROJECT_ROOT, 'node_modules/better-sqlite3/build/Release/better_sqlite3.node'));
    expect(nativeModuleAbi(built)).toBe(Number(process.versions.modules)); // the Node build the tests use
    expect(nativeModuleAbi(Buffer.from('..._napi_register_module_v1...'))).toBe('napi');
    expect(nativeModuleAbi(Buffer.from('no symbol'))).toBeNull();
    expect(electronAbi()).toBeGreaterThan(Number(process.versions.modules));
  });

  it('refuses a package whose native module was built for another ABI, before touching the fuses', async () => {
    const out = path.join(dir, 'wrong-abi');
    const binary = path.join(out, 'jielong');
    const original = fakeElectron(binary);
    const unpacked = path.join(out, 'resources', 'app.asar.unpacked', 'node_modules');
    mkdirSync(path.join(unpacked, 'better-sqlite3', 'build', 'Release'), { recursive: true });
    mkdirSync(path.join(unpacked, 'onnxruntime-node', 'bin'), { recursive: true });
    writeFileSync(path.join(unpacked, 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node'), 'ELF node_register_module_v115 ELF');
    writeFileSync(path.join(unpacked, 'onnxruntime-node', 'bin', 'onnxruntime_binding.node'), 'ELF napi_register_module_v1 ELF');
    expect(nativeModulesWithWrongAbi(unpacked, 143).map((module) => module.abi)).toEqual([115]);
    await expect(afterPack({ ...context('linux'), appOutDir: out }, { abi: 143 })).rejects.toThrow(/built for ABI 115[\s\S]*nodedir/);
    expect(readFileSync(binary)).toEqual(original);

    writeFileSync(path.join(unpacked, 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node'), 'ELF node_register_module_v143 ELF');
    await afterPack({ ...context('linux'), appOutDir: out }, { abi: 143 });
    expect((await getCurrentFuseWire(binary))[FuseV1Options.RunAsNode]).toBe(DISABLED);
  });

  it('beforeBuild refuses an app folder with node_modules but no lockfile, and allows the others', async () => {
    const app = path.join(dir, 'app');
    mkdirSync(app, { recursive: true });
    await expect(beforeBuild({ appDir: app })).resolves.toBe(true); // fresh: electron-builder installs
    mkdirSync(path.join(app, 'node_modules'));
    await expect(beforeBuild({ appDir: app })).rejects.toThrow(/package:electron/);
    writeFileSync(path.join(app, 'package-lock.json'), '{}');
    await expect(beforeBuild({ appDir: app })).resolves.toBe(true); // installed by electron-builder before
  });

  it('exports the configuration it applies', () => {
    expect(FUSES).toMatchObject({ version: FuseVersion.V1, [FuseV1Options.RunAsNode]: false, [FuseV1Options.OnlyLoadAppFromAsar]: true });
  });
});
