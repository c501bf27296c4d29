#!/usr/bin/python3
"""Text that is not UTF-8 (legal in Linux file names and CSV fields) never
breaks an output: JSON, HTML and the database get the bytes escaped as
\\xHH, exactly as Python's "backslashreplace" decoding writes them; pattern
names must be UTF-8; error messages put no raw byte on the terminal."""
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile

darklens = sys.argv[1]
results = []


def run(args, cwd=None):
    return subprocess.run([darklens.encode()] + args, capture_output=True, cwd=cwd)


def expect(name, cond, detail=""):
    results.append((name, bool(cond), detail))


def as_text(b):
    return b.decode("utf-8", "backslashreplace")


with tempfile.TemporaryDirectory() as tmp:
    t = tmp.encode()
    assert run([b"synth", b"--days", b"1", b"--sources", b"600", b"--seed", b"4", b"-q", b"-o",
                os.path.join(t, b"days")]).returncode == 0
    day = os.path.join(t, b"days", b"darknet-2021-05-01.pcap")
    # Every byte a file name may hold (not NUL, not '/'), from space up.
    name = bytes(b for b in range(0x20, 0x100) if b != 0x2F) + b".pcap"
    odd = os.path.join(t, name)
    shutil.copy(day, odd)
    r = run([b"stats", b"--json", odd])
    doc = json.loads(r.stdout) if r.returncode == 0 else {}
    paths = [f.get("path") for f in doc.get("files", [])]
    expect("stats --json on a file named with bytes 0x20..0xff: valid JSON, the name as backslashreplace gives it",
           r.returncode == 0 and paths == [as_text(odd)], (r.returncode, r.stderr[-300:], paths))

    ff = os.path.join(t, b"cap\xff.pcap")
    shutil.copy(day, ff)
    gt = os.path.join(t, b"gt.csv")
    # Latin-1 labels for a few sources of the day.
    rows = open(os.path.join(t, b"days", b"ground_truth.csv"), "rb").read().splitlines()[1:40]
    open(gt, "wb").write(b"ip,label\n" + b"".join(r.split(b",")[0] + b",caf\xe9\n" for r in rows))
    out = os.path.join(t, b"od")
    db = os.path.join(t, b"p.db")
    r = run([b"analyze", ff, b"--gt", gt, b"--db", db, b"-q", b"-o", out])
    ok = r.returncode == 0
    summary = json.load(open(os.path.join(out, b"summary.json"))) if ok else {}
    profiles = open(os.path.join(out, b"profiles.json"), "rb").read() if ok else b""
    html = open(os.path.join(out, b"report.html"), "rb").read() if ok else b""
    expect("analyze on a capture named with 0xff and Latin-1 labels: exit 0, JSON and HTML valid UTF-8, the bytes "
           "as \\xHH", ok and summary["inputs"] == [as_text(ff)] and b"caf\\\\xe9" in profiles and
           html.decode("utf-8") and "caf\\xe9" in html.decode("utf-8"), r.stderr[-300:])
    r = run([b"patterns", b"export", b"--db", db])
    expect("patterns export afterwards: valid JSON", r.returncode == 0 and json.loads(r.stdout)["runs"], r.stderr)
    r = run([b"classify", b"--db", db, ff, b"--gt", gt, b"-q", b"-o", os.path.join(t, b"c")])
    expect("classify on that database: exit 0", r.returncode == 0, r.stderr[-300:])
    r = run([b"patterns", b"label", b"--db", db, b"1", b"caf\xe9"])
    expect("patterns label with a name that is not UTF-8: refused, exit 2, the byte shown as \\xe9",
           r.returncode == 2 and b"pattern name 'caf\\xe9' is not valid UTF-8" in r.stderr, r.stderr)
    r = run([b"patterns", b"show", b"--db", db, b"1"])
    expect("patterns show afterwards: exit 0, valid JSON", r.returncode == 0 and json.loads(r.stdout)["id"] == 1,
           r.stderr)
    r = run([b"stats", os.path.join(t, b"missing\xff\x1b[31m.pcap")])
    expect("an error naming a file with 0xff and an escape sequence: both as \\xHH, no raw byte on the terminal",
           r.returncode == 3 and b"missing\\xff\\x1b[31m.pcap" in r.stderr and b"\x1b" not in r.stderr and
           b"\xff" not in r.stderr, r.stderr)

failed = [r for r in results if not r[1]]
for name, ok, detail in results:
    print(("ok   " if ok else "FAIL ") + name + ("" if ok else f"  {detail}"))
print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
sys.exit(1 if failed else 0)
