#!/usr/bin/python3
"""Origin AS and country (--asn-db, --geo-db) end to end, against
independent references: an MMDB written by MaxMind's own Perl writer and
read back by python3-maxminddb, and a CSV of overlapping ranges resolved by
a brute-force oracle (narrowest range, then the later line). Checks every
cluster's origin counts in profiles.json, the summary, the report, serve's
/v1/ip, and the refusals of bad databases."""
import json
import os
import random
import subprocess
import sys
import tempfile
import urllib.request
import ipaddress

import maxminddb

darklens = sys.argv[1]
results = []


def expect(name, cond, detail=""):
    results.append((name, bool(cond), detail))


def run(args, **kw):
    return subprocess.run([darklens] + args, capture_output=True, **kw)


WRITER = r"""
use strict; use warnings; use MaxMind::DB::Writer::Tree;
my ($spec, $out) = @ARGV;
my $tree = MaxMind::DB::Writer::Tree->new(ip_version => 6, record_size => 28, database_type => 'GeoLite2-ASN',
  languages => ['en'], description => { en => 'darklens test' }, remove_reserved_networks => 0,
  merge_strategy => 'none',
  map_key_type_callback => sub { { autonomous_system_number => 'uint32',
                                   autonomous_system_organization => 'utf8_string' }->{ $_[0] } });
open my $in, '<:encoding(UTF-8)', $spec or die; 
while (<$in>) { chomp; my ($net, $asn, $org) = split /\t/, $_, 3;
  $tree->insert_network($net, { autonomous_system_number => $asn + 0, autonomous_system_organization => $org }); }
open my $fh, '>:raw', $out or die; $tree->write_tree($fh); close $fh;
"""

