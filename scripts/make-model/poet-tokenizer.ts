// The character-level tokenizer of the Jielong Poet model: one token per character of the
// training vocabulary, a few chat tokens, and an unknown token for every other character.
// Written in the tokenizer.json format transformers.js 4 loads (a BPE model without merges
// splits text into characters; the Fuse decoder joins them back without spaces).
/** Most frequent characters kept (punctuation included); the rest become <unk>. */
export const POET_VOCAB_CHARS = 3000;

/**
 * Tokens before the characters, in id order. The first three match make:model's ChatML ids;
 * `user`, `assistant`, `system` and the newline are kept for their ids but no longer used.
 */
export const POET_FIXED_TOKENS = ['<|endoftext|>', '<|im_start|>', '<|im_end|>', '<unk>', 'user', 'assistant', 'system', '\n', '《', '》'] as const;
export const POET_SPECIAL = { endOfText: 0, imStart: 1, imEnd: 2, unk: 3 } as const;
const SPECIAL_COUNT = 4;

/**
 * Only the last user message, after <|im_start|>, and nothing between it and the answer: the
 * model continues the text it is given (接龙) as it would its own, and ends with <|im_end|>.
 * Earlier turns and system prompts would only confuse it. Whitespace around the prompt is
 * trimmed. (A ChatML header between prompt and answer put five tokens between the prompt's
 * last character and the answer's first, and the model then hardly used that character.)
 */
export const POET_CHAT_TEMPLATE =
  "{%- set ns = namespace(prompt='') -%}" +
  "{%- for message in messages -%}{%- if message['role'] == 'user' -%}{%- set ns.prompt = message['content'] | trim -%}{%- endif -%}{%- endfor -%}" +
  "{{ '<|im_start|>' + ns.prompt }}";

/** Half-width punctuation a user may type, as the poems write it. */
const FULL_WIDTH: ReadonlyArray<[string, string]> = [
  [',', '，'],
  ['.', '。'],
  ['?', '？'],
  ['!', '！'],
  [';', '；'],
];

export function poetVocabulary(chars: readonly string[]): string[] {
  const fixed = new Set<string>(POET_FIXED_TOKENS);
  return [...POET_FIXED_TOKENS, ...chars.filter((ch) => !fixed.has(ch))];
}

export interface PoetTokenizerFiles {
  tokenizer: Record<string, unknown>;
  tokenizerConfig: Record<string, unknown>;
}

export function poetTokenizerFiles(vocabulary: readonly string[], modelMaxLength: number): PoetTokenizerFiles {
  const vocab: Record<string, number> = {};
  vocabulary.forEach((token, id) => {
    vocab[token] = id;
  });
  const added = (id: number): Record<string, unknown> => ({
    id,
    content: vocabulary[id],
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: id < SPECIAL_COUNT,
  });
  const fixedIds = POET_FIXED_TOKENS.slice(0, 7).map((_, id) => id);
  const tokenizer = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: fixedIds.map(added),
    normalizer: {
      type: 'Sequence',
      normalizers: FULL_WIDTH.map(([from, to]) => ({ type: 'Replace', pattern: { String: from }, content: to })),
    },
    pre_tokenizer: null,
    post_processor: null,
    decoder: { type: 'Fuse' },
    model: { type: 'BPE', dropout: null, unk_token: '<unk>', continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges: [] },
  };
  const tokenizerConfig = {
    added_tokens_decoder: Object.fromEntries(fixedIds.map((id) => [String(id), (({ id: _id, ...rest }) => rest)(added(id))])),
    bos_token: '<|im_start|>',
    eos_token: '<|im_end|>',
    pad_token: '<|im_end|>',
    unk_token: '<unk>',
    chat_template: POET_CHAT_TEMPLATE,
    clean_up_tokenization_spaces: false,
    model_max_length: modelMaxLength,
    tokenizer_class: 'PreTrainedTokenizerFast',
  };
  return { tokenizer, tokenizerConfig };
}
