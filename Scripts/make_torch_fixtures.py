#!/usr/bin/env python3
"""Makes the fixtures of Tests/TorchCheckpointTests (run with /work/venv/bin/python from the repo root).

One small random BERT state dict saved as safetensors (the reference) and as PyTorch checkpoints in every
form the Swift reader handles, plus hostile files. The hostile pickles are written as raw pickle bytes by
hand: nothing here pickles an object that would execute anything when loaded.

Needs torch, transformers and safetensors. Output: Tests/TorchCheckpointTests/Fixtures/*.
"""
import io
import os
import struct
import sys
import zipfile
import zlib
from collections import OrderedDict

import torch
from safetensors.torch import save_file
from transformers import BertConfig, BertForSequenceClassification

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "TorchCheckpointTests", "Fixtures")


def path(name):
    return os.path.join(OUT, name)


def contiguous(state):
    """A copy that safetensors accepts: every tensor contiguous with its own storage."""
    return {k: v.detach().contiguous().clone() for k, v in state.items()}


def bert_fixtures():
    torch.manual_seed(20240613)
    config = BertConfig(vocab_size=50, hidden_size=8, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=37, max_position_embeddings=16, type_vocab_size=2,
                        num_labels=7)
    model = BertForSequenceClassification(config).eval()
    state = OrderedDict(model.state_dict())
    state._metadata = model.state_dict()._metadata
    # Older transformers saved the int64 buffer position_ids (KoBERT's checkpoint has it): add it, to
    # check integer tensors are listed and refused by copyFloats.
    assert "bert.embeddings.position_ids" not in state
    state["bert.embeddings.position_ids"] = torch.arange(config.max_position_embeddings).unsqueeze(0)

    save_file(contiguous({k: v for k, v in state.items() if v.is_floating_point()}), path("bert.safetensors"))
    torch.save(state, path("pytorch_model.bin"))
    torch.save(state, path("bert-legacy.bin"), _use_new_zipfile_serialization=False)

    for dtype, name in [(torch.float16, "fp16"), (torch.bfloat16, "bf16")]:
        converted = OrderedDict((k, v.to(dtype) if v.is_floating_point() else v) for k, v in state.items())
        torch.save(converted, path(f"bert-{name}.bin"))
        save_file(contiguous({k: v for k, v in converted.items() if v.is_floating_point()}), path(f"bert-{name}.safetensors"))

    # A BertModel checkpoint (keys without "bert.", no classifier), legacy format, compared with
    # bert.safetensors under the "bert." prefix.
    encoder = OrderedDict((k, v) for k, v in model.bert.state_dict().items() if v.is_floating_point())
    torch.save(encoder, path("bertmodel-legacy.bin"), _use_new_zipfile_serialization=False)

    # Old-style LayerNorm names (gamma/beta), zip format, archive folder named differently.
    old = OrderedDict()
    for k, v in state.items():
        if not v.is_floating_point():
            continue
        k = k.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta")
        old[k] = v
    buffer = io.BytesIO()
    torch.save(old, buffer)
    with open(path("bert-gamma-beta.pt"), "wb") as f:
        f.write(buffer.getvalue())


def view_fixtures():
    torch.manual_seed(7)
    base = torch.randn(6, 8)
    half = torch.randn(5, 3).half()
    state = OrderedDict()
    state["base"] = base
    state["tied"] = base  # same storage under two names
    state["transposed"] = base.t()  # non-contiguous
    state["slice"] = base[1:4, 2:7]  # storage offset and non-contiguous
    state["flat"] = base.view(-1)[5:17]  # storage offset, contiguous
    state["column"] = base[:, 3]  # stride 8
    state["scalar"] = base[2, 5]  # 0-dimensional, offset 21
    state["empty"] = base[2:2]  # no elements
    state["half_t"] = half.t()
    state["half_every_other"] = half.view(-1)[1::2]
    state["weight"] = torch.nn.Parameter(torch.randn(2, 3))  # saved through _rebuild_parameter
    torch.save(state, path("views.bin"))
    torch.save(state, path("views-legacy.bin"), _use_new_zipfile_serialization=False)
    save_file(contiguous(state), path("views.safetensors"))
    # Pickle protocol 4: FRAME, MEMOIZE, SHORT_BINUNICODE, STACK_GLOBAL.
    torch.save(state, path("views-proto4.bin"), pickle_protocol=4)


