#!/usr/bin/python3
"""`darklens stats --json` must agree with Wireshark's capinfos and tshark.

Runs on the shared real captures and on a synthetic day written by
`darklens synth` (TCP, UDP, ICMP errors that quote packets, GRE). For every
capture it compares: packets, bytes, first/last timestamp (capinfos), and,
from tshark's per-packet fields (first occurrence = outer header): distinct
sources and destinations, packets per IP protocol, the top-10 destination
ports and the TCP flag combinations.
Exit 77 (skipped) when tshark or capinfos is missing.
"""
import collections
import json
import os
import shutil
import subprocess
import sys
import tempfile

darklens, shared = sys.argv[1], sys.argv[2]
if not shutil.which("tshark") or not shutil.which("capinfos"):
    print("SKIP: tshark/capinfos not installed (scripts/setup.sh installs them)")
    sys.exit(77)

failures = []


def check(name, what, ours, theirs):
    if ours != theirs:
        failures.append(f"{name}: {what}: darklens {ours!r} != wireshark {theirs!r}")


def wireshark(path):
    out = subprocess.run(["capinfos", "-T", "-r", "-c", "-d", "-a", "-e", "-S", path],
                         check=True, capture_output=True, text=True).stdout.strip()
    _, packets, size, first, last = out.split("\t")
    fields = subprocess.run(
        ["tshark", "-n", "-r", path, "-T", "fields", "-E", "occurrence=f", "-E", "separator=,",
         "-e", "ip.src", "-e", "ip.dst", "-e", "ip.proto", "-e", "tcp.dstport",
         "-e", "udp.dstport", "-e", "tcp.flags"],
        check=True, capture_output=True, text=True).stdout
    src, dst = set(), set()
    protos, ports, flags = collections.Counter(), collections.Counter(), collections.Counter()
    for line in fields.splitlines():
        s, d, proto, tport, uport, fl = line.split(",")
        if not s:
            continue
        src.add(s)
        dst.add(d)
        proto = int(proto)
        protos[proto] += 1
        if proto == 6 and tport:
            ports[("tcp", int(tport))] += 1
            flags[int(fl, 16) & 0xff] += 1
        elif proto == 17 and uport:
            ports[("udp", int(uport))] += 1
    top = sorted(ports.items(), key=lambda kv: (-kv[1], kv[0][0], kv[0][1]))[:10]
    return {
        "packets": int(packets), "bytes": int(size),
        "first_us": round(float(first) * 1e6), "last_us": round(float(last) * 1e6),
        "sources": len(src), "destinations": len(dst),
        "protocols": dict(protos), "top": [(p, port, n) for (p, port), n in top],
        "flags": dict(flags),
    }


def ours(path):
    out = subprocess.run([darklens, "stats", "--json", path], check=True,
                         capture_output=True, text=True).stdout
    j = json.loads(out)
    return {
        "packets": j["packets"], "bytes": j["bytes"],
        "first_us": j["first_ts_ns"] // 1000, "last_us": j["last_ts_ns"] // 1000,
        "sources": j["distinct_sources"], "destinations": j["distinct_destinations"],
        "protocols": {p["proto"]: p["packets"] for p in j["protocols"]},
        "top": [(p["proto"], p["port"], p["packets"]) for p in j["top_dst_ports"]],
        "flags": {f["flags"]: f["packets"] for f in j["tcp_flags"]},
    }


with tempfile.TemporaryDirectory() as tmp:
    subprocess.run([darklens, "synth", "--days", "1", "--sources", "1500", "--seed", "11",
                    "-o", tmp, "-q"], check=True)
    captures = [os.path.join(shared, "bbn_one_scanner_2021-09-26.pcap"),
                os.path.join(shared, "greynoise_spoofed_storm_rawip.pcap"),
                os.path.join(tmp, "darknet-2021-05-01.pcap")]
    for path in captures:
        a, b = ours(path), wireshark(path)
        for key in a:
            check(os.path.basename(path), key, a[key], b[key])
        print(f"{os.path.basename(path)}: {a['packets']} packets, {a['sources']} sources, "
              f"{len(a['protocols'])} protocols compared")

for f in failures:
    print("MISMATCH", f)
print(f"{len(captures) * 9 - len(failures)} passed, {len(failures)} failed")
sys.exit(1 if failures else 0)
