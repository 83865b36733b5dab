#!/usr/bin/env python3
"""Writes the reference fixtures the Swift kernel and BERT tests compare against.

Run by hand (not by CI) in a virtualenv with torch, transformers 4.x and safetensors:

    python Scripts/make_bert_fixtures.py            # small fixtures, committed under Tests/
    python Scripts/make_bert_fixtures.py --full DIR # a random KoBERT-shaped model (12 x 768) + reference logits

Every tensor is stored in safetensors files with the names the Swift tests look up.
"""
import argparse
import json
import math
import os

import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from transformers import BertConfig, BertForSequenceClassification, BertModel

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KERNELS_DIR = os.path.join(ROOT, "Tests", "KernelsTests", "Fixtures")
BERT_DIR = os.path.join(ROOT, "Tests", "BERTTests", "Fixtures")
LABELS = ["fear", "surprise", "angry", "sadness", "neutral", "happiness", "disgust"]


def contiguous(tensors):
    return {k: v.detach().contiguous().clone() for k, v in tensors.items()}


def kernel_fixtures():
    """Each kernel on odd shapes: inputs, a random upstream gradient, outputs and input gradients."""
    g = torch.Generator().manual_seed(1234)
    rnd = lambda *s: torch.randn(*s, generator=g, dtype=torch.float32)
    out = {}

    # linear: y = x @ w.T + b  (x [N, C], w [OC, C])
    x, w, b, dout = rnd(7, 5).requires_grad_(), rnd(3, 5).requires_grad_(), rnd(3).requires_grad_(), rnd(7, 3)
    y = F.linear(x, w, b)
    y.backward(dout)
    out.update({"linear.x": x, "linear.w": w, "linear.b": b, "linear.dout": dout, "linear.y": y,
                "linear.dx": x.grad, "linear.dw": w.grad, "linear.db": b.grad})

    # layernorm over the last dimension, BERT's eps
    x = (rnd(6, 13) * 3 + 1).requires_grad_()
    w, b, dout = (1 + 0.3 * rnd(13)).requires_grad_(), (0.3 * rnd(13)).requires_grad_(), rnd(6, 13)
    y = F.layer_norm(x, (13,), w, b, eps=1e-12)
    y.backward(dout)
    out.update({"layernorm.x": x, "layernorm.w": w, "layernorm.b": b, "layernorm.dout": dout,
                "layernorm.y": y, "layernorm.dx": x.grad, "layernorm.dw": w.grad, "layernorm.db": b.grad})

    # exact (erf) GELU
    x, dout = (rnd(53) * 3).requires_grad_(), rnd(53)
    y = F.gelu(x)
    y.backward(dout)
    out.update({"gelu.x": x, "gelu.dout": dout, "gelu.y": y, "gelu.dx": x.grad})

    # tanh (the pooler's activation)
    x, dout = (rnd(17) * 2).requires_grad_(), rnd(17)
    y = torch.tanh(x)
    y.backward(dout)
    out.update({"tanh.x": x, "tanh.dout": dout, "tanh.y": y, "tanh.dx": x.grad})

    # multi-head self-attention core on qkv [B, T, 3C] with a padding mask, BERT's eager math:
    # scores = q k^T / sqrt(HS) + (1 - mask) * finfo.min ; probs = softmax(scores) ; ctx = probs v
    B, T, NH, HS = 2, 5, 3, 4
    C = NH * HS
    qkv = rnd(B, T, 3 * C).requires_grad_()
    valid = [5, 3]
    mask = torch.zeros(B, T)
    for i, v in enumerate(valid):
        mask[i, :v] = 1
    q, k, v = qkv.split(C, dim=-1)
    heads = lambda t: t.view(B, T, NH, HS).permute(0, 2, 1, 3)
    scores = heads(q) @ heads(k).transpose(-1, -2) / math.sqrt(HS)
    scores = scores + (1.0 - mask[:, None, None, :]) * torch.finfo(torch.float32).min
    probs = scores.softmax(-1)
    ctx = (probs @ heads(v)).permute(0, 2, 1, 3).reshape(B, T, C)
    dout = rnd(B, T, C) * mask[:, :, None]  # padded queries' outputs never reach a loss
    ctx.backward(dout)
    out.update({"attention.qkv": qkv, "attention.valid_length": torch.tensor(valid, dtype=torch.int64),
                "attention.dout": dout, "attention.probs": probs, "attention.out": ctx,
                "attention.dqkv": qkv.grad})

    # embedding lookup with repeated ids; the weight gradient accumulates
    ids = torch.tensor([3, 0, 8, 3, 5, 3, 1], dtype=torch.int64)
    wte = rnd(9, 4).requires_grad_()
    dout = rnd(7, 4)
    y = F.embedding(ids, wte)
    y.backward(dout)
    out.update({"embedding.ids": ids, "embedding.w": wte, "embedding.dout": dout, "embedding.y": y,
                "embedding.dw": wte.grad})

    # cross-entropy, mean over the batch
    logits = (rnd(5, 7) * 2).requires_grad_()
    labels = torch.tensor([0, 6, 3, 3, 5], dtype=torch.int64)
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    out.update({"crossentropy.logits": logits, "crossentropy.labels": labels, "crossentropy.loss": loss,
                "crossentropy.dlogits": logits.grad})

    # linear with few rows (the batch-1 kernel): shapes that hit its 3-row x 4-output blocks, 8-wide
    # inner loop and every tail (13 = 4 x 3 + 1 rows, 37 = 4 x 8 + 5 inputs, 11 = 2 x 4 + 3 outputs).
    # Its own generator, so the tensors above stay as they were.
    g2 = torch.Generator().manual_seed(4321)
    x, w, b = (torch.randn(s, generator=g2) for s in ((13, 37), (11, 37), (11,)))
    out.update({"linear_rows.x": x, "linear_rows.w": w, "linear_rows.b": b,
                "linear_rows.y": F.linear(x, w, b), "linear_rows.y_nobias": F.linear(x, w)})

    os.makedirs(KERNELS_DIR, exist_ok=True)
    save_file(contiguous(out), os.path.join(KERNELS_DIR, "kernels.safetensors"))


