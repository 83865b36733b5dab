"""Builds the benchmark workload both sides run (stdlib only): batches with realistic lengths.

Sentence lengths come from the seed dataset (cp949 CSV). No KoBERT tokenizer is available offline,
so a sentence's token count is approximated as round(characters / 1.3) + 2 ([CLS], [SEP]), clipped
to max_len. Rows are shuffled with a fixed seed and split 80/20 as the seed does
(test = ceil(0.2 * rows)); the training rows form ceil(15499 / 64) = 243 batches per epoch, in the
same order every epoch (the seed's DataLoader does not shuffle).

Token ids are synthetic but deterministic: [CLS]=2 ... [SEP]=3, padding 1, others in 4..8001.
Usage: python3 workload.py CSV > workload.json
"""
import csv
import json
import math
import random
import statistics
import sys

MAX_LEN, BATCH, EPOCHS, VOCAB = 64, 64, 5, 8002
LABEL_IDS = {"fear": 0, "surprise": 1, "angry": 2, "sadness": 3, "neutral": 4, "happiness": 5, "disgust": 6}
TYPICAL_LENGTH = 32      # the inference case at batch 1
MEASURED_CUT_BATCHES = 16  # enough for warm-up plus the measured iterations of the cut-to-longest case


def approx_tokens(sentence):
    return max(3, min(MAX_LEN, round(len(sentence) / 1.3) + 2))


def token_ids(valid, length, row):
    ids = []
    for t in range(length):
        if t >= valid:
            ids.append(1)
        elif t == 0:
            ids.append(2)
        elif t == valid - 1:
            ids.append(3)
        else:
            ids.append(4 + (row * 131 + t * 31) % (VOCAB - 4))
    return ids


def batch(rows, length):
    """rows: [(valid_length, label)]; every sequence padded (or cut) to `length`."""
    return {
        "batch": len(rows), "length": length,
        "valid": [v for v, _ in rows],
        "labels": [y for _, y in rows],
        "tokens": [i for r, (v, _) in enumerate(rows) for i in token_ids(v, length, r)],
    }


def main():
    with open(sys.argv[1], encoding="cp949", newline="") as f:
        reader = csv.reader(f)
        next(reader)
        data = [(approx_tokens(s), LABEL_IDS[y]) for s, y in reader]
    random.Random(32).shuffle(data)
    n_test = math.ceil(0.2 * len(data))
    train = data[: len(data) - n_test]
    batches = [train[i : i + BATCH] for i in range(0, len(train), BATCH)]
    longest = [max(v for v, _ in b) for b in batches]
    first = batches[0]
    work = {
        "note": "token counts approximated as round(chars/1.3)+2 clipped to 64 (no tokenizer offline)",
        "rows": len(data), "train_rows": len(train), "max_len": MAX_LEN, "batch_size": BATCH,
        "epochs": EPOCHS, "steps_per_epoch": len(batches),
        "sentence_tokens_median": statistics.median(v for v, _ in data),
        "epoch_batch_longest": longest,
        "padded": batch(first, MAX_LEN),
        "cut": [batch(b, m) for b, m in zip(batches[:MEASURED_CUT_BATCHES], longest)],
        "single": batch([(TYPICAL_LENGTH, first[0][1])], TYPICAL_LENGTH),
    }
    json.dump(work, sys.stdout)


if __name__ == "__main__":
    main()
