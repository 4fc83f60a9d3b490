"""The corpus prepared by prepare.ts, the model's shape, and the chat-formatted examples."""
import json
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))
WORK_DIR = os.path.join(HERE, '..', '..', '.cache', 'train', 'poet')

# Hugging Face LlamaConfig names. 3 layers of 192 keep the fp32 ONNX file near 7 MB.
ARCH = {
    'vocab_size': 3010,
    'hidden_size': 192,
    'num_hidden_layers': 3,
    'num_attention_heads': 6,
    'num_key_value_heads': 2,
    'head_dim': 32,
    'intermediate_size': 512,
    'max_position_embeddings': 256,
    'rms_norm_eps': 1e-5,
    'rope_theta': 10000.0,
}
EXAMPLE_SEED = 20261130

# Ids of the fixed tokens (scripts/make-model/poet-tokenizer.ts POET_FIXED_TOKENS).
END_OF_TEXT, IM_START, IM_END, UNK, USER, ASSISTANT, SYSTEM, NEWLINE, OPEN_TITLE, CLOSE_TITLE = range(10)
END = IM_END
PUNCTUATION = '，。？！；'

VOCAB = None


def work_path(name):
    return os.path.join(WORK_DIR, name)


def load_corpus():
    global VOCAB
    with open(work_path('corpus.json'), encoding='utf-8') as f:
        corpus = json.load(f)
    if len(corpus['vocabulary']) != ARCH['vocab_size']:
        raise SystemExit(f"vocabulary has {len(corpus['vocabulary'])} tokens, the model {ARCH['vocab_size']}")
    corpus['ids'] = {token: i for i, token in enumerate(corpus['vocabulary'])}
    VOCAB = corpus['vocabulary']
    return corpus


def text_ids(text, corpus):
    ids = corpus['ids']
    return [ids.get(ch, UNK) for ch in text]


def prompt_ids(prompt, corpus):
    """What the chat template renders for one user message: the answer follows the prompt's
    last character directly, so the model continues the text as it would its own."""
    return [IM_START] + text_ids(prompt, corpus)


def make_example(poem, rng):
    """(prompt, answer): a title asks for a whole poem; an opening, cut at a line's end or
    inside a line, is continued from exactly where it stops."""
    lines = poem['lines']
    r = rng.random()
    if r < 0.15 and poem['title']:
        return '《' + poem['title'] + '》', ''.join(lines)
    if r < 0.55:
        k = min(rng.choice([1, 1, 2, 2, 3, 4]), len(lines) - 1)
        return ''.join(lines[:k]), ''.join(lines[k:])
    j = 0 if rng.random() < 0.7 else rng.randrange(1, len(lines) - 1)
    cut = rng.randrange(1, len(lines[j]))
    return ''.join(lines[:j]) + lines[j][:cut], lines[j][cut:] + ''.join(lines[j + 1:])


def encode_example(example, corpus):
    prompt, answer = example
    return prompt_ids(prompt, corpus) + text_ids(answer, corpus) + [IM_END]


def heldout_examples(corpus, count=512):
    rng = random.Random(1)
    return [encode_example(make_example(p, rng), corpus) for p in corpus['heldOut'][:count]]


def decode(ids):
    return ''.join(VOCAB[i] for i in ids)
