"""Trains the Jielong Poet model: a small Llama-architecture decoder (the graph make:model
writes) on chat-formatted examples built from classical Chinese poems.

  train     python3 train.py train --minutes 30      (--resume: from its checkpoint)
  export    python3 train.py export                  weights.bin + weights.json for make:model
  evaluate  python3 train.py evaluate                JSON lines: perplexity, baselines, form
  probe     python3 train.py probe OUT               PyTorch logits of one example (reference test)

Everything is seeded; inputs and outputs live in .cache/train/poet (see paths.ts).
"""
import argparse
import json
import math
import os
import random
import time

import torch
import torch.nn.functional as F

from poet_data import (ARCH, END, EXAMPLE_SEED, UNK, encode_example, heldout_examples, load_corpus, make_example,
                       prompt_ids, text_ids, work_path)

# One thread: on a shared two-core machine a second OpenMP thread mostly waits (measured 10x slower).
torch.set_num_threads(1)

LOG_FILE = 'training-log.json'


# ---- The model: Hugging Face's LlamaForCausalLM, written out (names match its state dict).

class RMSNorm(torch.nn.Module):
    def __init__(self, size, eps):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(size))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class Attention(torch.nn.Module):
    def __init__(self, a):
        super().__init__()
        h, nh, nkv, d = a['hidden_size'], a['num_attention_heads'], a['num_key_value_heads'], a['head_dim']
        self.nh, self.nkv, self.d = nh, nkv, d
        self.q_proj = torch.nn.Linear(h, nh * d, bias=False)
        self.k_proj = torch.nn.Linear(h, nkv * d, bias=False)
        self.v_proj = torch.nn.Linear(h, nkv * d, bias=False)
        self.o_proj = torch.nn.Linear(nh * d, h, bias=False)

    def forward(self, x, cos, sin, mask):
        b, s, _ = x.shape
        q = self.q_proj(x).view(b, s, self.nh, self.d).transpose(1, 2)
        k = self.k_proj(x).view(b, s, self.nkv, self.d).transpose(1, 2)
        v = self.v_proj(x).view(b, s, self.nkv, self.d).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        group = self.nh // self.nkv
        k = k.repeat_interleave(group, dim=1)
        v = v.repeat_interleave(group, dim=1)
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(self.d) + mask
        out = scores.softmax(-1) @ v
        return self.o_proj(out.transpose(1, 2).reshape(b, s, self.nh * self.d))


class MLP(torch.nn.Module):
    def __init__(self, a):
        super().__init__()
        h, i = a['hidden_size'], a['intermediate_size']
        self.gate_proj = torch.nn.Linear(h, i, bias=False)
        self.up_proj = torch.nn.Linear(h, i, bias=False)
        self.down_proj = torch.nn.Linear(i, h, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Layer(torch.nn.Module):
    def __init__(self, a):
        super().__init__()
        self.input_layernorm = RMSNorm(a['hidden_size'], a['rms_norm_eps'])
        self.self_attn = Attention(a)
        self.post_attention_layernorm = RMSNorm(a['hidden_size'], a['rms_norm_eps'])
        self.mlp = MLP(a)

    def forward(self, x, cos, sin, mask):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, mask)
        return x + self.mlp(self.post_attention_layernorm(x))


class Body(torch.nn.Module):
    def __init__(self, a):
        super().__init__()
        self.embed_tokens = torch.nn.Embedding(a['vocab_size'], a['hidden_size'])
        self.layers = torch.nn.ModuleList([Layer(a) for _ in range(a['num_hidden_layers'])])
        self.norm = RMSNorm(a['hidden_size'], a['rms_norm_eps'])


class Poet(torch.nn.Module):
    def __init__(self, a):
        super().__init__()
        self.a = a
        self.model = Body(a)
        d = a['head_dim']
        inv = 1.0 / (a['rope_theta'] ** (torch.arange(0, d, 2, dtype=torch.float32) / d))
        self.register_buffer('inv_freq', inv, persistent=False)

    def forward(self, ids, pad_mask=None):
        b, s = ids.shape
        pos = torch.arange(s, dtype=torch.float32)
        freqs = pos[:, None] * self.inv_freq[None, :]
        angles = torch.cat((freqs, freqs), dim=-1)
        cos, sin = angles.cos()[None, None], angles.sin()[None, None]
        causal = torch.full((s, s), float('-inf')).triu(1)
        mask = causal[None, None]
        x = self.model.embed_tokens(ids)
        for layer in self.model.layers:
            x = layer(x, cos, sin, mask)
        x = self.model.norm(x)
        return x @ self.model.embed_tokens.weight.T


