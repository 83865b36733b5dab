#!/usr/bin/env bash
# Runs the Swift engine and PyTorch / ONNX Runtime on the same work and prints one markdown table.
#
#   Benchmarks/run.sh            (from the package root or anywhere)
#
# Environment: PYTHON (a Python with torch, transformers<5, onnxruntime, onnx, numpy; default
# /work/venvs/bench/bin/python), CSV (the seed dataset; default ../shared/data/...), TRAIN_ITERS (3),
# INFER_ITERS (20, batch 1), B64_ITERS (2, inference 64 x 64), STARTUP_ITERS (5, whole processes),
# BASELINE_ITERS (3, the character n-gram baseline against scikit-learn), TRAIN_WHOLE_ITERS (1, whole
# `train` commands on 640 seed sentences; 0 skips them), THREADS (2). Intermediate files go to .build-bench/bench/.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-/work/venvs/bench/bin/python}
CSV=${CSV:-../shared/data/emotion-dialogue-5th-2.csv}
TRAIN_ITERS=${TRAIN_ITERS:-3}
INFER_ITERS=${INFER_ITERS:-20}
B64_ITERS=${B64_ITERS:-2}
STARTUP_ITERS=${STARTUP_ITERS:-5}
BASELINE_ITERS=${BASELINE_ITERS:-3}
TRAIN_WHOLE_ITERS=${TRAIN_WHOLE_ITERS:-1}
THREADS=${THREADS:-2}
OUT=.build-bench/bench
mkdir -p "$OUT"

swift build -c release --scratch-path .build-bench --product kobert-bench >&2
swift build -c release --scratch-path .build-bench --product kobert-emotion >&2
BIN=.build-bench/release/kobert-bench
CLI=.build-bench/release/kobert-emotion
"$BIN" --case workload --csv "$CSV" > "$OUT/workload.json"
"$BIN" --case save-model --model "$OUT/kobert-random"   # start-up case: KoBERT's shape, HF layout
"$PYTHON" Benchmarks/baseline.py --case export-onnx --onnx "$OUT/kobert.onnx" > "$OUT/export.jsonl" 2> "$OUT/export.log"

RESULTS="$OUT/results.jsonl"
: > "$RESULTS"
meta() { printf '{"side": "meta", "what": "%s", "value": "%s"}\n' "$1" "$2" >> "$RESULTS"; }
meta "Date" "$(date -u '+%Y-%m-%d %H:%M UTC')"
meta "Machine" "$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(free -g | awk '/Mem:/ {print $2}') GiB; $THREADS threads on every side"
meta "Versions" "$(swift --version 2>&1 | head -1 | sed 's/"//g'); OpenBLAS $(readlink -f /usr/lib/x86_64-linux-gnu/libopenblas.so.0 | sed 's/.*libopenblas[^0-9]*//'); $("$PYTHON" -c 'import torch, transformers, onnxruntime; print(f"torch {torch.__version__}, transformers {transformers.__version__}, onnxruntime {onnxruntime.__version__}")')"
meta "Matrix products (Swift; a column per library)" "$("$CLI" --version | tail -n 1); CPU flags: $(grep -o -w 'avx2\|avx512f\|avx512_bf16\|amx_bf16' /proc/cpuinfo | sort -u | tr '\n' ' ')"
meta "Load average at start (1/5/15 min)" "$(cut -d' ' -f1-3 /proc/loadavg)"

run() {  # side case iterations warmup
    local side=$1 case=$2 n=$3 w=$4
    echo "[$(date +%T) load $(cut -d' ' -f1 /proc/loadavg)] $side $case" >&2
    case $side in
        swift|swift-onednn)  # the engine with OpenBLAS, then with oneDNN
            [ "$side" = swift ] && gemm=openblas || gemm=onednn
            KOBERT_GEMM=$gemm "$BIN" --case "$case" --iterations "$n" --warmup "$w" --threads "$THREADS" --workload "$OUT/workload.json" --csv "$CSV" >> "$RESULTS" ;;
        pytorch) "$PYTHON" Benchmarks/baseline.py --case "$case" --iterations "$n" --warmup "$w" --threads "$THREADS" --workload "$OUT/workload.json" \
                     --csv "$CSV" --spm Sources/SentencePiece/Resources/emotion-dialogue.model >> "$RESULTS" ;;
        onnx) "$PYTHON" Benchmarks/baseline.py --case "ort-$case" --iterations "$n" --warmup "$w" --threads "$THREADS" --workload "$OUT/workload.json" --onnx "$OUT/kobert.onnx" >> "$RESULTS" ;;
    esac
}
# A whole process, timed from outside: wall, CPU (user + system) and peak RSS of each of N runs
# after one warm-up run (so the model files are in the page cache for every side).
whole() {  # side case n command...   (WARM=0 skips the warm-up run)
    local side=$1 case=$2 n=$3; shift 3
    echo "[$(date +%T) load $(cut -d' ' -f1 /proc/loadavg)] $side $case (whole process)" >&2
    [ "${WARM:-1}" = 0 ] || "$@" > /dev/null
    for _ in $(seq "$n"); do /usr/bin/time -f '%e %U %S %M' -a -o "$OUT/whole.txt" "$@" > /dev/null; done
    python3 - "$side" "$case" "$OUT/whole.txt" "$THREADS" >> "$RESULTS" <<'PY'
import json, statistics, sys
side, case, path, threads = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
rows = [list(map(float, l.split())) for l in open(path) if l.strip()]
wall = [r[0] * 1e3 for r in rows]
print(json.dumps({"side": side, "case": case, "times_ms": wall, "median_ms": statistics.median(wall),
                  "cpu_ms": statistics.median([(r[1] + r[2]) * 1e3 for r in rows]),
                  "max_rss_mib": max(r[3] for r in rows) / 1024, "threads": threads}, sort_keys=True))
PY
    rm -f "$OUT/whole.txt"
}
TEXT=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["single_text"])' "$OUT/workload.json")
SPM=Sources/SentencePiece/Resources/emotion-dialogue.model
whole swift startup "$STARTUP_ITERS" env KOBERT_GEMM=openblas "$CLI" predict --model "$OUT/kobert-random" "$TEXT"
whole swift-onednn startup "$STARTUP_ITERS" env KOBERT_GEMM=onednn "$CLI" predict --model "$OUT/kobert-random" "$TEXT"
whole pytorch startup "$STARTUP_ITERS" "$PYTHON" Benchmarks/baseline.py --case startup-pytorch --threads "$THREADS" --model "$OUT/kobert-random" --spm "$SPM" --text "$TEXT"
whole onnx startup "$STARTUP_ITERS" "$PYTHON" Benchmarks/baseline.py --case startup-onnx --threads "$THREADS" --onnx "$OUT/kobert.onnx" --spm "$SPM" --text "$TEXT"

