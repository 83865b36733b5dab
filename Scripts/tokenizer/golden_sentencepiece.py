"""Golden output of sentencepiece itself (no pipeline) for the adversarial sentences: the
normalized text, the pieces and the ids. Run with sentencepiece 0.2.3.
"""
import json

import sentencepiece as spm

from golden_common import ADVERSARIAL, FIXTURES, MODEL, _write_atomic


def main():
    sp = spm.SentencePieceProcessor(model_file=str(MODEL))
    texts = list(dict.fromkeys(text for text, _ in ADVERSARIAL))
    cases = [{"text": t, "normalized": sp.normalize(t), "pieces": sp.encode(t, out_type=str),
              "ids": sp.encode(t)} for t in texts]
    _write_atomic(FIXTURES / "golden-sentencepiece-adversarial.json",
                  json.dumps(cases, ensure_ascii=False, indent=1) + "\n")
    print(f"sentencepiece: {len(cases)} adversarial cases")


if __name__ == "__main__":
    main()
