#!/usr/bin/python3
"""CAIDA FlowTuple (corsaro3 Avro) input against an independent reference:
each capture is turned into FlowTuple records by this script (dpkt parses
the packets, python3-avro writes the container file, as corsaro3 does:
minute bins, one record per (bin, source, destination, ports, protocol, TTL,
flags, IP length, SYN length and window) with its packet count). darklens
must then read the same packets from the records and compute the same
features wherever the format keeps the information (docs/ingest.md), say
what it cannot measure, and refuse or count damaged files by name."""
import csv
import gzip
import io
import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
from collections import Counter

import avro.datafile
import avro.io
import avro.schema
import dpkt

darklens, data = sys.argv[1], sys.argv[2]
results = []

# corsaro3's schema (libcorsaro/plugins/corsaro_flowtuple.c).
FIELDS = [("time", "long"), ("src_ip", "long"), ("dst_ip", "long"), ("src_port", "int"), ("dst_port", "int"),
          ("protocol", "int"), ("ttl", "int"), ("tcp_flags", "int"), ("ip_len", "int"), ("tcp_synlen", "int"),
          ("tcp_synwinlen", "int"), ("packet_cnt", "long"), ("is_spoofed", "int"), ("is_masscan", "int"),
          ("maxmind_continent", "string"), ("maxmind_country", "string"), ("netacq_continent", "string"),
          ("netacq_country", "string"), ("prefix2asn", "long")]


def schema(fields):
    return avro.schema.parse(json.dumps({"type": "record", "namespace": "org.caida.corsaro", "name": "flowtuple",
                                         "fields": [{"name": n, "type": t} for n, t in fields]}))


def expect(name, cond, detail=""):
    results.append((name, bool(cond), detail))


def run(args, **kw):
    return subprocess.run([darklens] + args, capture_output=True, text=True, **kw)


def tuples(pcap):
    """corsaro3's FlowTuple aggregation of a capture's IPv4 packets."""
    out = Counter()
    with open(pcap, "rb") as f:
        r = dpkt.pcap.Reader(f)
        link = r.datalink()
        for ts, buf in r:
            try:
                ip = dpkt.ethernet.Ethernet(buf).data if link == dpkt.pcap.DLT_EN10MB else dpkt.ip.IP(buf)
            except (dpkt.UnpackError, IndexError):
                continue
            if not isinstance(ip, dpkt.ip.IP):
                continue
            sport = dport = flags = synlen = synwin = 0
            t = ip.data
            if isinstance(t, (dpkt.tcp.TCP, dpkt.udp.UDP)):
                sport, dport = t.sport, t.dport
            if isinstance(t, dpkt.tcp.TCP):
                flags = t.flags & 0xff
                if flags == 0x02:
                    synlen, synwin = t.off * 4, t.win
            if isinstance(t, dpkt.icmp.ICMP):
                sport, dport = t.type, t.code
            key = (int(ts) // 60 * 60, struct.unpack("!I", ip.src)[0], struct.unpack("!I", ip.dst)[0], sport, dport,
                   ip.p, ip.ttl, flags, ip.len, synlen, synwin)
            out[key] += 1
    return out


def write_avro(path, recs, fields=FIELDS, codec="deflate"):
    with open(path, "wb") as f:
        w = avro.datafile.DataFileWriter(f, avro.io.DatumWriter(), schema(fields), codec=codec)
        for r in recs:
            w.append({n: r.get(n, "??" if t == "string" else 0) for n, t in fields})
        w.close()


def records(counts):
    names = [n for n, _ in FIELDS[:11]]
    return [dict(zip(names, k), packet_cnt=c) for k, c in sorted(counts.items())]


def features(path, out, extra=()):
    r = run(["features", path, "--window", "1h", "--family", "agm,agm-num,intensity,temporal,fingerprints", "-o",
             out, "-q", *extra])
    assert r.returncode == 0, r.stderr
    with open(out) as f:
        return {(row["source"], row["window_start"]): row for row in csv.DictReader(f)}


