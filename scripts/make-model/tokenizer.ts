// A byte-level BPE tokenizer (GPT-2 / SmolLM2 style) with ChatML special tokens, built to
// exactly the model's vocab size so that every id the model can emit decodes.
//
// Ids: the special tokens first (as in SmolLM2), then the 256 byte tokens, then merges. The
// first merges are learned from a small built-in text so that common words get their own
// tokens; the rest (for big vocabularies) are filled with deterministic letter-pair merges.

export const SPECIAL_TOKENS = ['<|endoftext|>', '<|im_start|>', '<|im_end|>'] as const;
export type SpecialToken = (typeof SPECIAL_TOKENS)[number];

export const SPECIAL_TOKEN_IDS: Readonly<Record<SpecialToken, number>> = {
  '<|endoftext|>': 0,
  '<|im_start|>': 1,
  '<|im_end|>': 2,
};

export const BOS_TOKEN: SpecialToken = '<|im_start|>';
export const EOS_TOKEN: SpecialToken = '<|im_end|>';
export const PAD_TOKEN: SpecialToken = '<|im_end|>';
export const UNK_TOKEN: SpecialToken = '<|endoftext|>';

/** ChatML without a default system prompt: what the user sends is all the model sees. */
export const CHATML_TEMPLATE =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

const FIRST_BYTE_ID = SPECIAL_TOKENS.length;
const FIRST_MERGE_ID = FIRST_BYTE_ID + 256;
/** Filler merges stop growing tokens past this many characters. */
const MAX_FILLER_TOKEN_LENGTH = 16;

/** GPT-2's byte -> printable character table, as tokenizers' ByteLevel uses it. */
export const BYTE_TO_CHAR: readonly string[] = (() => {
  const printable: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b);
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b);
  for (let b = 0xae; b <= 0xff; b++) printable.push(b);
  const table: string[] = new Array<string>(256);
  let next = 0;
  for (let b = 0; b < 256; b++) {
    table[b] = String.fromCharCode(printable.includes(b) ? b : 256 + next++);
  }
  return table;
})();

/** The ByteLevel pre-tokenizer's split (tokenizers' GPT-2 pattern, `use_regex: true`). */
const PRE_TOKENIZE = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

function byteLevelWords(text: string): string[] {
  const encoder = new TextEncoder();
  return (text.match(PRE_TOKENIZE) ?? []).map((word) => Array.from(encoder.encode(word), (b) => BYTE_TO_CHAR[b] as string).join(''));
}

// Text the first merges are learned from: chat phrasing in English and Chinese, the ChatML
// role names, a little code. Changing it changes every committed tokenizer.json.
const TRAINING_TEXT = `
system
user
assistant
system
user
assistant
system
user
assistant
You are a helpful assistant. Answer the question in one or two sentences.
Hello! How are you today? I am fine, thank you. What would you like to talk about?
The model reads the whole conversation, then picks the next token, one token at a time.
Each token is a piece of a word: the tokenizer splits text into pieces it has seen before.
The quick brown fox jumps over the lazy dog. The dog does not mind; it is a lazy dog.
Can you tell me a story about a dragon who learns to write poems in the mountains?
There was once a small dragon that lived in the mountains and wrote poems about the rain.
Please write a short list: apples, oranges, bananas, and three cups of green tea.
What is the capital of France? The capital of France is Paris. What is the capital of China?
The capital of China is Beijing. It is a large city with a long history and many people.
When the user asks a question, the assistant should think about it and then answer it.
This is only a test model with random weights, so its answers do not mean anything at all.
你好，世界！我是一个模型。今天天气很好，我们一起去公园散步吧。
接龙是一个在你自己的电脑上运行语言模型的聊天应用。模型一次生成一个词。
这个模型的权重是随机的，所以它说的话没有意义。请问你想聊什么？
function add(a, b) { return a + b; }
const answer = add(40, 2); // 42
for (let i = 0; i < 10; i++) { console.log(i); }
import { readFile } from 'node:fs/promises';
if (value === null || value === undefined) { throw new Error('missing value'); }
`;

interface BpeWord {
  symbols: string[];
  count: number;
}

/** Classic BPE training: repeatedly merge the most frequent adjacent pair (ties: smallest pair). */
function learnMerges(text: string, maxMerges: number, vocab: Set<string>): Array<[string, string]> {
  const counts = new Map<string, number>();
  for (const word of byteLevelWords(text)) counts.set(word, (counts.get(word) ?? 0) + 1);
  const words: BpeWord[] = [...counts.entries()].map(([word, count]) => ({ symbols: Array.from(word), count }));

  const merges: Array<[string, string]> = [];
  while (merges.length < maxMerges) {
    const pairCounts = new Map<string, { left: string; right: string; count: number }>();
    for (const { symbols, count } of words) {
      for (let i = 0; i + 1 < symbols.length; i++) {
        const left = symbols[i] as string;
        const right = symbols[i + 1] as string;
        const key = JSON.stringify([left, right]);
        const entry = pairCounts.get(key);
        if (entry) entry.count += count;
        else pairCounts.set(key, { left, right, count });
      }
    }
    let best: { left: string; right: string; count: number } | undefined;
    for (const entry of pairCounts.values()) {
      if (vocab.has(entry.left + entry.right)) continue;
      if (
        !best ||
        entry.count > best.count ||
        (entry.count === best.count && (entry.left < best.left || (entry.left === best.left && entry.right < best.right)))
      ) {
        best = entry;
      }
    }
    // A pair seen once is not a pattern; leave the rest to the filler.
    if (!best || best.count < 2) break;
    const { left, right } = best;
    merges.push([left, right]);
    vocab.add(left + right);
    for (const word of words) {
      const merged: string[] = [];
      for (let i = 0; i < word.symbols.length; i++) {
        if (word.symbols[i] === left && word.symbols[i + 1] === right) {
          merged.push(left + right);
          i++;
        } else {
          merged.push(word.symbols[i] as string);
        }
      }
      word.symbols = merged;
    }
  }
  return merges;
}

