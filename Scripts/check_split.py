#!/usr/bin/env python3
"""Writes the split reference fixture for EmotionClassifierTests and cross-checks it.

The seed tutorial splits with
    sklearn.model_selection.train_test_split(data_list, test_size=0.2, shuffle=True, random_state=32)
which is: n_test = ceil(0.2 * n); perm = numpy.random.RandomState(32).permutation(n);
test = perm[:n_test]; train = perm[n_test:]. This script computes those indices with numpy (and, when
scikit-learn is importable, checks them against train_test_split itself), computes the `dedup` split the
Swift code implements, and measures the seed dataset when it is present.
It also writes the two small cp949 CSV fixtures (sentences written for this project) that the encoding
tests read.

Usage: python3 Scripts/check_split.py   (from the package root; needs numpy, optionally scikit-learn)
Output: Tests/EmotionClassifierTests/Fixtures/split-reference.json, cp949-sample.csv, cp949-invalid.csv
"""
import csv
import io
import json
import math
import os

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "Tests", "EmotionClassifierTests", "Fixtures")
FIXTURE = os.path.join(FIXTURES, "split-reference.json")
SEED_DATA = os.path.join(ROOT, "..", "shared", "data", "emotion-dialogue-5th-2.csv")
EDGE = 20  # indices kept from each end of long index lists


def checksum(indices):
    """sum over 0-based positions p of (p + 1) * indices[p]; the Swift tests compute the same."""
    return int(sum((p + 1) * int(i) for p, i in enumerate(indices)))


def sklearn_like(n, seed, test_fraction=0.2):
    n_test = math.ceil(test_fraction * n)
    perm = np.random.RandomState(seed).permutation(n)
    return [int(i) for i in perm[n_test:]], [int(i) for i in perm[:n_test]]


def check_against_sklearn(n, seed, train, test, test_fraction=0.2):
    try:
        from sklearn.model_selection import train_test_split
    except ImportError:
        return False
    sk_train, sk_test = train_test_split(list(range(n)), test_size=test_fraction, shuffle=True, random_state=seed)
    assert sk_train == train and sk_test == test, f"numpy re-implementation differs from sklearn for n={n} seed={seed}"
    return True


def grouped(keys, seed, test_fraction=0.2):
    """The Swift `dedup` split: groups of equal keys in order of first appearance, permuted with
    RandomState(seed); whole groups go to test until it has ceil(test_fraction * n) rows."""
    target = math.ceil(test_fraction * len(keys))
    order, members = [], {}
    for index, key in enumerate(keys):
        if key not in members:
            members[key] = []
            order.append(key)
        members[key].append(index)
    train, test = [], []
    for g in np.random.RandomState(seed).permutation(len(order)):
        (test if len(test) < target else train).extend(members[order[g]])
    return train, test


def describe(train, test):
    entry = {"trainCount": len(train), "testCount": len(test),
             "trainChecksum": checksum(train), "testChecksum": checksum(test)}
    if len(train) + len(test) <= 2 * EDGE:
        entry.update(train=train, test=test)
    else:
        entry.update(trainHead=train[:EDGE], trainTail=train[-EDGE:], testHead=test[:EDGE], testTail=test[-EDGE:])
    return entry


def write_cp949_fixtures():
    """cp949-sample.csv: five rows, CRLF, two quoted fields with commas.
    cp949-invalid.csv: an invalid cp949 byte (0xFF is never a lead byte) at byte offset 59, line 3."""
    rows = ["발화문,상황",
            "오늘 점심은 회사 앞 분식집에서 먹었어.,neutral",
            '"동생이 취직했대, 너무 기뻐서 눈물이 났어.",happiness',
            "밤길에 누가 계속 따라오는 것 같아서 무서웠어.,fear",
            '"택배가 또 분실됐다고? 진짜, 화가 나서 못 참겠어.",angry']
    with open(os.path.join(FIXTURES, "cp949-sample.csv"), "wb") as f:
        f.write("".join(row + "\r\n" for row in rows).encode("cp949"))
    head = "발화문,상황\r\n주말에 친구랑 영화 봤어.,happiness\r\n비가 와서 ".encode("cp949")
    assert len(head) == 59
    with open(os.path.join(FIXTURES, "cp949-invalid.csv"), "wb") as f:
        f.write(head + b"\xff\xfe" + b",sadness\r\n")


def main():
    write_cp949_fixtures()
    sklearn_checked = True
    random_cases = []
    for n, seed in [(2, 0), (5, 1), (10, 32), (17, 0), (40, 7), (100, 32), (1000, 123456789),
                    (2**16 + 3, 4294967295), (19374, 32)]:
        train, test = sklearn_like(n, seed)
        sklearn_checked &= check_against_sklearn(n, seed, train, test)
        random_cases.append({"count": n, "seed": seed, "testFraction": 0.2, **describe(train, test)})

    # Synthetic keys with repeats for the grouped split.
    rng = np.random.RandomState(5)
    dedup_keys = [int(k) for k in rng.randint(0, 30, size=60)]
    dedup_cases = [{"keys": dedup_keys, "seed": seed, "testFraction": 0.2, **describe(*grouped(dedup_keys, seed))}
                   for seed in (32, 0)]

    fixture = {
        "generator": "Scripts/check_split.py",
        "numpy": np.__version__,
        "checkedAgainstSklearn": bool(sklearn_checked),
        "checksum": "sum over 0-based positions p of (p + 1) * index[p]",
        "random": random_cases,
        "dedup": dedup_cases,
    }

    if os.path.exists(SEED_DATA):
        with open(SEED_DATA, encoding="cp949", newline="") as f:
            rows = list(csv.reader(f))[1:]
        texts = [r[0] for r in rows]
        stripped = [t.strip() for t in texts]
        train, test = sklearn_like(len(texts), 32)
        train_set = {stripped[i] for i in train}
        overlap = sum(1 for i in test if stripped[i] in train_set)
        d_train, d_test = grouped(stripped, 32)
        fixture["seedData"] = {
            "rows": len(texts),
            "repeatedExact": len(texts) - len(set(texts)),
            "repeatedTrimmed": len(texts) - len(set(stripped)),
            "randomOverlap": overlap,
            "dedup": {"seed": 32, "testFraction": 0.2, **describe(d_train, d_test)},
        }

    with open(FIXTURE, "w", encoding="utf-8") as f:
        json.dump(fixture, f, indent=1)
        f.write("\n")
    print(f"wrote {FIXTURE}; checked against sklearn: {sklearn_checked}")
    if "seedData" in fixture:
        s = fixture["seedData"]
        print(f"seed data: {s['rows']} rows, {s['repeatedExact']} exact repeats, {s['repeatedTrimmed']} trimmed "
              f"repeats, random-split overlap {s['randomOverlap']}, dedup split "
              f"{s['dedup']['trainCount']}/{s['dedup']['testCount']}")


if __name__ == "__main__":
    main()
