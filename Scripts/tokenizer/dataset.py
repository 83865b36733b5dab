"""Reads the seed dataset's sentences (shared by the training and golden scripts).

The CSV is cp949 with two columns (utterance, label) and a header row; fields may be quoted.
"""
import csv
import pathlib

DATASET = pathlib.Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "emotion-dialogue-5th-2.csv"


def sentences(path=DATASET):
    """Returns the utterance column, one string per data row, in file order."""
    with open(path, encoding="cp949", newline="") as f:
        rows = list(csv.reader(f))
    return [row[0] for row in rows[1:]]
