#!/usr/bin/python3
"""All or nothing, checked by killing runs at every step: a run whose
outputs replace an earlier run's is killed (SIGKILL, through
DARKLENS_CRASH_AT=N, which the tool honours between every two steps that
change a file or the database) at step 1, 2, ... until it gets through
without being killed. The test finds the steps by itself: no timing.

After each kill, and again after the recovery the next run does first:
- `analyze --db`: OUTDIR holds exactly one whole run (every file of the old
  run or every file of the new one, never a mix or a part), the database
  holds only whole runs, and it holds the new run only if OUTDIR shows it
  (after recovery: exactly when OUTDIR shows it);
- `features -o f.npy`: the four files (.npy, sidecars, meta.json) are all
  the old run's or all the new one's once the next run has recovered;
- nothing staged is left behind after the next run."""
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile

darklens = sys.argv[1]
results = []
TIMING = re.compile(rb'("(?:seconds|created|generated)"\s*:\s*)("[^"]*"|[-0-9.e+]+)')


def run(args, crash_at=0):
    env = dict(os.environ)
    env.pop("DARKLENS_CRASH_AT", None)
    if crash_at:
        env["DARKLENS_CRASH_AT"] = str(crash_at)
    return subprocess.run([darklens] + args, capture_output=True, env=env)


def expect(name, cond, detail=""):
    results.append((name, bool(cond), detail))


def snapshot(paths):
    """{name: masked bytes} of the files given, None for a missing one."""
    out = {}
    for p in paths:
        out[os.path.basename(p)] = TIMING.sub(rb"\1T", open(p, "rb").read()) if os.path.exists(p) else None
    return out


def dir_snapshot(d):
    if not os.path.isdir(d):
        return None
    return snapshot(sorted(os.path.join(d, f) for f in os.listdir(d) if f != ".darklens-run"))


def runs_in(db):
    con = sqlite3.connect(db)
    rows = con.execute("SELECT id, inputs FROM runs ORDER BY id").fetchall()
    con.close()
    return rows


def leftovers(folder):
    return sorted(f for f in os.listdir(folder) if ".darklens-new" in f or ".darklens-old" in f or
                  ".darklens-journal" in f or ".tmp-" in f)


with tempfile.TemporaryDirectory() as tmp:
    days = os.path.join(tmp, "days")
    r = run(["synth", "--days", "2", "--sources", "1500", "--seed", "5", "-q", "-o", days])
    assert r.returncode == 0, r.stderr
    day1, day2 = (os.path.join(days, f"darknet-2021-05-0{i}.pcap") for i in (1, 2))

    # analyze --db: the old run (day 1) in place, the new one (day 2) killed.
    base = os.path.join(tmp, "base")
    work = os.path.join(tmp, "work")
    os.makedirs(base)
    r = run(["analyze", day1, "--db", os.path.join(base, "p.db"), "-q", "-o", os.path.join(base, "out")])
    assert r.returncode == 0, r.stderr

    def fresh():
        shutil.rmtree(work, ignore_errors=True)
        shutil.copytree(base, work)
        return os.path.join(work, "out"), os.path.join(work, "p.db")

    out, db = fresh()
    old = dir_snapshot(out)
    new_args = ["analyze", day2, "--db", db, "-q", "-o", out]
    r = run(new_args)
    assert r.returncode == 0, r.stderr
    new = dir_snapshot(out)
    expect("analyze: the old and the new run differ (so a mix would show)", old != new and None not in new.values())
    steps = 0
    for k in range(1, 200):
        out, db = fresh()
        r = run(new_args, crash_at=k)
        if r.returncode == 0:
            steps = k - 1
            break
        killed = r.returncode == -9
        now, stored = dir_snapshot(out), len(runs_in(db))
        whole = now in (old, new)
        consistent = stored in (1, 2) and (stored == 1 or now == new)
        expect(f"analyze killed at step {k}: OUTDIR one whole run, database only whole runs, the new run stored "
               f"only if shown", killed and whole and consistent, (r.returncode, r.stderr[-300:], stored,
                                                                   now == old, now == new))
        # The next run recovers first; this one then fails (a capture that
        # is not there) and must change nothing more.
        r = run(["analyze", os.path.join(tmp, "missing.pcap"), "--db", db, "-q", "-o", out])
        now, stored = dir_snapshot(out), len(runs_in(db))
        expect(f"analyze killed at step {k}, then recovered: the new run stored exactly when OUTDIR shows it, "
               f"nothing staged left", r.returncode == 3 and ((now == old and stored == 1) or
                                                               (now == new and stored == 2))
               and leftovers(work) == [], (r.stderr[-300:], stored, now == old, now == new, leftovers(work)))
    expect("analyze: the run got through once not killed, after several steps", steps >= 8, steps)

    # features -o f.npy: four files, all of one run.
    fbase = os.path.join(tmp, "fbase")
    os.makedirs(fbase)
    names = ["f.npy", "f.columns.txt", "f.rows.csv", "f.npy.meta.json"]
    r = run(["features", day1, "-q", "-o", os.path.join(fbase, "f.npy")])
    assert r.returncode == 0, r.stderr
    fwork = os.path.join(tmp, "fwork")

    def ffresh():
        shutil.rmtree(fwork, ignore_errors=True)
        shutil.copytree(fbase, fwork)
        return [os.path.join(fwork, n) for n in names]

    files = ffresh()
    fold = snapshot(files)
    fargs = ["features", day2, "--family", "agm,temporal", "-q", "-o", files[0]]
    assert run(fargs).returncode == 0
    fnew = snapshot(files)
    expect("features: the old and the new tables differ", fold != fnew)
    fsteps = 0
    for k in range(1, 100):
        files = ffresh()
        r = run(fargs, crash_at=k)
        if r.returncode == 0:
            fsteps = k - 1
            break
        r2 = run(["features", os.path.join(tmp, "missing.pcap"), "-q", "-o", files[0]])
        now = snapshot(files)
        expect(f"features killed at step {k}, then recovered: all four files of one run, nothing staged left",
               r.returncode == -9 and r2.returncode == 3 and now in (fold, fnew) and leftovers(fwork) == [],
               (r.returncode, r2.stderr[-200:], leftovers(fwork), {n: now[n] == fold[n] for n in now}))
    expect("features: got through once not killed, after several steps", fsteps >= 6, fsteps)

failed = [r for r in results if not r[1]]
for name, ok, detail in results:
    print(("ok   " if ok else "FAIL ") + name + ("" if ok else f"  {detail}"))
print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
sys.exit(1 if failed else 0)
