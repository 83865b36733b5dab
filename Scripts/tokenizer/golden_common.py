"""Shared parts of the golden-id scripts: the adversarial sentences and the fixture writers.

Each pipeline script supplies `encode(text, max_len) -> (pieces, token_ids, valid_length, segment_ids)`
computed with the real Python library, and calls `write_golden`. For the dataset only a digest is
stored per row (valid length and 64-bit FNV-1a of the int32 little-endian id arrays), never text;
full ids are stored for the hand-written adversarial sentences below.
"""
import json
import os
import pathlib
import struct

from dataset import sentences

ROOT = pathlib.Path(__file__).resolve().parents[2]
MODEL = ROOT / "Sources" / "SentencePiece" / "Resources" / "emotion-dialogue.model"
FIXTURES = ROOT / "Tests" / "SentencePieceTests" / "Fixtures"
# Test-only model whose user-defined pieces end in digit+comma (see train_model.py).
DIGIT_COMMA_MODEL = FIXTURES / "digit-comma.model"
BPE_MODEL = FIXTURES / "bpe.model"
MAX_LEN = 64

LONG = "오늘은 정말 기분이 좋아서 친구들이랑 같이 맛있는 걸 먹으러 가기로 했어. "

# (text, max_len). Hand-written to hit every normalization and pipeline corner.
ADVERSARIAL = [
    ("한국어 모델을 공유합니다.", MAX_LEN),
    ("ㅋㅋㅋ 진짜 웃기다", MAX_LEN),
    ("ㅋㅋ", MAX_LEN),
    ("ㅠㅠ 너무 슬퍼ㅠ ㅎㅎ", MAX_LEN),
    ("\u1112\u1161\u11ab\u1100\u116e\u11a8\u110b\u1165 \u1106\u1169\u1103\u1166\u11af", MAX_LEN),
    ("\u1100\u1161 \u11a8 \u110f\u110f \u1161", MAX_LEN),
    ("한\u0301글 caf\u0065\u0301 café naïve Ångström", MAX_LEN),
    ("ＡＢＣ\u3000１２３！？ Ｈｅｌｌｏ，ｗｏｒｌｄ", MAX_LEN),
    ("ｶﾀｶﾅ ﾡﾢ ﾾ", MAX_LEN),
    ("오늘 너무 좋아😀👍🏻 ❤️ 사랑해 👨\u200d👩\u200d👧", MAX_LEN),
    ("\t탭\t\t문자   여러    칸  ", MAX_LEN),
    ("   앞뒤 공백   ", MAX_LEN),
    ("줄\r\n바꿈\n문자\u2028구분\u2029문단", MAX_LEN),
    ("공백\u00a0여러\u2009종류\u3000입니다\u200b끝", MAX_LEN),
    ("제어\u0000문자\u0007포함\ufffd\u0085끝", MAX_LEN),
    ("1,000원짜리 2,500,000원", MAX_LEN),
    ("가격은 12,345원이야. 3,5,7 그리고 0,", MAX_LEN),
    ("1, 2, 3, 10,20,30", MAX_LEN),
    ("²³ ① ⅷ ١٢٣", MAX_LEN),
    ("", MAX_LEN),
    ("   ", MAX_LEN),
    ("\t\n", MAX_LEN),
    ("\u3000", MAX_LEN),
    ("헐!!! 대박...진짜?!", MAX_LEN),
    ("(괄호) [대괄호] {중괄호} \"따옴표\" '작은' ~물결~ @#$%^&*", MAX_LEN),
    ("``인용'' 그리고 ‘둥근’ “따옴표” 《책》 「낫표」 …", MAX_LEN),
    ("漢字 混用 문장이야 中國", MAX_LEN),
    ("나 오늘 KAIST에서 AI 수업 들었어 Hello World! I'm OK.", MAX_LEN),
    ("가나다라마바사아자차카타파하" * 6, MAX_LEN),
    (LONG * 6, MAX_LEN),
    (LONG * 2, 8),
    ("ㅋㅋ 1,000원", 8),
    ("", 8),
    ("한국어 모델을 공유합니다.", 3),
    ("나는 [MASK] 좋아", MAX_LEN),
    ("나는[CLS]좋아 [SEP] x [UNK][PAD]", MAX_LEN),
    ("[MASK", MAX_LEN),
]


# Extra sentences for the digit+comma model, on top of ADVERSARIAL.
DIGIT_COMMA = [
    ("1,000,000원 12,345원 0, 5,5", MAX_LEN),
    ("값은 1,500원이고 00,1 그리고 ₁,", MAX_LEN),
    ("12,12,12, 1, 1,1", MAX_LEN),
]


def fnv1a64(values):
    """64-bit FNV-1a over the int32 little-endian bytes of `values`."""
    h = 0xCBF29CE484222325
    for byte in struct.pack(f"<{len(values)}i", *values):
        h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def _write_atomic(path, text):
    temp = path.with_suffix(path.suffix + ".tmp")
    temp.write_text(text, encoding="utf-8")
    os.replace(temp, path)


def write_golden(pipeline, encode):
    """Writes golden-<pipeline>-dataset.tsv and golden-<pipeline>-adversarial.json."""
    lines = ["row\tvalid_length\tfnv1a64_token_ids\tfnv1a64_segment_ids"]
    for row, text in enumerate(sentences()):
        _, ids, valid, segments = encode(text, MAX_LEN)
        lines.append(f"{row}\t{valid}\t{fnv1a64(ids):016x}\t{fnv1a64(segments):016x}")
    _write_atomic(FIXTURES / f"golden-{pipeline}-dataset.tsv", "\n".join(lines) + "\n")

    write_cases(f"golden-{pipeline}-adversarial.json", ADVERSARIAL, encode)
    print(f"{pipeline}: {len(lines) - 1} dataset rows, {len(ADVERSARIAL)} adversarial cases")


def write_cases(name, texts, encode):
    """Writes full pipeline output for each (text, max_len) to the fixture `name`."""
    cases = []
    for text, max_len in texts:
        pieces, ids, valid, segments = encode(text, max_len)
        cases.append({"text": text, "max_len": max_len, "pieces": pieces, "token_ids": ids,
                      "valid_length": valid, "segment_ids": segments})
    _write_atomic(FIXTURES / name, json.dumps(cases, ensure_ascii=False, indent=1) + "\n")
