#!/usr/bin/python3
"""analyze --rdns N against a real DNS server on loopback: Debian's dnsmasq
serving PTR records from a hosts file written here (no mock). Each
cluster's N heaviest sources are checked against an oracle computed from
analyze's own clusters.csv and features.csv (packets per source summed over
its windows in the cluster, most first, ties by address), and their names
against the hosts file. Exit 77 (skipped) when dnsmasq is not installed
(scripts/setup.sh installs dnsmasq-base).

usage: rdns_profile_test.py DARKLENS"""
import csv
import ipaddress
import json
import os
import subprocess
import sys
import tempfile
from collections import defaultdict

from loopback_dns import find_dnsmasq, free_port, start

darklens = sys.argv[1]
dnsmasq = find_dnsmasq()
if not dnsmasq:
    print("skipped: dnsmasq is not installed (scripts/setup.sh installs dnsmasq-base)")
    sys.exit(77)

results = []


def expect(name, ok, detail=""):
    results.append((name, bool(ok), detail))


def run(args):
    return subprocess.run([darklens] + args, capture_output=True, text=True)


with tempfile.TemporaryDirectory() as tmp:
    os.chdir(tmp)
    r = run(["synth", "-o", "s", "--sources", "300", "--seed", "3", "-q"])
    assert r.returncode == 0, r.stderr
    cap = "s/darknet-2021-05-01.pcap"
    r = run(["analyze", cap, "-o", "plain", "-q"])
    assert r.returncode == 0, r.stderr
    cluster_of, packets = {}, defaultdict(int)
    with open("plain/clusters.csv") as f:
        for row in csv.DictReader(f):
            cluster_of[(row["source"], row["window_start"])] = int(row["cluster"])
    with open("plain/features.csv") as f:
        for row in csv.DictReader(f):
            c = cluster_of[(row["source"], row["window_start"])]
            packets[(c, row["source"])] += int(float(row["agm_packets"]))
    oracle = defaultdict(list)
    for (c, src), n in packets.items():
        oracle[c].append((src, n))
    for c in oracle:
        oracle[c].sort(key=lambda x: (-x[1], ipaddress.ip_address(x[0])))
        oracle[c] = oracle[c][:3]
    sources = sorted({src for _, src in packets}, key=ipaddress.ip_address)
    # Every other source has a name; the rest answer NXDOMAIN.
    names = {s: f"host-{s.replace('.', '-')}.Scan.Example.NET" for i, s in enumerate(sources) if i % 2 == 0}
    with open("hosts", "w") as f:
        for s, n in names.items():
            f.write(f"{s} {n}\n")
    port = free_port()
    server = start(dnsmasq, tmp, port, ["--addn-hosts=hosts"])
    try:
        r = run(["analyze", cap, "-o", "named", "--rdns", "3", "--resolver", f"127.0.0.1:{port}",
                 "--timeout-ms", "500", "--tries", "2"])
        expect("analyze --rdns 3: exit 0", r.returncode == 0, r.stderr[-500:])
        profiles = json.load(open("named/profiles.json")) if r.returncode == 0 else []
        if isinstance(profiles, dict):
            profiles = profiles.get("profiles", [])
        got = {p["cluster"]: [(h["source"], h["packets"]) for h in p.get("heaviest_sources", [])] for p in profiles}
        expect("each cluster's three heaviest sources equal the oracle's", got == dict(oracle),
               [(c, got.get(c), oracle[c]) for c in oracle if got.get(c) != oracle[c]][:3])
        ptrs = {h["source"]: h["ptr"] for p in profiles for h in p.get("heaviest_sources", [])}
        expect("names as the server gave them (DNS names ignore case), null for an address without one",
               ptrs and all((ptrs[s] or "").lower() == (names[s].lower() if s in names else "") and
                            (ptrs[s] is None) == (s not in names) for s in ptrs) and
               any(v is None for v in ptrs.values()) and any(v for v in ptrs.values()), ptrs)
        summary = json.load(open("named/summary.json")) if r.returncode == 0 else {}
        rd = summary.get("rdns", {})
        expect("summary.json says what was asked and answered",
               rd.get("addresses") == len(ptrs) and rd.get("named") == sum(v is not None for v in ptrs.values())
               and rd.get("per_cluster") == 3 and rd.get("resolver") == f"127.0.0.1:{port}", rd)
        expect("a progress line counts the names", "heaviest sources," in r.stderr and " named, " in r.stderr,
               r.stderr[-300:])
        html = open("named/report.html").read() if r.returncode == 0 else ""
        some = next((v for v in ptrs.values() if v), "")
        expect("the report lists them", "heaviest sources (packets, reverse DNS)" in html and some in html)
        plain = json.load(open("plain/profiles.json"))
        if isinstance(plain, dict):
            plain = plain.get("profiles", [])
        expect("without --rdns the profiles carry no list", all("heaviest_sources" not in p for p in plain))
        # The same with classify, against the stored model.
        r = run(["analyze", cap, "-o", "m", "-q", "--db", "p.db"])
        r = run(["classify", cap, "-o", "c", "-q", "--db", "p.db", "--rdns", "2", "--resolver",
                 f"127.0.0.1:{port}"])
        cp = json.load(open("c/profiles.json")) if r.returncode == 0 else []
        if isinstance(cp, dict):
            cp = cp.get("profiles", [])
        expect("classify --rdns 2: two named heaviest sources per group",
               r.returncode == 0 and cp and all(len(p["heaviest_sources"]) <= 2 for p in cp) and
               any(h["ptr"] for p in cp for h in p["heaviest_sources"]), r.stderr[-300:])
    finally:
        server.terminate()
        server.wait()

    # Refusals, before any work; a resolver that never answers: exit 3, nothing written.
    r = run(["analyze", cap, "-o", "x", "-q", "--rdns", "101"])
    expect("--rdns beyond 100: exit 2", r.returncode == 2 and "--rdns" in r.stderr, r.stderr)
    r = run(["analyze", cap, "-o", "x", "-q", "--resolver", "127.0.0.1"])
    expect("--resolver without --rdns: exit 2", r.returncode == 2 and "--resolver requires --rdns" in r.stderr,
           r.stderr)
    r = run(["analyze", cap, "-o", "dead", "-q", "--rdns", "2", "--resolver", f"127.0.0.1:{free_port()}",
             "--timeout-ms", "100", "--tries", "1"])
    expect("a resolver that never answers: exit 3 naming it, no output",
           r.returncode == 3 and "no answer to any of" in r.stderr and not os.path.exists("dead/summary.json"),
           r.stderr)

failed = [r for r in results if not r[1]]
for name, ok, detail in results:
    print(("ok   " if ok else "FAIL ") + name + ("" if ok else f"  {detail}"))
print(f"{len(results) - len(failed)}/{len(results)} checks passed")
sys.exit(1 if failed else 0)
