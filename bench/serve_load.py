#!/usr/bin/python3
"""Load on darklens serve: a synthetic day of N sources analysed into a
pattern database (`analyze --db`), then `darklens serve` on loopback and
wrk (Debian's) with C concurrent connections for D seconds, each request
`GET /v1/ip/{address}` of a random address of the day (a Lua script), and
the same for `/v1/health` (the HTTP layer alone). Prints one Markdown row
per endpoint: requests/s, p50, p90, p99 latency, and the database size.

    bench/serve_load.py DARKLENS [--sources 1000000] [--connections 16]
                        [--threads 2] [--seconds 20] [--server-threads 8]

Figures go to docs/performance.md ("serve")."""
import argparse
import os
import random
import re
import subprocess
import sys
import tempfile
import time

ap = argparse.ArgumentParser()
ap.add_argument("darklens")
ap.add_argument("--sources", type=int, default=1_000_000)
ap.add_argument("--connections", type=int, default=16)
ap.add_argument("--threads", type=int, default=2, help="wrk threads")
ap.add_argument("--seconds", type=int, default=20)
ap.add_argument("--server-threads", type=int, default=8)
ap.add_argument("--seed", type=int, default=1)
args = ap.parse_args()


def ms(text):
    """wrk's '1.23ms' / '850.00us' / '1.02s' as milliseconds."""
    m = re.match(r"([\d.]+)(us|ms|s)", text)
    return float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[m.group(2)]


with tempfile.TemporaryDirectory() as tmp:
    days = os.path.join(tmp, "days")
    t0 = time.time()
    subprocess.run([args.darklens, "synth", "--sources", str(args.sources), "--seed", str(args.seed), "-q", "-o",
                    days], check=True)
    db = os.path.join(tmp, "p.db")
    t1 = time.time()
    subprocess.run([args.darklens, "analyze", os.path.join(days, "darknet-2021-05-01.pcap"), "--gt",
                    os.path.join(days, "ground_truth.csv"), "--db", db, "-q", "-o", os.path.join(tmp, "a")],
                   check=True)
    t2 = time.time()
    sources = [line.split(",", 1)[0] for line in open(os.path.join(tmp, "a", "clusters.csv")).read().splitlines()[1:]]
    rng = random.Random(args.seed)
    sample = rng.sample(sources, min(10000, len(sources)))
    lua = os.path.join(tmp, "ips.lua")
    with open(lua, "w") as f:
        f.write("local ips = {" + ",".join(f'"{ip}"' for ip in sample) + "}\n")
        f.write("local i = 0\nrequest = function()\n  i = i + 1\n"
                "  return wrk.format('GET', '/v1/ip/' .. ips[(i % #ips) + 1])\nend\n")
    server = subprocess.Popen([args.darklens, "serve", "--db", db, "--listen", "127.0.0.1:0", "-q", "-t",
                               str(args.server_threads)], stdout=subprocess.PIPE)
    try:
        site = server.stdout.readline().decode().split()[2].rstrip("/")
        print(f"{len(sources)} sources; synth {t1 - t0:.0f} s, analyze --db {t2 - t1:.0f} s, "
              f"database {os.path.getsize(db) / 2**20:.0f} MiB; wrk -t{args.threads} -c{args.connections} "
              f"-d{args.seconds}s, serve -t {args.server_threads}", file=sys.stderr)
        print("| endpoint | requests/s | p50 ms | p90 ms | p99 ms | errors |")
        print("|---|---|---|---|---|---|")
        for name, extra in [("/v1/ip/{address}", ["-s", lua]), ("/v1/health", [])]:
            url = site + ("/" if extra else "/v1/health")
            r = subprocess.run(["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.seconds}s",
                                "--latency", *extra, url], capture_output=True, text=True, check=True)
            out = r.stdout
            rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
            pct = {p: ms(re.search(rf"\s{p}%\s+(\S+)", out).group(1)) for p in ("50", "90", "99")}
            errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
            print(f"| `{name}` | {rps:,.0f} | {pct['50']:.2f} | {pct['90']:.2f} | {pct['99']:.2f} "
                  f"| {errors.group(1) if errors else 0} |", flush=True)
    finally:
        server.terminate()
        server.wait(timeout=30)
