// electron-builder's afterPack hook (electron-builder.yml: afterPack): flips Electron's fuses in
// the packaged binary, before signing, so the shipped app cannot be turned into something else.
//
//   RunAsNode off                       ELECTRON_RUN_AS_NODE cannot make the app a plain Node
//                                       (the model host is a utilityProcess, which does not need it)
//   EnableCookieEncryption on           cookies on disk encrypted with the OS keychain
//   EnableNodeOptionsEnvironmentVariable off   NODE_OPTIONS cannot inject code
//   EnableNodeCliInspectArguments off   --inspect and friends are ignored (no debugger attach)
//   EnableEmbeddedAsarIntegrityValidation on   app.asar is checked against the hash electron-builder
//                                       stored in Info.plist (macOS) or the .exe resources (Windows);
//                                       Linux has no such check and ignores the fuse
//   OnlyLoadAppFromAsar on              the app runs only from app.asar, not a loose app/ folder
//   GrantFileProtocolExtraPrivileges off   file:// pages get no extra privileges; we never load
//                                       file:// (the renderer is served from app://jielong)
//
// Before that it checks the native modules electron-builder put in app.asar.unpacked: a module
// that declares a V8 ABI (node_register_module_v<N>) other than this Electron's would crash the
// app at its first require. This has happened for real: an npm `nodedir` setting (e.g. a
// user ~/.npmrc with nodedir=/usr) makes node-gyp compile against Node's headers even when
// npm_config_runtime=electron, and the build "succeeds" with Node's ABI.
//
// Known limit (electron-builder 25): the Windows asar-integrity resource is written with the
// build machine's path separator, so a Windows package built on Linux or macOS fails its own
// integrity check at start. Build Windows packages on Windows.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { FuseV1Options, FuseVersion, flipFuses } from '@electron/fuses';

/** The fuse settings; anything not named keeps Electron's default. */
export const FUSES = Object.freeze({
  version: FuseVersion.V1,
  [FuseV1Options.RunAsNode]: false,
  [FuseV1Options.EnableCookieEncryption]: true,
  [FuseV1Options.EnableNodeOptionsEnvironmentVariable]: false,
  [FuseV1Options.EnableNodeCliInspectArguments]: false,
  [FuseV1Options.EnableEmbeddedAsarIntegrityValidation]: true,
  [FuseV1Options.OnlyLoadAppFromAsar]: true,
  [FuseV1Options.GrantFileProtocolExtraPrivileges]: false,
});

/** electron-builder's Arch enum values that produce Apple-silicon code (arm64, universal). */
const ARCH_ARM64 = 3;
const ARCH_UNIVERSAL = 4;

/**
 * The file @electron/fuses patches: the .app bundle on macOS (it finds the framework inside),
 * the .exe on Windows, the executable on Linux.
 * @param {{ appOutDir: string, electronPlatformName: string, packager: { appInfo: { productFilename: string }, executableName: string } }} context
 */
export function electronBinaryPath(context) {
  const { appOutDir, electronPlatformName, packager } = context;
  switch (electronPlatformName) {
    case 'darwin':
    case 'mas':
      return path.join(appOutDir, `${packager.appInfo.productFilename}.app`);
    case 'win32':
      return path.join(appOutDir, `${packager.appInfo.productFilename}.exe`);
    default:
      return path.join(appOutDir, packager.executableName);
  }
}

/**
 * The Node ABI a native module was compiled for, read from the registration symbol it exports:
 * a number for a V8/NAN module (node_register_module_v<N>), 'napi' for an ABI-stable N-API
 * module, null when it says neither (older NODE_MODULE builds keep the version in data).
 * @param {Uint8Array} bytes
 * @returns {number | 'napi' | null}
 */
export function nativeModuleAbi(bytes) {
  const text = Buffer.from(bytes).toString('latin1');
  const v8 = /node_register_module_v(\d+)/.exec(text);
  if (v8) return Number(v8[1]);
  if (text.includes('napi_register_module_v')) return 'napi';
  return null;
}

