// `npm run build:electron`: bundles the Electron side into dist/, which is also the app folder
// electron-builder packages (its "two package.json" layout, see electron-builder.yml):
//
//   dist/package.json              written here: main, and the runtime dependencies that stay
//                                  external, pinned to the versions installed in the project,
//                                  and the project's allowScripts (so electron-builder's
//                                  production install there skips onnxruntime-node's CUDA
//                                  download and still builds better-sqlite3)
//   dist/.npmrc                    copied when the project has one
//   dist/electron/main.cjs         electron/main/index.ts, CommonJS
//   dist/electron/preload.cjs      electron/preload/preload.ts, CommonJS: a sandboxed preload
//                                  cannot be an ES module and may require only 'electron'
//   dist/electron/model-host.cjs   electron/model-host/main.ts, CommonJS (utilityProcess entry)
//   dist/renderer/                 not touched here (the renderer's own build writes it)
//
// `--for-packaging` (npm run package:electron, after npm run build:renderer) also empties
// dist/node_modules and then refuses to go on unless scripts/pack-check.ts finds every part
// of the package built and every native file unpacked.
//
// Kept external (resolved from node_modules at run time, never bundled): electron itself, and
// the packages with native code or large data that must stay real files:
// @huggingface/transformers, onnxruntime-node, sharp, better-sqlite3.
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, type BuildOptions, type Message } from 'esbuild';
import { packProblems, readPackConfig } from './pack-check.ts';

export const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));

export const EXTERNALS = ['electron', '@huggingface/transformers', 'onnxruntime-node', 'sharp', 'better-sqlite3'] as const;

/** Electron 40 runs Node 22 or newer and Chromium 14x; these targets are below both. */
const NODE_TARGET = 'node22';
const CHROME_TARGET = 'chrome130';

export interface BuildElectronOptions {
  projectRoot?: string;
  /** Default: <projectRoot>/dist */
  outDir?: string;
  minify?: boolean;
  /**
   * Also remove dist/node_modules (and its lockfile), so electron-builder installs the
   * production dependencies afresh, built for Electron, instead of rebuilding whatever a
   * development run left there (`--for-packaging`).
   */
  forPackaging?: boolean;
  log?: (message: string) => void;
}

export interface BuiltFile {
  entry: string;
  output: string;
  bytes: number;
}

export interface BuildElectronResult {
  appDir: string;
  files: BuiltFile[];
  /** Runtime dependencies written into dist/package.json. */
  dependencies: Record<string, string>;
}

interface Bundle {
  entry: string;
  output: string;
  options: BuildOptions;
}

function bundles(root: string, outDir: string, minify: boolean): Bundle[] {
  const common: BuildOptions = {
    bundle: true,
    format: 'cjs',
    sourcemap: 'linked',
    minify,
    logLevel: 'silent',
    legalComments: 'none',
    metafile: true,
  };
  const list: Bundle[] = [
    {
      entry: 'electron/main/index.ts',
      output: 'electron/main.cjs',
      options: { ...common, platform: 'node', target: NODE_TARGET, external: [...EXTERNALS] },
    },
    {
      entry: 'electron/preload/preload.ts',
      output: 'electron/preload.cjs',
      // Minified: it is parsed on every page load, and it carries the contract's schemas (zod).
      options: { ...common, minify: true, platform: 'node', target: CHROME_TARGET, external: ['electron'] },
    },
    {
      entry: 'electron/model-host/main.ts',
      output: 'electron/model-host.cjs',
      options: { ...common, platform: 'node', target: NODE_TARGET, external: [...EXTERNALS] },
    },
  ];
  return list.map((bundle) => ({
    ...bundle,
    options: { ...bundle.options, entryPoints: [path.join(root, bundle.entry)], outfile: path.join(outDir, bundle.output) },
  }));
}

