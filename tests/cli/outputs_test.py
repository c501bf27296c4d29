#!/usr/bin/python3
"""What a run may write over: never its inputs (compared by file identity,
so another name for the same file is caught too) nor the database, never a
directory holding files darklens did not write; a second run on the same
output waits for none and is refused; a re-run keeps the permissions of
what it replaces and removes what killed runs left."""
import os
import subprocess
import sys
import tempfile

darklens = sys.argv[1]
results = []


def run(args):
    return subprocess.run([darklens] + args, capture_output=True)


def expect(name, cond, detail=""):
    results.append((name, bool(cond), detail))


with tempfile.TemporaryDirectory() as tmp:
    days = os.path.join(tmp, "days")
    assert run(["synth", "--days", "1", "--sources", "800", "--seed", "3", "-q", "-o", days]).returncode == 0
    day = os.path.join(days, "darknet-2021-05-01.pcap")
    log = os.path.join(tmp, "log.csv")
    assert run(["features", day, "-q", "-o", log]).returncode == 0
    before = open(log, "rb").read()

    # Inputs are never replaced.
    r = run(["features", log, "-q", "-o", log])
    expect("features IN -o IN: refused, exit 2, the input intact",
           r.returncode == 2 and b"log.csv: is also an input of this run" in r.stderr and
           open(log, "rb").read() == before, r.stderr)
    alias = os.path.join(tmp, "alias.csv")
    os.link(log, alias)
    r = run(["features", alias, "-q", "-o", log])
    expect("features: the same file under another name is caught (inode, not name)",
           r.returncode == 2 and b"is also an input" in r.stderr and open(log, "rb").read() == before, r.stderr)
    npy = os.path.join(tmp, "t.npy")
    assert run(["features", day, "-q", "-o", npy]).returncode == 0
    rows = os.path.join(tmp, "t.rows.csv")
    rows_before = open(rows, "rb").read()
    r = run(["features", rows, "-q", "-o", npy])
    expect("features t.rows.csv -o t.npy: the sidecar that is an input is not replaced",
           r.returncode == 2 and b"t.rows.csv: is also an input" in r.stderr and open(rows, "rb").read() ==
           rows_before, r.stderr)
    od = os.path.join(tmp, "od")
    assert run(["analyze", day, "-q", "-o", od]).returncode == 0
    feats = os.path.join(od, "features.csv")
    feats_before = open(feats, "rb").read()
    r = run(["cluster", feats, "-q", "-o", od])
    expect("cluster od/features.csv -o od: refused (the run would replace the folder holding its input)",
           r.returncode == 2 and b"an input of this run" in r.stderr and open(feats, "rb").read() == feats_before,
           r.stderr)
    db = os.path.join(tmp, "p.db")
    assert run(["analyze", day, "--db", db, "-q", "-o", os.path.join(tmp, "a1")]).returncode == 0
    db_before = open(db, "rb").read()
    r = run(["patterns", "export", "--db", db, "-o", db])
    expect("patterns export --db p.db -o p.db: refused, the database intact",
           r.returncode == 2 and b"p.db: is also an input" in r.stderr and open(db, "rb").read() == db_before,
           r.stderr)
    r = run(["analyze", day, "--db", os.path.join(od, "p.db"), "-q", "-o", od])
    expect("analyze --db OUTDIR/p.db -o OUTDIR: refused before the database is created",
           r.returncode == 2 and b"an input of this run" in r.stderr and
           not os.path.exists(os.path.join(od, "p.db")), r.stderr)

    # A folder darklens did not write is not replaced.
    mine = os.path.join(tmp, "mine")
    os.makedirs(mine)
    open(os.path.join(mine, "notes.txt"), "w").write("keep me\n")
    r = run(["analyze", day, "-q", "-o", mine])
    expect("analyze -o a folder with other files: refused, exit 2, naming one",
           r.returncode == 2 and b"holds 'notes.txt', which darklens did not write" in r.stderr and
           os.listdir(mine) == ["notes.txt"], r.stderr)
    r = run(["analyze", day, "-q", "-o", "."])
    expect("analyze -o .: refused (a run replaces its folder)", r.returncode == 2 and b"give the output a name" in
           r.stderr, r.stderr)

    # A re-run keeps the permissions of what it replaces, and removes what
    # killed runs left (temporaries of processes that are gone).
    os.chmod(log, 0o600)
    stale = log + ".tmp-999999-1"
    open(stale, "w").write("half")
    r = run(["features", day, "--family", "agm,temporal", "-q", "-o", log])
    expect("features re-run: 0600 stays 0600, a dead run's temporary is removed",
           r.returncode == 0 and (os.stat(log).st_mode & 0o777) == 0o600 and not os.path.exists(stale),
           (r.stderr, oct(os.stat(log).st_mode)))
    os.chmod(os.path.join(od, "summary.json"), 0o600)
    r = run(["analyze", day, "--family", "agm", "-q", "-o", od])
    expect("analyze re-run: summary.json keeps 0600",
           r.returncode == 0 and (os.stat(os.path.join(od, "summary.json")).st_mode & 0o777) == 0o600, r.stderr)

    # One run at a time per output: the second is refused, not interleaved.
    held = subprocess.Popen(["flock", os.path.join(tmp, ".od.darklens-lock"), "sleep", "30"])
    try:
        import time
        for _ in range(100):
            if subprocess.run(["flock", "-n", os.path.join(tmp, ".od.darklens-lock"), "true"]).returncode != 0:
                break
            time.sleep(0.05)
        r = run(["analyze", day, "-q", "-o", od])
        expect("analyze while another run writes OUTDIR: refused, exit 3",
               r.returncode == 3 and b"another darklens run is writing it now" in r.stderr, r.stderr)
    finally:
        held.kill()
        held.wait()

failed = [r for r in results if not r[1]]
for name, ok, detail in results:
    print(("ok   " if ok else "FAIL ") + name + ("" if ok else f"  {detail}"))
print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
sys.exit(1 if failed else 0)
