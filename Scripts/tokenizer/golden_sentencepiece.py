"""Golden output of sentencepiece itself (no pipeline) for the adversarial sentences: the
normalized text, the pieces and the ids, for the built-in model and the digit-comma test model.
Run with sentencepiece 0.2.3.
"""
import json

import sentencepiece as spm

from golden_common import ADVERSARIAL, DIGIT_COMMA, DIGIT_COMMA_MODEL, FIXTURES, MODEL, _write_atomic


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


if __name__ == "__main__":
    main()