/** Every module name a CommonJS bundle still requires at run time. */
export function requiredModules(code: string): string[] {
  const names = new Set<string>();
  for (const match of code.matchAll(/\brequire\(\s*["'`]([^"'`]+)["'`]\s*\)/g)) names.add(match[1]!);
  return [...names].sort();
}

function formatMessages(messages: Message[]): string {
  return messages.map((message) => `${message.location ? `${message.location.file}:${message.location.line}: ` : ''}${message.text}`).join('\n');
}

function readJson(file: string): Record<string, unknown> {
  return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
}

/** The app's package.json: the runtime externals the project depends on, at their installed versions. */
export function appPackageJson(root: string): { manifest: Record<string, unknown>; dependencies: Record<string, string> } {
  const project = readJson(path.join(root, 'package.json'));
  const declared = (project.dependencies ?? {}) as Record<string, string>;
  const dependencies: Record<string, string> = {};
  for (const name of EXTERNALS) {
    if (name === 'electron' || !(name in declared)) continue; // sharp arrives through transformers
    const installed = path.join(root, 'node_modules', name, 'package.json');
    dependencies[name] = existsSync(installed) ? String(readJson(installed).version) : String(declared[name]);
  }
  const manifest = {
    name: project.name,
    productName: 'Jielong',
    version: project.version,
    description: project.description,
    license: project.license,
    author: project.author ?? 'Jielong',
    private: true,
    main: 'electron/main.cjs',
    dependencies,
    // npm 11.16+ applies this to the production install electron-builder runs in dist/.
    ...(project.allowScripts ? { allowScripts: project.allowScripts } : {}),
  };
  return { manifest, dependencies };
}

export async function buildElectron(options: BuildElectronOptions = {}): Promise<BuildElectronResult> {
  const root = options.projectRoot ?? PROJECT_ROOT;
  const outDir = options.outDir ?? path.join(root, 'dist');
  const log = options.log ?? ((message: string) => console.log(message));
  // Only our own output is replaced; dist/renderer (and dist/node_modules, unless packaging)
  // are left alone.
  rmSync(path.join(outDir, 'electron'), { recursive: true, force: true });
  if (options.forPackaging) {
    rmSync(path.join(outDir, 'node_modules'), { recursive: true, force: true });
    rmSync(path.join(outDir, 'package-lock.json'), { force: true });
  }
  mkdirSync(path.join(outDir, 'electron'), { recursive: true });

  const files: BuiltFile[] = [];
  for (const bundle of bundles(root, outDir, options.minify ?? false)) {
    const result = await build(bundle.options);
    // import.meta is empty in CommonJS output; code that relies on it would break silently.
    const warnings = result.warnings.filter((warning) => warning.id !== 'package.json');
    if (warnings.length > 0) throw new Error(`esbuild warned while bundling ${bundle.entry}:\n${formatMessages(warnings)}`);
    const shipped = testOnlyInputs(Object.keys(result.metafile?.inputs ?? {}));
    if (shipped.length > 0) throw new Error(`${bundle.entry} bundles test or build-tool code: ${shipped.join(', ')}`);
    const outFile = path.join(outDir, bundle.output);
    const code = readFileSync(outFile, 'utf8');
    const required = requiredModules(code);
    if (bundle.output === 'electron/preload.cjs') {
      const extra = required.filter((name) => name !== 'electron');
      if (extra.length > 0) throw new Error(`The sandboxed preload may require only 'electron', but the bundle requires: ${extra.join(', ')}`);
    } else {
      const bare = required.filter((name) => !name.startsWith('node:') && !isBuiltin(name) && !EXTERNALS.some((e) => name === e || name.startsWith(`${e}/`)));
      if (bare.length > 0) throw new Error(`${bundle.entry} still requires modules that are neither bundled nor declared external: ${bare.join(', ')}`);
    }
    files.push({ entry: bundle.entry, output: outFile, bytes: Buffer.byteLength(code) });
  }

  const { manifest, dependencies } = appPackageJson(root);
  writeFileSync(path.join(outDir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  const npmrc = path.join(root, '.npmrc');
  if (existsSync(npmrc)) copyFileSync(npmrc, path.join(outDir, '.npmrc'));

  for (const file of files) log(`built ${path.relative(root, file.output)} (${(file.bytes / 1024).toFixed(0)} KiB) from ${file.entry}`);
  return { appDir: outDir, files, dependencies };
}

/** Bundle inputs that must never ship: test helpers (electron/test-support), tests, and the project's scripts/. */
export function testOnlyInputs(inputs: readonly string[]): string[] {
  return inputs.filter((file) => !file.includes('node_modules/') && /(^|\/)(electron\/test-support\/|scripts\/)|\.test\.ts$/.test(file));
}

function isBuiltin(name: string): boolean {
  return builtinModules.includes(name);
}

/** The problems pack-check finds in a built app folder, against the project's electron-builder.yml. */
export function packagingProblems(appDir: string, root = PROJECT_ROOT): string[] {
  const config = readPackConfig(readFileSync(path.join(root, 'electron-builder.yml'), 'utf8'));
  return packProblems({ appDir, nodeModules: path.join(root, 'node_modules'), config });
}

async function cli(): Promise<void> {
  const forPackaging = process.argv.includes('--for-packaging');
  const { appDir } = await buildElectron({ forPackaging });
  if (!forPackaging) return;
  const problems = packagingProblems(appDir);
  if (problems.length > 0) throw new Error(`Not packaging: ${problems.length} problem(s) in ${appDir}:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
  console.log(`pack check: ${appDir} has every part and every native file is unpacked`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  cli().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
