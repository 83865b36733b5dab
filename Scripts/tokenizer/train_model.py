"""Trains the built-in SentencePiece Unigram model on the seed dataset's sentences.

The model copies KoBERT's special-token layout: [UNK] 0, [PAD] 1, [CLS] 2, [SEP] 3, [MASK] 4, no
<s>/</s>, and SentencePiece's default `nmt_nfkc` normalization (as KoBERT's `spiece.model`).
The dataset is too small for KoBERT's 8002 pieces, so the vocabulary is 5,800 pieces.

Usage (any Python with `sentencepiece`; the fixture was made with sentencepiece 0.2.3):
    python Scripts/tokenizer/train_model.py
writes Sources/SentencePiece/Resources/emotion-dialogue.model.
"""
import io
import os
import pathlib

import sentencepiece as spm

from dataset import sentences

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUTPUT = ROOT / "Sources" / "SentencePiece" / "Resources" / "emotion-dialogue.model"
VOCAB_SIZE = 5800


def main():
    # Sentences go in through an iterator and the model comes out through a writer, so that no
    # temporary path is recorded in the model's trainer spec and the output is reproducible.
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(sentences()),
        model_writer=model,
        model_type="unigram",
        vocab_size=VOCAB_SIZE,
        unk_id=0, unk_piece="[UNK]",
        pad_id=1, pad_piece="[PAD]",
        bos_id=-1, eos_id=-1,
        control_symbols=["[CLS]", "[SEP]", "[MASK]"],
        normalization_rule_name="nmt_nfkc",
        num_threads=1,
        minloglevel=2,
    )
    data = model.getvalue()
    temp = OUTPUT.with_suffix(".tmp")
    temp.write_bytes(data)
    os.replace(temp, OUTPUT)
    print(f"wrote {OUTPUT} ({len(data)} bytes, {VOCAB_SIZE} pieces)")


if __name__ == "__main__":
    main()