def new_model(seed):
    torch.manual_seed(seed)
    model = Poet(ARCH)
    for name, p in model.named_parameters():
        if p.dim() == 2:
            torch.nn.init.normal_(p, std=0.02)
            if name.endswith('o_proj.weight') or name.endswith('down_proj.weight'):
                p.data /= math.sqrt(2 * ARCH['num_hidden_layers'])
    return model


# ---- Batches: examples of similar length padded to the longest (padding is never a target).

def batch_tensors(examples):
    width = max(len(e) for e in examples)
    ids = torch.full((len(examples), width), END, dtype=torch.long)
    targets = torch.full((len(examples), width), -100, dtype=torch.long)
    for row, e in enumerate(examples):
        ids[row, :len(e)] = torch.tensor(e)
        targets[row, :len(e) - 1] = torch.tensor(e[1:])
    # <unk> (2% of the characters: the rare ones) is read but never a target, so the model
    # learns never to write it.
    targets[targets == UNK] = -100
    return ids, targets


def loss_of(model, ids, targets):
    logits = model(ids)
    return F.cross_entropy(logits.view(-1, logits.shape[-1]), targets.view(-1), ignore_index=-100)


def heldout_loss(model, batches):
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for ids, targets in batches:
            logits = model(ids)
            n = int((targets != -100).sum())
            total += float(F.cross_entropy(logits.view(-1, logits.shape[-1]), targets.view(-1), ignore_index=-100)) * n
            count += n
    model.train()
    return total / count


def train(args):
    corpus = load_corpus()
    rng = random.Random(EXAMPLE_SEED)
    poems = corpus['train']
    model = new_model(EXAMPLE_SEED)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.95), weight_decay=0.05)
    ckpt = work_path('checkpoint.pt')
    log = {'arch': ARCH, 'batch': args.batch, 'lr': args.lr, 'steps': None, 'train': [], 'heldOut': [], 'seconds': 0.0}
    step = 0
    if args.resume and os.path.exists(ckpt):
        state = torch.load(ckpt)
        model.load_state_dict(state['model'])
        opt.load_state_dict(state['opt'])
        rng.setstate(state['rng'])
        torch.set_rng_state(state['torch_rng'])
        log, step = state['log'], state['step']
        print(json.dumps({'resumed': step}), flush=True)
    held = [batch_tensors(heldout_examples(corpus)[i:i + 64]) for i in range(0, 512, 64)]
    started = time.time() - log['seconds']
    budget = args.minutes * 60
    if args.steps:
        log['steps'] = args.steps
    recent = []
    window = (time.time(), step)
    while True:
        if not args.steps and step % 50 == 0 and step > 0 and (log['steps'] is None or step < log['steps'] // 2):
            # The schedule's length follows the machine's speed (shared cores) until half-way,
            # then stays: the steps that fit the rest of --minutes at the last 50 steps' pace.
            now = time.time()
            per_step = (now - window[0]) / (step - window[1])
            window = (now, step)
            log['steps'] = step + max(1, int((budget - (now - started)) / per_step))
            print(json.dumps({'steps': log['steps'], 'secondsPerStep': round(per_step, 3)}), flush=True)
        total = log['steps'] or 10 ** 9
        if step >= total:
            break
        warmup = 200
        progress = min(1.0, step / total)
        lr = args.lr * min(1.0, (step + 1) / warmup) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))
        for group in opt.param_groups:
            group['lr'] = lr
        batch = [encode_example(make_example(rng.choice(poems), rng), corpus) for _ in range(args.batch)]
        ids, targets = batch_tensors(batch)
        loss = loss_of(model, ids, targets)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        recent.append(float(loss))
        if step % 50 == 0:
            log['seconds'] = time.time() - started
            log['train'].append({'step': step, 'loss': round(sum(recent) / len(recent), 4), 'seconds': round(log['seconds'], 1)})
            print(json.dumps(log['train'][-1]), flush=True)
            recent = []
        if step % 500 == 0 or step == total:
            log['heldOut'].append({'step': step, 'loss': round(heldout_loss(model, held), 4)})
            print(json.dumps({'heldOut': log['heldOut'][-1]}), flush=True)
            log['seconds'] = time.time() - started
            torch.save({'model': model.state_dict(), 'opt': opt.state_dict(), 'rng': rng.getstate(),
                        'torch_rng': torch.get_rng_state(), 'log': log, 'step': step}, ckpt + '.partial')
            os.replace(ckpt + '.partial', ckpt)
    log['seconds'] = round(time.time() - started, 1)
    torch.save({'model': model.state_dict(), 'opt': opt.state_dict(), 'rng': rng.getstate(),
                'torch_rng': torch.get_rng_state(), 'log': log, 'step': step}, ckpt)
    print(json.dumps({'done': step, 'seconds': log['seconds']}), flush=True)


