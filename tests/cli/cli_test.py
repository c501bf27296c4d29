#!/usr/bin/python3
"""The darklens command line as a user meets it: help, exit codes, error
messages naming the file, standard input, compressed input, JSON output,
and that synth writes whole files only."""
import gzip
import csv
import json
import re
import shlex
import os
import subprocess
import sys
import tempfile

darklens, shared = sys.argv[1], sys.argv[2]
BBN = os.path.join(shared, "bbn_one_scanner_2021-09-26.pcap")
results = []


def run(args, stdin=None):
    return subprocess.run([darklens] + args, input=stdin, capture_output=True)


def expect(name, cond, detail=""):
    results.append((name, bool(cond), detail))


with tempfile.TemporaryDirectory() as tmp:
    r = run(["--help"])
    expect("help lists subcommands", r.returncode == 0 and b"stats" in r.stdout and b"synth" in r.stdout)
    r = run(["stats", "--help"])
    expect("stats --help explains", r.returncode == 0 and b"capinfos" in r.stdout)
    r = run(["features", "--help"])
    expect("a command's --help names the global --sync", r.returncode == 0 and b"--sync fsyncs every output" in r.stdout)
    # The shared flags: one spelling, one default, one help text in every command that has them.
    helps = {c: run([c, "--help"]).stdout.decode() for c in
             ["stats", "features", "cluster", "evaluate", "track", "analyze", "classify", "synth"]}
    threads = [re.search(r"-t,--threads INT:INT in \[0 - 1024\]=0\s+Worker threads \(0 = all cores; the output is the "
                         r"same on any number\)", h) for c, h in helps.items() if c not in ("stats", "synth")]
    expect("every command with threads (features too): -t,--threads, 0 = all cores by default, the same help",
           all(threads), {c: h[h.find("-t,"):h.find("-t,") + 160] for c, h in helps.items()})
    expect("every command's -q,--quiet says the same",
           all(re.search(r"-q,--quiet\s+Print nothing but errors", h) for c, h in helps.items()
               if c not in ("stats", "evaluate")), helps)
    r = run([])
    expect("no subcommand is a usage error (2)", r.returncode == 2, r.stderr)
    r = run(["stats", "--bogus", BBN])
    expect("unknown flag is a usage error (2)", r.returncode == 2, r.stderr)

    missing = os.path.join(tmp, "missing.pcap")
    r = run(["stats", missing])
    expect("missing file: exit 3 and message",
           r.returncode == 3 and r.stderr.decode() ==
           f"darklens: {missing}: cannot open: No such file or directory\n", r.stderr)
    junk = os.path.join(tmp, "junk.pcap")
    with open(junk, "w") as f:
        f.write("hello world, not a capture\n")
    r = run(["stats", junk])
    expect("not a capture: exit 4 and message",
           r.returncode == 4 and b"junk.pcap: not a capture file: starts with bytes 68 65 6c 6c"
           in r.stderr, r.stderr)

    r = run(["stats", "--json", BBN])
    j = json.loads(r.stdout)
    expect("json output", r.returncode == 0 and j["packets"] == 1022 and j["distinct_destinations"] == 256)
    r = run(["stats", BBN])
    text = r.stdout.decode()
    expect("text output", "packets         1022" in text and "first packet    2021-09-26 06:25:57.408742000 UTC" in text, text)

    with open(BBN, "rb") as f:
        raw = f.read()
    r = run(["stats", "--json", "-"], stdin=gzip.compress(raw))
    j = json.loads(r.stdout)
    expect("gzip on standard input", r.returncode == 0 and j["packets"] == 1022
           and j["files"][0]["compression"] == "gzip" and j["files"][0]["path"] == "-", r.stderr)
    zst = os.path.join(tmp, "bbn.pcap.zst")
    subprocess.run(["zstd", "-q", "-o", zst, BBN], check=True)
    r = run(["stats", "--json", zst])
    expect("zstd file (zstd CLI)", r.returncode == 0 and json.loads(r.stdout)["packets"] == 1022, r.stderr)

    cut = os.path.join(tmp, "cut.pcap")
    with open(cut, "wb") as f:
        f.write(raw[: len(raw) - 30])
    r = run(["stats", "--json", cut])
    j = json.loads(r.stdout)
    expect("truncated capture: exit 0, counted, warned",
           r.returncode == 0 and j["packets"] == 1021 and j["anomalies"] == {"truncated_record": 1}
           and "truncated record at offset" in j["warnings"][0], r.stdout)

    r = run(["features", cut, "-o", os.path.join(tmp, "cut.csv")])
    expect("features on a truncated capture: exit 0, summary on stdout, the warning on stderr",
           r.returncode == 0 and b"1 rows x 22 columns from 1021 packets" in r.stdout
           and b"warning" not in r.stdout and b"warning: " in r.stderr and b"truncated record" in r.stderr,
           r.stdout + r.stderr)

    r = run(["stats", "--json", BBN, os.path.join(shared, "darknet01_20210501.csv.gz")])
    j = json.loads(r.stdout)
    expect("several files incl. DarkVec CSV", r.returncode == 0 and j["packets"] == 4022
           and any("anonymised" in w for w in j["warnings"]), r.stdout)

    out = os.path.join(tmp, "synth")
    r = run(["synth", "--days", "2", "--sources", "300", "--seed", "3", "-o", out])
    files = sorted(os.listdir(out))
    expect("synth writes days, ground truth, manifest",
           r.returncode == 0 and files == ["darknet-2021-05-01.pcap", "darknet-2021-05-02.pcap",
                                           "ground_truth.csv", "synth.json"], files)
    r = run(["synth", "--prefix", "10.0.0.0/40", "-o", out])
    expect("bad prefix: exit 2 and message", r.returncode == 2 and r.stderr.decode() ==
           "darklens: prefix '10.0.0.0/40': prefix length must be between 8 and 30\n", r.stderr)
    blocker = os.path.join(tmp, "file-not-dir")
    open(blocker, "w").close()
    r = run(["synth", "-o", os.path.join(blocker, "sub")])
    expect("unwritable output: exit 3 names the directory",
           r.returncode == 3 and b"file-not-dir/sub: cannot create output directory" in r.stderr, r.stderr)
    expect("no temporary files left behind", not any(".tmp-" in f for f in os.listdir(out)))

    # darklens features
    day = os.path.join(out, "darknet-2021-05-01.pcap")
    fcsv = os.path.join(tmp, "f.csv")
    r = run(["features", "--family", "agm,temporal", "--prefix", "198.51.100.0/25", day, "-o", fcsv])
    meta = json.load(open(fcsv + ".meta.json")) if os.path.exists(fcsv + ".meta.json") else {}
    expect("features writes table and metadata", r.returncode == 0 and b"rows x 52 columns" in r.stdout
           and meta.get("packets", {}).get("outside_prefix", 0) > 0, r.stdout + r.stderr)
    fnpy = os.path.join(tmp, "f.npy")
    r = run(["features", "--family", "agm,temporal", "--prefix", "198.51.100.0/25", day, "-o", fnpy, "-q"])
    check = subprocess.run(["/usr/bin/python3", "-c", f"""
import numpy, csv
m = numpy.load({fnpy!r})
cols = open({fnpy[:-4] + '.columns.txt'!r}).read().split()
rows = list(csv.DictReader(open({fcsv!r})))
assert m.shape == (len(rows), len(cols)), m.shape
assert all(float(rows[i][c]) == m[i, j] for i in range(len(rows)) for j, c in enumerate(cols))
print("ok")"""], capture_output=True, text=True)
    expect(".npy loads in numpy and equals the CSV", r.returncode == 0 and check.stdout.strip() == "ok",
           check.stderr)
    timed = os.path.join(tmp, "timed.csv")
    r = run(["features", "--family", "agm,temporal", "--prefix", "198.51.100.0/25", "--timings", "-q", day, "-o", timed])
    expect("features --timings: the steps and packets/s on stderr, nothing on stdout, same table",
           r.returncode == 0 and r.stdout == b"" and re.search(
               rb"^timings: read and aggregate [0-9.]+ s \([0-9.]+ M packets/s\), table [0-9.]+ s, "
               rb"write [0-9.]+ s, total [0-9.]+ s \([0-9.]+ M packets/s\)$", r.stderr.strip()) is not None
           and open(timed, "rb").read() == open(fcsv, "rb").read(), r.stderr)
    # --sync (global, before or after the command): every output fsynced
    # before its rename; without it, none. Counted with strace.
    if subprocess.run(["strace", "-o", os.devnull, "true"], capture_output=True).returncode == 0:
        for where, args in [("without --sync", ["features"]), ("--sync before the command", ["--sync", "features"]),
                            ("--sync after it", ["features", "--sync"])]:
            synced = os.path.join(tmp, "synced.npy")
            log = os.path.join(tmp, "strace.log")
            # LeakSanitizer cannot run under a tracer (the ASan build's leak
            # check would abort at exit): off for these runs only.
            env = dict(os.environ, ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "") + ":detect_leaks=0")
            r = subprocess.run(["strace", "-f", "-e", "trace=fsync,fdatasync,rename", "-o", log, darklens] + args +
                               ["--family", "agm,temporal", "--prefix", "198.51.100.0/25", "-q", day, "-o", synced],
                               capture_output=True, env=env)
            calls = open(log).read()
            # The four outputs (.npy, .columns.txt, .rows.csv, .meta.json)
            # staged, then the journal naming them, then moved into place;
            # with --sync the files and the journal are fsynced before
            # their renames and the folder after the moves.
            want = 6 if "--sync" in args else 0
            into = re.findall(r'rename\("[^"]*", "' + re.escape(tmp) + r'/([^"/]*)"\)', calls)
            expect(f"features {where}: {want} fsyncs, 4 outputs staged, then the journal and 4 moves, same table",
                   r.returncode == 0 and calls.count("fsync(") == want and calls.count("rename(") == 9
                   and sorted(into) == sorted([".synced.npy.darklens-journal", "synced.npy", "synced.columns.txt",
                                               "synced.rows.csv", "synced.npy.meta.json"])
                   and open(synced, "rb").read() == open(fnpy, "rb").read(), calls)
    else:
        print("skip: strace cannot trace here (the --sync checks need it)")
    # On a terminal (a pseudo-terminal from script(1)): a bar over the
    # input's bytes, ending at 100%, then the summary; not with -q.
    for quiet in [False, True]:
        cmd = [darklens, "features", day, "-o", os.path.join(tmp, "bar.csv")] + (["-q"] if quiet else [])
        r = subprocess.run(["script", "-qec", " ".join(shlex.quote(a) for a in cmd), "/dev/null"],
                           capture_output=True)
        screen = r.stdout.decode(errors="replace")
        bar = re.search(r"\r\[#{30}\] 100%  \d+ packets\r\x1b\[K", screen) is not None
        expect(f"features on a terminal{' with -q' if quiet else ''}: "
               f"{'no bar' if quiet else 'a progress bar ending at 100%, then the summary'}",
               r.returncode == 0 and bar != quiet and (quiet or "rows x 22 columns" in screen), screen[-400:])
    r = run(["features", "--window", "5x", day, "-o", fcsv])
    expect("bad window: exit 2 and message", r.returncode == 2 and b"window '5x': expected" in r.stderr, r.stderr)
    r = run(["features", day, "-o", os.path.join(tmp, "f.parquet")])
    expect("bad output format: exit 2, nothing read", r.returncode == 2 and b"unknown output format" in r.stderr, r.stderr)
    r = run(["features", day, "-o", os.path.join(tmp, "nodir", "f.csv")])
    expect("missing output directory: exit 3", r.returncode == 3 and b"does not exist" in r.stderr, r.stderr)
    r = run(["features", "--prefix", "198.51.100/24", day, "-o", fcsv])
    expect("bad prefix: exit 2", r.returncode == 2 and b"is not an address prefix" in r.stderr, r.stderr)
    r = run(["features", "--filter", "tcp port", day, "-o", fcsv])
    expect("bad filter: exit 2 with libpcap's reason", r.returncode == 2 and b"filter 'tcp port'" in r.stderr, r.stderr)

    r = run(["features", "--family", "agm-ext", "--vocab", fcsv, day, "-o", fcsv])
    expect("vocab that is not JSON: exit 4", r.returncode == 4 and r.stderr.decode() ==
           f"darklens: {fcsv}: not JSON\n", r.stderr)
    r = run(["features", "--family", "agm-ext", "--vocab", fcsv + ".meta.json", day, "-o", fcsv])
    expect("vocab without agm-ext: exit 4", r.returncode == 4 and
           b"no agm_ext_vocab (write one with --family agm-ext)" in r.stderr, r.stderr)

    r = run(["features", "--validated-only", day, "-o", fcsv])
    expect("--validated-only without --prefix: exit 2", r.returncode == 2 and
           b"validated TCP needs the darknet prefix (--prefix)" in r.stderr, r.stderr)

    # Several chunks read ahead on 2 threads (2^17 packets a chunk): the same
    # table as on 1 thread, also when a gzip stream ends in the middle.
    big = os.path.join(tmp, "big")
    run(["synth", "--days", "1", "--sources", "15000", "--seed", "5", "-o", big, "-q"])
    bigday = os.path.join(big, "darknet-2021-05-01.pcap")
    with open(bigday, "rb") as f:
        packed = gzip.compress(f.read(), 1)
    cutgz = os.path.join(tmp, "big-cut.pcap.gz")
    with open(cutgz, "wb") as f:
        f.write(packed[: len(packed) * 2 // 3])
    for what, src in [("whole", bigday), ("gzip cut short", cutgz)]:
        tables = {}
        for threads in ["1", "2"]:
            dest = os.path.join(tmp, f"big-{threads}.csv")
            r = run(["features", "--family", "agm,intensity,temporal,fingerprints", "--threads", threads, src,
                     "-o", dest])
            tables[threads] = (r.returncode, open(dest).read() if r.returncode == 0 else r.stderr, r.stderr)
        rows = tables["1"][1].count("\n") - 1 if tables["1"][0] == 0 else 0
        expect(f"features read ahead on 2 threads, {what}: exit 0, same table as 1 thread ({rows} sources)",
               tables["1"][0] == 0 and tables["2"][0] == 0 and tables["1"][1] == tables["2"][1] and rows > 5000,
               tables["2"][2])
    expect("a gzip stream cut short is said in a warning on stderr",
           b"warning: " in tables["2"][2] and b"truncated gzip stream (stopped after" in tables["2"][2],
           tables["2"][2])

    # darklens cluster
    r = run(["features", "--family", "agm,temporal", day, "-o", fcsv, "-q"])
    cdir = os.path.join(tmp, "clusters")
    r = run(["cluster", "--pipeline", "zscore|pca:3|kmeans:k=4,seed=1", fcsv, "-o", cdir])
    labels = open(os.path.join(cdir, "labels.csv")).read().splitlines() if r.returncode == 0 else []
    summary = json.load(open(os.path.join(cdir, "summary.json"))) if r.returncode == 0 else {}
    expect("cluster writes labels, centroids, summary", r.returncode == 0 and
           labels[0] == "source,window_start,cluster" and len(labels) == len(open(fcsv).read().splitlines())
           and summary.get("clusters") == 4 and os.path.exists(os.path.join(cdir, "centroids.csv")), r.stderr)
    r = run(["cluster", "--pipeline", "zscore|tsne", os.path.join(tmp, "nothing.csv"), "-o", cdir])
    expect("bad pipeline: exit 2 before reading", r.returncode == 2 and b"unknown stage 'tsne'" in r.stderr, r.stderr)
    r = run(["cluster", "--pipeline", "dbscan:eps=0", os.path.join(tmp, "nothing.csv"), "-o", cdir])
    expect("bad argument value: exit 2 before reading", r.returncode == 2 and
           b"eps must be positive, or auto" in r.stderr, r.stderr)
    outs = {}
    for spec in ["zscore|dbscan:eps=auto", "zscore|pca:3|meanshift:bin_seeding=1",
                 "zscore|hac:linkage=ward,k=auto", "zscore|som:8x8|kmeans:k=auto"]:
        for threads in ["1", "2"]:
            d = os.path.join(tmp, "c-" + threads)
            r = run(["cluster", "-q", "-t", threads, "--pipeline", spec, fcsv, "-o", d])
            outs[threads] = open(os.path.join(d, "labels.csv")).read() if r.returncode == 0 else r.stderr
        summary = json.load(open(os.path.join(tmp, "c-1", "summary.json"))) if r.returncode == 0 else {}
        expect(f"cluster '{spec}': same labels on 1 and 2 threads, summary says why", r.returncode == 0 and
               outs["1"] == outs["2"] and summary.get("choice", {}).get("rule") and
               summary["clusters"] == len(summary["sizes"]) and
               sum(summary["sizes"]) + summary["noise"] == len(outs["1"].splitlines()) - 1, r.stderr)
    # darklens evaluate: kNN and cluster agreement against the synthetic ground truth
    gt = os.path.join(out, "ground_truth.csv")
    r = run(["evaluate", "--gt", gt, "--labels", os.path.join(cdir, "labels.csv"), fcsv, "--json"])
    ev = json.loads(r.stdout) if r.returncode == 0 else {}
    knn = ev.get("knn", {})
    labelled = sum(1 for line in open(gt).read().splitlines()[1:]
                   if line.split(",")[0] in {l.split(",")[0] for l in open(fcsv).read().splitlines()[1:]})
    expect("evaluate: every labelled source classified, confusion matrix adds up", r.returncode == 0 and
           ev["ground_truth"]["labelled_rows"] == labelled and knn["evaluated"] == labelled and
           sum(map(sum, knn["confusion"]["matrix"])) == labelled and 0 < knn["accuracy"] <= 1 and
           -1 <= ev["clusters"]["against_ground_truth"]["ari"] <= 1, r.stderr)
    r = run(["evaluate", "--gt", gt, "--gt", gt, "-k", "3", "--metric", "cosine", fcsv])
    expect("evaluate: text report with per-class scores", r.returncode == 0 and
           b"leave-one-out 3-NN (cosine" in r.stdout and b"confusion matrix" in r.stdout, r.stderr)
    fp_csv = os.path.join(tmp, "fp.csv")
    run(["features", "--family", "agm,fingerprints", "-q", day, "-o", fp_csv])
    other_gt = os.path.join(tmp, "other_gt.csv")
    open(other_gt, "w").write("ip,label\n" + open(gt).read().splitlines()[1].split(",")[0] + ",someone\n")
    r = run(["evaluate", "--json", "--gt", other_gt, "--mirai", "0.5", fp_csv])
    mirai_rows = sum(1 for row in csv.DictReader(open(fp_csv)) if float(row["fp_mirai"]) >= 0.5)
    ev = json.loads(r.stdout) if r.returncode == 0 else {}
    expect("evaluate --mirai labels the sources with the Mirai fingerprint", r.returncode == 0 and mirai_rows > 0 and
           "mirai" in ev["ground_truth"]["classes"] and
           ev["ground_truth"]["labelled_rows"] in (mirai_rows, mirai_rows + 1), r.stderr)
    r = run(["evaluate", "--gt", other_gt, "--mirai", "0.5", fcsv])
    expect("evaluate --mirai without fp_mirai: exit 4", r.returncode == 4 and
           f"{fcsv}: --mirai needs the column fp_mirai (darklens features --family fingerprints)".encode() in r.stderr,
           r.stderr)
    nobody = os.path.join(tmp, "nobody_gt.csv")
    open(nobody, "w").write("ip,label\n203.0.113.250,x\n")
    r = run(["evaluate", "--gt", nobody, fcsv])
    expect("evaluate without labelled rows: exit 4", r.returncode == 4 and
           f"{fcsv}: 0 rows have a ground-truth label; at least 2 are needed".encode() in r.stderr, r.stderr)
    short_labels = os.path.join(tmp, "short_labels.csv")
    open(short_labels, "w").write("\n".join(open(os.path.join(cdir, "labels.csv")).read().splitlines()[:2]) + "\n")
    r = run(["evaluate", "--gt", gt, "--labels", short_labels, fcsv])
    expect("evaluate with labels of another table: exit 4 naming the row", r.returncode == 4 and
           f"{short_labels}: no row for".encode() in r.stderr, r.stderr)
    bad_labels = os.path.join(tmp, "bad_labels.csv")
    open(bad_labels, "w").write("source,window_start,cluster\nnot-a-row\n")
    r = run(["evaluate", "--gt", gt, "--labels", bad_labels, fcsv])
    expect("evaluate with a broken labels file: exit 4 with line", r.returncode == 4 and
           f"{bad_labels}:2: expected 'key...,cluster'".encode() in r.stderr, r.stderr)
    numbers = os.path.join(tmp, "numbers.csv")
    open(numbers, "w").write("a,b\n1,2\n3,4\n")
    r = run(["evaluate", "--gt", gt, numbers])
    expect("evaluate on a table without source keys: exit 4", r.returncode == 4 and
           f"{numbers}: row 1: key '0' does not start with a source address".encode() in r.stderr, r.stderr)
    bad_gt = os.path.join(tmp, "bad_gt.csv")
    open(bad_gt, "w").write("ip,label\n10.0.0.1,a\nnonsense,b\n")
    r = run(["evaluate", "--gt", bad_gt, fcsv])
    expect("evaluate: bad ground truth names file and line, exit 4", r.returncode == 4 and
           f"{bad_gt}:3: 'nonsense' is not an IP address or prefix".encode() in r.stderr, r.stderr)
    # darklens track over the two synthetic days
    tables = []
    for i, pcap in enumerate(sorted(f for f in os.listdir(out) if f.endswith(".pcap"))):
        tables.append(os.path.join(tmp, f"day{i + 1}.csv"))
        run(["features", "--family", "agm,temporal", "-q", os.path.join(out, pcap), "-o", tables[-1]])
    tdir = os.path.join(tmp, "track")
    r = run(["track", "-q", "--gt", gt, "--pipeline", "zscore|kmeans:k=3,seed=1"] + tables + ["-o", tdir])
    rows = list(csv.DictReader(open(os.path.join(tdir, "track.csv")))) if r.returncode == 0 else []
    tj = json.load(open(os.path.join(tdir, "track.json"))) if r.returncode == 0 else {}
    expect("track: one row per day, day-1 model and AMI from day 2, lineage of every cluster",
           len(rows) == 2 and rows[0]["day1_model_accuracy"] == "" and rows[1]["day1_model_accuracy"] != "" and
           float(rows[0]["ami_vs_day1"]) == 1.0 and rows[1]["ami_vs_previous"] != "" and
           sum(int(rows[1][e]) for e in ["continued", "split", "merged", "new"]) == int(rows[1]["clusters"]) and
           len(tj["days"][1]["lineage"]["clusters"]) == int(rows[1]["clusters"]), r.stderr)
    pcaps = [os.path.join(out, f) for f in sorted(os.listdir(out)) if f.endswith(".pcap")]
    r = run(["track", "-q", "--gt", gt, "--family", "agm,temporal", "--pipeline", "zscore|kmeans:k=3,seed=1"] + pcaps +
            ["-o", tdir + "-pcap"])
    from_pcap = list(csv.DictReader(open(os.path.join(tdir + "-pcap", "track.csv")))) if r.returncode == 0 else []
    drop = lambda rows: [{k: v for k, v in row.items() if k != "table"} for row in rows]
    expect("track on captures equals track on their feature tables", r.returncode == 0 and
           drop(from_pcap) == drop(rows), r.stderr)
    agm_only = os.path.join(tmp, "agm_only.csv")
    run(["features", "--family", "agm", "-q", day, "-o", agm_only])
    r = run(["track", "--gt", gt, tables[0], agm_only, "-o", tdir])
    expect("track: tables with other columns are refused, exit 4", r.returncode == 4 and
           b"its columns differ from" in r.stderr, r.stderr)
    twice = os.path.join(tmp, "twice.csv")
    lines = open(tables[0]).read().splitlines()
    open(twice, "w").write("\n".join(lines + [lines[1]]) + "\n")
    r = run(["track", "--gt", gt, tables[0], twice, "-o", tdir])
    expect("track: a source twice in a table, exit 4", r.returncode == 4 and
           f"{twice}: source {lines[1].split(',')[0]} has several rows (track needs one window per table)".encode()
           in r.stderr, r.stderr)
    bad_ips = os.path.join(tmp, "ips.txt")
    open(bad_ips, "w").write("ip\n192.0.2.1\nnot-an-address\n")
    r = run(["gt", "build", "--ips", bad_ips, "--resolver", "127.0.0.1:9", "-o", os.path.join(tmp, "g.csv")])
    expect("gt build: a bad address line, exit 4 with file and line, before any query", r.returncode == 4 and
           f"{bad_ips}:3: 'not-an-address' is not an IP address".encode() in r.stderr, r.stderr)
    open(bad_ips, "w").write("192.0.2.1\n")
    r = run(["gt", "build", "--ips", bad_ips, "--resolver", "localhost:53", "-o", os.path.join(tmp, "g.csv")])
    expect("gt build: a resolver that is not IP[:PORT], exit 2", r.returncode == 2 and
           b"rdns: resolver 'localhost:53' is not IP or IP:PORT" in r.stderr, r.stderr)
    rules = os.path.join(tmp, "rules.txt")
    for text, message in [("prefix example.org x\n", f"{rules}:1: unknown rule 'prefix' (suffix, regex)"),
                          ("suffix example.org\n",
                           f"{rules}:1: expected 'suffix DOMAIN LABEL' or 'regex EXPRESSION LABEL'")]:
        open(rules, "w").write(text)
        r = run(["gt", "build", "--ips", bad_ips, "--rules", rules, "-o", os.path.join(tmp, "g.csv")])
        expect(f"gt build: rules error '{message.split(': ', 1)[1]}', exit 4", r.returncode == 4 and
               message.encode() in r.stderr, r.stderr)
    r = run(["cluster", os.path.join(tmp, "nothing.csv"), "-o", cdir])
    expect("missing table: exit 3", r.returncode == 3 and b"nothing.csv: cannot open" in r.stderr, r.stderr)

failed = [r for r in results if not r[1]]
for name, ok, detail in results:
    print(("ok   " if ok else "FAIL ") + name + ("" if ok else f"  [{detail!r}]"))
print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
sys.exit(1 if failed else 0)
