// Origin databases: CSV ranges (quoting, header, overlaps resolved as
// documented, checked against a brute-force oracle), MMDB files written by
// MaxMind's own writer (tests/data/origin/make_mmdb.pl), and every refusal
// with its message.
#include "darklens/labels/origin.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <random>

#include "darklens/error.hpp"
#include "support/error_of.hpp"
#include "support/temp_dir.hpp"

using namespace darklens;

namespace {

IpAddr ip(const char* s) { return *IpAddr::parse(s); }
std::string mmdb(const char* name) { return std::string(DARKLENS_TEST_DATA) + "/origin/" + name; }

}  // namespace

TEST(Origin, CsvRangesQuotingHeaderAndBothVersions) {
  test::TempDir dir;
  const auto asn = dir.write("asn.csv", std::string("\xEF\xBB\xBFip_range_start,ip_range_end,asn,org\r\n"
                                                    "1.0.0.0,1.0.0.255,13335,\"Cloudflare, Inc.\"\r\n"
                                                    "# a comment\n\n"
                                                    "1.0.4.0,1.0.7.255,AS38803,Gtelecom Pty Ltd\n"
                                                    "2001:db8::,2001:db8:ffff:ffff:ffff:ffff:ffff:ffff,64502\n"
                                                    "9.9.9.0,9.9.9.255,0,not announced\n"));
  const auto geo = dir.write("geo.csv", std::string("1.0.0.0,1.0.0.255,au,extra,fields\n2001:db8::,2001:db8::ff,NL\n"));
  const auto o = origin::Origins::open(asn, geo);
  EXPECT_TRUE(o.has_asn() && o.has_country());
  EXPECT_EQ(o.lookup(ip("1.0.0.0")), (origin::Origin{13335, "Cloudflare, Inc.", "AU"}));
  EXPECT_EQ(o.lookup(ip("1.0.0.255")), (origin::Origin{13335, "Cloudflare, Inc.", "AU"}));
  EXPECT_EQ(o.lookup(ip("1.0.1.0")), origin::Origin{});
  EXPECT_EQ(o.lookup(ip("1.0.5.9")), (origin::Origin{38803, "Gtelecom Pty Ltd", ""}));
  EXPECT_EQ(o.lookup(ip("2001:db8::7")), (origin::Origin{64502, "", "NL"}));
  EXPECT_EQ(o.lookup(ip("2001:db8::100")), (origin::Origin{64502, "", ""}));
  EXPECT_EQ(o.lookup(ip("9.9.9.9")), origin::Origin{});  // AS 0 is unknown
  // An IPv4 range does not hold the IPv6 address with the same low bits.
  EXPECT_EQ(o.lookup(ip("::1.0.0.1")), origin::Origin{});
  const auto d = o.describe();
  EXPECT_EQ(d["asn_db"]["format"], "csv");
  EXPECT_EQ(d["asn_db"]["size"], 3);
  EXPECT_EQ(d["geo_db"]["path"], geo);
}

TEST(Origin, OverlapsNarrowestWinsThenLaterLine) {
  test::TempDir dir;
  const auto f = dir.write("o.csv", std::string("10.0.0.0,10.0.255.255,1,wide\n"
                                                "10.0.1.0,10.0.1.255,2,narrow\n"
                                                "10.0.1.128,10.0.2.191,3,straddles\n"
                                                "10.0.1.128,10.0.2.191,4,same width later\n"
                                                "10.0.1.200,10.0.1.200,5,host\n"));
  const origin::Database db(f, origin::Database::Field::kAsn);
  auto asn = [&](const char* a) {
    origin::Origin o;
    db.lookup(ip(a), o);
    return o.asn;
  };
  EXPECT_EQ(asn("10.0.0.1"), 1u);
  EXPECT_EQ(asn("10.0.1.1"), 2u);
  EXPECT_EQ(asn("10.0.1.127"), 2u);
  EXPECT_EQ(asn("10.0.1.128"), 2u);  // the /24 is narrower than the 320-address straddlers
  EXPECT_EQ(asn("10.0.2.0"), 4u);    // the straddlers tie: the later line
  EXPECT_EQ(asn("10.0.2.192"), 1u);
  EXPECT_EQ(asn("10.0.1.200"), 5u);
  EXPECT_EQ(asn("10.1.0.0"), 0u);
}

