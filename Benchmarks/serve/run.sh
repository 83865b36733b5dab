#!/usr/bin/env bash
# The serve benchmark of issue #14, on the loopback only, bounded in requests and time:
# `kobert-emotion serve` and a Python ONNX Runtime server (ort_server.py under uvicorn) of the same
# KoBERT-shaped random model (12 x 768), each driven by the same light load generator (loadgen.py)
# with real seed sentences at concurrency 1, 8 and 32, a soak of the Swift server, peak RSS of each
# server, and the library's offline throughput (`predict --input`) and single-sentence latency
# (`predict --batch-size 1`) on the same sentences. Prints a markdown summary; raw results in
# .build-bench/serve/results.jsonl.
#
#   Benchmarks/serve/run.sh        (from anywhere; needs PYTHON with onnxruntime, torch, transformers,
#                                   sentencepiece, starlette, uvicorn[standard])
#
# Environment: PYTHON (/work/venv/bin/python), CSV (the seed dataset, cp949), PHASE_SECONDS (20 per
# concurrency level), SOAK_SECONDS (60), MAX_REQUESTS (20000 per phase), SENTENCES (2000 distinct
# sentences drawn from the CSV), SINGLE (200 sentences for the batch-1 latency), THREADS (2),
# PORT (18080; the baseline uses PORT+1), SERVE_ARGS (more options for `kobert-emotion serve`, e.g.
# "--max-wait-ms 0").
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON=${PYTHON:-/work/venv/bin/python}
CSV=${CSV:-../shared/data/emotion-dialogue-5th-2.csv}
PHASE_SECONDS=${PHASE_SECONDS:-20}
SOAK_SECONDS=${SOAK_SECONDS:-60}
MAX_REQUESTS=${MAX_REQUESTS:-20000}
SENTENCES=${SENTENCES:-2000}
SINGLE=${SINGLE:-200}
THREADS=${THREADS:-2}
PORT=${PORT:-18080}
OUT=.build-bench/serve
RESULTS=$OUT/results.jsonl
SPM=Sources/SentencePiece/Resources/emotion-dialogue.model
mkdir -p "$OUT"
: > "$RESULTS"

swift build -c release --scratch-path .build-bench --product kobert-emotion >&2
swift build -c release --scratch-path .build-bench --product kobert-bench >&2
CLI=.build-bench/release/kobert-emotion
MODEL=$OUT/kobert-random
[ -f "$MODEL/config.json" ] || .build-bench/release/kobert-bench --case save-model --model "$MODEL" >&2
[ -f "$OUT/kobert.onnx" ] || "$PYTHON" Benchmarks/serve/export_onnx.py "$MODEL" "$OUT/kobert.onnx" >&2

# Distinct real sentences from the seed CSV, shuffled with a fixed seed.
"$PYTHON" - "$CSV" "$SENTENCES" > "$OUT/sentences.txt" <<'PY'
import csv, random, sys
rows = list(csv.reader(open(sys.argv[1], encoding="cp949", newline="")))
texts = sorted({" ".join(r[0].split()) for r in rows[1:] if r and r[0].strip()})
random.Random(14).shuffle(texts)
print("\n".join(texts[: int(sys.argv[2])]))
PY
head -n "$SINGLE" "$OUT/sentences.txt" > "$OUT/single.txt"

meta() { printf '{"meta": "%s", "value": "%s"}\n' "$1" "$2" >> "$RESULTS"; }
meta "Date" "$(date -u '+%Y-%m-%d %H:%M UTC')"
meta "Machine" "$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(free -g | awk '/Mem:/ {print $2}') GiB"
meta "Versions" "$(swift --version 2>&1 | head -1 | sed 's/"//g'); $("$PYTHON" -c 'import onnxruntime, uvicorn, starlette, sys; print(f"Python {sys.version.split()[0]}, onnxruntime {onnxruntime.__version__}, uvicorn {uvicorn.__version__}, starlette {starlette.__version__}")')"
meta "Load average at start (1/5/15 min)" "$(cut -d' ' -f1-3 /proc/loadavg)"

PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

