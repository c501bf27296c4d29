#!/usr/bin/python3
"""darklens-mpi features as a cluster user runs it: `mpirun -np 1, 2, 3, 4`
(oversubscribed on this machine) must write the files `darklens features`
writes, byte for byte: hourly captures, one capture of several windows,
.csv and .npy, agm-num (top ports over every rank's rows), agm-ext with
--vocab, --prefix and --min-packets; and the refusals (agm-ext without
its vocabulary, a command other than features, a missing capture) stop
every rank with the message and leave nothing behind."""
import os
import subprocess
import sys
import tempfile

darklens, darklens_mpi = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
results = []
env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           OMPI_MCA_rmaps_base_oversubscribe="1", OMPI_MCA_btl="self,vader")


def expect(name, cond, detail=""):
    results.append((name, bool(cond), detail))


def run(args):
    return subprocess.run([darklens] + args, capture_output=True, env=env, timeout=600)


def mpirun(np, args):
    return subprocess.run(["mpirun", "-np", str(np), darklens_mpi] + args, capture_output=True, env=env,
                          timeout=600)


def same_files(a, b):
    """The table and its sidecars (.meta.json; for .npy the columns and rows)."""
    def files(t):
        more = [t[:-4] + ".columns.txt", t[:-4] + ".rows.csv"] if t.endswith(".npy") else []
        return [t, t + ".meta.json"] + more
    for x, y in zip(files(a), files(b)):
        with open(x, "rb") as f, open(y, "rb") as g:
            if f.read() != g.read():
                return False
    return True


with tempfile.TemporaryDirectory() as tmp:
    os.chdir(tmp)
    r = run(["synth", "-o", "s", "--days", "1", "--sources", "1500", "--seed", "11", "-q"])
    assert r.returncode == 0, r.stderr
    day = "s/darknet-2021-05-01.pcap"
    os.mkdir("h")
    subprocess.run(["editcap", "-i", "3600", day, "h/h.pcap"], check=True, capture_output=True)
    hours = sorted("h/" + f for f in os.listdir("h"))

    cases = [
        ("hourly captures, four families, 1h windows",
         ["--family", "agm,temporal,fingerprints,intensity", "--window", "1h"] + hours, "t.csv", (1, 2, 3, 4)),
        ("one capture of several windows (.npy)",
         ["--family", "agm,intensity", "--window", "6h", day], "t.npy", (1, 2)),
        ("agm-num (top ports over every rank's rows) and agm-ext with --vocab",
         ["--family", "agm-num,agm-ext", "--vocab", "vocab.csv.meta.json", "--window", "3h"] + hours, "t.csv",
         (2, 4)),
        ("--prefix and --min-packets 2",
         ["--family", "agm,fingerprints", "--window", "2h", "--prefix", "198.51.100.0/24", "--min-packets", "2"] +
         hours, "t.csv", (3,)),
    ]
    r = run(["features", "--family", "agm-ext", day, "-o", "vocab.csv", "-q"])
    assert r.returncode == 0, r.stderr
    for i, (name, args, out, nps) in enumerate(cases):
        ref = f"ref{i}_{out}"
        r = run(["features", *args, "-o", ref, "-q"])
        assert r.returncode == 0, r.stderr
        for np in nps:
            got = f"mpi{i}_{np}_{out}"
            m = mpirun(np, ["features", *args, "-o", got, "-q"])
            expect(f"{name}: -np {np} writes the same files", m.returncode == 0 and same_files(ref, got),
                   m.stderr[-400:])
    with open("ref0_t.csv") as f:
        expect("the table is not empty", sum(1 for _ in f) > 1000)

    m = mpirun(2, ["features", "--family", "agm-ext", *hours, "-o", "n.csv"])
    expect("agm-ext without --vocab over two ranks: refused with the reason, nothing written",
           m.returncode != 0 and b"--family agm-ext over several ranks needs --vocab" in m.stderr and
           not os.path.exists("n.csv"), m.stderr[-400:])
    m = mpirun(2, ["analyze", day, "-o", "a"])
    expect("analyze over two ranks: refused, pointing at features",
           m.returncode != 0 and b"darklens-mpi spreads 'features' over its ranks" in m.stderr and
           not os.path.exists("a"), m.stderr[-400:])
    m = mpirun(2, ["features", *hours, "h/missing.pcap", "-o", "x.csv"])
    expect("a missing capture: every rank stops, the file named, nothing written",
           m.returncode != 0 and b"h/missing.pcap" in m.stderr and not os.path.exists("x.csv"), m.stderr[-400:])
    m = mpirun(1, ["analyze", day, "-o", "a1", "-q"])
    expect("one rank runs any command", m.returncode == 0 and os.path.exists("a1/clusters.csv"), m.stderr[-400:])

failed = [r for r in results if not r[1]]
for name, ok, detail in results:
    print(("ok   " if ok else "FAIL ") + name + ("" if ok else f"  {detail}"))
print(f"{len(results) - len(failed)}/{len(results)} checks passed")
sys.exit(1 if failed else 0)