TEST(Origin, CsvAgreesWithBruteForceOnRandomOverlaps) {
  // Oracle: of the lines holding the address, the narrowest, then the last.
  std::mt19937_64 rng(7);
  for (int round = 0; round < 20; ++round) {
    test::TempDir dir;
    struct R {
      uint32_t lo, hi, asn;
    };
    std::vector<R> rs;
    std::string text;
    for (int i = 0; i < 60; ++i) {
      const uint32_t lo = static_cast<uint32_t>(rng() % 2000);
      const uint32_t hi = lo + static_cast<uint32_t>(rng() % 300);
      rs.push_back({lo, hi, static_cast<uint32_t>(i + 1)});
      text += IpAddr::v4(0x0A000000 + lo).to_string() + "," + IpAddr::v4(0x0A000000 + hi).to_string() + "," +
              std::to_string(i + 1) + "\n";
    }
    const origin::Database db(dir.write("r.csv", text), origin::Database::Field::kAsn);
    for (uint32_t x = 0; x < 2400; ++x) {
      uint32_t want = 0, width = UINT32_MAX;
      for (const auto& r : rs) {
        if (r.lo <= x && x <= r.hi && r.hi - r.lo <= width) {
          width = r.hi - r.lo;
          want = r.asn;
        }
      }
      origin::Origin o;
      db.lookup(IpAddr::v4(0x0A000000 + x), o);
      ASSERT_EQ(o.asn, want) << "round " << round << " address 10.0.0.0+" << x;
    }
  }
}

TEST(Origin, MmdbWrittenByMaxMindsWriter) {
  const auto o = origin::Origins::open(mmdb("asn.mmdb"), mmdb("country.mmdb"));
  EXPECT_EQ(o.lookup(ip("1.0.0.7")), (origin::Origin{13335, "Cloudflare, Inc.", "AU"}));
  EXPECT_EQ(o.lookup(ip("198.51.100.5")), (origin::Origin{64500, "Caf\xC3\xA9 Net", "FR"}));
  EXPECT_EQ(o.lookup(ip("198.51.100.200")), (origin::Origin{64501, "Inner Block", "FR"}));
  EXPECT_EQ(o.lookup(ip("203.0.113.9")), (origin::Origin{398324, "", "US"}));
  EXPECT_EQ(o.lookup(ip("203.0.113.200")), (origin::Origin{398324, "", ""}));
  // An IPv6 source: the ASN tree holds it, the IPv4-only country file cannot.
  EXPECT_EQ(o.lookup(ip("2001:db8::1")), (origin::Origin{64502, "Six Net", ""}));
  EXPECT_EQ(o.lookup(ip("8.8.8.8")), origin::Origin{});
  EXPECT_EQ(o.describe()["asn_db"]["format"], "mmdb");
  // GeoLite2-Country's layout: country.iso_code.
  const auto iso = origin::Origins::open("", mmdb("country-iso.mmdb"));
  EXPECT_FALSE(iso.has_asn());
  EXPECT_EQ(iso.lookup(ip("198.51.100.200")).country, "DE");
  EXPECT_EQ(iso.lookup(ip("2001:db8::1")).country, "NL");
  // The wrong file for a field finds nothing rather than something false.
  const auto swapped = origin::Origins::open(mmdb("country.mmdb"), mmdb("asn.mmdb"));
  EXPECT_EQ(swapped.lookup(ip("1.0.0.7")), origin::Origin{});
}

