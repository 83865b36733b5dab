"""Golden output of sentencepiece itself (no pipeline) for the adversarial sentences: the
normalized text, the pieces and the ids, for the built-in model and the test models; for the BPE
test model also a digest of every dataset sentence's ids (row, id count, FNV-1a of the ids).
Run with sentencepiece 0.2.3.
"""
import json

import sentencepiece as spm

from dataset import sentences
from golden_common import (ADVERSARIAL, BPE_MODEL, DIGIT_COMMA, DIGIT_COMMA_MODEL, FIXTURES, MODEL,
                           _write_atomic, fnv1a64)


def write(model, texts, name):
    sp = spm.SentencePieceProcessor(model_file=str(model))
    texts = list(dict.fromkeys(text for text, _ in texts))
    cases = [{"text": t, "normalized": sp.normalize(t), "pieces": sp.encode(t, out_type=str),
              "ids": sp.encode(t)} for t in texts]
    _write_atomic(FIXTURES / name, json.dumps(cases, ensure_ascii=False, indent=1) + "\n")
    print(f"sentencepiece: {len(cases)} cases in {name}")


def main():
    write(MODEL, ADVERSARIAL, "golden-sentencepiece-adversarial.json")
    write(DIGIT_COMMA_MODEL, DIGIT_COMMA + ADVERSARIAL, "golden-sentencepiece-digit-comma.json")
    write(BPE_MODEL, DIGIT_COMMA + ADVERSARIAL, "golden-sentencepiece-bpe.json")
    sp = spm.SentencePieceProcessor(model_file=str(BPE_MODEL))
    lines = ["row\tid_count\tfnv1a64_ids"]
    for row, text in enumerate(sentences()):
        ids = sp.encode(text)
        lines.append(f"{row}\t{len(ids)}\t{fnv1a64(ids):016x}")
    _write_atomic(FIXTURES / "golden-sentencepiece-bpe-dataset.tsv", "\n".join(lines) + "\n")
    print(f"sentencepiece: {len(lines) - 1} dataset rows with bpe.model")


if __name__ == "__main__":
    main()