/**
 * Every *.node file under `dir` whose declared ABI is a number other than `abi`.
 * @param {string} dir
 * @param {number} abi
 * @returns {Array<{ file: string, abi: number }>}
 */
export function nativeModulesWithWrongAbi(dir, abi) {
  /** @type {Array<{ file: string, abi: number }>} */
  const wrong = [];
  /** @param {string} folder */
  const walk = (folder) => {
    let entries;
    try {
      entries = readdirSync(folder, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const full = path.join(folder, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile() && entry.name.endsWith('.node')) {
        const declared = nativeModuleAbi(readFileSync(full));
        if (typeof declared === 'number' && declared !== abi) wrong.push({ file: full, abi: declared });
      }
    }
  };
  walk(dir);
  return wrong;
}

/** The ABI of the Electron this project packages (the electron package ships abi_version). */
export function electronAbi() {
  const require = createRequire(import.meta.url);
  return Number(readFileSync(path.join(path.dirname(require.resolve('electron/package.json')), 'abi_version'), 'utf8').trim());
}

/**
 * The resources folder of the packaged app (where app.asar and app.asar.unpacked are).
 * @param {{ appOutDir: string, electronPlatformName: string, packager: { appInfo: { productFilename: string } } }} context
 */
export function resourcesDir(context) {
  return context.electronPlatformName === 'darwin' || context.electronPlatformName === 'mas'
    ? path.join(context.appOutDir, `${context.packager.appInfo.productFilename}.app`, 'Contents', 'Resources')
    : path.join(context.appOutDir, 'resources');
}

/**
 * @param {{ appOutDir: string, electronPlatformName: string, arch: number, packager: { appInfo: { productFilename: string }, executableName: string } }} context
 * @param {{ abi?: number }} [options]
 */
export default async function afterPack(context, options = {}) {
  const abi = options.abi ?? electronAbi();
  const wrong = nativeModulesWithWrongAbi(path.join(resourcesDir(context), 'app.asar.unpacked'), abi);
  if (wrong.length > 0) {
    const list = wrong.map((module) => `  ${path.relative(context.appOutDir, module.file)}: built for ABI ${module.abi}`).join('\n');
    throw new Error(
      `Native modules in the package were not built for this Electron (ABI ${abi}):\n${list}\n` +
        'Is an npm "nodedir" setting pointing node-gyp at Node\'s headers (npm config get nodedir)? ' +
        'Remove it, delete dist/node_modules and package again.',
    );
  }
  const binary = electronBinaryPath(context);
  const darwin = context.electronPlatformName === 'darwin' || context.electronPlatformName === 'mas';
  // Patching the binary breaks the ad-hoc signature Apple silicon requires; re-sign ad hoc
  // (a real signature, if configured, is applied after this hook).
  const resetAdHocDarwinSignature = darwin && (context.arch === ARCH_ARM64 || context.arch === ARCH_UNIVERSAL);
  await flipFuses(binary, { ...FUSES, resetAdHocDarwinSignature });
  console.log(`  • fuses flipped in ${path.relative(process.cwd(), binary) || binary}`);
}

/**
 * electron-builder's beforeBuild hook (electron-builder.yml: beforeBuild, same file): runs
 * before it installs or rebuilds the app folder's dependencies. If dist/node_modules exists
 * without dist/package-lock.json (left by a development run), @electron/rebuild would look for
 * the project root by walking up to the nearest lockfile, reach the project itself, and rebuild
 * the project's node_modules/better-sqlite3 for Electron, breaking the tests. Refuse instead.
 * Returning true lets electron-builder go on with its own install/rebuild.
 * @param {{ appDir: string }} context
 */
export async function beforeBuild(context) {
  if (existsSync(path.join(context.appDir, 'node_modules')) && !existsSync(path.join(context.appDir, 'package-lock.json'))) {
    throw new Error(
      `${context.appDir}/node_modules was left by a development run. Package with \`npm run package:electron\`, ` +
        'which removes it first, so the native rebuild stays inside the app folder.',
    );
  }
  return true;
}
