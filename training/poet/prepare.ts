// Reads the Tang and Song poems of the pinned chinese-poetry package, converts them to
// simplified characters, keeps the regular five- and seven-character poems (every line the
// same length, 4 to 12 lines), splits them into training and held-out sets by a hash of the
// text (stable whatever the file order) and builds the character vocabulary from the
// training set, for the trainer (run.ts writes it to one JSON file).
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { CORPUS_DIR, TRAIN_CACHE } from './paths.ts';
import { POET_VOCAB_CHARS, poetVocabulary } from '../../scripts/make-model/poet-tokenizer.ts';

interface RawPoem {
  title?: string;
  paragraphs?: string[];
}

export interface Poem {
  title: string;
  /** Lines with their closing punctuation, e.g. "床前明月光，". */
  lines: string[];
}

export interface PreparedCorpus {
  /** Token strings by id: the fixed chat tokens, then characters by falling training frequency. */
  vocabulary: string[];
  /** Share of training characters the vocabulary covers. */
  coverage: number;
  train: Poem[];
  heldOut: Poem[];
}

const HELD_OUT_PER_MILLE = 20;
const LINE = /[^，。？！；]+[，。？！；]/g;
const HAN = /^\p{Script=Han}+$/u;
// opencc-js is installed on demand into the ignored training cache, not into the app.
type Converter = (text: string) => string;
const openccEntry = path.join(TRAIN_CACHE, 'node_modules/opencc-js/dist/esm/t2cn.js');
const opencc = (await import(pathToFileURL(openccEntry).href)) as { Converter: (options: { from: string; to: string }) => Converter };
const toSimplified = opencc.Converter({ from: 't', to: 'cn' });

/** Notes in brackets and stray characters are not part of the poem. */
function clean(text: string): string {
  return text
    .replace(/[（(【[{].*?[）)】\]}]/g, '')
    .replace(/[,]/g, '，')
    .replace(/[.]/g, '。')
    .replace(/[?]/g, '？')
    .replace(/[!]/g, '！')
    .replace(/[;:：]/g, '；')
    .replace(/\s+/g, '');
}

export function regularPoem(raw: RawPoem): Poem | null {
  const body = clean(toSimplified((raw.paragraphs ?? []).join('')));
  const lines = body.match(LINE) ?? [];
  if (lines.join('') !== body || lines.length < 4 || lines.length > 12 || lines.length % 2 !== 0) return null;
  // Counted in code points: a few rare characters lie outside the BMP.
  const width = [...lines[0]!].length - 1;
  if (width !== 5 && width !== 7) return null;
  if (!lines.every((line) => [...line].length === width + 1 && HAN.test(line.slice(0, -1)))) return null;
  const title = clean(toSimplified(raw.title ?? '')).replace(/[，。？！；《》]/g, '');
  return { title: HAN.test(title) && title.length <= 12 ? title : '', lines };
}

function heldOut(poem: Poem): boolean {
  const digest = createHash('sha256').update(poem.lines.join('')).digest();
  return digest.readUInt32BE(0) % 1000 < HELD_OUT_PER_MILLE;
}

export function prepareCorpus(): PreparedCorpus {
  const seen = new Set<string>();
  const train: Poem[] = [];
  const held: Poem[] = [];
  const files = readdirSync(CORPUS_DIR)
    .filter((f) => /^poet\.(tang|song)\.\d+\.json$/.test(f))
    .sort();
  for (const file of files) {
    for (const raw of JSON.parse(readFileSync(path.join(CORPUS_DIR, file), 'utf8')) as RawPoem[]) {
      const poem = regularPoem(raw);
      if (!poem) continue;
      const key = poem.lines.join('');
      if (seen.has(key)) continue;
      seen.add(key);
      (heldOut(poem) ? held : train).push(poem);
    }
  }
  const counts = new Map<string, number>();
  let total = 0;
  for (const poem of train) {
    for (const ch of poem.title + poem.lines.join('')) {
      counts.set(ch, (counts.get(ch) ?? 0) + 1);
      total++;
    }
  }
  const chars = [...counts.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, POET_VOCAB_CHARS)
    .map(([ch]) => ch);
  const covered = chars.reduce((sum, ch) => sum + (counts.get(ch) ?? 0), 0);
  return { vocabulary: poetVocabulary(chars), coverage: covered / total, train, heldOut: held };
}
