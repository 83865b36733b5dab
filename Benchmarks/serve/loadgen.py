"""The serve benchmark's load generator: C keep-alive HTTP/1.1 connections on the loopback, each sending
POST /predict {"inputs": "<sentence>"} and waiting for the answer before the next (closed loop), for
at most --seconds and --requests. Sentences: the lines of --sentences, in turn. Light by design (one
asyncio process, raw sockets, no HTTP library), so it takes little of the CPU the servers need; its own
CPU time is reported. Prints one JSON object: requests, failures (status != 200 or a broken connection),
sentences/s, latency percentiles in ms, and the generator's CPU seconds.
"""
import argparse
import asyncio
import json
import os
import resource
import statistics
import time


async def connection(host, port, bodies, start_index, deadline, budget, latencies, failures):
    reader, writer = await asyncio.open_connection(host, port)
    k = start_index
    while time.perf_counter() < deadline and budget[0] > 0:
        budget[0] -= 1
        body = bodies[k % len(bodies)]
        k += 1
        request = (b"POST /predict HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                   % (host.encode(), len(body))) + body
        t0 = time.perf_counter()
        try:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n")[1:]:
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
        except (OSError, asyncio.IncompleteReadError, ValueError):
            failures.append("connection")
            writer.close()
            reader, writer = await asyncio.open_connection(host, port)
            continue
        latencies.append(time.perf_counter() - t0)
        if status != 200:
            failures.append(status)
    writer.close()


async def main(opts):
    sentences = [line.rstrip("\n") for line in open(opts.sentences, encoding="utf-8") if line.strip()]
    bodies = [json.dumps({"inputs": s}, ensure_ascii=False).encode() for s in sentences]
    latencies, failures, budget = [], [], [opts.requests]
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    deadline = start + opts.seconds
    step = max(1, len(bodies) // opts.concurrency)
    await asyncio.gather(*(connection(opts.host, opts.port, bodies, i * step + opts.offset, deadline, budget, latencies, failures)
                           for i in range(opts.concurrency)))
    elapsed = time.perf_counter() - start
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    ok = len(latencies) - sum(1 for f in failures if f != "connection")
    ms = sorted(x * 1e3 for x in latencies)

    def pct(p):
        return ms[min(len(ms) - 1, int(round(p / 100 * (len(ms) - 1))))] if ms else None

    print(json.dumps({"label": opts.label, "concurrency": opts.concurrency, "seconds": round(elapsed, 2),
                      "requests": len(latencies) + failures.count("connection"), "ok": ok, "failures": len(failures),
                      "failure_kinds": sorted({str(f) for f in failures}), "sentences_per_s": round(ok / elapsed, 2),
                      "p50_ms": pct(50), "p90_ms": pct(90), "p99_ms": pct(99), "mean_ms": statistics.mean(ms) if ms else None,
                      "generator_cpu_s": round(cpu, 2), "generator_cpu_percent": round(100 * cpu / elapsed, 1)}))


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--sentences", required=True)
    p.add_argument("--concurrency", type=int, default=1)
    p.add_argument("--seconds", type=float, default=20)
    p.add_argument("--requests", type=int, default=100_000)
    p.add_argument("--offset", type=int, default=0, help="first sentence index (so phases do not repeat)")
    p.add_argument("--label", default="")
    opts = p.parse_args()
    if opts.host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("the benchmark runs on the loopback only")
    try:
        import uvloop
        uvloop.run(main(opts))
    except ImportError:
        asyncio.run(main(opts))
