// Origin AS and country databases: MMDB through libmaxminddb, or a CSV of
// ranges resolved once into sorted, non-overlapping ranges that a lookup
// finds by binary search.
#include "darklens/labels/origin.hpp"

#include <arpa/inet.h>
#include <maxminddb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "darklens/core/text.hpp"
#include "darklens/error.hpp"

namespace darklens::origin {
namespace {

__extension__ using U128 = unsigned __int128;  // GCC and clang; addresses as one ordered number

U128 to_u128(const IpAddr& a) { return (U128{a.hi_} << 64) | a.lo_; }

// A text field fit for JSON and a terminal: valid UTF-8, at most `max`
// bytes, cut at a character boundary.
std::string clean_text(std::string_view s, size_t max) {
  std::string t = escape_invalid_utf8(s);
  if (t.size() > max) {
    size_t n = max;
    while (n > 0 && (static_cast<unsigned char>(t[n]) & 0xC0) == 0x80) --n;
    t.resize(n);
  }
  return t;
}

// The marker that opens an MMDB's metadata section, within its last 128 KiB.
constexpr std::string_view kMmdbMarker = "\xAB\xCD\xEFMaxMind.com";

bool looks_like_mmdb(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw IoError(path + ": cannot open");
  const std::streamoff size = in.tellg();
  const std::streamoff tail = std::min<std::streamoff>(size, std::streamoff{128} * 1024);
  std::string buf(static_cast<size_t>(tail), '\0');
  in.seekg(size - tail);
  in.read(buf.data(), tail);
  if (!in) throw IoError(path + ": read error");
  return buf.find(kMmdbMarker) != std::string::npos;
}

bool is_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

struct Database::Impl {
  std::string path;
  Field field = Field::kAsn;
  bool mmdb = false;
  MMDB_s db{};
  // CSV: sorted, non-overlapping [first_[i], last_[i]] -> value_[i].
  std::vector<U128> first, last;
  std::vector<uint32_t> value;
  std::vector<std::pair<uint32_t, std::string>> asns;  // value -> (asn, organisation)
  std::vector<std::string> countries;                  // value -> code

  ~Impl() {
    if (mmdb) MMDB_close(&db);
  }

  void open_mmdb() {
    const int st = MMDB_open(path.c_str(), MMDB_MODE_MMAP, &db);
    if (st == MMDB_FILE_OPEN_ERROR || st == MMDB_IO_ERROR) {
      throw IoError(path + ": cannot open (" + MMDB_strerror(st) + ")");
    }
    if (st != MMDB_SUCCESS) throw FormatError(path + ": not a readable MMDB (" + std::string(MMDB_strerror(st)) + ")");
    mmdb = true;
  }

  [[noreturn]] void damaged(int st) const {
    throw FormatError(path + ": damaged MMDB (" + std::string(MMDB_strerror(st)) + ")");
  }

  // The value at `path_parts` of an entry, or has_data = false.
  MMDB_entry_data_s get(MMDB_entry_s& e, const char* const* parts) const {
    MMDB_entry_data_s d{};
    const int st = MMDB_aget_value(&e, &d, parts);
    if (st == MMDB_LOOKUP_PATH_DOES_NOT_MATCH_DATA_ERROR || st == MMDB_INVALID_LOOKUP_PATH_ERROR) {
      d.has_data = false;
    } else if (st != MMDB_SUCCESS) {
      damaged(st);
    }
    return d;
  }

