#!/usr/bin/python3
"""`darklens features --family agm,temporal,intensity` against an independent
Python computation over tshark's per-packet fields (first occurrence =
outer header): all 22 AGM columns, the 24 hourly counts, first/last seen,
and the intensity flows (idle timeout 60 s) and per-protocol packets and
flows, per (source, 24 h window), on the shared real captures and a
synthetic day.
Exit 77 (skipped) when tshark is missing."""
import collections
import csv
import ipaddress
import os
import shutil
import subprocess
import sys
import tempfile

darklens, shared = sys.argv[1], sys.argv[2]
if not shutil.which("tshark"):
    print("SKIP: tshark not installed (scripts/setup.sh installs it)")
    sys.exit(77)

FIELDS = ["dst_ip", "src_port", "dst_port", "proto", "ttl", "tcp_flags", "size"]


def reference(path):
    out = subprocess.run(
        ["tshark", "-n", "-r", path, "-T", "fields", "-E", "occurrence=f", "-E", "separator=,",
         "-e", "frame.time_epoch", "-e", "ip.src", "-e", "ip.dst", "-e", "ip.proto", "-e", "ip.ttl",
         "-e", "ip.len", "-e", "tcp.srcport", "-e", "tcp.dstport", "-e", "udp.srcport",
         "-e", "udp.dstport", "-e", "tcp.flags"],
        check=True, capture_output=True, text=True).stdout
    rows = collections.defaultdict(lambda: {"n": 0, "f": [collections.Counter() for _ in FIELDS],
                                            "hours": [0] * 24, "times": [],
                                            "flow_last": {}, "flows": 0,
                                            "proto_packets": collections.Counter(),
                                            "proto_flows": collections.Counter()})
    for line in out.splitlines():
        t, src, dst, proto, ttl, ln, tsp, tdp, usp, udp, fl = line.split(",")
        if not src:
            continue
        sec, frac = t.split(".")
        ts_ns = int(sec) * 10**9 + int(frac.ljust(9, "0")[:9])
        window = ts_ns // (86400 * 10**9) * 86400 * 10**9
        proto = int(proto)
        sport = dport = 0
        if proto == 6 and tsp:
            sport, dport = int(tsp), int(tdp)
        elif proto == 17 and usp:
            sport, dport = int(usp), int(udp)
        flags = int(fl, 16) & 0xff if proto == 6 and fl else 0
        values = [int(ipaddress.IPv4Address(dst)), sport, dport, proto, int(ttl), flags, int(ln)]
        r = rows[(src, window)]
        r["n"] += 1
        for c, v in zip(r["f"], values):
            c[v] += 1
        r["hours"][ts_ns // (3600 * 10**9) % 24] += 1
        r["times"].append(ts_ns)
        group = {6: "tcp", 17: "udp", 1: "icmp"}.get(proto, "other")
        r["proto_packets"][group] += 1
        key = (dst, sport, dport, proto)
        last = r["flow_last"].get(key)
        if last is None or ts_ns - last > 60 * 10**9:
            r["flows"] += 1
            r["proto_flows"][group] += 1
        r["flow_last"][key] = ts_ns if last is None else max(last, ts_ns)
    table = {}
    for (src, window), r in rows.items():
        cols = {"agm_packets": r["n"]}
        for name, c in zip(FIELDS, r["f"]):
            mode, count = min(c.items(), key=lambda kv: (-kv[1], kv[0]))
            cols[f"agm_{name}_distinct"] = len(c)
            cols[f"agm_{name}_mode"] = mode
            cols[f"agm_{name}_mode_packets"] = count
        for h in range(24):
            cols[f"tmp_hour_{h:02d}"] = r["hours"][h]
        cols["tmp_active_hours"] = sum(1 for h in r["hours"] if h)
        cols["tmp_first_seen_s"] = (min(r["times"]) - window) / 1e9
        cols["tmp_last_seen_s"] = (max(r["times"]) - window) / 1e9
        cols["int_flows"] = r["flows"]
        for g in ("tcp", "udp", "icmp", "other"):
            cols[f"int_{g}_packets"] = r["proto_packets"][g]
            cols[f"int_{g}_flows"] = r["proto_flows"][g]
        table[src] = cols
    return table


def ours(path, tmp):
    out = os.path.join(tmp, "f.csv")
    subprocess.run([darklens, "features", "--family", "agm,temporal,intensity", "-q", path, "-o", out],
                   check=True)
    with open(out) as f:
        return {row["source"]: row for row in csv.DictReader(f)}


failures, compared = [], 0
with tempfile.TemporaryDirectory() as tmp:
    subprocess.run([darklens, "synth", "--sources", "800", "--seed", "4", "-o", tmp, "-q"], check=True)
    for path in [os.path.join(shared, "bbn_one_scanner_2021-09-26.pcap"),
                 os.path.join(shared, "greynoise_spoofed_storm_rawip.pcap"),
                 os.path.join(tmp, "darknet-2021-05-01.pcap")]:
        ref, got = reference(path), ours(path, tmp)
        if set(ref) != set(got):
            failures.append(f"{path}: sources differ: {len(ref)} vs {len(got)}")
            continue
        for src, cols in ref.items():
            for name, want in cols.items():
                have = float(got[src][name])
                ok = abs(have - want) <= 1e-6 if isinstance(want, float) else have == want
                compared += 1
                if not ok:
                    failures.append(f"{os.path.basename(path)} {src} {name}: darklens {have} != reference {want}")
        print(f"{os.path.basename(path)}: {len(ref)} sources, {len(next(iter(ref.values())))} columns each")

for f in failures[:20]:
    print("MISMATCH", f)
print(f"{compared - len(failures)} passed, {len(failures)} failed")
sys.exit(1 if failures else 0)