wait_healthy() {  # port pid
    for _ in $(seq 1200); do
        curl -sf "http://127.0.0.1:$1/health" > /dev/null && return 0
        kill -0 "$2" 2>/dev/null || { echo "the server on port $1 exited" >&2; exit 1; }
        sleep 0.1
    done
    echo "the server on port $1 did not become healthy" >&2; exit 1
}
tree() { echo "$1" $(pgrep -P "$1" || true); }
cpu_seconds() {  # user + system CPU of a process and its children (uvicorn's workers)
    local ticks=0
    for p in $(tree "$1"); do ticks=$((ticks + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done
    awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.2f\n", t / hz}'
}
peak_rss_mib() {  # summed VmHWM of a process and its children
    local kb=0
    for p in $(tree "$1"); do kb=$((kb + $(awk '/VmHWM/ {print $2}' "/proc/$p/status"))); done
    echo $((kb / 1024))
}
load() {  # side pid port concurrency seconds offset
    local side=$1 pid=$2 port=$3 c=$4 seconds=$5 offset=$6
    echo "[$(date +%T) load $(cut -d' ' -f1 /proc/loadavg)] $side c=$c ${seconds}s" >&2
    local before; before=$(cpu_seconds "$pid")
    local line; line=$("$PYTHON" Benchmarks/serve/loadgen.py --port "$port" --concurrency "$c" --seconds "$seconds" \
        --requests "$MAX_REQUESTS" --offset "$offset" --sentences "$OUT/sentences.txt" --label "$side")
    local after; after=$(cpu_seconds "$pid")
    echo "$line" | "$PYTHON" -c 'import json, sys; d = json.loads(sys.stdin.read()); d.update(side=sys.argv[1], server_cpu_s=float(sys.argv[2]), load1=float(sys.argv[3])); print(json.dumps(d))' \
        "$side" "$(awk -v a="$after" -v b="$before" 'BEGIN {print a - b}')" "$(cut -d' ' -f1 /proc/loadavg)" >> "$RESULTS"
}
levels() {  # side pid port
    load "$1-warmup" "$2" "$3" 8 3 1500
    load "$1" "$2" "$3" 1 "$PHASE_SECONDS" 0
    load "$1" "$2" "$3" 8 "$PHASE_SECONDS" 300
    load "$1" "$2" "$3" 32 "$PHASE_SECONDS" 600
}
stop() {  # side pid
    printf '{"side": "%s", "peak_rss_mib": %s}\n' "$1" "$(peak_rss_mib "$2")" >> "$RESULTS"
    kill -TERM "$2"
    local status=0
    wait "$2" || status=$?
    printf '{"side": "%s", "exit_status": %s}\n' "$1" "$status" >> "$RESULTS"
}

# (a) kobert-emotion serve: one process, one inference worker with THREADS compute threads.
"$CLI" serve --model "$MODEL" --port "$PORT" --threads "$THREADS" ${SERVE_ARGS:-} > "$OUT/swift-serve.log" 2>&1 &
SWIFT=$!; PIDS+=("$SWIFT")
wait_healthy "$PORT" "$SWIFT"
levels swift "$SWIFT" "$PORT"
load swift-soak "$SWIFT" "$PORT" 32 "$SOAK_SECONDS" 900
curl -s "http://127.0.0.1:$PORT/metrics" > "$OUT/swift-metrics.txt"
stop swift "$SWIFT"

# (b) ONNX Runtime under uvicorn: 2 workers x 1 thread, then 1 worker x 2 threads.
run_ort() {  # side workers threads
    (cd Benchmarks/serve && ORT_MODEL="$PWD/../../$OUT/kobert.onnx" SPM_MODEL="$PWD/../../$SPM" ORT_THREADS="$3" \
        exec "$PYTHON" -m uvicorn ort_server:app --host 127.0.0.1 --port "$((PORT + 1))" --workers "$2" \
        --no-access-log --log-level warning) > "$OUT/$1.log" 2>&1 &
    local pid=$!; PIDS+=("$pid")
    wait_healthy "$((PORT + 1))" "$pid"
    levels "$1" "$pid" "$((PORT + 1))"
    stop "$1" "$pid"
}
run_ort ort-2x1 2 1
run_ort ort-1x2 1 2

# (c) The library on the same sentences: start-up alone (one sentence), `predict --input` (batches of
# 64, the default), and `predict --batch-size 1` over the first SINGLE sentences.
whole() {  # name command...
    local name=$1; shift
    echo "[$(date +%T) load $(cut -d' ' -f1 /proc/loadavg)] $name" >&2
    /usr/bin/time -f '%e %U %S %M' -o "$OUT/time.txt" "$@" > /dev/null
    read -r wall user sys rss < "$OUT/time.txt"
    printf '{"side": "%s", "wall_s": %s, "cpu_s": %s, "max_rss_mib": %s}\n' "$name" "$wall" "$(awk -v u="$user" -v s="$sys" 'BEGIN {print u + s}')" "$((rss / 1024))" >> "$RESULTS"
}
rm -f "$OUT/offline.jsonl" "$OUT/single.jsonl"
FIRST=$(head -n 1 "$OUT/sentences.txt")
whole startup "$CLI" predict --model "$MODEL" "$FIRST"
whole startup "$CLI" predict --model "$MODEL" "$FIRST"
whole offline "$CLI" predict --model "$MODEL" --input "$OUT/sentences.txt" --output "$OUT/offline.jsonl"
whole single "$CLI" predict --model "$MODEL" --batch-size 1 --input "$OUT/single.txt" --output "$OUT/single.jsonl"
meta "Load average at end (1/5/15 min)" "$(cut -d' ' -f1-3 /proc/loadavg)"
"$PYTHON" Benchmarks/serve/summary.py "$RESULTS" "$(wc -l < "$OUT/sentences.txt")" "$SINGLE"
