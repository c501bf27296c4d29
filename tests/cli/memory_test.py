#!/usr/bin/python3
"""The memory budget (--max-memory): a storm of one-packet sources is
refused with exit 5 and a message that says what needed the memory, before
any output is written; the same flag, default and help in every command
that reads captures or clusters."""
import os
import sqlite3
import struct
import subprocess
import sys
import tempfile

darklens = sys.argv[1]
results = []


def run(args):
    return subprocess.run([darklens] + args, capture_output=True)


def expect(name, cond, detail=""):
    results.append((name, bool(cond), detail))


def storm(path, sources):
    """`sources` spoofed SYN-ACKs, one per source, to a /24 (raw IPv4 pcap)."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101))
        for i in range(sources):
            src = (0x0B000000 + i * 7919) & 0xFFFFFFFF
            ip = struct.pack("!BBHHHBBHII", 0x45, 0, 40, 0, 0, 60, 6, 0, src, 0xC0A80000 | (i & 0xFF))
            tcp = struct.pack("!HHIIBBHHH", 80, 1024 + i % 60000, 0, 0, 0x50, 0x12, 65535, 0, 0)
            f.write(struct.pack("<IIII", 1619827200 + i // 1000, (i % 1000) * 1000, 40, 40) + ip + tcp)


with tempfile.TemporaryDirectory() as tmp:
    cap = os.path.join(tmp, "storm.pcap")
    storm(cap, 300000)
    out = os.path.join(tmp, "f.csv")
    r = run(["features", cap, "--max-memory", "16M", "-q", "-o", out])
    expect("features over the budget: exit 5, the message says what and how much, nothing written",
           r.returncode == 5 and b"reading the captures: 300000 (source, window) rows so far" in r.stderr and
           b"over the memory budget of 16.0 MiB (--max-memory); raise it" in r.stderr and
           not [f for f in os.listdir(tmp) if f.startswith("f.csv")], r.stderr)
    od = os.path.join(tmp, "od")
    db = os.path.join(tmp, "p.db")
    r = run(["analyze", cap, "--max-memory", "16M", "--db", db, "-q", "-o", od])
    runs = sqlite3.connect(db).execute("select count(*) from runs").fetchone()[0] if os.path.exists(db) else 0
    expect("analyze over the budget: exit 5, no OUTDIR, no run stored",
           r.returncode == 5 and b"over the memory budget" in r.stderr and not os.path.exists(od) and runs == 0,
           r.stderr)
    r = run(["features", cap, "-q", "-o", out])
    expect("features within the default budget: done", r.returncode == 0, r.stderr)
    r = run(["cluster", out, "--max-memory", "16M", "-q", "-o", od])
    expect("cluster of 300,000 rows over the budget: exit 5, names the rows and columns, no OUTDIR",
           r.returncode == 5 and b"clustering 300000 rows x 22 columns: about" in r.stderr and not os.path.exists(od),
           r.stderr)
    r = run(["track", out, out, "--gt", os.devnull, "--max-memory", "16M", "-q", "-o", od])
    expect("track over the budget: exit 5", r.returncode == 5 and b"over the memory budget" in r.stderr, r.stderr)
    r = run(["features", cap, "--max-memory", "12 parsecs", "-q", "-o", out])
    expect("a malformed budget: exit 2, says what a budget looks like",
           r.returncode == 2 and b"unknown unit 'PARSECS'" in r.stderr and b"a share of memory such as 75%" in r.stderr,
           r.stderr)
    for cmd in ["features", "cluster", "track", "analyze", "classify"]:
        h = run([cmd, "--help"]).stdout
        expect(f"{cmd} --help: --max-memory with its default 75%",
               b"--max-memory" in h and b"75%" in h and b"exit 5" in h, h[-400:])

failed = [r for r in results if not r[1]]
for name, ok, detail in results:
    print(("ok   " if ok else "FAIL ") + name + ("" if ok else f"  {detail}"))
print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
sys.exit(1 if failed else 0)