/**
 * Deterministic merges to fill a large vocabulary: lowercase letters (optionally after a
 * space) followed by lowercase letters, enumerated by increasing sum of the two tokens'
 * ranks, in rounds so that new tokens can grow further. Every merge makes a new token.
 */
function fillerMerges(count: number, vocab: Set<string>, tokensById: string[]): Array<[string, string]> {
  const space = BYTE_TO_CHAR[0x20] as string;
  const isLower = (t: string): boolean => /^[a-z]+$/.test(t);
  const isWordStart = (t: string): boolean => isLower(t) || (t.startsWith(space) && isLower(t.slice(1)));
  const merges: Array<[string, string]> = [];
  let known = tokensById.slice();
  while (merges.length < count) {
    const lefts = known.filter(isWordStart);
    const rights = known.filter(isLower);
    const before = merges.length;
    const added: string[] = [];
    const maxSum = lefts.length + rights.length - 2;
    for (let sum = 0; sum <= maxSum && merges.length < count; sum++) {
      for (let i = Math.max(0, sum - rights.length + 1); i <= Math.min(sum, lefts.length - 1) && merges.length < count; i++) {
        const left = lefts[i] as string;
        const right = rights[sum - i] as string;
        const token = left + right;
        if (token.length > MAX_FILLER_TOKEN_LENGTH || vocab.has(token)) continue;
        merges.push([left, right]);
        vocab.add(token);
        added.push(token);
      }
    }
    if (merges.length === before) throw new Error(`tokenizer: cannot fill ${count} merges (stuck at ${before})`);
    known = known.concat(added);
  }
  return merges;
}

export interface TokenizerFiles {
  /** tokenizer.json's content; write it with tokenizerJsonText. */
  readonly tokenizer: { readonly model: { readonly vocab: Readonly<Record<string, number>> } } & Record<string, unknown>;
  /** tokenizer_config.json's content. */
  readonly tokenizerConfig: Record<string, unknown>;
  /** id -> token string, length = vocabSize */
  readonly vocab: readonly string[];
}

export function buildTokenizer(vocabSize: number, modelMaxLength: number): TokenizerFiles {
  if (vocabSize < FIRST_MERGE_ID) throw new Error(`tokenizer: vocab size ${vocabSize} is below the ${FIRST_MERGE_ID} special and byte tokens`);
  const tokensById: string[] = [...SPECIAL_TOKENS, ...BYTE_TO_CHAR];
  const vocabSet = new Set(tokensById);
  const mergeCount = vocabSize - FIRST_MERGE_ID;
  const learned = learnMerges(TRAINING_TEXT, mergeCount, vocabSet);
  for (const [left, right] of learned) tokensById.push(left + right);
  const filler = fillerMerges(mergeCount - learned.length, vocabSet, tokensById);
  for (const [left, right] of filler) tokensById.push(left + right);
  const merges = [...learned, ...filler];
  if (tokensById.length !== vocabSize) throw new Error(`tokenizer: built ${tokensById.length} tokens, wanted ${vocabSize}`);

  const vocab: Record<string, number> = {};
  tokensById.forEach((token, id) => {
    vocab[token] = id;
  });
  const addedToken = (content: SpecialToken): Record<string, unknown> => ({
    id: SPECIAL_TOKEN_IDS[content],
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  });
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };

  const tokenizer = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIAL_TOKENS.map(addedToken),
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: { ...byteLevel, trim_offsets: false },
    decoder: byteLevel,
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges,
    },
  };

  const tokenizerConfig = {
    add_bos_token: false,
    add_eos_token: false,
    add_prefix_space: false,
    added_tokens_decoder: Object.fromEntries(
      SPECIAL_TOKENS.map((content) => {
        const { id, ...rest } = addedToken(content);
        return [String(id), rest];
      }),
    ),
    additional_special_tokens: ['<|im_start|>', '<|im_end|>'],
    bos_token: BOS_TOKEN,
    chat_template: CHATML_TEMPLATE,
    // Decoding must give back exactly what was encoded (no " ." -> "." rewriting).
    clean_up_tokenization_spaces: false,
    eos_token: EOS_TOKEN,
    model_max_length: modelMaxLength,
    pad_token: PAD_TOKEN,
    tokenizer_class: 'GPT2Tokenizer',
    unk_token: UNK_TOKEN,
    vocab_size: vocabSize,
  };

  return { tokenizer, tokenizerConfig, vocab: tokensById };
}

/**
 * tokenizer.json's text: two-space indents, the vocabulary in id order (a JS object would put
 * the digit tokens "0".."9" first), and one merge pair per line.
 */
export function tokenizerJsonText(files: TokenizerFiles): string {
  const placeholder = '\u0000vocab\u0000';
  const { model } = files.tokenizer;
  const text = JSON.stringify({ ...files.tokenizer, model: { ...model, vocab: placeholder } }, null, 2);
  const vocabText = `{\n${files.vocab.map((token, id) => `      ${JSON.stringify(token)}: ${id}`).join(',\n')}\n    }`;
  return (
    text
      .replace(JSON.stringify(placeholder), () => vocabText)
      .replace(/\[\n\s+("(?:[^"\\]|\\.)*"),\n\s+("(?:[^"\\]|\\.)*")\n\s+\]/g, '[$1, $2]') + '\n'
  );
}
