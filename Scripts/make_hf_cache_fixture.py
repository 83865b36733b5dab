#!/usr/bin/env python3
"""Writes Tests/HubTestSupport/Fixtures/python-cache: a Hugging Face cache filled by Python's
huggingface_hub itself (not a hand-made imitation), for HubClient's tests.

A small fake Hub runs on 127.0.0.1 (an ephemeral port) serving a repository laid out like
skt/kobert-base-v1 with the Hub's headers (X-Repo-Commit, ETag = git blob id for regular files,
302 to a "CDN" URL with X-Linked-Etag = SHA-256 and X-Linked-Size for LFS files, 404 with
X-Error-Code: EntryNotFound for missing files). huggingface_hub.hf_hub_download then fetches the
files transformers would try for a KoBERT model and tokenizer, at revision "main", into a fresh
cache. The resulting `models--skt--kobert-base-v1` tree (blobs, refs/main, snapshots/<commit>/
symlinks, .no_exist markers) is copied into the fixture folder.

The Swift fake Hub (Tests/HubTestSupport/FakeHub.swift) serves the same files, read back from this
fixture's snapshot, so the two sides cannot drift. File contents are deterministic (SHA-256 counter
stream), so re-running the script reproduces the same tree.

Usage: /work/venv/bin/python Scripts/make_hf_cache_fixture.py   (needs huggingface_hub; tested with 0.36.2)
"""
import hashlib
import http.server
import json
import os
import shutil
import sys
import tempfile
import threading
from pathlib import Path

REPO = "skt/kobert-base-v1"
COMMIT = hashlib.sha1(b"kobert-emotion fake hub commit 1").hexdigest()
ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests" / "HubTestSupport" / "Fixtures" / "python-cache"


def stream(name: str, size: int) -> bytes:
    out = bytearray()
    i = 0
    while len(out) < size:
        out += hashlib.sha256(name.encode() + i.to_bytes(4, "big")).digest()
        i += 1
    return bytes(out[:size])


CONFIG = json.dumps(
    {
        "architectures": ["BertModel"],
        "attention_probs_dropout_prob": 0.1,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "hidden_size": 768,
        "initializer_range": 0.02,
        "intermediate_size": 3072,
        "layer_norm_eps": 1e-12,
        "max_position_embeddings": 512,
        "model_type": "bert",
        "num_attention_heads": 12,
        "num_hidden_layers": 12,
        "pad_token_id": 1,
        "type_vocab_size": 2,
        "vocab_size": 8002,
    },
    indent=2,
).encode() + b"\n"
TOKENIZER_CONFIG = json.dumps({"do_lower_case": False, "model_max_length": 512}).encode() + b"\n"

# name -> (bytes, is LFS)
FILES = {
    ".gitattributes": (b"*.bin filter=lfs diff=lfs merge=lfs -text\n*.model filter=lfs diff=lfs merge=lfs -text\n", False),
    "README.md": (b"# fake kobert-base-v1 (test fixture)\n", False),
    "config.json": (CONFIG, False),
    "tokenizer_config.json": (TOKENIZER_CONFIG, False),
    "spiece.model": (stream("spiece.model", 8 * 1024), True),
    "pytorch_model.bin": (stream("pytorch_model.bin", 96 * 1024), True),
}


def git_blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_HEAD(self):
        self.handle_request(body=False)

    def do_GET(self):
        self.handle_request(body=True)

    def send(self, status, headers, data=b"", body=True):
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        if "Content-Length" not in headers:
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if body and data:
            self.wfile.write(data)

    def handle_request(self, body):
        path = self.path.split("?")[0]
        host = self.headers.get("Host", "")
        port = host.rsplit(":", 1)[-1]
        api = f"/api/models/{REPO}/revision/"
        resolve = f"/{REPO}/resolve/"
        if path.startswith(api):
            siblings = [{"rfilename": n} for n in FILES]
            data = json.dumps({"id": REPO, "sha": COMMIT, "siblings": siblings}).encode()
            return self.send(200, {"Content-Type": "application/json"}, data, body)
        if path.startswith(resolve):
            revision, _, name = path[len(resolve):].partition("/")
            if revision not in ("main", COMMIT):
                return self.send(404, {"X-Error-Code": "RevisionNotFound"}, b"", body)
            if name not in FILES:
                return self.send(404, {"X-Error-Code": "EntryNotFound", "X-Repo-Commit": COMMIT}, b"", body)
            data, lfs = FILES[name]
            if lfs:
                sha = hashlib.sha256(data).hexdigest()
                return self.send(
                    302,
                    {
                        "Location": f"http://localhost:{port}/cdn/{sha}?name={name}",
                        "X-Repo-Commit": COMMIT,
                        "X-Linked-Etag": f'"{sha}"',
                        "X-Linked-Size": str(len(data)),
                        "ETag": f'"{git_blob_id(data)}"',
                    },
                    b"",
                    body,
                )
            return self.send(200, {"X-Repo-Commit": COMMIT, "ETag": f'"{git_blob_id(data)}"'}, data, body)
        if path.startswith("/cdn/"):
            sha = path[len("/cdn/"):]
            for data, lfs in FILES.values():
                if lfs and hashlib.sha256(data).hexdigest() == sha:
                    return self.send(200, {"ETag": f'"{sha}"'}, data, body)
        return self.send(404, {}, b"", body)


def main():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    cache = Path(tempfile.mkdtemp(prefix="hf-fixture-"))
    os.environ["HF_ENDPOINT"] = f"http://127.0.0.1:{server.server_address[1]}"
    os.environ["HF_HUB_CACHE"] = str(cache)
    os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
    os.environ.pop("HF_TOKEN", None)
    import huggingface_hub
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError

    print("huggingface_hub", huggingface_hub.__version__, file=sys.stderr)
    # What transformers asks for when loading a BERT model and its tokenizer (missing files are
    # recorded by huggingface_hub under .no_exist/<commit>/).
    for name in ["config.json", "model.safetensors", "pytorch_model.bin", "spiece.model",
                 "tokenizer_config.json", "special_tokens_map.json"]:
        try:
            hf_hub_download(REPO, name, revision="main", token=False)
        except EntryNotFoundError:
            pass
    server.shutdown()

    src = cache / "models--skt--kobert-base-v1"
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    shutil.copytree(src, OUT / src.name, symlinks=True)
    shutil.rmtree(cache)
    for p in sorted(OUT.rglob("*")):
        rel = p.relative_to(OUT)
        print(f"{rel} -> {os.readlink(p)}" if p.is_symlink() else str(rel))


if __name__ == "__main__":
    main()