# The whole training command on 640 seed sentences (a fixed sample, cp949 like the seed's file), one
# epoch, fine-tuning the KoBERT-shaped model: Swift's `train` against the seed's recipe in PyTorch
# (padded to 64, and cut to the longest sentence), each a whole process that loads, trains, evaluates
# and saves. No warm-up run: the model files are in the page cache from the start-up case.
if [ "$TRAIN_WHOLE_ITERS" -gt 0 ]; then
    python3 - "$CSV" "$OUT/seed-640.csv" <<'PY'
import csv, io, random, sys
rows = list(csv.reader(io.StringIO(open(sys.argv[1], "rb").read().decode("cp949"))))
sample = random.Random(0).sample(rows[1:], 640)
with open(sys.argv[2], "w", encoding="cp949", newline="") as f:
    csv.writer(f).writerows([rows[0]] + sample)
PY
    WARM=0 whole swift train-whole "$TRAIN_WHOLE_ITERS" bash -c 'rm -rf "$1" && exec "${@:2}"' _ "$OUT/train-swift" \
        "$CLI" train --model "$OUT/kobert-random" --data "$OUT/seed-640.csv" --epochs 1 --no-baseline --output "$OUT/train-swift"
    WARM=0 whole pytorch train-whole "$TRAIN_WHOLE_ITERS" "$PYTHON" Benchmarks/baseline.py --case train-recipe --threads "$THREADS" \
        --model "$OUT/kobert-random" --csv "$OUT/seed-640.csv" --spm "$SPM" --output "$OUT/train-pytorch"
    WARM=0 whole pytorch train-whole-cut "$TRAIN_WHOLE_ITERS" "$PYTHON" Benchmarks/baseline.py --case train-recipe --cut --threads "$THREADS" \
        --model "$OUT/kobert-random" --csv "$OUT/seed-640.csv" --spm "$SPM" --output "$OUT/train-pytorch-cut"
fi

# Sides alternate case by case so that a change in machine load hits both alike.
run swift sgemm 5 1;  run swift-onednn sgemm 5 1;            run pytorch sgemm 5 1
run swift tokenizer 5 1;        run pytorch tokenizer 5 1
run swift infer-b1 "$INFER_ITERS" 3;  run swift-onednn infer-b1 "$INFER_ITERS" 3;  run pytorch infer-b1 "$INFER_ITERS" 3;  run onnx infer-b1 "$INFER_ITERS" 3
run swift infer-b64 "$B64_ITERS" 1;  run swift-onednn infer-b64 "$B64_ITERS" 1;  run pytorch infer-b64 "$B64_ITERS" 1;  run onnx infer-b64 "$B64_ITERS" 1
run swift infer-b64-cut "$B64_ITERS" 1;  run swift-onednn infer-b64-cut "$B64_ITERS" 1;  run pytorch infer-b64-cut "$B64_ITERS" 1;  run onnx infer-b64-cut "$B64_ITERS" 1
run swift train-padded "$TRAIN_ITERS" 1;  run swift-onednn train-padded "$TRAIN_ITERS" 1;  run pytorch train-padded "$TRAIN_ITERS" 1
run swift train-cut "$TRAIN_ITERS" 1;  run swift-onednn train-cut "$TRAIN_ITERS" 1;     run pytorch train-cut "$TRAIN_ITERS" 1
run swift sgemm-shapes 3 1     # both libraries, BERT's products
run swift few-rows-cold 5 1    # the few-rows kernel against both libraries, weights from memory (Linear.fewRowsLimit)
run swift-onednn profile 3 1    # a cut training step taken apart by the engine's timers, rate vs sgemm
run swift kernels 2 1
run swift baseline "$BASELINE_ITERS" 1
echo "[$(date +%T) load $(cut -d' ' -f1 /proc/loadavg)] sklearn baseline" >&2
"$PYTHON" Benchmarks/baseline.py --case baseline --iterations "$BASELINE_ITERS" --warmup 1 --csv "$CSV" >> "$RESULTS"
meta "Load average at end (1/5/15 min)" "$(cut -d' ' -f1-3 /proc/loadavg)"

python3 Benchmarks/table.py "$RESULTS" "$OUT/workload.json" | tee "$OUT/table.md"