TEST(Origin, RefusalsNameFileAndLine) {
  test::TempDir dir;
  auto asn_msg = [&](const std::string& text) {
    const auto f = dir.write("a.csv", text);
    return test::error_of([&] { origin::Database(f, origin::Database::Field::kAsn); });
  };
  auto geo_msg = [&](const std::string& text) {
    const auto f = dir.write("g.csv", text);
    return test::error_of([&] { origin::Database(f, origin::Database::Field::kCountry); });
  };
  const std::string a = dir.file("a.csv"), g = dir.file("g.csv");
  EXPECT_EQ(asn_msg("16777216,16777471,13335,x\n"),
            a + ":1: '16777216' is not an IP address (ranges as integers, the -num.csv form, are not read: use the "
                "file with addresses)");
  EXPECT_EQ(asn_msg("1.0.0.0,1.0.0.255\n"), a + ":1: expected 'first,last,asn[,organisation]'");
  EXPECT_EQ(geo_msg("1.0.0.0,1.0.0.255\n"), g + ":1: expected 'first,last,country'");
  EXPECT_EQ(asn_msg("1.0.0.0,nope,1\n"), a + ":1: 'nope' is not an IP address");
  EXPECT_EQ(asn_msg("1.0.0.0,::1,1\n"), a + ":1: the range's ends are of different IP versions");
  EXPECT_EQ(asn_msg("1.0.0.9,1.0.0.1,1\n"), a + ":1: the range ends before it starts");
  EXPECT_EQ(asn_msg("1.0.0.0,1.0.0.1,12x\n"), a + ":1: '12x' is not an AS number");
  EXPECT_EQ(asn_msg("1.0.0.0,1.0.0.1,4294967296\n"), a + ":1: AS number 4294967296 is above 4294967295");
  EXPECT_EQ(geo_msg("1.0.0.0,1.0.0.1,USA\n"), g + ":1: 'USA' is not a two-letter country code");
  EXPECT_EQ(asn_msg("1.0.0.0,1.0.0.1,\"1\n"), a + ":1: a quoted field is not closed, or text follows its quote");
  EXPECT_EQ(asn_msg("1.0.0.0,1.0.0.1,1," + std::string(5000, 'x') + "\n"), a + ":1: line longer than 4096 bytes");
  EXPECT_EQ(asn_msg("1.0.0.0,1.0.0.1,1,\xff\n2.0.0.0,x\xfe,1\n"), a + ":2: 'x\\xfe' is not an IP address");
  EXPECT_EQ(test::error_of([&] { origin::Database(dir.file("none.csv"), origin::Database::Field::kAsn); }),
            dir.file("none.csv") + ": cannot open");
  // An MMDB cut short: its metadata marker survives, its tree does not.
  std::ifstream in(mmdb("asn.mmdb"), std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  const auto marker = bytes.find("\xAB\xCD\xEFMaxMind.com");
  ASSERT_NE(marker, std::string::npos);
  const auto cut = dir.write("cut.mmdb", bytes.substr(marker - 16));
  EXPECT_EQ(test::error_of([&] { origin::Database(cut, origin::Database::Field::kAsn); }).rfind(cut + ": ", 0), 0u);
}

TEST(Origin, OrganisationsAreValidUtf8AndBounded) {
  test::TempDir dir;
  const auto f = dir.write("a.csv", "1.0.0.0,1.0.0.1,1,caf\xe9\n2.0.0.0,2.0.0.1,2," + std::string(300, 'y') + "\n");
  const origin::Database db(f, origin::Database::Field::kAsn);
  origin::Origin o;
  db.lookup(ip("1.0.0.1"), o);
  EXPECT_EQ(o.as_org, "caf\\xe9");
  db.lookup(ip("2.0.0.0"), o);
  EXPECT_EQ(o.as_org, std::string(origin::kMaxOrg, 'y'));
}