rng = random.Random(11)
with tempfile.TemporaryDirectory() as tmp:
    days = os.path.join(tmp, "days")
    assert run(["synth", "--days", "1", "--sources", "1500", "--seed", "4", "-q", "-o", days]).returncode == 0
    cap = os.path.join(days, "darknet-2021-05-01.pcap")
    first = os.path.join(tmp, "first")
    r = run(["analyze", cap, "-q", "-o", first])
    assert r.returncode == 0, r.stderr
    sources = sorted({line.split(",")[0] for line in open(os.path.join(first, "clusters.csv")).read().split()[1:]})

    # ASN: the /16s of a third of the sources, then the /24s of some of
    # those (nested networks: the writer keeps the later, narrower one).
    spec, nets = [], []
    for s in rng.sample(sources, len(sources) // 3):
        net16 = str(ipaddress.ip_network(s + "/16", strict=False))
        spec.append(f"{net16}\t{rng.randint(1, 400000)}\tOrg {rng.randint(1, 50)} \u00e9")
    for s in rng.sample(sources, len(sources) // 10):
        spec.append(f"{ipaddress.ip_network(s + '/24', strict=False)}\t{rng.randint(1, 400000)}\tInner")
    with open(os.path.join(tmp, "asn.tsv"), "w", encoding="utf-8") as f:
        f.write("\n".join(spec) + "\n")
    with open(os.path.join(tmp, "w.pl"), "w") as f:
        f.write(WRITER)
    asn_db = os.path.join(tmp, "asn.mmdb")
    w = subprocess.run(["perl", os.path.join(tmp, "w.pl"), os.path.join(tmp, "asn.tsv"), asn_db],
                       capture_output=True)
    assert w.returncode == 0, w.stderr

    # Country: overlapping ranges around sources, in a CSV with a header and quotes.
    ranges = []
    for s in rng.sample(sources, len(sources) // 2):
        x = int(ipaddress.ip_address(s))
        lo, hi = x - rng.randint(0, 3000), x + rng.randint(0, 3000)
        ranges.append((lo, hi, rng.choice(["US", "CN", "NL", "BR", "RU", "DE"])))
    geo_db = os.path.join(tmp, "geo.csv")
    with open(geo_db, "w") as f:
        f.write("ip_range_start,ip_range_end,country_code\n")
        for lo, hi, cc in ranges:
            f.write(f'{ipaddress.ip_address(lo)},"{ipaddress.ip_address(hi)}",{cc}\n')

    def country_of(a):
        x, best = int(ipaddress.ip_address(a)), None
        for lo, hi, cc in ranges:  # narrowest, then the later line
            if lo <= x <= hi and (best is None or hi - lo <= best[0]):
                best = (hi - lo, cc)
        return best[1] if best else None

    reader = maxminddb.open_database(asn_db)

    def asn_of(a):
        rec = reader.get(a)
        return (rec["autonomous_system_number"], rec["autonomous_system_organization"]) if rec else None

    out = os.path.join(tmp, "o")
    db = os.path.join(tmp, "p.db")
    r = run(["analyze", cap, "-q", "-o", out, "--asn-db", asn_db, "--geo-db", geo_db, "--db", db])
    expect("analyze --asn-db MMDB --geo-db CSV: exit 0", r.returncode == 0, r.stderr)
    rows = [line.split(",") for line in open(os.path.join(out, "clusters.csv")).read().split()[1:]]
    profiles = json.load(open(os.path.join(out, "profiles.json")))
    profiles = profiles if isinstance(profiles, list) else profiles["profiles"]
    mismatch = []
    known_asn = 0
    for p in profiles:
        members = [s for s, _, c in rows if int(c) == p["cluster"]]
        asns, countries, no_asn, no_cc = {}, {}, 0, 0
        for s in members:
            a, c = asn_of(s), country_of(s)
            if a:
                asns[a] = asns.get(a, 0) + 1
            else:
                no_asn += 1
            if c:
                countries[c] = countries.get(c, 0) + 1
            else:
                no_cc += 1
        known_asn += len(members) - no_asn
        want_asns = sorted(asns.items(), key=lambda kv: (-kv[1], kv[0][0], kv[0][1]))[:10]
        want_cc = sorted(countries.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
        got = p["origin"]
        got_asns = [((x["asn"], x["org"]), x["sources"]) for x in got["asns"]]
        got_cc = [(x["key"], x["count"]) for x in got["countries"]]
        if (got_asns != want_asns or got_cc != want_cc or got["sources_without_asn"] != no_asn or
                got["sources_without_country"] != no_cc or got["distinct_asns"] != len(asns)):
            mismatch.append((p["cluster"], got, want_asns, want_cc, no_asn, no_cc))
    expect(f"every cluster's ASNs and countries equal the references ({len(profiles)} clusters, "
           f"{known_asn} of {len(rows)} sources with an AS)", not mismatch and known_asn > 100, mismatch[:1])
    summary = json.load(open(os.path.join(out, "summary.json")))
    od = summary.get("origin_databases", {})
    expect("summary names the databases and their formats",
           od.get("asn_db", {}).get("format") == "mmdb" and od.get("geo_db", {}).get("format") == "csv" and
           od["geo_db"]["size"] > 0, od)
    html = open(os.path.join(out, "report.html"), encoding="utf-8").read()
    expect("the report shows an origin column", "origin AS, country" in html and "Org " in html)

    # serve: /v1/ip says the address's origin from the databases it was given.
    p = subprocess.Popen([darklens, "serve", "--db", db, "--listen", "127.0.0.1:0", "--asn-db", asn_db,
                          "--geo-db", geo_db, "-q"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        port = int(p.stdout.readline().decode().split("http://127.0.0.1:")[1].split("/")[0])
        wrong = []
        for s in sources[:40]:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/ip/{s}", timeout=20) as resp:
                o = json.loads(resp.read())["origin"]
            a, c = asn_of(s), country_of(s)
            want = {"asn": a[0] if a else None, "as_org": a[1] if a else None, "country": c}
            if o != want:
                wrong.append((s, o, want))
        expect("serve /v1/ip origin equals the references (40 addresses)", not wrong, wrong[:2])
    finally:
        p.terminate()
        p.wait(timeout=20)

    # Refusals: the file and what is wrong, before any work.
    r = run(["analyze", cap, "-q", "-o", os.path.join(tmp, "x"), "--asn-db", os.path.join(tmp, "none.mmdb")])
    expect("a missing --asn-db: exit 3, the file named", r.returncode == 3 and b"none.mmdb: cannot open" in r.stderr,
           r.stderr)
    num = os.path.join(tmp, "asn-ipv4-num.csv")
    open(num, "w").write("16777216,16777471,13335,Cloudflare\n")
    r = run(["analyze", cap, "-q", "-o", os.path.join(tmp, "x"), "--asn-db", num])
    expect("the -num.csv form: exit 4, says to use the file with addresses",
           r.returncode == 4 and b"asn-ipv4-num.csv:1: '16777216' is not an IP address" in r.stderr and
           b"use the file with addresses" in r.stderr, r.stderr)
    r = run(["classify", cap, "-q", "-o", os.path.join(tmp, "y"), "--db", db, "--geo-db", asn_db])
    expect("an ASN MMDB as --geo-db: runs, and no source gets a country", r.returncode == 0, r.stderr)
    if r.returncode == 0:
        ps = json.load(open(os.path.join(tmp, "y", "profiles.json")))
        ps = ps if isinstance(ps, list) else ps["profiles"]
        expect("... every profile says its sources are without a country",
               all(x["origin"]["countries"] == [] and x["origin"]["sources_without_country"] == x["sources"]
                   for x in ps))
    expect("no partial output after a refusal", not os.path.exists(os.path.join(tmp, "x")))

failed = [r for r in results if not r[1]]
for name, ok, detail in results:
    print(("ok   " if ok else "FAIL ") + name + ("" if ok else f"\n     {detail}"))
print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
sys.exit(1 if failed else 0)
