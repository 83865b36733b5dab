"""PyTorch and ONNX Runtime side of the benchmark: the same cases as kobert-bench, one JSON line each.

    python baseline.py --case NAME --iterations N --workload workload.json [--warmup W] [--threads T]
                       [--onnx model.onnx]

Cases: train-padded, train-cut, infer-b1, infer-b64, infer-b64-cut, sgemm (PyTorch); export-onnx (writes
--onnx); ort-infer-b1, ort-infer-b64, ort-infer-b64-cut (ONNX Runtime, reading --onnx; torch is not imported, so the peak RSS
is ONNX Runtime's own); startup-pytorch, startup-onnx, train-recipe (whole processes, timed by run.sh); tokenizer (Python sentencepiece over every sentence of --csv with --spm;
neither torch nor numpy is imported). The model is transformers' BertForSequenceClassification at KoBERT's shape
(randomly initialized: speed does not depend on the weights) with the seed's classifier dropout 0.5.
"""
import argparse
import json
import resource
import statistics
import sys
import time

LABELS = 7
KOBERT = dict(vocab_size=8002, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
              intermediate_size=3072, max_position_embeddings=512, type_vocab_size=2, pad_token_id=1,
              hidden_act="gelu", layer_norm_eps=1e-12, hidden_dropout_prob=0.1,
              attention_probs_dropout_prob=0.1, classifier_dropout=0.5, num_labels=LABELS)


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def emit(**fields):
    print(json.dumps(fields, sort_keys=True), flush=True)


def arrays(work):
    """(input_ids, attention_mask, token_type_ids) as int64 numpy arrays [B, T]."""
    import numpy as np
    b, t = work["batch"], work["length"]
    ids = np.asarray(work["tokens"], dtype=np.int64).reshape(b, t)
    mask = (np.arange(t)[None, :] < np.asarray(work["valid"])[:, None]).astype(np.int64)
    return ids, mask, np.zeros_like(ids)


def make_model():
    import torch
    from transformers import BertConfig, BertForSequenceClassification
    torch.manual_seed(0)
    return BertForSequenceClassification(BertConfig(**KOBERT))


