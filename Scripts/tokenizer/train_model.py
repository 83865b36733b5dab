"""Trains the built-in SentencePiece Unigram model on the seed dataset's sentences.

The model copies KoBERT's special-token layout: [UNK] 0, [PAD] 1, [CLS] 2, [SEP] 3, [MASK] 4, no
<s>/</s>, and SentencePiece's default `nmt_nfkc` normalization (as KoBERT's `spiece.model`).
The dataset is too small for KoBERT's 8002 pieces, so the vocabulary is 5,800 pieces.

It also trains a small test fixture, Tests/SentencePieceTests/Fixtures/digit-comma.model: identity
normalization (no charsmap) and user-defined symbols that end in digit+comma, so that the
kobert-hf pipeline's digit+comma piece split (which the built-in model never triggers) is tested,
and Tests/SentencePieceTests/Fixtures/bpe.model, a small BPE model for the BPE encoder's tests.

Usage (any Python with `sentencepiece`; the fixtures were made with sentencepiece 0.2.3):
    python Scripts/tokenizer/train_model.py
"""
import io
import os
import pathlib

import sentencepiece as spm

from dataset import sentences

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUTPUT = ROOT / "Sources" / "SentencePiece" / "Resources" / "emotion-dialogue.model"
DIGIT_COMMA_OUTPUT = ROOT / "Tests" / "SentencePieceTests" / "Fixtures" / "digit-comma.model"
BPE_OUTPUT = ROOT / "Tests" / "SentencePieceTests" / "Fixtures" / "bpe.model"


def train(output, vocab_size, model_type="unigram", **options):
    # Sentences go in through an iterator and the model comes out through a writer, so that no
    # temporary path is recorded in the model's trainer spec and the output is reproducible.
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(sentences()),
        model_writer=model,
        model_type=model_type,
        vocab_size=vocab_size,
        unk_id=0, unk_piece="[UNK]",
        pad_id=1, pad_piece="[PAD]",
        bos_id=-1, eos_id=-1,
        control_symbols=["[CLS]", "[SEP]", "[MASK]"],
        num_threads=1,
        minloglevel=2,
        **options,
    )
    data = model.getvalue()
    temp = output.with_suffix(".tmp")
    temp.write_bytes(data)
    os.replace(temp, output)
    print(f"wrote {output} ({len(data)} bytes, {vocab_size} pieces)")


def main():
    train(OUTPUT, 5800, normalization_rule_name="nmt_nfkc")
    train(DIGIT_COMMA_OUTPUT, 1000, normalization_rule_name="identity",
          user_defined_symbols=["0,", "1,", "5,", "00,", "12,"])
    train(BPE_OUTPUT, 2000, model_type="bpe", normalization_rule_name="identity",
          user_defined_symbols=["ㅋㅋ", "1,"])


if __name__ == "__main__":
    main()
