#!/usr/bin/python3
"""A backscatter storm: N one-packet sources (spoofed SYN-ACKs from random
addresses to a /24 telescope, one per source) as a classic pcap, the shape
that makes per-source state dominate. Deterministic for a seed.

    bench/storm.py OUT.pcap [--sources 5000000] [--seed 1]
"""
import argparse
import random
import struct

ap = argparse.ArgumentParser()
ap.add_argument("out")
ap.add_argument("--sources", type=int, default=5_000_000)
ap.add_argument("--seed", type=int, default=1)
args = ap.parse_args()

rng = random.Random(args.seed)
start = 1619827200  # 2021-05-01 00:00 UTC
span = 3600  # one hour
with open(args.out, "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101))  # raw IPv4
    # N distinct addresses: a random odd stride through the 32-bit space.
    base, stride = rng.getrandbits(32), rng.getrandbits(32) | 1
    buf = bytearray()
    for i in range(args.sources):
        src = (base + i * stride) & 0xFFFFFFFF
        dst = (0xC0A80000 | rng.getrandbits(8))  # 192.168.0.0/24
        t_us = start * 1_000_000 + (i * span * 1_000_000) // args.sources
        sport, dport = rng.choice((80, 443, 22, 53)), rng.getrandbits(16)
        ip = struct.pack("!BBHHHBBHII", 0x45, 0, 40, rng.getrandbits(16), 0, rng.randrange(40, 250), 6, 0, src, dst)
        tcp = struct.pack("!HHIIBBHHH", sport, dport, rng.getrandbits(32), rng.getrandbits(32), 0x50, 0x12, 65535, 0, 0)
        buf += struct.pack("<IIII", t_us // 1_000_000, t_us % 1_000_000, 40, 40) + ip + tcp
        if len(buf) > 1 << 20:
            f.write(buf)
            buf.clear()
    f.write(buf)