def train_case(name, batches, opts):
    """Forward + backward + clip + AdamW with the seed's settings, timing each phase."""
    import torch
    from transformers import get_cosine_schedule_with_warmup
    model = make_model()
    model.train()
    no_decay = ["bias", "LayerNorm.weight"]
    groups = [
        {"params": [p for n, p in model.named_parameters() if not any(nd in n for nd in no_decay)], "weight_decay": 0.01},
        {"params": [p for n, p in model.named_parameters() if any(nd in n for nd in no_decay)], "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(groups, lr=5e-5, eps=1e-6)
    scheduler = get_cosine_schedule_with_warmup(optimizer, num_warmup_steps=121, num_training_steps=5 * 243)
    loss_fn = torch.nn.CrossEntropyLoss()
    tensors = [(tuple(torch.from_numpy(a) for a in arrays(w)), torch.tensor(w["labels"]), w["length"]) for w in batches]
    phases = {k: [] for k in ("zero", "forward", "backward", "clip", "optimizer")}
    totals, cpu, lengths, losses = [], [], [], []
    for step in range(opts.warmup + opts.iterations):
        (ids, mask, types), labels, length = tensors[step % len(tensors)]
        c0 = time.process_time()
        t0 = time.perf_counter()
        optimizer.zero_grad()
        t1 = time.perf_counter()
        logits = model(input_ids=ids, attention_mask=mask, token_type_ids=types).logits
        loss = loss_fn(logits, labels)
        t2 = time.perf_counter()
        loss.backward()
        t3 = time.perf_counter()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        t4 = time.perf_counter()
        optimizer.step()
        scheduler.step()
        t5 = time.perf_counter()
        c1 = time.process_time()
        if step < opts.warmup:
            continue
        for key, dt in zip(phases, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4)):
            phases[key].append(dt * 1e3)
        totals.append((t5 - t0) * 1e3)
        cpu.append((c1 - c0) * 1e3)
        lengths.append(length)
        losses.append(loss.item())
    emit(side="pytorch", case=name, batch=batches[0]["batch"], lengths=lengths, times_ms=totals,
         median_ms=statistics.median(totals), cpu_ms=statistics.median(cpu),
         phases_ms={k: statistics.median(v) for k, v in phases.items()}, loss=losses,
         max_rss_mib=peak_rss_mib(), threads=opts.threads)


def timed_runs(run, opts):
    times, cpu = [], []
    for i in range(opts.warmup + opts.iterations):
        c0 = time.process_time()
        t0 = time.perf_counter()
        run()
        t1 = time.perf_counter()
        c1 = time.process_time()
        if i >= opts.warmup:
            times.append((t1 - t0) * 1e3)
            cpu.append((c1 - c0) * 1e3)
    return times, statistics.median(cpu)


def infer_case(name, work, opts):
    import torch
    model = make_model()
    model.eval()
    ids, mask, types = (torch.from_numpy(a) for a in arrays(work))

    def run():
        with torch.inference_mode():
            model(input_ids=ids, attention_mask=mask, token_type_ids=types)
    times, cpu = timed_runs(run, opts)
    emit(side="pytorch", case=name, batch=work["batch"], lengths=[work["length"]], times_ms=times,
         median_ms=statistics.median(times), cpu_ms=cpu, max_rss_mib=peak_rss_mib(), threads=opts.threads,
         attention=model.config._attn_implementation)


def ort_case(name, work, opts):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = opts.threads
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(opts.onnx, so, providers=["CPUExecutionProvider"])
    ids, mask, types = arrays(work)
    feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
    times, cpu = timed_runs(lambda: session.run(["logits"], feeds), opts)
    emit(side="onnx", case=name.removeprefix("ort-"), batch=work["batch"], lengths=[work["length"]],
         times_ms=times, median_ms=statistics.median(times), cpu_ms=cpu, max_rss_mib=peak_rss_mib(),
         threads=opts.threads, onnxruntime=ort.__version__)


def export_onnx(opts):
    import torch
    model = make_model()
    model.eval()
    model.config.return_dict = False
    ids, mask, types = (torch.from_numpy(a) for a in arrays({"batch": 2, "length": 8, "valid": [8, 5], "tokens": [2] * 16}))
    axes = {0: "batch", 1: "length"}
    torch.onnx.export(model, (ids, mask, types), opts.onnx, input_names=["input_ids", "attention_mask", "token_type_ids"],
                      output_names=["logits"], dynamic_axes={"input_ids": axes, "attention_mask": axes,
                                                             "token_type_ids": axes, "logits": {0: "batch"}},
                      opset_version=17, dynamo=False)
    emit(side="onnx", case="export", path=opts.onnx, torch=torch.__version__)


def checksum(sentences):
    """FNV-1a over every id (32-bit little-endian), 0xFFFFFFFF after each sentence (as kobert-bench)."""
    h = 0xCBF29CE484222325
    mask = (1 << 64) - 1
    for ids in sentences:
        for v in list(ids) + [0xFFFFFFFF]:
            for shift in (0, 8, 16, 24):
                h = ((h ^ ((v >> shift) & 0xFF)) * 0x100000001B3) & mask
    return format(h, "x")


def tokenizer_case(opts):
    """sentencepiece (C++) over every sentence: one batched call (its own threads) and one call per sentence."""
    import csv
    import sentencepiece as spm
    with open(opts.csv, encoding="cp949", newline="") as f:
        reader = csv.reader(f)
        column = next(reader).index("발화문")
        texts = [row[column] for row in reader]
    sp = spm.SentencePieceProcessor(model_file=opts.spm)
    out = {}

    def batched():
        out["ids"] = sp.encode(texts)

    def loop():
        out["loop"] = [sp.encode(t) for t in texts]
    for name, run in (("tokenizer", batched), ("tokenizer-loop", loop)):
        times, cpu = timed_runs(run, opts)
        ids = out["ids" if name == "tokenizer" else "loop"]
        emit(side="pytorch", case=name, sentences=len(texts), times_ms=times, median_ms=statistics.median(times),
             cpu_ms=cpu, ids=sum(map(len, ids)), checksum=checksum(ids), max_rss_mib=peak_rss_mib(),
             sentencepiece=spm.__version__)


def sgemm_case(opts):
    """The same plain matrix product as kobert-bench's: [4096, 768] x [768, 3072]."""
    import torch
    m, k, n = 4096, 768, 3072
    a, b = torch.randn(m, k), torch.randn(n, k)
    times, cpu = timed_runs(lambda: torch.mm(a, b.t()), opts)
    emit(side="pytorch", case="sgemm", shape=[m, k, n], flops=2.0 * m * k * n, times_ms=times,
         median_ms=statistics.median(times), cpu_ms=cpu, max_rss_mib=peak_rss_mib(), threads=opts.threads)


def startup_case(opts):
    """The whole-process start-up case, one sentence: load the model and its tokenizer, classify,
    print the label. Run as a whole process by run.sh (imports included in its time)."""
    import sentencepiece as spm
    sp = spm.SentencePieceProcessor(model_file=opts.spm)
    ids = [2] + sp.encode(opts.text)[:62] + [3]
    if opts.case == "startup-pytorch":
        import torch
        from transformers import BertForSequenceClassification
        torch.set_num_threads(opts.threads)
        model = BertForSequenceClassification.from_pretrained(opts.model).eval()
        with torch.inference_mode():
            logits = model(input_ids=torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                           token_type_ids=torch.zeros(1, len(ids), dtype=torch.long)).logits[0].tolist()
    else:
        import numpy as np
        import onnxruntime as ort
        so = ort.SessionOptions()
        so.intra_op_num_threads = opts.threads
        so.inter_op_num_threads = 1
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        session = ort.InferenceSession(opts.onnx, so, providers=["CPUExecutionProvider"])
        x = np.asarray([ids], dtype=np.int64)
        logits = session.run(None, {"input_ids": x, "attention_mask": np.ones_like(x), "token_type_ids": np.zeros_like(x)})[0][0].tolist()
    print(max(range(len(logits)), key=logits.__getitem__))


def recipe_case(opts):
    """The whole-command training case: the seed's recipe as one process, as a user runs it. Load the
    pretrained model with `from_pretrained`, read the cp949 CSV, tokenize ([CLS] pieces [SEP], max_len
    64), split 80/20 (shuffled, random_state 32), one epoch of batch 64 with the seed's optimizer,
    schedule, clipping and train accuracy, evaluate the test split, then `save_pretrained`. With
    --cut, each batch is cut to its longest sentence instead of padded to 64."""
    import csv
    import io
    import torch
    from sklearn.model_selection import train_test_split
    import sentencepiece as spm
    from transformers import BertForSequenceClassification, get_cosine_schedule_with_warmup
    torch.set_num_threads(opts.threads)
    torch.manual_seed(42)
    labels = {name: i for i, name in enumerate(["fear", "surprise", "angry", "sadness", "neutral", "happiness", "disgust"])}
    with open(opts.csv, "rb") as f:
        rows = list(csv.DictReader(io.StringIO(f.read().decode("cp949"))))
    texts, y = [r["발화문"] for r in rows], [labels[r["상황"]] for r in rows]
    model = BertForSequenceClassification.from_pretrained(opts.model, num_labels=len(labels), classifier_dropout=0.5)
    sp = spm.SentencePieceProcessor(model_file=opts.spm)
    vocab = model.config.vocab_size
    encoded = [[2] + [min(i, vocab - 1) for i in sp.encode(t)][:62] + [3] for t in texts]
    train_idx, test_idx = train_test_split(list(range(len(texts))), test_size=0.2, shuffle=True, random_state=32)

    def batches(indices, shuffle):
        order = list(indices)
        if shuffle:
            order = [order[i] for i in torch.randperm(len(order)).tolist()]
        for i in range(0, len(order), 64):
            chunk = order[i:i + 64]
            t = max(len(encoded[j]) for j in chunk) if opts.cut else 64
            ids = torch.ones(len(chunk), t, dtype=torch.long)
            mask = torch.zeros(len(chunk), t, dtype=torch.long)
            for r, j in enumerate(chunk):
                ids[r, :len(encoded[j])] = torch.tensor(encoded[j])
                mask[r, :len(encoded[j])] = 1
            yield ids, mask, torch.tensor([y[j] for j in chunk])

    no_decay = ["bias", "LayerNorm.weight"]
    groups = [
        {"params": [p for n, p in model.named_parameters() if not any(nd in n for nd in no_decay)], "weight_decay": 0.01},
        {"params": [p for n, p in model.named_parameters() if any(nd in n for nd in no_decay)], "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(groups, lr=5e-5)
    steps = (len(train_idx) + 63) // 64
    scheduler = get_cosine_schedule_with_warmup(optimizer, num_warmup_steps=int(steps * 0.1), num_training_steps=steps)
    loss_fn = torch.nn.CrossEntropyLoss()
    model.train()
    correct = 0
    for ids, mask, target in batches(train_idx, shuffle=False):   # the seed's DataLoader does not shuffle
        optimizer.zero_grad()
        logits = model(input_ids=ids, attention_mask=mask, token_type_ids=torch.zeros_like(ids)).logits
        loss = loss_fn(logits, target)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        correct += (logits.argmax(1) == target).sum().item()
    model.eval()
    right = 0
    with torch.no_grad():
        for ids, mask, target in batches(test_idx, shuffle=False):
            right += (model(input_ids=ids, attention_mask=mask, token_type_ids=torch.zeros_like(ids)).logits.argmax(1) == target).sum().item()
    model.save_pretrained(opts.output)
    print(f"train acc {correct / len(train_idx):.4f} test acc {right / len(test_idx):.4f}")


def baseline_case(opts):
    """scikit-learn's character n-gram baseline on the seed split (Scripts/baseline_sklearn.py's
    pipeline): vectorizer + fit on the training rows, then transform + predict_proba on the test rows."""
    import os
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "Scripts"))
    from baseline_sklearn import C, MAX_ITER, VECTORIZER, load_seed, nfc
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.model_selection import train_test_split
    texts, y = load_seed(opts.csv)
    train_idx, test_idx = train_test_split(list(range(len(texts))), test_size=0.2, shuffle=True, random_state=32)
    train_x, test_x = nfc([texts[i] for i in train_idx]), nfc([texts[i] for i in test_idx])
    fit_wall, fit_cpu, pred_wall, pred_cpu = [], [], [], []
    for i in range(opts.warmup + opts.iterations):
        c0, t0 = time.process_time(), time.perf_counter()
        vec = TfidfVectorizer(**VECTORIZER)
        clf = LogisticRegression(C=C, max_iter=MAX_ITER).fit(vec.fit_transform(train_x), y[train_idx])
        c1, t1 = time.process_time(), time.perf_counter()
        proba = clf.predict_proba(vec.transform(test_x))
        c2, t2 = time.process_time(), time.perf_counter()
        if i >= opts.warmup:
            fit_wall.append((t1 - t0) * 1e3); fit_cpu.append((c1 - c0) * 1e3)
            pred_wall.append((t2 - t1) * 1e3); pred_cpu.append((c2 - c1) * 1e3)
    pred = proba.argmax(axis=1)
    emit(side="sklearn", case="baseline-fit", sentences=len(train_idx), features=len(vec.vocabulary_),
         accuracy=accuracy_score(y[test_idx], pred), macro_f1=f1_score(y[test_idx], pred, average="macro"),
         times_ms=fit_wall, median_ms=statistics.median(fit_wall), cpu_ms=statistics.median(fit_cpu), max_rss_mib=peak_rss_mib())
    emit(side="sklearn", case="baseline-predict", sentences=len(test_idx),
         sentences_per_s=len(test_idx) / (statistics.median(pred_wall) / 1e3),
         times_ms=pred_wall, median_ms=statistics.median(pred_wall), cpu_ms=statistics.median(pred_cpu), max_rss_mib=peak_rss_mib())


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--case", required=True)
    p.add_argument("--iterations", type=int, default=3)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--workload")
    p.add_argument("--onnx", default="kobert-bench.onnx")
    p.add_argument("--csv", help="the dataset (tokenizer case)")
    p.add_argument("--spm", help="the SentencePiece model (tokenizer case)")
    p.add_argument("--model", help="a model directory (startup-pytorch case)")
    p.add_argument("--text", help="the sentence (startup cases)")
    p.add_argument("--cut", action="store_true", help="train-recipe: cut batches to their longest sentence")
    p.add_argument("--output", help="train-recipe: where save_pretrained writes")
    opts = p.parse_args()
    if opts.case == "tokenizer":
        return tokenizer_case(opts)
    if opts.case == "baseline":
        return baseline_case(opts)
    if opts.case in ("startup-pytorch", "startup-onnx"):
        return startup_case(opts)
    if opts.case == "train-recipe":
        return recipe_case(opts)
    if not opts.case.startswith("ort-"):
        import torch
        torch.set_num_threads(opts.threads)
    work = None
    if opts.workload:
        with open(opts.workload) as f:
            work = json.load(f)
    cases = {
        "train-padded": lambda: train_case("train-padded", [work["padded"]], opts),
        "train-cut": lambda: train_case("train-cut", work["cut"], opts),
        "infer-b1": lambda: infer_case("infer-b1", work["single"], opts),
        "infer-b64": lambda: infer_case("infer-b64", work["padded"], opts),
        "ort-infer-b1": lambda: ort_case("ort-infer-b1", work["single"], opts),
        "ort-infer-b64": lambda: ort_case("ort-infer-b64", work["padded"], opts),
        "infer-b64-cut": lambda: infer_case("infer-b64-cut", work["cut"][0], opts),
        "ort-infer-b64-cut": lambda: ort_case("ort-infer-b64-cut", work["cut"][0], opts),
        "export-onnx": lambda: export_onnx(opts),
        "sgemm": lambda: sgemm_case(opts),
    }
    if opts.case not in cases:
        sys.exit(f"baseline.py: unknown --case {opts.case!r} ({', '.join(cases)})")
    if work is None and opts.case not in ("export-onnx", "sgemm"):
        sys.exit(f"baseline.py: --workload FILE is required for case {opts.case}")
    cases[opts.case]()


if __name__ == "__main__":
    main()
