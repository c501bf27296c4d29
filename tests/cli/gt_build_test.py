#!/usr/bin/python3
"""darklens gt build against a real DNS server on loopback: Debian's dnsmasq
with --ptr-record entries, started and stopped here (no mock). Exit 77
(skipped) when dnsmasq is not installed (scripts/setup.sh installs it).

usage: gt_build_test.py DARKLENS"""
import csv
import os
import subprocess
import sys
import tempfile

from loopback_dns import find_dnsmasq, free_port, start

darklens = sys.argv[1]
dnsmasq = find_dnsmasq()
if not dnsmasq:
    print("skipped: dnsmasq is not installed (scripts/setup.sh installs dnsmasq-base)")
    sys.exit(77)

results = []


def expect(name, ok, detail=""):
    results.append((name, bool(ok), detail))


ptr = {
    "71.6.232.5": "scanner-05.ch1.censys-scanner.com",
    "71.6.232.6": "scanner-06.CH1.Censys-Scanner.com.",
    "198.20.69.74": "census1.shodan.io",
    "141.212.123.10": "researchscan10.eecs.umich.edu",
    "192.0.2.44": "host44.example.net",            # a name no rule knows
    "2001:db8::7": "scan-7.shadowserver.org",
}
with tempfile.TemporaryDirectory() as tmp:
    port = free_port()
    records = []
    for ip, name in ptr.items():
        if ":" in ip:
            import ipaddress
            rev = ipaddress.ip_address(ip).reverse_pointer
        else:
            rev = ".".join(reversed(ip.split("."))) + ".in-addr.arpa"
        records.append(f"--ptr-record={rev},{name.rstrip('.')}")
    server = start(dnsmasq, tmp, port, records)
    try:
        ips = os.path.join(tmp, "ips.txt")
        # A header, duplicates, an address without a record (a private one: --bogus-priv answers NXDOMAIN).
        open(ips, "w").write("ip\n" + "\n".join(list(ptr) + ["71.6.232.5", "10.1.2.3"]) + "\n")
        gt, names = os.path.join(tmp, "gt.csv"), os.path.join(tmp, "names.csv")
        r = subprocess.run([darklens, "gt", "build", "--ips", ips, "--resolver", f"127.0.0.1:{port}",
                            "--timeout-ms", "500", "--tries", "2", "--concurrency", "3", "-o", gt, "--names", names],
                           capture_output=True, text=True)
        rows = {row["ip"]: row["label"] for row in csv.DictReader(open(gt))} if r.returncode == 0 else {}
        expect("labels by suffix, case and trailing dot ignored, regex for umich, IPv6 too",
               rows == {"71.6.232.5": "censys", "71.6.232.6": "censys", "198.20.69.74": "shodan",
                        "141.212.123.10": "u_mich", "2001:db8::7": "shadowserver"}, r.stderr + str(rows))
        named = {row["ip"]: row["ptr"] for row in csv.DictReader(open(names))} if r.returncode == 0 else {}
        expect("--names lists every name, including unmatched ones",
               named.get("192.0.2.44") == "host44.example.net" and "10.1.2.3" not in named, str(named))
        expect("summary counts distinct addresses", "7 addresses: 6 with a name, 5 labelled by a rule, 1 without a name"
               in r.stderr, r.stderr)
        # The result feeds darklens evaluate directly: it loads.
        r2 = subprocess.run([darklens, "gt", "build", "--ips", ips, "--resolver", f"127.0.0.1:{free_port()}",
                             "--timeout-ms", "200", "--tries", "1", "-o", os.path.join(tmp, "none.csv")],
                            capture_output=True, text=True)
        expect("no answer at all: exit 3 naming the resolver, nothing written",
               r2.returncode == 3 and "no answer to any of 7 queries" in r2.stderr and
               not os.path.exists(os.path.join(tmp, "none.csv")), r2.stderr)
        bad_rules = os.path.join(tmp, "rules.txt")
        open(bad_rules, "w").write("suffix example.org ex\nregex ([ broken\n")
        r3 = subprocess.run([darklens, "gt", "build", "--ips", ips, "--rules", bad_rules, "-o", gt],
                            capture_output=True, text=True)
        expect("bad rules: exit 4 with file and line, before any query",
               r3.returncode == 4 and f"{bad_rules}:2: '([' is not a regular expression" in r3.stderr, r3.stderr)
    finally:
        server.terminate()
        server.wait(timeout=10)

failed = [r for r in results if not r[1]]
for name, ok, detail in results:
    print(("ok   " if ok else "FAIL ") + name + ("" if ok else f"  [{detail!r}]"))
print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
sys.exit(1 if failed else 0)
