"""Prints the serve benchmark's markdown summary from run.sh's results.jsonl.

    python summary.py results.jsonl SENTENCES SINGLE
"""
import json
import sys

rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
n_sentences, n_single = int(sys.argv[2]), int(sys.argv[3])
meta = [r for r in rows if "meta" in r]
loads = [r for r in rows if "concurrency" in r and not r["side"].endswith("-warmup")]
by = {r["side"]: r for r in rows if "peak_rss_mib" in r}
whole = {}
for r in rows:
    if "wall_s" in r:
        whole.setdefault(r["side"], []).append(r)

for m in meta:
    print(f"- {m['meta']}: {m['value']}")
print()
print("| server | concurrency | sentences/s | p50 ms | p99 ms | mean ms | requests | failed | server CPU s | generator CPU | load (1 min) |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for r in loads:
    print(f"| {r['side']} | {r['concurrency']} | {r['sentences_per_s']:.1f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {r['mean_ms']:.1f} | "
          f"{r['requests']} in {r['seconds']:.0f} s | {r['failures']} | {r['server_cpu_s']:.1f} | {r['generator_cpu_percent']:.1f} % of a core | {r['load1']:.2f} |")
print()
print("Peak RSS (process and its workers): " + ", ".join(f"{side} {r['peak_rss_mib']} MiB" for side, r in by.items()))
exits = [r for r in rows if "exit_status" in r]
print("Exit status after SIGTERM: " + ", ".join(f"{r['side']} {r['exit_status']}" for r in exits))

startup = min(r["wall_s"] for r in whole.get("startup", [{"wall_s": 0}]))
offline = whole.get("offline", [None])[0]
single = whole.get("single", [None])[0]
offline_rate = single_ms = None
if offline:
    offline_rate = n_sentences / max(1e-9, offline["wall_s"] - startup)
    print(f"`predict --input` on the {n_sentences} sentences: {offline['wall_s']:.2f} s whole process, start-up "
          f"{startup:.2f} s, so {offline_rate:.1f} sentences/s offline (peak RSS {offline['max_rss_mib']} MiB)")
if single:
    single_ms = 1e3 * (single["wall_s"] - startup) / n_single
    print(f"`predict --batch-size 1` on the first {n_single}: {single['wall_s']:.2f} s whole process, so {single_ms:.1f} ms per sentence")

def at(side, c):
    return next((r for r in loads if r["side"] == side and r["concurrency"] == c), None)

swift32, swift1 = at("swift", 32), at("swift", 1)
baselines = [at(s, 32) for s in ("ort-2x1", "ort-1x2") if at(s, 32)]
print()
if swift32 and baselines:
    best = max(baselines, key=lambda r: r["sentences_per_s"])
    ratio = swift32["sentences_per_s"] / best["sentences_per_s"]
    print(f"- concurrency 32: {swift32['sentences_per_s']:.1f} against the better baseline ({best['side']}) "
          f"{best['sentences_per_s']:.1f} sentences/s = {ratio:.2f}x (target >= 2x); p99 {swift32['p99_ms']:.0f} ms against "
          f"{best['p99_ms']:.0f} ms (target: lower)")
if swift32 and offline_rate:
    print(f"- concurrency 32 against `predict --input`: {swift32['sentences_per_s']:.1f} / {offline_rate:.1f} = "
          f"{100 * swift32['sentences_per_s'] / offline_rate:.0f} % (target >= 80 %)")
if swift1 and single_ms:
    print(f"- concurrency 1: mean {swift1['mean_ms']:.1f} ms, p50 {swift1['p50_ms']:.1f} ms against the library's "
          f"{single_ms:.1f} ms per sentence: {100 * (swift1['mean_ms'] / single_ms - 1):+.0f} % (target within 10 %)")
soak = [r for r in loads if r["side"] == "swift-soak"]
for r in soak:
    print(f"- soak: {r['requests']} requests at concurrency 32 over {r['seconds']:.0f} s, {r['failures']} failed, "
          f"{r['sentences_per_s']:.1f} sentences/s, p99 {r['p99_ms']:.0f} ms")
