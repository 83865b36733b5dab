"""Merges the JSON lines of kobert-bench and baseline.py into one markdown report (stdlib only).

    python3 table.py results.jsonl workload.json > table.md

Ratios are Swift time / other time: above 1 the Swift engine is slower.
"""
import json
import statistics
import sys

C, I, L, NH, K = 768, 3072, 12, 12, 7


def forward_flops(b, t):
    """Matrix-multiply FLOPs of one forward pass of BERT-base + pooler + classifier on a b x t batch
    (padding included: the work a dense implementation does)."""
    n = b * t
    per_layer = 2 * n * C * 3 * C + 2 * n * C * C + 2 * 2 * n * C * I + 2 * 2 * b * t * t * C
    return L * per_layer + 2 * b * C * C + 2 * b * C * K


def flops(result):
    """FLOPs of each measured iteration: training = forward + backward = 3 x forward."""
    factor = 3 if result["case"].startswith("train") else 1
    lengths = result["lengths"]
    if len(lengths) != len(result["times_ms"]):  # inference: one shape, many runs
        lengths = lengths * len(result["times_ms"])
    return [factor * forward_flops(result["batch"], t) for t in lengths]


def gflops(result):
    if result["case"] == "sgemm":
        return result["flops"] / result["median_ms"] / 1e6
    per_iter = [f / t / 1e6 for f, t in zip(flops(result), result["times_ms"])]
    return statistics.median(per_iter)


def fmt_ms(ms):
    return f"{ms / 1000:.2f} s" if ms >= 1000 else f"{ms:.1f} ms"


def step_work(result):
    """What a training step's time grows with: real tokens for the Swift engine (it packs them),
    batch x padded length for PyTorch (it computes the padding)."""
    if "tokens" in result:
        return result["tokens"]
    return [result["batch"] * t for t in result["lengths"]]


def fit_step_time(results):
    """Least-squares line time(work) = a + b work through every measured training step of one side."""
    points = [(w, ms) for name in ("train-padded", "train-cut") if name in results
              for w, ms in zip(step_work(results[name]), results[name]["times_ms"])]
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mx, my = statistics.mean(xs), statistics.mean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    slope = sum((x - mx) * (y - my) for x, y in points) / sxx if sxx else 0
    return lambda t: my + slope * (t - mx)