with tempfile.TemporaryDirectory() as tmp:
    assert run(["synth", "--days", "1", "--sources", "800", "--seed", "9", "-q", "-o",
                os.path.join(tmp, "days")]).returncode == 0
    caps = {"synthetic day": os.path.join(tmp, "days", "darknet-2021-05-01.pcap"),
            "BBN telescope (Ethernet)": os.path.join(data, "bbn_one_scanner_2021-09-26.pcap"),
            "GreyNoise storm (raw IP)": os.path.join(data, "greynoise_spoofed_storm_rawip.pcap")}
    for what, cap in caps.items():
        counts = tuples(cap)
        ft = os.path.join(tmp, "x.avro")
        write_avro(ft, records(counts))
        packets = sum(counts.values())

        r = run(["stats", ft, "--json"])
        s = json.loads(r.stdout) if r.returncode == 0 else {}
        f0 = (s.get("files") or [{}])[0]
        expect(f"{what}: stats reads {len(counts)} records as {packets} packets, format flowtuple",
               s.get("packets") == packets and f0.get("format") == "flowtuple" and
               f0.get("flow_records") == len(counts) and f0.get("decoded") == packets, r.stderr + r.stdout[:400])
        expect(f"{what}: stats warns what FlowTuple does not keep",
               any("FlowTuple records" in w and "not recorded" in w for w in s.get("warnings", [])), s.get("warnings"))

        # The same features where the format keeps the information: every
        # count of the AGM families, the intensity columns but flows (their
        # gaps are measured between bin starts), the hours of the day, the
        # TTL and SYN-window fingerprints.
        a = features(cap, os.path.join(tmp, "a.csv"), ["--filter", "ip"])
        b = features(ft, os.path.join(tmp, "b.csv"))
        cols = [c for c in next(iter(a.values())) if c not in ("source", "window_start", "window_end")]
        exact = [c for c in cols if c.startswith(("agm_", "num_", "tmp_hour_")) or c == "tmp_active_hours" or
                 (c.startswith("int_") and not c.endswith("_flows")) or c in ("fp_ttl_ge_200", "fp_syn_win_mode")]
        diff = [(k, c, a[k][c], b[k][c]) for k in a if k in b for c in exact if float(a[k][c]) != float(b[k][c])]
        expect(f"{what}: the same {len(a)} (source, window) rows", set(a) == set(b),
               f"{len(set(a) ^ set(b))} rows differ")
        expect(f"{what}: {len(exact)} columns equal on every row", not diff, diff[:5])
        zero = [c for c in ("fp_zmap", "fp_masscan", "fp_mirai", "fp_syn_mss_mode", "fp_syn_options_mode")
                if any(float(v[c]) != 0 for v in b.values())]
        expect(f"{what}: fingerprints the format cannot carry stay 0", not zero, zero)

    # Compressed, standard input, and a BPF filter over the records.
    counts = tuples(caps["synthetic day"])
    ft = os.path.join(tmp, "day.avro")
    write_avro(ft, records(counts), codec="null")
    packets = sum(counts.values())
    with open(ft, "rb") as f, gzip.open(ft + ".gz", "wb") as g:
        g.write(f.read())
    r = run(["stats", ft + ".gz", "--json"])
    expect("gzip-compressed FlowTuple: the same packets", r.returncode == 0 and json.loads(r.stdout)["packets"] ==
           packets, r.stderr)
    with open(ft, "rb") as f:
        r = run(["stats", "-", "--json"], stdin=f)
    expect("FlowTuple on standard input: the same packets", r.returncode == 0 and json.loads(r.stdout)["packets"] ==
           packets, r.stderr)
    tcp = sum(c for k, c in counts.items() if k[5] == 6)
    r = run(["features", ft, "--filter", "tcp", "--family", "agm", "-o", os.path.join(tmp, "tcp.csv"), "-q"])
    kept = sum(int(row["agm_packets"]) for row in csv.DictReader(open(os.path.join(tmp, "tcp.csv")))) \
        if r.returncode == 0 else -1
    expect(f"--filter tcp keeps the {tcp} TCP packets of the records", kept == tcp, f"{kept} {r.stderr}")

    # Damaged files: counted by reason, or refused naming the file.
    bad = os.path.join(tmp, "bad.avro")
    write_avro(bad, [dict(time=1620000000, src_ip=1, dst_ip=2, protocol=6, dst_port=70000, packet_cnt=3),
                     dict(time=1620000000, src_ip=1, dst_ip=2, protocol=6, dst_port=80, packet_cnt=0),
                     dict(time=1620000000, src_ip=1, dst_ip=2, protocol=6, dst_port=80, packet_cnt=2)])
    r = run(["stats", bad, "--json"])
    s = json.loads(r.stdout) if r.returncode == 0 else {}
    expect("a port above 65535 and a count of 0: two flowtuple_bad_record, the good record's 2 packets kept",
           s.get("decoded") == 2 and s.get("anomalies", {}).get("flowtuple_bad_record") == 2 and
           s.get("first_ts_ns") == 1620000000 * 10**9, s)
    lacks = os.path.join(tmp, "lacks.avro")
    write_avro(lacks, [dict(time=1, src_ip=1, dst_ip=2)], fields=[f for f in FIELDS if f[0] != "packet_cnt"])
    r = run(["stats", lacks])
    expect("a schema without packet_cnt: refused, exit 4, naming the file and the field",
           r.returncode == 4 and "lacks.avro: FlowTuple schema lacks field 'packet_cnt'" in r.stderr, r.stderr)
    nested = os.path.join(tmp, "nested.avro")
    write_avro(nested, [], fields=FIELDS + [("extra", {"type": "array", "items": "long"})])
    r = run(["stats", nested])
    expect("a schema with an array field: refused as not a FlowTuple file",
           r.returncode == 4 and "nested.avro: not a FlowTuple file: field 'extra'" in r.stderr, r.stderr)
    with open(ft, "rb") as f:
        whole = f.read()
    cut = os.path.join(tmp, "cut.avro")
    with open(cut, "wb") as f:
        f.write(whole[:len(whole) * 2 // 3])
    r = run(["stats", cut, "--json"])
    s = json.loads(r.stdout) if r.returncode == 0 else {}
    expect("a truncated FlowTuple file: read up to the damage, the stop said in a warning naming it",
           r.returncode == 0 and 0 < s.get("packets", 0) < packets and
           any(w.startswith(cut + ": ") and "FlowTuple records)" in w for w in s.get("warnings", [])),
           r.stdout[-600:] + r.stderr)
    hdr = os.path.join(tmp, "hdr.avro")
    with open(hdr, "wb") as f:
        f.write(whole[:6])
    r = run(["stats", hdr])
    expect("an Avro header cut short: refused, exit 4, naming the file", r.returncode == 4 and
           "hdr.avro: cannot read Avro header" in r.stderr, r.stderr)

    # The whole method runs on FlowTuple input.
    r = run(["analyze", ft, "-o", os.path.join(tmp, "an"), "-q"])
    expect("analyze runs on a FlowTuple day", r.returncode == 0 and
           os.path.exists(os.path.join(tmp, "an", "clusters.csv")), r.stderr)

failed = [r for r in results if not r[1]]
for name, ok, detail in results:
    print(("ok   " if ok else "FAIL ") + name + ("" if ok else f"  {detail}"))
print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
sys.exit(1 if failed else 0)