  void lookup_mmdb(const IpAddr& a, Origin& o) const {
    sockaddr_storage ss{};
    if (a.is_v4()) {
      auto* s4 = reinterpret_cast<sockaddr_in*>(&ss);
      s4->sin_family = AF_INET;
      s4->sin_addr.s_addr = htonl(a.v4_value());
    } else {
      auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss);
      s6->sin6_family = AF_INET6;
      for (int i = 0; i < 8; ++i) {
        s6->sin6_addr.s6_addr[i] = static_cast<uint8_t>(a.hi_ >> (56 - 8 * i));
        s6->sin6_addr.s6_addr[8 + i] = static_cast<uint8_t>(a.lo_ >> (56 - 8 * i));
      }
    }
    int err = MMDB_SUCCESS;
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-const-cast): libmaxminddb's API is not const-correct; it only reads.
    auto r = MMDB_lookup_sockaddr(const_cast<MMDB_s*>(&db), reinterpret_cast<const sockaddr*>(&ss), &err);
    if (err == MMDB_IPV6_LOOKUP_IN_IPV4_DATABASE_ERROR) return;  // an IPv4-only file knows no IPv6 source
    if (err != MMDB_SUCCESS) damaged(err);
    if (!r.found_entry) return;
    if (field == Field::kAsn) {
      static constexpr const char* kNum[] = {"autonomous_system_number", nullptr};
      static constexpr const char* kOrg[] = {"autonomous_system_organization", nullptr};
      const auto n = get(r.entry, kNum);
      if (!n.has_data) return;
      uint64_t asn = 0;
      if (n.type == MMDB_DATA_TYPE_UINT16) {
        asn = n.uint16;
      } else if (n.type == MMDB_DATA_TYPE_UINT32) {
        asn = n.uint32;
      } else if (n.type == MMDB_DATA_TYPE_UINT64) {
        asn = n.uint64;
      } else {
        throw FormatError(path + ": autonomous_system_number is not an unsigned integer");
      }
      if (asn == 0 || asn > UINT32_MAX) return;
      o.asn = static_cast<uint32_t>(asn);
      o.as_org.clear();
      const auto org = get(r.entry, kOrg);
      if (org.has_data && org.type == MMDB_DATA_TYPE_UTF8_STRING) {
        o.as_org = clean_text(std::string_view(org.utf8_string, org.data_size), kMaxOrg);
      }
      return;
    }
    static constexpr const char* kIso[] = {"country", "iso_code", nullptr};
    static constexpr const char* kCode[] = {"country_code", nullptr};
    auto c = get(r.entry, kIso);
    if (!c.has_data) c = get(r.entry, kCode);
    if (!c.has_data || c.type != MMDB_DATA_TYPE_UTF8_STRING || c.data_size != 2) return;
    std::string code(c.utf8_string, 2);
    if (!std::isalpha(static_cast<unsigned char>(code[0])) || !std::isalpha(static_cast<unsigned char>(code[1])))
      return;
    for (auto& ch : code) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    o.country = code;
  }

  void read_csv() {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw IoError(path + ": cannot open");
    struct Row {
      U128 first, last;
      uint32_t value;
      size_t line;
    };
    std::vector<Row> rows;
    std::map<std::pair<uint32_t, std::string>, uint32_t> asn_index;
    std::map<std::string, uint32_t> country_index;
    std::string line;
    std::vector<std::string> f;
    size_t no = 0;
    bool seen_data = false;
    while (std::getline(in, line)) {
      ++no;
      const std::string where = path + ":" + std::to_string(no);
      if (line.size() > kMaxLine) throw FormatError(where + ": line longer than 4096 bytes");
      if (no == 1 && line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);
      while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
      if (line.empty() || line[0] == '#') continue;
      if (!csv_fields(line, f)) throw FormatError(where + ": a quoted field is not closed, or text follows its quote");
      const bool first_line = !seen_data;
      seen_data = true;
      // A header line: its first field names a column (no digit in it).
      if (first_line && !f.empty() &&
          std::none_of(f[0].begin(), f[0].end(), [](char c) { return c >= '0' && c <= '9'; })) {
        continue;
      }
      if (f.size() < 3) {
        throw FormatError(where + (field == Field::kAsn ? ": expected 'first,last,asn[,organisation]'"
                                                        : ": expected 'first,last,country'"));
      }
      std::optional<IpAddr> lo, hi;
      for (int k = 0; k < 2; ++k) {
        auto& end = k == 0 ? lo : hi;
        end = IpAddr::parse(f[static_cast<size_t>(k)]);
        if (!end) {
          std::string msg = where + ": '" + clean_text(f[static_cast<size_t>(k)], 64) + "' is not an IP address";
          if (is_digits(f[static_cast<size_t>(k)])) {
            msg += " (ranges as integers, the -num.csv form, are not read: use the file with addresses)";
          }
          throw FormatError(msg);
        }
      }
      if (lo->is_v4() != hi->is_v4()) throw FormatError(where + ": the range's ends are of different IP versions");
      if (*hi < *lo) throw FormatError(where + ": the range ends before it starts");
      uint32_t value = 0;
      if (field == Field::kAsn) {
        std::string_view num = f[2];
        if (num.size() > 2 && (num[0] == 'A' || num[0] == 'a') && (num[1] == 'S' || num[1] == 's'))
          num.remove_prefix(2);
        if (!is_digits(num) || num.size() > 10) {
          throw FormatError(where + ": '" + clean_text(f[2], 64) + "' is not an AS number");
        }
        const uint64_t asn = std::stoull(std::string(num));
        if (asn > UINT32_MAX) throw FormatError(where + ": AS number " + std::string(num) + " is above 4294967295");
        if (asn == 0) continue;  // AS 0: not announced, i.e. unknown
        const std::string org = f.size() > 3 ? clean_text(f[3], kMaxOrg) : std::string();
        const auto [it, fresh] =
            asn_index.try_emplace({static_cast<uint32_t>(asn), org}, static_cast<uint32_t>(asns.size()));
        if (fresh) asns.emplace_back(static_cast<uint32_t>(asn), org);
        value = it->second;
      } else {
        std::string code = f[2];
        if (code.size() != 2 || !std::isalpha(static_cast<unsigned char>(code[0])) ||
            !std::isalpha(static_cast<unsigned char>(code[1]))) {
          throw FormatError(where + ": '" + clean_text(f[2], 64) + "' is not a two-letter country code");
        }
        for (auto& ch : code) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
        const auto [it, fresh] = country_index.try_emplace(code, static_cast<uint32_t>(countries.size()));
        if (fresh) countries.push_back(code);
        value = it->second;
      }
      if (rows.size() >= kMaxRanges) {
        throw FormatError(where + ": more than " + std::to_string(kMaxRanges) + " ranges");
      }
      rows.push_back({to_u128(*lo), to_u128(*hi), value, no});
    }
    if (in.bad()) throw IoError(path + ": read error");
    resolve(rows);
  }