def main():
    results, meta, gemm_shapes, few_rows = {}, [], [], []
    with open(sys.argv[1]) as f:
        for line in f:
            if not line.strip():
                continue
            r = json.loads(line)
            if r["side"] == "meta":
                meta.append(r)
            elif r["case"] == "sgemm-shapes":
                gemm_shapes.append(r)
            elif r["case"] == "few-rows-cold":
                few_rows.append(r)
            else:  # the Swift engine's lines name their matrix-product library: a column each
                side = "swift-onednn" if r["side"] == "swift" and r.get("gemm") == "onednn" else r["side"]
                results.setdefault(side, {})[r["case"]] = r
    with open(sys.argv[2]) as f:
        work = json.load(f)
    sides = [s for s in ("swift", "swift-onednn", "pytorch", "onnx") if s in results]
    names = {"swift": "Swift OpenBLAS", "swift-onednn": "Swift oneDNN", "pytorch": "PyTorch", "onnx": "ONNX Runtime"}
    out = []
    for m in meta:
        out.append(f"- {m['what']}: {m['value']}")
    cut_lengths = results.get("swift", {}).get("train-cut", {}).get("lengths", [])
    cut_tokens = results.get("swift", {}).get("train-cut", {}).get("tokens", [])
    out.append(f"- Workload: the seed's split of `{work.get('csv', 'the dataset')}` ({work['rows']:,} rows, {work['train_rows']:,} for training), "
               f"batch {work['batch_size']}, max_len {work['max_len']}; {work['note']}. "
               f"Sentences average {work['sentence_tokens_mean']:.1f} tokens with [CLS] and [SEP] (median {work['sentence_tokens_median']:g}); "
               f"the {work['steps_per_epoch']} batches of an epoch hold {sum(work['epoch_batch_tokens']):,} real tokens "
               f"and, cut to their longest sentence, average {statistics.mean(work['epoch_batch_longest']):.1f} positions "
               f"(measured cut batches, longest/real tokens: {', '.join(f'{a}/{b}' for a, b in zip(cut_lengths, cut_tokens))}). "
               f"Batch-1 sentence: \"{work['single_text']}\" ({work['single']['length']} tokens).")
    out.append("- Times are medians over the measured iterations (warm-up excluded); CPU = process CPU time of all threads. "
               "Ratio = Swift time / other time (above 1: Swift slower).")
    out.append("")

    rows = [("(a) train step 64×64 padded", "train-padded"),
            ("(b) train step 64×longest", "train-cut"),
            (f"(c) inference 1×{work['single']['length']}", "infer-b1"),
            ("(c) inference 64×64 padded", "infer-b64"),
            (f"(c) inference 64×longest ({work['cut'][0]['length']})", "infer-b64-cut"),
            ("(d) sgemm 4096×768×3072", "sgemm"),
            ("(e) whole process: load the model, classify 1 sentence", "startup")]
    header = "| case | " + " | ".join(f"{names[s]} wall (CPU)" for s in sides)
    header += " | Swift/PyTorch | Swift/ONNX | oneDNN/OpenBLAS | oneDNN/ONNX |"
    out += [header, "|" + "---|" * (5 + len(sides))]
    for label, case in rows:
        cells = []
        for s in sides:
            r = results[s].get(case)
            cells.append(f"{fmt_ms(r['median_ms'])} ({fmt_ms(r['cpu_ms'])})" if r and "cpu_ms" in r else "—")
        ratios = []
        for mine, other in (("swift", "pytorch"), ("swift", "onnx"), ("swift-onednn", "swift"), ("swift-onednn", "onnx")):
            a, b = results.get(mine, {}).get(case), results.get(other, {}).get(case)
            ratios.append(f"{a['median_ms'] / b['median_ms']:.2f}" if a and b else "—")
        out.append(f"| {label} | " + " | ".join(cells) + " | " + " | ".join(ratios) + " |")
    out.append("")

    out.append("Achieved matrix-multiply throughput (model FLOPs counted analytically, padding included; "
               "training = 3 × forward). The Swift engine skips padding (it packs real tokens), so its figure "
               "is a dense-equivalent rate and can exceed the sgemm rate:")
    out.append("")
    out += ["| case | GFLOP/iteration | " + " | ".join(f"{names[s]} GFLOP/s" for s in sides) + " |",
            "|" + "---|" * (2 + len(sides))]
    for label, case in rows:
        any_result = next((results[s][case] for s in sides if case in results[s]), None)
        if any_result is None or case == "startup":
            continue
        size = any_result["flops"] if case == "sgemm" else statistics.mean(flops(any_result))
        cells = []
        for s in sides:
            r = results[s].get(case)
            if r is None:
                cells.append("—")
                continue
            g = gflops(r)
            sg = results[s].get("sgemm")
            cells.append(f"{g:.1f}" + (f" ({100 * g / gflops(sg):.0f}% of sgemm)" if sg and case != "sgemm" else ""))
        out.append(f"| {label} | {size / 1e9:.1f} | " + " | ".join(cells) + " |")
    out.append("")

    sw, pt = results.get("swift", {}).get("train-whole"), results.get("pytorch", {})
    if sw:
        out.append("Whole `train` command, fine-tuning the 12 × 768 model on 640 seed sentences for 1 epoch (load, train, "
                   "evaluate, save; each side one process, timed from outside):")
        out.append("")
        out += ["| side | wall (CPU) | peak RSS | Swift is faster by |", "|---|---|---|---|"]
        out.append(f"| Swift `kobert-emotion train --no-baseline` | {fmt_ms(sw['median_ms'])} ({fmt_ms(sw['cpu_ms'])}) | {sw['max_rss_mib']:.0f} MiB | |")
        for case, label in (("train-whole", "PyTorch, the seed's recipe (padded to 64)"),
                            ("train-whole-cut", "PyTorch, batches cut to their longest sentence")):
            r = pt.get(case)
            if r:
                out.append(f"| {label} | {fmt_ms(r['median_ms'])} ({fmt_ms(r['cpu_ms'])}) | {r['max_rss_mib']:.0f} MiB | "
                           f"{r['median_ms'] / sw['median_ms']:.2f}× |")
        out.append("")

    out.append("Peak resident set size (each case in its own process):")
    out.append("")
    out += ["| case | " + " | ".join(names[s] for s in sides) + " |", "|" + "---|" * (1 + len(sides))]
    for label, case in rows:
        cells = [f"{results[s][case]['max_rss_mib']:.0f} MiB" if case in results[s] else "—" for s in sides]
        out.append(f"| {label} | " + " | ".join(cells) + " |")
    out.append("")

    epochs, steps = work["epochs"], work["steps_per_epoch"]
    longest = work["epoch_batch_longest"]
    out.append(f"Projected time of the seed's recipe ({epochs} epochs × {steps} steps of batch 64; "
               "cut-to-longest from a least-squares line time(T) through all measured steps, summed over the epoch's batch lengths):")
    out.append("")
    out += ["| recipe | " + " | ".join(names[s] for s in sides if s != "onnx") + " |", "|---|" + "---|" * len([s for s in sides if s != "onnx"])]
    for label, case in (("padded to 64", "train-padded"), ("cut to longest", "train-cut")):
        cells = []
        for s in sides:
            if s == "onnx":
                continue
            if case not in results[s]:
                cells.append("—")
                continue
            if case == "train-padded":
                total = epochs * steps * results[s][case]["median_ms"]
            else:
                fit = fit_step_time(results[s])
                per_batch = work["epoch_batch_tokens"] if "tokens" in results[s][case] else \
                    [min(work["batch_size"], work["train_rows"] - i * work["batch_size"]) * t for i, t in enumerate(longest)]
                total = epochs * sum(fit(w) for w in per_batch)
            cells.append(f"{total / 3.6e6:.1f} h")
        out.append(f"| {label} | " + " | ".join(cells) + " |")
    out.append("")

    tok = {s: results[s] for s in sides}
    swift_tok = [r for r in (tok.get("swift", {}).get(c) for c in ("tokenizer", "tokenizer-2t", "tokenizer-pipeline",
                                                                    "tokenizer-pipeline-2t")) if r]
    py_tok = [r for r in (tok.get("pytorch", {}).get(c) for c in ("tokenizer", "tokenizer-loop")) if r]
    if swift_tok or py_tok:
        labels = {("swift", "tokenizer"): "Swift SentencePiece ids, 1 thread",
                  ("swift", "tokenizer-2t"): "Swift SentencePiece ids, batch call, 2 threads",
                  ("swift", "tokenizer-pipeline"): "Swift whole KoBERT pipeline (gluonnlp; [CLS]/[SEP], padded to 64), 1 thread",
                  ("swift", "tokenizer-pipeline-2t"): "Swift whole KoBERT pipeline, batch call, 2 threads",
                  ("pytorch", "tokenizer"): "Python sentencepiece `encode(list)` (C++, its own threads)",
                  ("pytorch", "tokenizer-loop"): "Python sentencepiece `encode(s)` per sentence"}
        n = (swift_tok or py_tok)[0]["sentences"]
        out.append(f"Tokenizer throughput over all {n:,} sentences of the dataset (the built-in model); "
                   "checksum over every id, equal = identical ids:")
        out.append("")
        out += ["| tokenizer | wall (CPU) | sentences/s | ids checksum |", "|---|---|---|---|"]
        for r in swift_tok + py_tok:
            out.append(f"| {labels[(r['side'], r['case'])]} | {fmt_ms(r['median_ms'])} ({fmt_ms(r['cpu_ms'])}) | "
                       f"{r['sentences'] / r['median_ms'] * 1000:,.0f} | {r.get('checksum', '—')} |")
        ids_swift = [r for r in swift_tok if "checksum" in r]
        if ids_swift and py_tok:
            best_swift = min(r["median_ms"] for r in ids_swift)
            best_py = min(r["median_ms"] for r in py_tok)
            same = len({r["checksum"] for r in ids_swift + py_tok}) == 1
            out.append("")
            out.append(f"Fastest Swift / fastest Python time: {best_swift / best_py:.2f}; ids identical on both sides: {'yes' if same else 'NO'}.")
        out.append("")

    out.append("Training step by phase (median ms):")
    out.append("")
    phases = ("zero", "forward", "backward", "clip", "optimizer")
    out += ["| side, case | " + " | ".join(phases) + " |", "|" + "---|" * (1 + len(phases))]
    for s in sides:
        for case in ("train-padded", "train-cut"):
            r = results[s].get(case)
            if r and "phases_ms" in r:
                out.append(f"| {names[s]} {case} | " + " | ".join(f"{r['phases_ms'][p]:.0f}" for p in phases) + " |")
    kernels = results.get("swift", {}).get("kernels")
    if kernels:
        out.append("")
        out.append("Swift kernels timed in isolation at the padded training shape (64×64), × calls per training step:")
        out.append("")
        out += ["| kernel | calls/step | ms/call | CPU ms/call | ms/step |", "|---|---|---|---|---|"]
        total = 0
        for k in kernels["kernels"]:
            total += k["per_step_ms"]
            out.append(f"| {k['kernel']} | {k['calls']} | {k['median_ms']:.1f} | {k['cpu_ms']:.1f} | {k['per_step_ms']:.0f} |")
        out.append(f"| **sum** | | | | {total:.0f} |")
    sw, sk = results.get("swift", {}), results.get("sklearn", {})
    if "baseline-fit" in sw and "baseline-fit" in sk:
        out.append("")
        out.append("The character n-gram baseline (TF-IDF of char_wb 1-4-grams, min_df 2, sublinear tf + logistic regression, "
                   "C 4) on the seed split: Swift's LinearClassifier against scikit-learn:")
        out.append("")
        out += ["| case | Swift wall (CPU) | scikit-learn wall (CPU) | Swift/scikit-learn |", "|---|---|---|---|"]
        a, b = sw["baseline-fit"], sk["baseline-fit"]
        out.append(f"| fit on {a['sentences']:,} sentences (vectorizer + optimizer) | {fmt_ms(a['median_ms'])} ({fmt_ms(a['cpu_ms'])}) | "
                   f"{fmt_ms(b['median_ms'])} ({fmt_ms(b['cpu_ms'])}) | {a['median_ms'] / b['median_ms']:.2f} |")
        a, b = sw["baseline-predict"], sk["baseline-predict"]
        out.append(f"| classify {a['sentences']:,} test sentences | {a['sentences_per_s']:,.0f} sentences/s | "
                   f"{b['sentences_per_s']:,.0f} sentences/s (predict_proba) | {a['median_ms'] / b['median_ms']:.2f} |")
        a, b = sw["baseline-fit"], sk["baseline-fit"]
        out.append(f"| test accuracy, macro-F1 | {a['accuracy']:.4f}, {a['macro_f1']:.4f} | {b['accuracy']:.4f}, {b['macro_f1']:.4f} | |")
    if gemm_shapes:
        ways = list(dict.fromkeys(r["way"] for r in gemm_shapes))
        out.append("")
        out.append(f"sgemm GF/s on BERT's products, each library split over the engine's {gemm_shapes[0]['threads']} threads "
                   "(one single-threaded call per part) and as one call threaded by the library; x · Wᵀ forward, "
                   "dx = dy · W and dW = dyᵀ · x backward (M×K×N, trans of A and B); in brackets GF per CPU second, "
                   "the fairer figure on a shared machine; attention's per-head products are single-threaded calls:")
        out.append("")
        out += ["| product | M×K×N | " + " | ".join(ways) + " |", "|---|---|" + "---|" * len(ways)]
        for name in dict.fromkeys(r["shape_name"] for r in gemm_shapes):
            rs = {r["way"]: r for r in gemm_shapes if r["shape_name"] == name}
            first = next(iter(rs.values()))
            cells = [f"{rs[w]['gflops']:.0f} ({rs[w]['gflops'] * rs[w]['median_ms'] / rs[w]['cpu_ms']:.0f})" if w in rs else "—"
                     for w in ways]
            out.append(f"| {name} ({first['trans']}) | {'×'.join(map(str, first['shape']))} | " + " | ".join(cells) + " |")
    if few_rows:
        ways = list(dict.fromkeys(r["way"] for r in few_rows))
        out.append("")
        out.append(f"The forward products of the 12 × 768 model for M rows with weights from memory (each layer's own "
                   f"matrices, 340 MB per pass, as in inference), {few_rows[0]['threads']} threads: ms per pass "
                   "(GFLOP/s). `Linear.fewRowsLimit` takes the few-rows kernel up to the last M where it is the fastest:")
        out.append("")
        out += ["| M | " + " | ".join(ways) + " |", "|---|" + "---|" * len(ways)]
        for m in dict.fromkeys(r["rows"] for r in few_rows):
            rs = {r["way"]: r for r in few_rows if r["rows"] == m}
            best = min(rs.values(), key=lambda r: r["median_ms"])["way"]
            cells = [(f"**{rs[w]['median_ms']:.1f} ({rs[w]['gflops']:.0f})**" if w == best else f"{rs[w]['median_ms']:.1f} ({rs[w]['gflops']:.0f})")
                     if w in rs else "—" for w in ways]
            out.append(f"| {m} | " + " | ".join(cells) + " |")
    print("\n".join(out))


if __name__ == "__main__":
    main()