def tiny_config(dropout=0.0):
    return BertConfig(vocab_size=41, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                      intermediate_size=37, max_position_embeddings=20, type_vocab_size=2, pad_token_id=1,
                      hidden_act="gelu", layer_norm_eps=1e-12, hidden_dropout_prob=dropout,
                      attention_probs_dropout_prob=dropout, classifier_dropout=dropout, initializer_range=0.2,
                      num_labels=len(LABELS), id2label=dict(enumerate(LABELS)),
                      label2id={l: i for i, l in enumerate(LABELS)}, attn_implementation="eager")


def randomize(model, g):
    """HF's init leaves LayerNorm at 1/0 and biases at 0; randomize everything so every gradient is exercised."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "LayerNorm.weight" in name:
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.2 * torch.randn(p.shape, generator=g))


def batch(g, B, T, valid, vocab):
    ids = torch.randint(5, vocab, (B, T), generator=g)
    mask = torch.zeros(B, T, dtype=torch.int64)
    types = torch.zeros(B, T, dtype=torch.int64)
    for i, v in enumerate(valid):
        mask[i, :v] = 1
        ids[i, 0] = 2          # [CLS]
        ids[i, v - 1] = 3      # [SEP]
        ids[i, v:] = 1         # [PAD]
    types[0, 4:7] = 1          # exercise the token-type embedding
    labels = torch.randint(0, len(LABELS), (B,), generator=g)
    return ids, types, mask, labels


def tiny_fixtures():
    g = torch.Generator().manual_seed(42)
    torch.manual_seed(42)
    config = tiny_config()
    model = BertForSequenceClassification(config)
    randomize(model, g)
    model.train()  # dropout is 0, so train mode is deterministic

    tiny_dir = os.path.join(BERT_DIR, "tiny")
    os.makedirs(tiny_dir, exist_ok=True)
    model.save_pretrained(tiny_dir, safe_serialization=True)
    # A plain BertModel checkpoint (keys without "bert.", no classifier): loads as an encoder with a fresh head.
    encoder_dir = os.path.join(BERT_DIR, "tiny-encoder")
    os.makedirs(encoder_dir, exist_ok=True)
    model.bert.save_pretrained(encoder_dir, safe_serialization=True)

    # Forward + backward on one padded batch, capturing named intermediates.
    ids, types, mask, labels = batch(g, 3, 11, [11, 6, 3], config.vocab_size)
    ref = {"input_ids": ids, "token_type_ids": types, "attention_mask": mask, "labels": labels}
    captured = {}

    def hook(name):
        def fn(_module, _inputs, output):
            captured[name] = output[0] if isinstance(output, tuple) else output
        return fn

    model.bert.embeddings.register_forward_hook(hook("emb.out"))
    for i, layer in enumerate(model.bert.encoder.layer):
        layer.attention.self.register_forward_hook(hook(f"layer{i}.attn.context"))
        layer.attention.output.register_forward_hook(hook(f"layer{i}.attn.out"))
        layer.intermediate.register_forward_hook(hook(f"layer{i}.ffn.act"))
        layer.output.register_forward_hook(hook(f"layer{i}.out"))
    model.bert.pooler.register_forward_hook(hook("pooler"))

    res = model(input_ids=ids, token_type_ids=types, attention_mask=mask, labels=labels, output_attentions=True)
    res.loss.backward()
    for i, a in enumerate(res.attentions):
        ref[f"layer{i}.attn.probs"] = a
    ref.update(captured)
    ref["logits"] = res.logits
    ref["loss"] = res.loss
    for name, p in model.named_parameters():
        ref[f"grad.{name}"] = p.grad
    save_file(contiguous(ref), os.path.join(BERT_DIR, "tiny-reference.safetensors"))

    # Ten optimizer steps: torch AdamW (decay 0.01, none on biases and LayerNorm), global-norm clipping,
    # cosine schedule with 10% warm-up, each step on a new batch.
    model = BertForSequenceClassification.from_pretrained(tiny_dir, attn_implementation="eager")
    model.train()
    steps, lr, max_norm, warmup_ratio = 10, 1e-2, 0.5, 0.1
    no_decay = ["bias", "LayerNorm.weight"]
    groups = [
        {"params": [p for n, p in model.named_parameters() if not any(nd in n for nd in no_decay)], "weight_decay": 0.01},
        {"params": [p for n, p in model.named_parameters() if any(nd in n for nd in no_decay)], "weight_decay": 0.0},
    ]
    opt = torch.optim.AdamW(groups, lr=lr, eps=1e-6)
    from transformers.optimization import get_cosine_schedule_with_warmup
    warmup = int(steps * warmup_ratio)
    sched = get_cosine_schedule_with_warmup(opt, num_warmup_steps=warmup, num_training_steps=steps)
    train = {}
    losses, lrs, norms = [], [], []
    for s in range(steps):
        valid = [int(v) for v in torch.randint(2, 10, (4,), generator=g)]
        ids, types, mask, labels = batch(g, 4, 9, valid, config.vocab_size)
        train.update({f"step{s}.input_ids": ids, f"step{s}.token_type_ids": types,
                      f"step{s}.attention_mask": mask, f"step{s}.labels": labels})
        opt.zero_grad()
        loss = model(input_ids=ids, token_type_ids=types, attention_mask=mask, labels=labels).loss
        loss.backward()
        norms.append(float(torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)))
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
        losses.append(loss.item())
    train["losses"] = torch.tensor(losses)
    train["lrs"] = torch.tensor(lrs)
    train["grad_norms"] = torch.tensor(norms)
    for name, p in model.named_parameters():
        train[f"final.{name}"] = p
    save_file(contiguous(train), os.path.join(BERT_DIR, "tiny-train.safetensors"),
              metadata={"steps": str(steps), "lr": str(lr), "max_grad_norm": str(max_norm),
                        "warmup_ratio": str(warmup_ratio), "weight_decay": "0.01", "eps": "1e-6"})
    print("tiny fixtures written; losses", [round(x, 4) for x in losses], "grad norms", [round(x, 3) for x in norms])


def full_fixture(out_dir):
    """A random KoBERT-shaped model and the logits PyTorch gives on a padded batch (for the by-hand check)."""
    g = torch.Generator().manual_seed(7)
    config = BertConfig(vocab_size=8002, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                        intermediate_size=3072, max_position_embeddings=512, type_vocab_size=2, pad_token_id=1,
                        hidden_act="gelu", layer_norm_eps=1e-12, num_labels=len(LABELS),
                        id2label=dict(enumerate(LABELS)), label2id={l: i for i, l in enumerate(LABELS)})
    torch.manual_seed(7)
    model = BertForSequenceClassification(config).eval()
    os.makedirs(out_dir, exist_ok=True)
    model.save_pretrained(out_dir, safe_serialization=True)
    ids, types, mask, _ = batch(g, 4, 64, [64, 23, 9, 40], config.vocab_size)
    with torch.no_grad():
        logits = model(input_ids=ids, token_type_ids=types, attention_mask=mask).logits
    save_file(contiguous({"input_ids": ids, "token_type_ids": types, "attention_mask": mask, "logits": logits}),
              os.path.join(out_dir, "reference.safetensors"))
    print("full-size model and reference written to", out_dir)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--full", metavar="DIR", help="write a random KoBERT-shaped model + reference logits to DIR")
    args = ap.parse_args()
    if args.full:
        full_fixture(args.full)
    else:
        kernel_fixtures()
        tiny_fixtures()
