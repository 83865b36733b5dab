#!/usr/bin/env python3
"""Writes Tests/HubTestSupport/Fixtures/kobert-tiny: a small Hub repository laid out like
skt/kobert-base-v1, which the tests' fake Hub serves for the end-to-end `train --model owner/name`.

skt/kobert-base-v1 holds a plain `BertModel` (no classifier head) as a zip-format `pytorch_model.bin`,
a `config.json` with `architectures: ["BertModel"]`, KoBERT's SentencePiece model `spiece.model`
([UNK] 0, [PAD] 1, [CLS] 2, [SEP] 3, [MASK] 4, nmt_nfkc normalization) and a `tokenizer_config.json`
naming `XLNetTokenizer`. This fixture has the same files with small shapes:

- spiece.model: a Unigram model with KoBERT's special-token layout, trained on the sentences of the
  built-in sample (Sources/EmotionClassifier/Resources/sample-emotions.csv, written for this project;
  no seed data), small vocabulary;
- config.json: a BertModel config (hidden 16, 2 layers, 2 heads), vocab_size = the spiece.model's size,
  pad_token_id 1, as KoBERT's (weights drawn with std 0.3 so that sentences get distinct outputs);
- pytorch_model.bin: a random BertModel's state dict saved by torch.save (zip format), keys without the
  `bert.` prefix, plus two unused pre-training-head tensors (`cls.predictions.bias`,
  `cls.seq_relationship.weight`) as a BertForPreTraining checkpoint would have;
- tokenizer_config.json / special_tokens_map.json: KoBERT's, naming XLNetTokenizer.

Deterministic: one sentencepiece thread, fixed torch seed; re-running reproduces the same files.

Usage: /work/venv/bin/python Scripts/make_hub_model_fixture.py   (torch, transformers<5, sentencepiece)
"""
import csv
import io
import json
import os
from collections import OrderedDict
from pathlib import Path

import sentencepiece as spm
import torch
from transformers import BertConfig, BertModel

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests" / "HubTestSupport" / "Fixtures" / "kobert-tiny"
SAMPLE = ROOT / "Sources" / "EmotionClassifier" / "Resources" / "sample-emotions.csv"
VOCAB = 1000


def sentences():
    with open(SAMPLE, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    return [row[0] for row in rows[1:]]


def train_spiece():
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(sentences()),
        model_writer=model,
        model_type="unigram",
        vocab_size=VOCAB,
        character_coverage=0.995,
        unk_id=0, unk_piece="[UNK]",
        pad_id=1, pad_piece="[PAD]",
        bos_id=-1, eos_id=-1,
        control_symbols=["[CLS]", "[SEP]", "[MASK]"],
        normalization_rule_name="nmt_nfkc",
        num_threads=1,
        minloglevel=2,
    )
    return model.getvalue()


def write(name, data):
    path = OUT / name
    temp = path.with_suffix(path.suffix + ".tmp")
    temp.write_bytes(data)
    os.replace(temp, path)
    print(f"{path.relative_to(ROOT)}: {len(data)} bytes")


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    spiece = train_spiece()
    processor = spm.SentencePieceProcessor(model_proto=spiece)
    vocab = processor.get_piece_size()
    assert [processor.id_to_piece(i) for i in range(5)] == ["[UNK]", "[PAD]", "[CLS]", "[SEP]", "[MASK]"]
    write("spiece.model", spiece)

    # Weights drawn with std 0.3 (not BERT's 0.02): a random encoder that small would otherwise give
    # every sentence nearly the same [CLS] vector, and every prediction nearly 1/7.
    config = BertConfig(vocab_size=vocab, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=64, type_vocab_size=2, pad_token_id=1,
                        initializer_range=0.3)
    # The keys of skt/kobert-base-v1's config.json (no transformers_version: reproducible across versions).
    fields = {"architectures": ["BertModel"], "attention_probs_dropout_prob": 0.1, "gradient_checkpointing": False,
              "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "hidden_size": config.hidden_size,
              "initializer_range": config.initializer_range, "intermediate_size": config.intermediate_size, "layer_norm_eps": 1e-12,
              "max_position_embeddings": config.max_position_embeddings, "model_type": "bert",
              "num_attention_heads": config.num_attention_heads, "num_hidden_layers": config.num_hidden_layers,
              "pad_token_id": 1, "position_embedding_type": "absolute", "type_vocab_size": 2, "use_cache": True,
              "vocab_size": vocab}
    write("config.json", (json.dumps(fields, indent=2) + "\n").encode())

    torch.manual_seed(20261203)
    model = BertModel(config, add_pooling_layer=True).eval()
    state = OrderedDict(model.state_dict())
    state["cls.predictions.bias"] = torch.zeros(vocab)
    state["cls.seq_relationship.weight"] = torch.randn(2, config.hidden_size) * 0.02
    buffer = io.BytesIO()
    torch.save(state, buffer)   # zip format (PyTorch >= 1.6), as skt/kobert-base-v1's
    write("pytorch_model.bin", buffer.getvalue())

    special = {"bos_token": "[CLS]", "eos_token": "[SEP]", "unk_token": "[UNK]", "sep_token": "[SEP]",
               "pad_token": "[PAD]", "cls_token": "[CLS]",
               "mask_token": {"content": "[MASK]", "lstrip": True, "normalized": True, "rstrip": False, "single_word": False}}
    tokenizer_config = {"do_lower_case": False, "remove_space": True, "keep_accents": False,
                        **special, "additional_special_tokens": None, "sp_model_kwargs": {},
                        "model_max_length": 64, "tokenizer_class": "XLNetTokenizer"}
    write("tokenizer_config.json", (json.dumps(tokenizer_config, indent=2) + "\n").encode())
    write("special_tokens_map.json", (json.dumps(special, indent=2) + "\n").encode())


if __name__ == "__main__":
    main()