# ---- hostile files: raw pickle bytes -------------------------------------------------------------

PROTO2 = b"\x80\x02"


def unicode(s):
    b = s.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def global_(module, name):
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def state_pickle(numel=12, size=(3, 4), stride=(4, 1), key="0", storage="FloatStorage", legacy=False):
    """An OrderedDict {'w': tensor} written by hand, as torch.save writes it (legacy persistent ids
    carry a sixth element, view_metadata None)."""
    ints = lambda xs: b"(" + b"".join(b"J" + struct.pack("<i", x) for x in xs) + b"t"
    pid = b"(" + unicode("storage") + global_("torch", storage) + unicode(key) + unicode("cpu") \
        + b"\x8a\x08" + struct.pack("<q", numel) + (b"N" if legacy else b"") + b"t"
    return (PROTO2 + global_("collections", "OrderedDict") + b")R" + unicode("w")
            + global_("torch._utils", "_rebuild_tensor_v2")
            + b"(" + pid + b"Q" + b"K\x00" + ints(size) + ints(stride) + b"\x89"
            + global_("collections", "OrderedDict") + b")R" + b"tR" + b"s.")


def write_zip(name, records, prefix="archive/"):
    with zipfile.ZipFile(path(name), "w", compression=zipfile.ZIP_STORED) as z:
        for record, data in records:
            z.writestr(prefix + record if not record.startswith("../") else record, data)


def zip_with_pickle(name, pickle_bytes, byteorder=b"little", extra=()):
    records = [("data.pkl", pickle_bytes), ("byteorder", byteorder), ("data/0", struct.pack("<12f", *range(12))),
               ("version", b"3\n")]
    write_zip(name, records + list(extra))


def legacy_with_pickle(name, pickle_bytes, keys=("0",), count=12, data=None):
    out = io.BytesIO()
    out.write(PROTO2 + b"\x8a\x0a" + (0x1950A86A20F9469CFC6C).to_bytes(10, "little") + b".")
    out.write(PROTO2 + b"M\xe9\x03.")
    out.write(PROTO2 + b"}" + unicode("little_endian") + b"\x88s.")
    out.write(pickle_bytes)
    out.write(PROTO2 + b"]" + b"(" + b"".join(unicode(k) for k in keys) + b"e.")
    out.write(struct.pack("<Q", count))
    out.write(data if data is not None else struct.pack("<12f", *range(12)))
    with open(path(name), "wb") as f:
        f.write(out.getvalue())