def load_trained():
    state = torch.load(work_path('checkpoint.pt'))
    model = Poet(ARCH)
    model.load_state_dict(state['model'])
    model.eval()
    return model, state['log']


def export(_args):
    """Weights in make:model's layout: linear weights [in, out], the embedding [vocab, hidden]."""
    model, log = load_trained()
    out_dir = work_path('export')
    os.makedirs(out_dir, exist_ok=True)
    tensors, offset = [], 0
    with open(os.path.join(out_dir, 'weights.bin'), 'wb') as f:
        for name, p in model.state_dict().items():
            value = p.detach().float()
            layout = 'nk' if name == 'model.embed_tokens.weight' or value.dim() == 1 else 'kn'
            if value.dim() == 2 and layout == 'kn':
                value = value.T
            data = value.contiguous().numpy().astype('<f4').tobytes()
            f.write(data)
            tensors.append({'name': name, 'shape': list(value.shape), 'offset': offset})
            offset += len(data)
    with open(os.path.join(out_dir, 'weights.json'), 'w') as f:
        json.dump({'architecture': ARCH, 'tensors': tensors}, f, indent=1)
    with open(os.path.join(out_dir, LOG_FILE), 'w') as f:
        json.dump(log, f, indent=1)
    print(json.dumps({'exported': len(tensors), 'bytes': offset}), flush=True)


PROBE_PROMPT, PROBE_ANSWER = '床前明月光，', '疑是地上霜。'
PROBE_TOP = 10


def probe(args):
    """PyTorch's logits on one chat example, for the TypeScript reference test: the top
    PROBE_TOP (id, logit) pairs at every position and the whole last row."""
    model, _ = load_trained()
    corpus = load_corpus()
    ids = prompt_ids(PROBE_PROMPT, corpus) + text_ids(PROBE_ANSWER, corpus)
    with torch.no_grad():
        out = model(torch.tensor([ids]))[0]
    top = [[[int(i), round(float(v), 6)] for v, i in zip(*row.topk(PROBE_TOP))] for row in out]
    with open(args.out, 'w', encoding='utf-8') as f:
        json.dump({'prompt': PROBE_PROMPT, 'answer': PROBE_ANSWER, 'ids': ids, 'top': top,
                   'last': [round(float(v), 6) for v in out[-1]]}, f, ensure_ascii=False)
        f.write('\n')


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest='command', required=True)
    t = sub.add_parser('train')
    t.add_argument('--minutes', type=float, default=30)
    t.add_argument('--steps', type=int, default=0)
    t.add_argument('--batch', type=int, default=48)
    t.add_argument('--lr', type=float, default=3e-3)
    t.add_argument('--resume', action='store_true')
    sub.add_parser('export')
    sub.add_parser('evaluate')
    pr = sub.add_parser('probe')
    pr.add_argument('out')
    args = parser.parse_args()
    if args.command == 'train':
        train(args)
    elif args.command == 'export':
        export(args)
    elif args.command == 'evaluate':
        from evaluate import evaluate
        evaluate(load_trained()[0])
    else:
        probe(args)


if __name__ == '__main__':
    main()
