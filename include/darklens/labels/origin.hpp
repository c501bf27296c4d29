// Where a source comes from: its origin AS (number and organisation) and
// its country, from openly licensed IP-to-ASN / IP-to-country databases
// given by path (--asn-db, --geo-db). Either file may be an MMDB (read
// with libmaxminddb) or a CSV of address ranges, told apart by content.
// docs/analyze.md, "Origin AS and country".
//
//   auto origins = darklens::origin::Origins::open("asn-ipv4.csv", "country.mmdb");
//   darklens::origin::Origin o = origins.lookup(*darklens::IpAddr::parse("1.1.1.1"));
//   // o.asn == 13335, o.as_org == "Cloudflare, Inc.", o.country == "AU"
//
// CSV: one range a line, `first,last,value...` with both ends as addresses
// (IPv4 dotted or IPv6 text; the `-num.csv` integer form is refused):
//   ASN:      1.0.0.0,1.0.0.255,13335,"Cloudflare, Inc."   (organisation optional)
//   country:  1.0.0.0,1.0.0.255,AU                          (further fields ignored)
// RFC 4180 quoting, a UTF-8 byte order mark, blank lines, `#` comments and
// a header line are accepted. Where ranges overlap, the narrowest one that
// holds the address wins (as a longest-prefix match would); between ranges
// of the same width, the later line.
// MMDB: the ASN fields of GeoLite2-ASN (`autonomous_system_number`,
// `autonomous_system_organization`); the country from `country.iso_code`
// (GeoLite2-Country, DB-IP) or `country_code` (ip-location-db).
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>

#include "darklens/types.hpp"

namespace darklens::origin {

struct Origin {
  uint32_t asn = 0;     // 0: unknown (AS 0 is reserved and never announced)
  std::string as_org;   // may be empty; valid UTF-8
  std::string country;  // ISO 3166-1 alpha-2, upper case; empty: unknown
  friend bool operator==(const Origin&, const Origin&) = default;
};

/// Bounds on a CSV database: longer lines and more ranges are refused.
inline constexpr size_t kMaxLine = 4096;
inline constexpr size_t kMaxRanges = size_t{16} << 20;
/// Organisation names longer than this are cut (at a character boundary).
inline constexpr size_t kMaxOrg = 256;

/// One database file, for one of the two fields.
class Database {
 public:
  enum class Field { kAsn, kCountry };
  /// Throws IoError when the file cannot be read, FormatError naming the
  /// file (and line, for a CSV) when it is not a database of this field.
  Database(const std::string& path, Field field);
  ~Database();
  Database(Database&&) noexcept;
  Database& operator=(Database&&) noexcept;

  /// Sets this database's part of `o` (asn and as_org, or country) when it
  /// covers `a`; leaves `o` as it is otherwise. Thread-safe. Throws
  /// FormatError naming the file when an MMDB's tree or data is damaged.
  void lookup(const IpAddr& a, Origin& o) const;

  const std::string& path() const;
  Field field() const;
  const char* format() const;  // "mmdb" or "csv"
  /// CSV: ranges after overlaps are resolved; MMDB: nodes of its tree.
  uint64_t size() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// --asn-db and --geo-db together; either or both may be absent.
class Origins {
 public:
  Origins() = default;
  /// An empty path: that database is absent. Throws as Database.
  static Origins open(const std::string& asn_db, const std::string& geo_db);
  bool empty() const { return !asn_ && !geo_; }
  bool has_asn() const { return asn_ != nullptr; }
  bool has_country() const { return geo_ != nullptr; }
  Origin lookup(const IpAddr& a) const;
  /// {"asn_db": {"path", "format", "size"}, "geo_db": {...}}: the files used.
  nlohmann::json describe() const;

 private:
  std::shared_ptr<const Database> asn_, geo_;
};

}  // namespace darklens::origin