  // Paints the ranges widest first, so that a narrower range overwrites
  // the part of a wider one it covers (same width: the later line last).
  template <typename Row>
  void resolve(std::vector<Row>& rows) {
    std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
      const U128 wa = a.last - a.first, wb = b.last - b.first;
      return wa != wb ? wa > wb : a.line < b.line;
    });
    struct Seg {
      U128 last;
      uint32_t value;
    };
    std::map<U128, Seg> segs;
    // Splits the segment holding `at` (if any) so that one starts at `at`.
    auto split_at = [&](U128 at) {
      auto it = segs.upper_bound(at);
      if (it == segs.begin()) return;
      --it;
      if (it->first < at && it->second.last >= at) {
        const Seg right{it->second.last, it->second.value};
        it->second.last = at - 1;
        segs.emplace(at, right);
      }
    };
    for (const auto& r : rows) {
      split_at(r.first);
      if (r.last != ~U128{0}) split_at(r.last + 1);
      segs.erase(segs.lower_bound(r.first), segs.upper_bound(r.last));
      segs.emplace(r.first, Seg{r.last, r.value});
    }
    rows.clear();
    rows.shrink_to_fit();
    first.reserve(segs.size());
    last.reserve(segs.size());
    value.reserve(segs.size());
    for (const auto& [start, s] : segs) {
      first.push_back(start);
      last.push_back(s.last);
      value.push_back(s.value);
    }
  }

  void lookup_csv(const IpAddr& a, Origin& o) const {
    const U128 x = to_u128(a);
    const auto it = std::upper_bound(first.begin(), first.end(), x);
    if (it == first.begin()) return;
    const auto i = static_cast<size_t>(it - first.begin() - 1);
    if (last[i] < x) return;
    if (field == Field::kAsn) {
      o.asn = asns[value[i]].first;
      o.as_org = asns[value[i]].second;
    } else {
      o.country = countries[value[i]];
    }
  }
};

Database::Database(const std::string& path, Field field) : impl_(std::make_unique<Impl>()) {
  impl_->path = path;
  impl_->field = field;
  if (looks_like_mmdb(path)) {
    impl_->open_mmdb();
  } else {
    impl_->read_csv();
  }
}
Database::~Database() = default;
Database::Database(Database&&) noexcept = default;
Database& Database::operator=(Database&&) noexcept = default;

void Database::lookup(const IpAddr& a, Origin& o) const {
  if (impl_->mmdb) {
    impl_->lookup_mmdb(a, o);
  } else {
    impl_->lookup_csv(a, o);
  }
}
const std::string& Database::path() const { return impl_->path; }
Database::Field Database::field() const { return impl_->field; }
const char* Database::format() const { return impl_->mmdb ? "mmdb" : "csv"; }
uint64_t Database::size() const { return impl_->mmdb ? impl_->db.metadata.node_count : impl_->first.size(); }

Origins Origins::open(const std::string& asn_db, const std::string& geo_db) {
  Origins o;
  if (!asn_db.empty()) o.asn_ = std::make_shared<const Database>(asn_db, Database::Field::kAsn);
  if (!geo_db.empty()) o.geo_ = std::make_shared<const Database>(geo_db, Database::Field::kCountry);
  return o;
}

Origin Origins::lookup(const IpAddr& a) const {
  Origin o;
  if (asn_) asn_->lookup(a, o);
  if (geo_) geo_->lookup(a, o);
  return o;
}

nlohmann::json Origins::describe() const {
  nlohmann::json j = nlohmann::json::object();
  auto one = [](const Database& d) {
    return nlohmann::json{{"path", escape_invalid_utf8(d.path())}, {"format", d.format()}, {"size", d.size()}};
  };
  if (asn_) j["asn_db"] = one(*asn_);
  if (geo_) j["geo_db"] = one(*geo_);
  return j;
}

}  // namespace darklens::origin
