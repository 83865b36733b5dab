#!/usr/bin/env python3
"""Fixtures for Tests/SafeTensorsTests, written by the reference `safetensors` library.

Run by hand (CI never runs Python):

    /work/venvs/torch/bin/python Scripts/make_safetensors_fixtures.py
        writes Tests/SafeTensorsTests/Fixtures/python_dtypes.safetensors and
        python_dtypes.expected.json (the values the Swift reader must return).

    /work/venvs/torch/bin/python Scripts/make_safetensors_fixtures.py --check FILE
        loads FILE (for example one written by SafeTensorsWriter) with safetensors' PyTorch loader,
        the path transformers' from_pretrained takes, and prints its metadata and tensors. Exits
        non-zero if it does not load or lacks the metadata format=pt that transformers requires.

Expected values are stored exactly: floating-point tensors as the bit patterns (uint32) of their
values converted to float32 by torch (`.float()`, round to nearest for F64), integer and bool
tensors as Python ints.
"""
import argparse
import json
import math
import pathlib
import sys

import torch
from safetensors import safe_open
from safetensors.torch import save_file

FIXTURES = pathlib.Path(__file__).resolve().parent.parent / "Tests" / "SafeTensorsTests" / "Fixtures"
METADATA = {"format": "pt", "note": "감정 분류 \"quoted\" \\ tab\t end"}


def tensors():
    g = torch.Generator().manual_seed(20240607)
    f32 = torch.randn(3, 5, generator=g)
    f32[0, :5] = torch.tensor([math.inf, -math.inf, math.nan, -0.0, 1e-40])  # 1e-40: a float32 subnormal
    f16 = torch.randn(2, 4, generator=g).half()
    f16[0] = torch.tensor([65504.0, 2.0**-24, -0.0, math.inf]).half()  # max, smallest subnormal
    bf16 = torch.randn(7, generator=g).bfloat16()
    bf16[0] = -math.inf
    f64 = torch.randn(2, 3, generator=g, dtype=torch.float64)
    f64[0] = torch.tensor([1e40, 1e-50, 1 / 3], dtype=torch.float64)  # overflows / underflows / rounds in float32
    return {
        "f32_odd": f32,
        "f16": f16,
        "bf16": bf16,
        "f64": f64,
        "scalar": torch.tensor(3.25),
        "empty": torch.zeros(2, 0),
        "i64": torch.tensor([0, -1, 2**62, -(2**63), 2**63 - 1], dtype=torch.int64),
        "i32": torch.tensor([[7, -2**31], [2**31 - 1, 0]], dtype=torch.int32),
        "i16": torch.tensor([-32768, 32767, 5], dtype=torch.int16),
        "i8": torch.tensor([-128, 127, -3], dtype=torch.int8),
        "u8": torch.tensor([0, 255, 17], dtype=torch.uint8),
        "bool": torch.tensor([True, False, True, True]),
        "layer.0.attention.self.query.weight": torch.arange(12, dtype=torch.float32).reshape(4, 3) / 8,
    }


DTYPES = {
    torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
    torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8",
    torch.bool: "BOOL",
}


def expected_entry(t):
    entry = {"dtype": DTYPES[t.dtype], "shape": list(t.shape)}
    if t.dtype.is_floating_point:
        bits = t.float().contiguous().view(torch.int32).flatten().tolist()
        entry["float_bits"] = [b & 0xFFFFFFFF for b in bits]
    else:
        entry["ints"] = t.flatten().to(torch.int64).tolist()
    return entry


def make():
    FIXTURES.mkdir(parents=True, exist_ok=True)
    ts = tensors()
    save_file(ts, FIXTURES / "python_dtypes.safetensors", metadata=METADATA)
    expected = {
        "generator": "Scripts/make_safetensors_fixtures.py with safetensors.torch.save_file",
        "metadata": METADATA,
        "tensors": {name: expected_entry(t) for name, t in sorted(ts.items())},
    }
    # One tensor per line keeps the file readable and its diffs small.
    text = json.dumps(expected, indent=1, ensure_ascii=False)
    for name, entry in expected["tensors"].items():
        text = text.replace(json.dumps(entry, indent=1, ensure_ascii=False).replace("\n", "\n  "),
                            json.dumps(entry, ensure_ascii=False))
    (FIXTURES / "python_dtypes.expected.json").write_text(text + "\n", encoding="utf-8")
    print(f"wrote {len(ts)} tensors to {FIXTURES}")


def check(path):
    with safe_open(path, framework="pt") as f:
        metadata = f.metadata() or {}
        print(f"metadata: {metadata}")
        for name in f.keys():
            t = f.get_tensor(name)
            print(f"{name!r}: {DTYPES[t.dtype]} {list(t.shape)} {t.flatten().tolist()}")
    if metadata.get("format") != "pt":
        sys.exit(f"{path}: metadata lacks format=pt, transformers' from_pretrained will refuse it")
    print(f"OK: {path} loads with safetensors {__import__('safetensors').__version__} / torch {torch.__version__}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", metavar="FILE", help="load FILE with safetensors (PyTorch) and print it")
    args = parser.parse_args()
    check(args.check) if args.check else make()
