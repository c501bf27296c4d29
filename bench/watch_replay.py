#!/usr/bin/python3
"""darklens watch keeping up: synthetic days of N sources; day 1 analysed
with 1 h windows is the model (`analyze --db`); then the following days
are replayed through `watch --stdin` (a pipe, as fast as it reads) with
--window 1h --step 10m. Reported per replay: the days, packets, wall time,
sustained packets/s, the time from a window's end being read to its events
being stored (p50, p99, max over windows: the segment that passes the end
is committed, the window classified and stored), peak memory (RSS sampled
from /proc), and, for scale, `darklens stats` reading the same packets (its
packets/s and the ratio). Memory over a longer replay (--days 1 vs 3)
shows whether it grows with days: for the longest replay a second table
gives, day by day, the mean and p99 window time, the largest resident
memory sampled in that day (every 0.1 s from /proc) and the database's
size at its end. `--retain` is passed to watch (its default: 7d).

    bench/watch_replay.py DARKLENS [--sources 20000] [--days 1 3] [--retain 1d]

Figures go to docs/performance.md ("watch")."""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ap = argparse.ArgumentParser()
ap.add_argument("darklens")
ap.add_argument("--sources", type=int, default=20000)
ap.add_argument("--days", type=int, nargs="+", default=[1, 3])
ap.add_argument("--seed", type=int, default=1)
ap.add_argument("--retain", default="7d")
args = ap.parse_args()
D = args.darklens


with tempfile.TemporaryDirectory() as tmp:
    days = os.path.join(tmp, "days")
    n = max(args.days) + 1
    subprocess.run([D, "synth", "-o", days, "--days", str(n), "--sources", str(args.sources), "--seed",
                    str(args.seed), "-q"], check=True)
    caps = sorted(os.path.join(days, f) for f in os.listdir(days) if f.endswith(".pcap"))
    model = os.path.join(tmp, "model.db")
    t = time.time()
    subprocess.run([D, "analyze", caps[0], "--window", "1h", "--db", model, "-o", os.path.join(tmp, "a"), "-q"],
                   check=True)
    print(f"model: day 1, {args.sources} sources a day, analyze {time.time() - t:.1f} s", file=sys.stderr)
    print("| days replayed | packets | wall s | real time / wall | packets/s | window close ms p50 / p99 / max "
          "| first / last 50 windows ms | windows | peak RSS MiB | stats packets/s | watch / stats |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    table = []
    for nd in args.days:
        db = os.path.join(tmp, f"w{nd}.db")
        shutil.copy(model, db)
        feed = caps[1:1 + nd]
        # stats over the same packets: the reading floor.
        t = time.time()
        st = subprocess.run([D, "stats", *feed, "--json"], capture_output=True, check=True)
        stats_s = time.time() - t
        packets = json.loads(st.stdout)["packets"]
        cat = subprocess.Popen(["mergecap", "-a", "-w", "-", *feed], stdout=subprocess.PIPE)
        t = time.time()
        w = subprocess.Popen([D, "watch", "--db", db, "--stdin", "--window", "1h", "--step", "10m", "--events",
                              os.path.join(tmp, f"e{nd}.jsonl"), "--flush", "1s", "--retain", args.retain],
                             stdin=cat.stdout, stderr=subprocess.PIPE, text=True)
        cat.stdout.close()
        lines, per_day = [], {}  # day -> [max RSS MiB, db bytes at its end]
        windows_per_day = 24 * 6

        def read_err():
            for line in w.stderr:
                lines.append(line)
                if "events (" in line:
                    done = sum("events (" in x for x in lines)
                    if done % windows_per_day == 0:
                        per_day.setdefault(done // windows_per_day - 1, [0, 0])[1] = sum(
                            os.path.getsize(db + x) for x in ("", "-wal") if os.path.exists(db + x))

        reader = threading.Thread(target=read_err)
        reader.start()
        peak = 0
        while w.poll() is None:
            try:
                with open(f"/proc/{w.pid}/status") as f:
                    rss = int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1)) / 1024
            except (OSError, AttributeError):
                rss = 0
            peak = max(peak, rss)
            day = sum("events (" in x for x in lines) // windows_per_day
            e = per_day.setdefault(day, [0, 0])
            e[0] = max(e[0], rss)
            time.sleep(0.1)
        reader.join()
        # The last day may close fewer windows (the replay ends inside it).
        last = max(0, (sum("events (" in x for x in lines) - 1) // windows_per_day)
        if per_day.get(last, [0, 0])[1] == 0:
            per_day.setdefault(last, [0, 0])[1] = sum(
                os.path.getsize(db + x) for x in ("", "-wal") if os.path.exists(db + x))
        wall = time.time() - t
        cat.wait()
        err = "".join(lines)
        # The delay of each window: from the wall time its closing segment
        # was taken to the end of its own line (the ms it took).
        took = [int(x) for x in re.findall(r"events \((\d+) ms\)", err)]
        windows = len(took)
        recorded = int(re.search(r"(\d+) packets recorded", err).group(1))
        if recorded != packets:
            sys.exit(f"watch recorded {recorded} packets, stats read {packets}")
        q = statistics.quantiles(took, n=100) if len(took) >= 2 else [took[0]] * 99
        print(f"| {nd} | {packets:,} | {wall:.1f} | {nd * 86400 / wall:,.0f} | {packets / wall:,.0f} | "
              f"{q[49]:.0f} / {q[98]:.0f} / {max(took)} | {statistics.mean(took[:50]):.0f} / "
              f"{statistics.mean(took[-50:]):.0f} | {windows} | {peak:,.0f} | "
              f"{packets / stats_s:,.0f} | {(packets / wall) / (packets / stats_s):.2g} |")
        sys.stdout.flush()
        if nd == max(args.days):
            by_day = [(i, took[i * windows_per_day:(i + 1) * windows_per_day]) for i in range(nd)]
            table.append((nd, by_day, per_day))
    for nd, by_day, per_day in table:
        print(f"\nday by day ({nd} days, --retain {args.retain}):\n")
        print("| day | windows | window ms mean / p99 | peak RSS MiB | database MB at its end |")
        print("|---|---|---|---|---|")
        for i, ms in by_day:
            if not ms:
                continue
            q = statistics.quantiles(ms, n=100) if len(ms) >= 2 else [ms[0]] * 99
            rss, size = per_day.get(i, [0, 0])
            print(f"| {i + 1} | {len(ms)} | {statistics.mean(ms):.0f} / {q[98]:.0f} | {rss:,.0f} | "
                  f"{size / 1e6:,.0f} |")
