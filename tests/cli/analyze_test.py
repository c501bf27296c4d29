#!/usr/bin/python3
"""darklens analyze / classify / patterns as a user meets them, on synthetic
days with planted groups: the outputs agree with each other and with an
independent count of the packets (dpkt), re-runs are identical on any thread
count, later days are classified against the stored patterns, and bad input
fails with a message that names the file and leaves nothing half-written."""
import csv
import json
import os
import re
import socket
import sqlite3
import struct
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict

import dpkt

darklens = sys.argv[1]
shared = sys.argv[2]  # tests/data: the real sample captures
results = []


def run(args):
    return subprocess.run([darklens] + args, capture_output=True)


def expect(name, cond, detail=""):
    results.append((name, bool(cond), detail))


def read_csv(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def dpkt_counts(pcap, cluster_of):
    """Per cluster: packets, (proto/dport) counts, hourly counts, from the raw capture."""
    packets, ports, hours = Counter(), defaultdict(Counter), defaultdict(lambda: [0] * 24)
    with open(pcap, "rb") as f:
        for ts, buf in dpkt.pcap.Reader(f):
            ip = dpkt.ethernet.Ethernet(buf).data
            if not isinstance(ip, dpkt.ip.IP):
                continue
            src = socket.inet_ntoa(ip.src)
            if src not in cluster_of:
                continue
            c = cluster_of[src]
            packets[c] += 1
            hours[c][int(ts // 3600) % 24] += 1
            if ip.p in (6, 17) and isinstance(ip.data, (dpkt.tcp.TCP, dpkt.udp.UDP)):
                ports[c][("tcp" if ip.p == 6 else "udp") + "/" + str(ip.data.dport)] += 1
    return packets, ports, hours


with tempfile.TemporaryDirectory() as tmp:
    days = os.path.join(tmp, "days")
    r = run(["synth", "--days", "3", "--sources", "3000", "--seed", "5", "-o", days, "-q"])
    expect("synth three days", r.returncode == 0, r.stderr)
    day = [os.path.join(days, f"darknet-2021-05-0{d}.pcap") for d in (1, 2, 3)]
    gt = os.path.join(days, "ground_truth.csv")
    db = os.path.join(tmp, "patterns.db")

    r = run(["analyze", "--help"])
    expect("analyze --help explains", r.returncode == 0 and b"report.html" in r.stdout and b"--pipeline" in r.stdout)

    out1 = os.path.join(tmp, "a1")
    r = run(["analyze", day[0], "--gt", gt, "--db", db, "-o", out1])
    expect("analyze day 1: exit 0", r.returncode == 0, r.stderr)
    expect("analyze prints stage progress on stderr", b"darklens: features:" in r.stderr and
           b"darklens: cluster:" in r.stderr and b"darklens: profile:" in r.stderr, r.stderr)
    stage_lines = [l for l in r.stderr.decode().splitlines() if l.startswith("darklens: ")]
    expect("each stage line ends with the memory held and the peak so far",
           stage_lines and all(re.search(r" \[memory \d+(\.\d)? [KMG]iB, peak \d+(\.\d)? [KMG]iB\]$", l)
                               for l in stage_lines), stage_lines)
    expect("analyze writes the five outputs", all(os.path.exists(os.path.join(out1, f)) for f in
           ["features.csv", "clusters.csv", "profiles.json", "summary.json", "report.html"]))
    expect("no temporary file left", not [f for f in os.listdir(out1) if ".tmp-" in f], os.listdir(out1))
    feats = read_csv(os.path.join(out1, "features.csv"))
    clusters = read_csv(os.path.join(out1, "clusters.csv"))
    profiles = json.load(open(os.path.join(out1, "profiles.json")))
    summary = json.load(open(os.path.join(out1, "summary.json")))
    expect("clusters.csv has one row per feature row, same keys",
           [(c["source"], c["window_start"]) for c in clusters] == [(f["source"], f["window_start"]) for f in feats])
    sizes = Counter(int(c["cluster"]) for c in clusters)
    expect("profiles: one per cluster, sizes as clusters.csv",
           {p["cluster"]: p["sources"] for p in profiles} == dict(sizes), (sizes, [p["sources"] for p in profiles]))
    expect("profiles: the 4 largest clusters (noise aside) marked top",
           [p["cluster"] for p in profiles if p["top"]] == [p["cluster"] for p in profiles if p["cluster"] >= 0][:4])
    expect("profiles: largest first", [p["sources"] for p in profiles] ==
           sorted((p["sources"] for p in profiles), reverse=True))
    expect("summary: packets used = sum of profile packets",
           summary["packets"]["used"] == sum(p["packets"] for p in profiles), summary["packets"])
    expect("summary: clusters as clusters.csv",
           summary["clustering"]["clusters"] == len([c for c in sizes if c >= 0]), summary["clustering"]["clusters"])
    expect("summary: stored as run 1", summary["stored"]["run"] == 1, summary.get("stored"))
    expect("summary: kNN accuracy on the planted groups is high",
           summary["evaluation"]["knn_accuracy"] > 0.9, summary["evaluation"])

    # Independent count of every cluster's packets, ports and hours (dpkt).
    cluster_of = {c["source"]: int(c["cluster"]) for c in clusters}
    packets, ports, hours = dpkt_counts(day[0], cluster_of)
    expect("profile packets match dpkt", {p["cluster"]: p["packets"] for p in profiles} == dict(packets))
    ok_ports = all(t["count"] == ports[p["cluster"]][t["key"]] for p in profiles for t in p["top_ports"])
    top_ok = all(p["top_ports"][0]["count"] == max(ports[p["cluster"]].values()) for p in profiles if p["top_ports"])
    expect("profile top ports match dpkt", ok_ports and top_ok)
    expect("profile hourly traffic matches dpkt", all(p["hourly_packets"] == hours[p["cluster"]] for p in profiles))

    # The cluster holding most planted Mirai bots is explained as Mirai.
    mirai = max(profiles, key=lambda p: sum(g["count"] for g in p["ground_truth"] if g["key"] == "mirai"))
    expect("the Mirai cluster matches the mirai-telnet signature",
           any(a["id"] == "mirai-telnet" for a in mirai["activities"]), mirai["activities"])
    expect("unexplained clusters are counted", summary["unexplained_clusters"] ==
           len([p for p in profiles if p["cluster"] >= 0 and not p["activities"]]))

    out1b = os.path.join(tmp, "a1b")
    r = run(["analyze", day[0], "--gt", gt, "-t", "1", "-o", out1b])
    same = all(open(os.path.join(out1, f), "rb").read() == open(os.path.join(out1b, f), "rb").read()
               for f in ["features.csv", "clusters.csv", "profiles.json", "report.html"])
    expect("re-run on 1 thread: identical outputs", r.returncode == 0 and same, r.stderr)

    out2 = os.path.join(tmp, "c2")
    r = run(["classify", "--db", db, day[1], "--gt", gt, "-o", out2])
    expect("classify day 2: exit 0", r.returncode == 0, r.stderr)
    assigned = read_csv(os.path.join(out2, "assignments.csv"))
    cj = json.load(open(os.path.join(out2, "classify.json")))
    expect("classify: every source assigned once", len(assigned) == cj["sources"] and
           len({(a["source"], a["window_start"]) for a in assigned}) == len(assigned))
    known = [a for a in assigned if a["status"] == "known"]
    expect("classify: known + new = sources", len(known) == cj["sources_in_known_patterns"] and
           cj["sources_in_known_patterns"] + cj["new_sources"] == cj["sources"], cj)
    expect("classify: most sources fall in known patterns", cj["share_known"] > 0.8, cj["share_known"])
    back = [p for p in cj["patterns"] if p["status"] == "back"]
    expect("classify: back + absent = the model's patterns", len(back) == cj["patterns_back"] and
           cj["patterns_back"] + cj["patterns_absent"] == summary["clustering"]["clusters"], cj)
    by_pattern = Counter(a["pattern"] for a in known)
    expect("classify: sources per known pattern as assignments.csv",
           all(by_pattern[str(p["id"])] == p["sources"] for p in back))
    expect("classify: sources seen both days keep their pattern (AMI > 0.5)",
           cj["tracking"]["ami_vs_model"] > 0.5, cj["tracking"])
    cprof = json.load(open(os.path.join(out2, "profiles.json")))
    every = Counter(a["pattern"] for a in assigned)
    expect("classify profiles: named by pattern id, sources as assignments.csv",
           all(p["name"].startswith("pattern ") and every[str(p["pattern"])] == p["sources"]
               for p in cprof if "pattern" in p and "new_group" not in p))
    new_ids = [p["id"] for p in cj["patterns"] if p["status"] == "new"]
    expect("classify: new groups stored as patterns", all(i > 0 for i in new_ids), new_ids)

    out3 = os.path.join(tmp, "c3")
    r = run(["classify", "--db", db, day[2], "-o", out3, "-q"])
    expect("classify day 3 quietly: exit 0, nothing printed", r.returncode == 0 and not r.stdout and not r.stderr,
           r.stderr)
    html = open(os.path.join(out3, "report.html")).read()
    expect("day 3 report shows the days so far", "2021-05-01" in html and "2021-05-02" in html and
           "2021-05-03" in html and 'id="series"' in html)

    r = run(["patterns", "list", "--db", db])
    lines = r.stdout.decode().splitlines()
    expect("patterns list: header and one line per pattern", r.returncode == 0 and
           lines[0].startswith("id\tmodel\tname") and len(lines) - 1 == summary["clustering"]["clusters"] + len(new_ids)
           + json.load(open(os.path.join(out3, "classify.json")))["new_groups"], lines[:3])
    mirai_id = next(p["id"] for p in cj["patterns"] if p["activity"].startswith("Mirai-like"))
    r = run(["patterns", "label", "--db", db, str(mirai_id), "Mirai telnet"])
    expect("patterns label", r.returncode == 0 and b"named 'Mirai telnet'" in r.stdout, r.stderr)
    r = run(["patterns", "show", "--db", db, str(mirai_id)])
    shown = json.loads(r.stdout)
    expect("patterns show: name, profile, one sighting per run", shown["name"] == "Mirai telnet" and
           len(shown["sightings"]) == 3 and shown["profile"]["activities"], shown.get("sightings"))
    export = os.path.join(tmp, "export.json")
    r = run(["patterns", "export", "--db", db, "-o", export])
    doc = json.load(open(export))
    expect("patterns export json: runs and patterns", r.returncode == 0 and [x["kind"] for x in doc["runs"]] ==
           ["analyze", "classify", "classify"] and doc["schema_version"] == 7)
    r = run(["patterns", "export", "--db", db, "--format", "csv"])
    rows = list(csv.DictReader(r.stdout.decode().splitlines()))
    expect("patterns export csv", r.returncode == 0 and any(x["name"] == "Mirai telnet" for x in rows))
    con = sqlite3.connect(db)
    expect("database: WAL journal, schema version 6", con.execute("PRAGMA journal_mode").fetchone()[0] == "wal" and
           con.execute("PRAGMA user_version").fetchone()[0] == 7)
    runs_before = con.execute("SELECT count(*) FROM runs").fetchone()[0]
    con.close()

    # The embedding as a feature family: stored with the model, continued by classify.
    edb = os.path.join(tmp, "embed.db")
    eout = os.path.join(tmp, "embed-a")
    r = run(["analyze", day[0], "--family", "agm,intensity,fingerprints,embed", "--dim", "16", "--epochs", "3",
             "--gt", gt, "--db", edb, "-q", "-o", eout])
    summary = json.load(open(os.path.join(eout, "summary.json"))) if r.returncode == 0 else {}
    header = open(os.path.join(eout, "features.csv")).readline().strip().split(",") if r.returncode == 0 else []
    expect("analyze --family ...,embed: exit 0, dv_0..dv_15 in features.csv, the parameters in summary.json",
           r.returncode == 0 and header[-16:] == [f"dv_{i}" for i in range(16)] and
           summary["embedding"]["dim"] == 16 and summary["embedding"]["epochs"] == 3 and
           summary["embedding"]["rows_without_vector"] == 0 and summary["evaluation"]["knn_accuracy"] > 0.9,
           r.stderr + str(summary.get("embedding")).encode())
    con = sqlite3.connect(edb)
    blobs = dict(con.execute("SELECT name, length(data) FROM blobs").fetchall())
    con.close()
    expect("analyze --db: the embedding's model stored (words, input and output vectors)",
           blobs.get("embed.input") == blobs.get("embed.output") and blobs.get("embed.input", 0) >=
           summary.get("sources", 1) * 16 * 4 and blobs.get("embed.words", 0) > 0, blobs)
    r = run(["classify", "--db", edb, day[1], "--gt", gt, "-q", "-o", os.path.join(tmp, "embed-c")])
    cj = json.load(open(os.path.join(tmp, "embed-c", "classify.json"))) if r.returncode == 0 else {}
    expect("classify with an embedding model: continues from its vectors, most sources known",
           r.returncode == 0 and cj["embedding"]["continued"] is True and cj["share_known"] > 0.7, r.stderr)

    # Errors: the message names the file; nothing half-written.
    bad = os.path.join(tmp, "bad.pcap")
    open(bad, "wb").write(b"not a capture at all\n")
    out_bad = os.path.join(tmp, "bad-out")
    r = run(["analyze", day[0], bad, "--db", db, "-o", out_bad])
    expect("analyze: a bad capture, exit 4 naming it", r.returncode == 4 and b"bad.pcap: not a capture file" in
           r.stderr, r.stderr)
    expect("analyze: after the failure no output, nothing staged left, and no new run",
           not os.path.exists(out_bad) and not any(".darklens-new" in f for f in os.listdir(tmp)) and
           sqlite3.connect(db).execute("SELECT count(*) FROM runs").fetchone()[0] == runs_before, os.listdir(tmp))
    r = run(["analyze", day[0], "--pipeline", "zscore|kmeans:k=two", "-o", out_bad])
    expect("analyze: a bad pipeline, exit 2", r.returncode == 2 and b"pipeline stage 'kmeans': k 'two' is not a number" in r.stderr,
           r.stderr)
    sig = os.path.join(tmp, "sig.txt")
    open(sig, "w").write("[x]\nactivity = y\nwhen = port 23 => 1\n")
    r = run(["analyze", day[0], "--signatures", sig, "-o", out_bad])
    expect("analyze: a broken catalog, exit 4 with file and line", r.returncode == 4 and
           f"{sig}:3: unknown comparison '=>'".encode() in r.stderr, r.stderr)
    r = run(["classify", "--db", os.path.join(tmp, "none.db"), day[1], "-o", out_bad])
    expect("classify: no database, exit 3", r.returncode == 3 and b"none.db: no such pattern database" in r.stderr,
           r.stderr)
    r = run(["classify", "--db", db, "--model", "2", day[1], "-o", out_bad])
    expect("classify: a classify run as model, exit 2", r.returncode == 2 and
           b"run 2 is a classify run; give the id of an analyze run" in r.stderr, r.stderr)
    r = run(["classify", "--db", db, "--model", "99", day[1], "-o", out_bad])
    expect("classify: no such run, exit 2", r.returncode == 2 and b"patterns.db: no run 99" in r.stderr, r.stderr)
    empty_db = os.path.join(tmp, "empty.db")
    run(["patterns", "list", "--db", db])
    sqlite3.connect(empty_db).close()
    r = run(["classify", "--db", empty_db, day[1], "-o", out_bad])
    expect("classify: a database without a model, exit 2", r.returncode == 2 and
           b"holds no analysed window yet" in r.stderr, r.stderr)
    numdb = os.path.join(tmp, "num.db")
    r = run(["analyze", day[0], "--family", "agm-num", "--pipeline", "zscore|kmeans:k=3", "--db", numdb,
             "-o", os.path.join(tmp, "num")])
    r = run(["classify", "--db", numdb, day[1], "-o", out_bad])
    expect("classify: an agm-num model, exit 2 saying why", r.returncode == 2 and
           b"uses agm-num, whose port columns are chosen per window" in r.stderr, r.stderr)
    # A model whose stored columns are not those the new window gets.
    import shutil
    odd = os.path.join(tmp, "odd.db")
    shutil.copy(db, odd)
    con = sqlite3.connect(odd)
    con.execute("UPDATE runs SET columns = '[\"x\"]' WHERE id = 1")
    con.commit()
    con.close()
    r = run(["classify", "--db", odd, "--no-store", day[1], "-o", out_bad])
    expect("classify: columns unlike the model's, exit 4", r.returncode == 4 and
           b"classify: the new window has 88 feature columns, model 1 has 1; they must be the same" in r.stderr,
           r.stderr)
    # A model watching another prefix: nothing of the new window is left.
    shutil.copy(db, odd)
    con = sqlite3.connect(odd)
    features = json.loads(con.execute("SELECT features FROM runs WHERE id = 1").fetchone()[0])
    features["prefix"] = ["10.0.0.0/24"]
    con.execute("UPDATE runs SET features = ? WHERE id = 1", (json.dumps(features),))
    con.commit()
    con.close()
    r = run(["classify", "--db", odd, "--no-store", day[1], "-o", out_bad])
    expect("classify: no source inside the model's prefix, exit 2", r.returncode == 2 and
           b"classify: no source left in the captures after filtering" in r.stderr, r.stderr)
    r = run(["analyze", day[0], "-o", "/dev/null/out"])
    expect("analyze: an output directory that cannot be made, exit 3", r.returncode == 3 and
           b"/dev/null/out: cannot create the output directory" in r.stderr, r.stderr)
    r = run(["patterns", "list", "--db", os.path.join(tmp, "none.db")])
    expect("patterns: no database, exit 3", r.returncode == 3 and b"none.db: no such pattern database" in r.stderr,
           r.stderr)
    r = run(["patterns", "show", "--db", db, "999"])
    expect("patterns show: no such pattern, exit 2", r.returncode == 2 and b"no pattern 999" in r.stderr, r.stderr)
    notdb = os.path.join(tmp, "notes.db")
    open(notdb, "w").write("x" * 5000)
    r = run(["patterns", "list", "--db", notdb])
    expect("patterns: a file that is not a database, exit 4", r.returncode == 4 and
           b"notes.db: not an SQLite database" in r.stderr, r.stderr)

    # Real captures (tests/data, README there).
    one = os.path.join(shared, "bbn_one_scanner_2021-09-26.pcap")
    r = run(["analyze", one, "-o", os.path.join(tmp, "one")])
    expect("analyze: one source is too few, exit 2 saying so", r.returncode == 2 and
           b"1 sources left in the captures after filtering; at least 3 are needed to cluster" in r.stderr,
           r.stderr)
    storm = os.path.join(shared, "greynoise_spoofed_storm_rawip.pcap")
    gn = os.path.join(tmp, "storm")
    r = run(["analyze", storm, "-q", "-o", gn])
    prof = json.load(open(os.path.join(gn, "profiles.json"))) if r.returncode == 0 else []
    back = [p for p in prof if any(a["id"] == "backscatter" for a in p["activities"])]
    expect("a real spoofed-traffic capture: its backscatter sources form a cluster explained as backscatter",
           r.returncode == 0 and back and all(c["key"] == "backscatter" and c["share"] > 0.99
                                                for p in back for c in p["classes"][:1]), (r.stderr, prof[:1]))
    dv = os.path.join(tmp, "darkvec")
    r = run(["analyze", os.path.join(shared, "darknet01_20210501.csv.gz"), "--gt",
             os.path.join(shared, "darkvec_ground_truth.csv"), "-q", "-o", dv])
    s = json.load(open(os.path.join(dv, "summary.json"))) if r.returncode == 0 else {}
    expect("a DarkVec CSV log analyses", r.returncode == 0 and s.get("sources", 0) > 100, r.stderr)

failed = [r for r in results if not r[1]]
for name, ok, detail in results:
    print(("ok   " if ok else "FAIL ") + name + ("" if ok else f"  [{detail!r}]"))
print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
sys.exit(1 if failed else 0)