def hostile_fixtures():
    # A well-formed hand-written checkpoint in both forms, so the hostile ones differ from it by one thing.
    zip_with_pickle("handmade.bin", state_pickle())
    lp = state_pickle(legacy=True)
    legacy_with_pickle("handmade-legacy.bin", lp)

    # GLOBAL os.system + REDUCE: what a malicious __reduce__ pickles to.
    zip_with_pickle("hostile-os-system.bin", PROTO2 + global_("os", "system") + unicode("echo pwned") + b"\x85R.")
    # builtins.eval through STACK_GLOBAL (protocol 4).
    zip_with_pickle("hostile-eval.bin", b"\x80\x04" + b"\x8c\x08builtins\x8c\x04eval\x93"
                    + unicode("__import__('os').system('echo pwned')") + b"\x85R.")
    # The __reduce__ of an arbitrary class: the class is a global, called with REDUCE.
    zip_with_pickle("hostile-reduce-class.bin", PROTO2 + global_("__main__", "Exploit") + b")R.")
    # REDUCE on an allowed global that is not a callable of a state dict.
    zip_with_pickle("hostile-reduce-storage.bin", PROTO2 + global_("torch", "FloatStorage") + b")R.")
    # BUILD on a non-dict (a list) and on a plain dict.
    zip_with_pickle("hostile-build-list.bin", PROTO2 + b"]}b.")
    # NEWOBJ, which a state dict never needs.
    zip_with_pickle("hostile-newobj.bin", PROTO2 + global_("collections", "OrderedDict") + b")\x81.")
    # Nesting deeper than the reader's cap (the 100,000-deep ones are built by the tests).
    zip_with_pickle("hostile-deep.bin", PROTO2 + b"]" * 1000 + b"a" * 999 + b".")
    # Forged sizes: a storage declaring 10^12 elements (its record holds 12), and a view past the storage.
    zip_with_pickle("hostile-forged-numel.bin", state_pickle(numel=10**12, size=(10**6, 10**6), stride=(10**6, 1)))
    zip_with_pickle("hostile-forged-view.bin", state_pickle(size=(1000, 1000), stride=(1000, 1)))
    legacy_with_pickle("hostile-legacy-forged-count.bin", lp, count=1 << 62)
    # A zip entry whose name climbs out of the archive.
    zip_with_pickle("hostile-traversal.bin", state_pickle(), extra=[("../evil", b"#!/bin/sh\necho pwned\n")])
    # Big-endian byte order.
    zip_with_pickle("hostile-big-endian.bin", state_pickle(), byteorder=b"big")
    # Truncated files.
    for source, target in [("views.bin", "truncated.bin"), ("views-legacy.bin", "truncated-legacy.bin")]:
        with open(path(source), "rb") as f:
            data = f.read()
        with open(path(target), "wb") as f:
            f.write(data[: len(data) // 2])


def stored_zip(records, aliases):
    """A zip of stored records written byte by byte, whose central directory also lists each
    (alias, record) of `aliases`: a second name for the local record of `record`, at the same offset.
    zipfile cannot write that; a reader must not let the aliases multiply the bytes it reads."""
    local, offsets = bytearray(), {}
    for name, data in records:
        crc = zlib.crc32(data)
        offsets[name] = (len(local), crc, len(data))
        encoded = name.encode()
        local += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 0, 0, 0, crc, len(data), len(data), len(encoded), 0)
        local += encoded + data
    central = bytearray()
    listed = [(name, name) for name, _ in records] + list(aliases)
    for name, target in listed:
        offset, crc, size = offsets[target]
        encoded = name.encode()
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 0, 0, 0, crc, size, size,
                               len(encoded), 0, 0, 0, 0, 0, offset) + encoded
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(listed), len(listed), len(central), len(local), 0)
    return bytes(local + central + end)


def overlap_fixtures():
    # Two storages '0' and '1' of 1024 floats; the central directory lists 'archive/data/1' at the local
    # record of 'archive/data/0', so the 4 KB of data would be read twice from a file of about 4.5 KB.
    ints = lambda xs: b"(" + b"".join(b"J" + struct.pack("<i", x) for x in xs) + b"t"
    od = global_("collections", "OrderedDict") + b")R"
    def tensor(key):
        pid = b"(" + unicode("storage") + global_("torch", "FloatStorage") + unicode(key) + unicode("cpu") \
            + b"J" + struct.pack("<i", 1024) + b"t"
        return (global_("torch._utils", "_rebuild_tensor_v2") + b"(" + pid + b"Q" + b"K\x00" + ints([1024])
                + ints([1]) + b"\x89" + od + b"tR")
    pickle_bytes = PROTO2 + od + b"(" + unicode("a") + tensor("0") + unicode("b") + tensor("1") + b"u."
    records = [("archive/data.pkl", pickle_bytes), ("archive/byteorder", b"little"),
               ("archive/data/0", struct.pack("<1024f", *range(1024))), ("archive/version", b"3\n")]
    with open(path("hostile-zip-overlap.bin"), "wb") as f:
        f.write(stored_zip(records, [("archive/data/1", "archive/data/0")]))


def main():
    os.makedirs(OUT, exist_ok=True)
    # Only some groups: `make_torch_fixtures.py overlap` (the others are random or rewrite every file).
    groups = {"bert": bert_fixtures, "views": view_fixtures, "hostile": hostile_fixtures, "overlap": overlap_fixtures}
    for name in sys.argv[1:] or list(groups):
        groups[name]()
    total = sum(os.path.getsize(path(n)) for n in os.listdir(OUT))
    print(f"{len(os.listdir(OUT))} files, {total} bytes in {os.path.normpath(OUT)}")
    if total > 200_000:
        sys.exit("fixtures exceed 200 KB")


if __name__ == "__main__":
    main()
