// The check `npm run package:electron` makes before it hands dist/ to electron-builder: every
// part the package needs is built and would be packed, and every native file the runtime
// dependencies bring is unpacked from app.asar (a .node file inside the asar cannot be loaded).
//
//   app parts    dist/package.json and the file its `main` names, electron/main.cjs,
//                electron/preload.cjs, electron/model-host.cjs (scripts/build-electron.ts),
//                renderer/index.html and every script and stylesheet it links (the renderer
//                build): each must exist and be kept by electron-builder.yml's `files`
//   native files *.node and shared libraries in the runtime dependencies (dist/package.json's
//                dependencies and theirs, as installed in the project's node_modules, which
//                electron-builder's production install reproduces at the same versions): at
//                least one for better-sqlite3 and for onnxruntime-node, and each one that
//                `files` keeps must match an `asarUnpack` pattern
//
// Patterns are matched like electron-builder does (minimatch, via path.matchesGlob) after
// replacing ${platform} and ${arch}; a `files` pattern starting with ! excludes.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

export interface PackConfig {
  files: string[];
  asarUnpack: string[];
}

/** The two top-level lists of electron-builder.yml this check needs (`key:` then `  - item` lines). */
export function readPackConfig(yamlText: string): PackConfig {
  const lists: Record<string, string[]> = {};
  let current: string[] | null = null;
  for (const raw of yamlText.split('\n')) {
    const line = raw.replace(/\s+#.*$/, '').trimEnd();
    if (line.trim() === '' || line.trimStart().startsWith('#')) continue;
    const key = /^([A-Za-z][\w]*):\s*$/.exec(line);
    if (key) {
      current = lists[key[1]!] = [];
      continue;
    }
    if (!/^\s/.test(line)) {
      current = null;
      continue;
    }
    const item = /^\s+-\s+(.+)$/.exec(line);
    if (item && current) current.push(item[1]!.replace(/^(["'])(.*)\1$/, '$2'));
  }
  return { files: lists['files'] ?? [], asarUnpack: lists['asarUnpack'] ?? [] };
}

const NATIVE_FILE = /(\.node|\.dll|\.dylib|\.so(\.\d+)*)$/;

function expand(pattern: string, platform: string, arch: string): string {
  return pattern.replaceAll('${platform}', platform).replaceAll('${arch}', arch);
}

/** Whether `files` keeps this path (relative to the app folder, forward slashes). */
export function packed(file: string, config: PackConfig, platform: string = process.platform, arch: string = process.arch): boolean {
  const patterns = config.files.map((pattern) => expand(pattern, platform, arch));
  const excluded = patterns.some((pattern) => pattern.startsWith('!') && path.matchesGlob(file, pattern.slice(1)));
  if (excluded) return false;
  // electron-builder adds the production node_modules itself; the app's own files need a pattern.
  return file.startsWith('node_modules/') || patterns.some((pattern) => !pattern.startsWith('!') && path.matchesGlob(file, pattern));
}

export function unpacked(file: string, config: PackConfig): boolean {
  return config.asarUnpack.some((pattern) => path.matchesGlob(file, pattern));
}

/** Scripts and stylesheets index.html links with relative URLs. */
export function linkedAssets(html: string): string[] {
  const assets = new Set<string>();
  for (const match of html.matchAll(/<(?:script|link)\b[^>]*?\b(?:src|href)="([^"]+)"/g)) {
    const url = match[1]!;
    if (/^[a-z]+:|^\/\/|^#/i.test(url)) continue;
    assets.add(url.replace(/^\.\//, '').split(/[?#]/)[0]!);
  }
  return [...assets];
}

/** The production dependency closure of `names`, as package folders in `nodeModules` (hoisted or nested). */
export function runtimePackages(nodeModules: string, names: string[]): Map<string, string> {
  const found = new Map<string, string>();
  const root = path.resolve(path.dirname(nodeModules));
  const visit = (name: string, fromDir: string): void => {
    // Node's lookup: fromDir/node_modules, then each folder above it, up to the project.
    for (let dir = path.resolve(fromDir); ; dir = path.dirname(dir)) {
      if (path.basename(dir) === 'node_modules') continue;
      const candidate = path.join(dir, 'node_modules', name);
      if (existsSync(path.join(candidate, 'package.json'))) {
        if (found.has(candidate)) return;
        found.set(candidate, name);
        const manifest = JSON.parse(readFileSync(path.join(candidate, 'package.json'), 'utf8')) as { dependencies?: Record<string, string>; optionalDependencies?: Record<string, string> };
        for (const dep of Object.keys({ ...manifest.dependencies, ...manifest.optionalDependencies })) visit(dep, candidate);
        return;
      }
      if (dir === root || dir === path.dirname(dir)) return; // not installed (an optional dependency for another platform)
    }
  };
  for (const name of names) visit(name, root);
  return found;
}

function walk(dir: string, onFile: (file: string) => void): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules') walk(full, onFile);
    } else if (entry.isFile() || (entry.isSymbolicLink() && statSync(full).isFile())) onFile(full);
  }
}

export interface PackCheckInput {
  /** The app folder electron-builder packs (dist/). */
  appDir: string;
  /** Where the runtime dependencies are installed (the project's node_modules). */
  nodeModules: string;
  config: PackConfig;
  platform?: string;
  arch?: string;
}

/** What is wrong with the package that would be built; empty when nothing is. */
export function packProblems(input: PackCheckInput): string[] {
  const { appDir, nodeModules, config } = input;
  const platform = input.platform ?? process.platform;
  const arch = input.arch ?? process.arch;
  const problems: string[] = [];
  const needFile = (file: string, builtBy: string): void => {
    if (!existsSync(path.join(appDir, file))) problems.push(`${file} is missing from ${appDir} (${builtBy})`);
    else if (!packed(file, config, platform, arch)) problems.push(`${file} would not be packed: electron-builder.yml's files leave it out`);
  };

  const manifestFile = path.join(appDir, 'package.json');
  let dependencies: string[] = [];
  if (!existsSync(manifestFile)) {
    problems.push(`package.json is missing from ${appDir} (npm run build:electron)`);
  } else {
    needFile('package.json', 'npm run build:electron');
    const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as { main?: string; dependencies?: Record<string, string> };
    dependencies = Object.keys(manifest.dependencies ?? {});
    if (!manifest.main) problems.push('package.json names no main');
    else needFile(manifest.main.replace(/^\.\//, ''), 'npm run build:electron');
  }
  for (const file of ['electron/main.cjs', 'electron/preload.cjs', 'electron/model-host.cjs']) needFile(file, 'npm run build:electron');
  needFile('renderer/index.html', 'npm run build:renderer');
  const index = path.join(appDir, 'renderer', 'index.html');
  if (existsSync(index)) {
    const assets = linkedAssets(readFileSync(index, 'utf8'));
    if (!assets.some((asset) => asset.endsWith('.js'))) problems.push('renderer/index.html links no script (npm run build:renderer)');
    for (const asset of assets) needFile(path.posix.join('renderer', asset), 'npm run build:renderer');
  }

  const natives = new Map<string, string[]>(); // package name -> packed native files
  for (const [dir, name] of runtimePackages(nodeModules, dependencies)) {
    walk(dir, (full) => {
      if (!NATIVE_FILE.test(full)) return;
      const relative = `node_modules/${path.relative(nodeModules, full).split(path.sep).join('/')}`;
      if (!packed(relative, config, platform, arch)) return;
      natives.set(name, [...(natives.get(name) ?? []), relative]);
      if (!unpacked(relative, config)) problems.push(`${relative} would stay inside app.asar, where it cannot be loaded: no asarUnpack pattern matches it`);
    });
  }
  for (const name of ['better-sqlite3', 'onnxruntime-node']) {
    if (dependencies.includes(name) && !natives.has(name)) problems.push(`no native file of ${name} would be packed for ${platform}/${arch} (is it built? does files exclude it?)`);
  }
  return problems;
}
