// The drawing of imports has no circles: eslint.config.js keeps the arrows between folders
// pointing down, and this keeps files inside a folder from leaning on each other in a ring
// (type-only imports count too: a ring of types is a ring a reader must hold in mind).
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SOURCE_FOLDERS = ['electron', 'renderer/src', 'renderer/test', 'scripts', 'e2e'];
const SOURCE_FILE = /\.(ts|svelte)$/;
const IMPORT_FROM = /(?:^|[\s;])(?:import|export)\s(?:[^'";]*?\sfrom\s)?['"]([^'"]+)['"]/g;
const ALIASES: Record<string, string> = { '@shared/': 'electron/shared/' };

function sourceFiles(folder: string): string[] {
  const full = path.join(ROOT, folder);
  const entries = readdirSync(full, { withFileTypes: true, recursive: true });
  return entries
    .filter((entry) => entry.isFile() && SOURCE_FILE.test(entry.name) && !entry.parentPath.includes('node_modules'))
    .map((entry) => path.relative(ROOT, path.join(entry.parentPath, entry.name)).split(path.sep).join('/'));
}

/** The project files `file` imports (packages and node: builtins left out). */
export function importsOf(file: string, source: string): string[] {
  const found: string[] = [];
  for (const match of source.matchAll(IMPORT_FROM)) {
    let target = match[1]!;
    const alias = Object.keys(ALIASES).find((prefix) => target.startsWith(prefix));
    if (alias) target = ALIASES[alias]! + target.slice(alias.length);
    else if (target.startsWith('.')) target = path.posix.normalize(path.posix.join(path.posix.dirname(file), target));
    else continue;
    found.push(target);
  }
  return found;
}

/** Every ring of imports (Tarjan's strongly connected components of more than one file, or a file importing itself). */
export function importRings(graph: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const rings: string[][] = [];
  let next = 0;
  const visit = (node: string): void => {
    index.set(node, next);
    low.set(node, next);
    next += 1;
    stack.push(node);
    onStack.add(node);
    for (const to of graph.get(node) ?? []) {
      if (!graph.has(to)) continue;
      if (!index.has(to)) {
        visit(to);
        low.set(node, Math.min(low.get(node)!, low.get(to)!));
      } else if (onStack.has(to)) {
        low.set(node, Math.min(low.get(node)!, index.get(to)!));
      }
    }
    if (low.get(node) !== index.get(node)) return;
    const ring: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      ring.push(member);
    } while (member !== node);
    if (ring.length > 1 || (graph.get(node) ?? []).includes(node)) rings.push(ring.sort());
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return rings;
}

describe('the import graph', () => {
  it('finds a ring when there is one (and none in a tree)', () => {
    const tree = new Map([['a', ['b', 'c']], ['b', ['c']], ['c', []]]);
    expect(importRings(tree)).toEqual([]);
    const ring = new Map([['a', ['b']], ['b', ['c']], ['c', ['a']], ['d', ['a']]]);
    expect(importRings(ring)).toEqual([['a', 'b', 'c']]);
    expect(importsOf('electron/shared/x.ts', "import type { A } from './a.ts';\nexport { b } from '../b.ts';\nimport z from 'zod';")).toEqual([
      'electron/shared/a.ts',
      'electron/b.ts',
    ]);
    expect(importsOf('renderer/src/lib/x.ts', "import {\n  c,\n} from '@shared/contract.ts';")).toEqual(['electron/shared/contract.ts']);
  });

  it('has no rings in the project', () => {
    const graph = new Map<string, string[]>();
    for (const folder of SOURCE_FOLDERS) {
      for (const file of sourceFiles(folder)) graph.set(file, importsOf(file, readFileSync(path.join(ROOT, file), 'utf8')));
    }
    expect(graph.size).toBeGreaterThan(300);
    expect(importRings(graph)).toEqual([]);
  });
});
