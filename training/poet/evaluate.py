"""Measures the trained model on held-out poems; prints one JSON object per line.

  perplexity   per-character perplexity of the answers (the poem text after the prompt),
               beside a unigram and an interpolated bigram model of the same training split
  form         for prompts that open a five- or seven-character poem (its first line), the
               share of generated lines of the right length and the share of answers that
               end with the end token before the limit, sampled as generation_config.json says
  nextLine     top-1 accuracy on the characters of a couplet's second line, given the poem
               up to its first line (teacher forcing)
"""
import json
import math
import random
from collections import Counter

import torch

from poet_data import (IM_END, PUNCTUATION, UNK, decode, encode_example, load_corpus, make_example,
                       prompt_ids, text_ids)

# The sampling generation_config.json recommends (scripts/make-model/poet-model.ts writes it).
SAMPLING = {'temperature': 0.8, 'top_k': 40, 'top_p': 0.95}
MAX_NEW_TOKENS = 120
FORM_PROMPTS = 300
NEXT_LINE_POEMS = 1000
PERPLEXITY_POEMS = 2000
SEED = 7


def emit(record):
    print(json.dumps(record, ensure_ascii=False), flush=True)


def answer_targets(corpus, count):
    """(ids, first answer position) of held-out examples; targets are the answer's characters."""
    rng = random.Random(SEED)
    out = []
    for poem in corpus['heldOut'][:count]:
        prompt, answer = make_example(poem, rng)
        ids = encode_example((prompt, answer), corpus)
        out.append((ids, len(prompt_ids(prompt, corpus))))
    return out


def ngram_baselines(corpus, examples, vocab_size):
    unigram, bigram, context = Counter(), Counter(), Counter()
    for poem in corpus['train']:
        ids = text_ids(''.join(poem['lines']), corpus)
        unigram.update(ids)
        bigram.update(zip(ids, ids[1:]))
        context.update(ids[:-1])
    total = sum(unigram.values())
    p_uni = lambda t: (unigram[t] + 1) / (total + vocab_size)

    def nll(lam):
        uni, bi, n = 0.0, 0.0, 0
        for ids, start in examples:
            for pos in range(start, len(ids) - 1):  # answer characters, not the end token
                prev, tok = ids[pos - 1], ids[pos]
                if tok == UNK:
                    continue
                pu = p_uni(tok)
                pb = bigram[(prev, tok)] / context[prev] if context[prev] else 0.0
                uni -= math.log(pu)
                bi -= math.log(lam * pb + (1 - lam) * pu)
                n += 1
        return uni / n, bi / n

    # The bigram's mixing weight is the best one for these very poems: a generous baseline.
    best = min((nll(lam)[1], lam) for lam in (0.5, 0.6, 0.7, 0.8, 0.9, 0.95))
    return math.exp(nll(best[1])[0]), math.exp(best[0]), best[1]


@torch.no_grad()
def model_perplexity(model, examples):
    total, n = 0.0, 0
    for ids, start in examples:
        logp = model(torch.tensor([ids]))[0].log_softmax(-1)
        for pos in range(start, len(ids) - 1):
            if ids[pos] == UNK:
                continue
            total -= float(logp[pos - 1, ids[pos]])
            n += 1
    return math.exp(total / n)


def sample_next(logits, generator):
    logits = logits / SAMPLING['temperature']
    top, idx = logits.topk(SAMPLING['top_k'])
    probs = top.softmax(-1)
    keep = probs.cumsum(-1) - probs < SAMPLING['top_p']
    probs = probs * keep
    return int(idx[torch.multinomial(probs / probs.sum(), 1, generator=generator)])


@torch.no_grad()
def generate(model, ids, generator):
    out = []
    for _ in range(MAX_NEW_TOKENS):
        token = sample_next(model(torch.tensor([ids + out]))[0, -1], generator)
        if token == IM_END:
            return out, True
        out.append(token)
    return out, False


def split_lines(text):
    lines, current = [], ''
    for ch in text:
        current += ch
        if ch in PUNCTUATION:
            lines.append(current[:-1])
            current = ''
    return lines, current


def form(model, corpus):
    generator = torch.Generator().manual_seed(SEED)
    right = lines_total = ended = 0
    samples = []
    for poem in corpus['heldOut'][:FORM_PROMPTS]:
        width = len(poem['lines'][0]) - 1
        out, stopped = generate(model, prompt_ids(poem['lines'][0], corpus), generator)
        text = decode(out)
        lines, rest = split_lines(text)
        lines_total += len(lines) + (1 if rest else 0)
        right += sum(1 for line in lines if len(line) == width)
        ended += stopped
        if len(samples) < 5:
            samples.append(poem['lines'][0] + text)
    return right / max(1, lines_total), ended / FORM_PROMPTS, samples


@torch.no_grad()
def next_line(model, corpus):
    correct = total = 0
    for poem in corpus['heldOut'][:NEXT_LINE_POEMS]:
        prompt = poem['lines'][0]
        target = poem['lines'][1][:-1]
        ids = prompt_ids(prompt, corpus) + text_ids(target, corpus)
        start = len(ids) - len(target)
        predicted = model(torch.tensor([ids]))[0].argmax(-1)
        for pos in range(start, len(ids)):
            if ids[pos] == UNK:
                continue
            correct += int(predicted[pos - 1]) == ids[pos]
            total += 1
    return correct / total


# (prompt, the answer so far): the top candidate the token view shows next. 床前明月光 is not in
# the corpus (its Tang text reads 床前看月光); the others are: 静夜思, 凉州词, 月下独酌.
FAMOUS = [('床前明月', ''), ('床前明月光', ''), ('床前明月光，疑是地上霜', ''), ('葡萄美酒夜光杯，欲饮琵', ''),
          ('举杯邀明月，对影成三人。我歌月徘', ''), ('白日依山尽，黄河入海', '')]


@torch.no_grad()
def famous_next(model, corpus):
    out = []
    for prompt, answer in FAMOUS:
        probs = model(torch.tensor([prompt_ids(prompt, corpus) + text_ids(answer, corpus)]))[0, -1].softmax(-1)
        p, i = probs.max(-1)
        out.append({'prompt': prompt, 'answer': answer, 'top': decode([int(i)]), 'probability': round(float(p), 4)})
    return out


def evaluate(model):
    corpus = load_corpus()
    vocab_size = len(corpus['vocabulary'])
    examples = answer_targets(corpus, PERPLEXITY_POEMS)
    unigram, bigram, lam = ngram_baselines(corpus, examples, vocab_size)
    emit({'metric': 'perplexity', 'model': round(model_perplexity(model, examples), 2), 'unigram': round(unigram, 2),
          'bigram': round(bigram, 2), 'bigramMix': lam, 'heldOutPoems': len(examples)})
    share, eos, samples = form(model, corpus)
    emit({'metric': 'form', 'rightLengthLines': round(share, 4), 'goal': 0.8, 'endedBeforeLimit': round(eos, 4),
          'goalEnded': 0.9, 'prompts': FORM_PROMPTS, 'maxNewTokens': MAX_NEW_TOKENS, 'sampling': SAMPLING})
    emit({'metric': 'nextLineTop1', 'accuracy': round(next_line(model, corpus), 4), 'poems': NEXT_LINE_POEMS})
    emit({'metric': 'famousNext', 'openings': famous_next(model, corpus)})
    emit({'metric': 'samples', 'texts': samples})
