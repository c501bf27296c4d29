#!/usr/bin/env bash
# Fetches openly licensed origin databases for --asn-db and --geo-db from
# the npm registry (ip-location-db, https://github.com/sapics/ip-location-db):
#   asn.csv       IP ranges -> AS number and organisation, IPv4 and IPv6
#                 (@ip-location-db/asn: RouteViews + DB-IP, CC BY 4.0)
#   country.mmdb  IP -> country, IPv4 and IPv6
#                 (@ip-location-db/geo-whois-asn-country-mmdb, CC0 1.0)
# with their licence files beside them. Needs npm (Node.js) and tar.
#
#   scripts/fetch_origin_dbs.sh [DIR]      DIR default: origin-db/
#   darklens analyze day.pcap -o out --asn-db DIR/asn.csv --geo-db DIR/country.mmdb
set -euo pipefail
dir=${1:-origin-db}
command -v npm >/dev/null || { echo "fetch_origin_dbs: npm is needed (apt-get install npm)" >&2; exit 2; }
mkdir -p "$dir"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent @ip-location-db/asn @ip-location-db/geo-whois-asn-country-mmdb >/dev/null)
mkdir -p "$work/asn" "$work/geo"
tar -xzf "$work"/ip-location-db-asn-*.tgz -C "$work/asn"
tar -xzf "$work"/ip-location-db-geo-whois-asn-country-mmdb-*.tgz -C "$work/geo"
# One file for both IP versions: darklens reads both in one address space.
cat "$work/asn/package/asn-ipv4.csv" "$work/asn/package/asn-ipv6.csv" >"$dir/asn.csv.tmp"
mv "$dir/asn.csv.tmp" "$dir/asn.csv"
cp "$work/geo/package/geo-whois-asn-country.mmdb" "$dir/country.mmdb.tmp"
mv "$dir/country.mmdb.tmp" "$dir/country.mmdb"
for f in DBIP-LICENSE ROUTEVIEWS-LICENSE NRO_LICENSE; do
  [ -f "$work/asn/package/$f" ] && cp "$work/asn/package/$f" "$dir/asn-$f"
done
[ -f "$work/geo/package/NRO_LICENSE" ] && cp "$work/geo/package/NRO_LICENSE" "$dir/country-NRO_LICENSE"
echo "fetch_origin_dbs: $dir/asn.csv ($(wc -l <"$dir/asn.csv") ranges), $dir/country.mmdb"
