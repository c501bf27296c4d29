#!/usr/bin/python3
"""The AGM aggregation as a typical research pipeline writes it: dpkt reads
the pcap, Python counters per source and field, a CSV out. Used by
bench/features_vs_peers.py as the baseline darklens is compared with."""
import collections
import socket
import sys

import dpkt

FIELDS = 7  # dst_ip, src_port, dst_port, proto, ttl, tcp_flags, size


def main(path, out):
    per_source = collections.defaultdict(lambda: [collections.Counter() for _ in range(FIELDS)])
    with open(path, "rb") as f:
        for ts, buf in dpkt.pcap.Reader(f):
            eth = dpkt.ethernet.Ethernet(buf)
            ip = eth.data
            if not isinstance(ip, dpkt.ip.IP):
                continue
            sport = dport = flags = 0
            l4 = ip.data
            if isinstance(l4, dpkt.tcp.TCP):
                sport, dport, flags = l4.sport, l4.dport, l4.flags
            elif isinstance(l4, dpkt.udp.UDP):
                sport, dport = l4.sport, l4.dport
            window = int(ts // 86400) * 86400
            key = (socket.inet_ntoa(ip.src), window)
            c = per_source[key]
            for i, v in enumerate((ip.dst, sport, dport, ip.p, ip.ttl, flags, ip.len)):
                c[i][v] += 1
    with open(out, "w") as f:
        for (src, window), c in sorted(per_source.items()):
            row = [src, str(window), str(sum(c[0].values()))]
            for counter in c:
                mode, n = min(counter.items(), key=lambda kv: (-kv[1], kv[0]))
                row += [str(len(counter)), str(mode if not isinstance(mode, bytes) else int.from_bytes(mode, "big")), str(n)]
            f.write(",".join(row) + "\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
