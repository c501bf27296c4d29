// What each cluster does: a profile per cluster (protocols, top ports, TCP
// flags, packets per source, destinations, hourly traffic, fingerprints,
// ground-truth labels), computed from the packets of its sources, and the
// known activities it matches in a signature catalog. docs/analyze.md.
//
//   darklens::profile::Profiler pr(table.source_, table.window_start_ns_, labels, options.window_);
//   darklens::filter::for_each_used_packet(options.selection(), files, [&](const Packet& p) { pr.add(p); });
//   auto profiles = pr.finish(&gt);                        // largest cluster first
//   auto catalog = darklens::profile::Catalog::load("data/signatures.txt");
//   for (auto& c : profiles) c.activities_ = darklens::profile::match(catalog, c);
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "darklens/features/features.hpp"
#include "darklens/labels/ground_truth.hpp"
#include "darklens/labels/origin.hpp"
#include "darklens/labels/rdns.hpp"
#include "darklens/types.hpp"

namespace darklens::profile {

/// A named count and its share of a whole (which whole: see the field).
struct Share {
  std::string key;
  uint64_t count = 0;
  double share = 0;
};

/// A catalog entry a profile matched, with the evidence for each condition.
struct Match {
  std::string id, activity, reference;
  std::vector<std::string> evidence;  // "port tcp/23,tcp/2323 = 0.93 (>= 0.5)"
};

/// An origin AS and the sources of a cluster it announces.
struct AsShare {
  uint32_t asn = 0;
  std::string org;
  uint64_t sources = 0;
  double share = 0;  // of the cluster's sources
};

/// Where a cluster's sources come from (--asn-db, --geo-db). Sources are
/// counted as ClusterProfile::sources_ counts them (rows: a source in two
/// windows counts twice).
struct OriginCounts {
  bool asn_db = false, geo_db = false;            // which databases were asked
  std::vector<AsShare> asns;                      // most sources first (ties: lower AS number)
  std::vector<Share> countries;                   // key: ISO 3166-1 code; count: sources; most first (ties: code)
  uint64_t without_asn = 0, without_country = 0;  // sources the databases do not cover
};

/// One of a cluster's heaviest sources (ProfileOptions::heaviest_): its
/// packets summed over its rows in the cluster, and its reverse-DNS name
/// once add_names looked it up.
struct HeavySource {
  IpAddr source;
  uint64_t packets = 0;
  std::optional<std::string> ptr;  // nullopt: no name, or not looked up
};

struct ClusterProfile {
  int cluster_ = 0;                                 // the cluster's label (cluster::kNoise = -1 for noise)
  int rank_ = 0;                                    // 1 = most sources
  uint64_t sources_ = 0, packets_ = 0, bytes_ = 0;  // bytes: IP lengths
  std::vector<Share> protocols_;                    // "tcp", "udp", "icmp", ...: share of packets
  std::vector<Share> classes_;                      // "scan", "backscatter", "other": share of packets
  std::vector<Share> ports_;      // "tcp/23", "udp/53": every destination port, share of packets, most first
  std::vector<Share> tcp_flags_;  // "SYN", "SYN+ACK", "RST": share of TCP packets, most first
  std::array<double, 5> packets_per_source_{};  // min, 25%, median, 75%, max (linear interpolation)
  uint64_t destinations_ = 0;          // distinct destination addresses, at most ProfileOptions::destination_cap_...
  bool destinations_capped_ = false;   // ...which it reached (then a lower bound)
  uint64_t source_blocks_ = 0;         // distinct /24 (IPv4) or /48 (IPv6) blocks of the sources
  std::array<uint64_t, 24> hourly_{};  // packets per UTC hour of the day
  uint64_t tcp_ = 0, syn_ = 0;
  double mirai_ = 0;                    // share of SYNs with the Mirai fingerprint
  double zmap_ = 0;                     // share of packets with ZMap's IP ID
  double masscan_ = 0;                  // share of TCP packets with Masscan's IP ID
  std::vector<Share> ground_truth_;     // label: sources, share of sources; unlabelled sources are not listed
  std::optional<OriginCounts> origin_;  // set when origin databases were given
  std::vector<HeavySource> heaviest_;   // most packets first (ties: lower address); empty unless asked
  std::vector<Match> activities_;       // empty = unexplained
};

struct ProfileOptions {
  /// Distinct destinations are counted exactly up to this many per cluster.
  uint64_t destination_cap_ = 1u << 20;
  /// Each cluster lists this many of its heaviest sources (0: none).
  size_t heaviest_ = 0;
};

/// The reverse-DNS names of the clusters' heaviest sources (--rdns N).
inline constexpr size_t kMaxHeaviest = 100;
struct NameOptions {
  size_t heaviest = 0;  // sources per cluster, at most kMaxHeaviest; 0: off
  rdns::LookupOptions lookup;
};

/// Accumulates profiles from packets. Rows are the feature table's rows:
/// (source, window start) with their cluster label.
class Profiler {
 public:
  /// Throws ParamError when the three vectors differ in length.
  Profiler(const std::vector<IpAddr>& sources, const std::vector<int64_t>& window_starts,
           const std::vector<int>& labels, features::WindowSpec window, ProfileOptions options = {});
  ~Profiler();
  Profiler(Profiler&&) noexcept;
  Profiler& operator=(Profiler&&) noexcept;

  /// Counts a packet for its row's cluster; packets of sources without a row
  /// (dropped by --min-packets, say) are counted in skipped().
  void add(const Packet& p);
  /// add() of each packet in order (faster: lookups prefetched in groups).
  void add(std::span<const Packet> packets);
  uint64_t skipped() const;

  /// An empty profiler over the same rows (sharing their index), to count
  /// part of the packets on another thread; merge() adds it back. Every
  /// count is a sum, so the profiles do not depend on how packets are split.
  Profiler fork() const;
  /// Throws ParamError unless `other` is a fork of this profiler (or this
  /// one of it).
  void merge(const Profiler& other);

  /// One profile per cluster label present (noise too), most sources first
  /// (ties: lower label), with rank_ set. gt may be null.
  std::vector<ClusterProfile> finish(const ground_truth::GroundTruth* gt) const;

 private:
  struct Impl;
  explicit Profiler(std::unique_ptr<Impl> impl);
  void add_row(const Packet& p, std::optional<uint32_t> row);  // row: the packet's source's, if it has one
  std::unique_ptr<Impl> impl_;
};

/// Sets each profile's origin_ from the origins of its rows' sources
/// (`sources` and `labels`: the feature table's rows and their clusters).
void add_origins(std::vector<ClusterProfile>& profiles, const std::vector<IpAddr>& sources,
                 const std::vector<int>& labels, const origin::Origins& origins);

/// Looks up the PTR names of every profile's heaviest_ sources in one
/// bounded batch (each address once; rdns::lookup_ptr) and sets their ptr
/// (names as rdns returns them, made valid UTF-8 and at most 253 bytes).
/// Returns the lookup's counts. Throws as lookup_ptr does (IoError when
/// the resolver never answered).
rdns::LookupResult add_names(std::vector<ClusterProfile>& profiles, const rdns::LookupOptions& options);

/// Share of the packets going to any of `ports` ("23" = tcp/23 and udp/23,
/// "tcp/23", "udp/53").
double port_share(const ClusterProfile& p, const std::vector<std::string>& ports);

nlohmann::json to_json(const ClusterProfile& p, size_t top_ports = 10);
/// The first matched activity of a saved profile (to_json), or "unexplained".
std::string activity_of(const nlohmann::json& profile);
ClusterProfile from_json(const nlohmann::json& j);

// ---- signature catalog -------------------------------------------------

/// One condition: `metric [args] op value`, e.g. `port tcp/23,tcp/2323 >= 0.5`.
struct Condition {
  std::string metric;
  std::vector<std::string> args;
  std::string op;  // ">=", "<=", ">", "<", "="
  double value = 0;
  std::string text;  // as written
};

struct Signature {
  std::string id, activity, reference;
  std::vector<Condition> when;  // all must hold
};

/// The catalog format (data/signatures.txt, docs/analyze.md):
///
///   [mirai-telnet]
///   activity  = Mirai-like propagation over telnet
///   reference = Antonakakis et al., Understanding the Mirai Botnet, USENIX Security 2017
///   when      = port tcp/23,tcp/2323 >= 0.5
///   when      = fingerprint mirai >= 0.5
///
/// Metrics: port P,..; proto NAME,..; class NAME,..; flag NAME,.. (share of
/// TCP packets); fingerprint mirai|zmap|masscan; label NAME,..|* (share of
/// sources); asn N,..|* and country CC,..|* (share of sources, with the
/// origin databases; * = any known); sources; packets_per_source (median); destinations;
/// distinct_ports; source_blocks; blocks_per_source.
struct Catalog {
  std::vector<Signature> signatures;
  /// Throws FormatError "<name>:<line>: <what is wrong>".
  static Catalog parse(std::string_view text, const std::string& name);
  /// Throws IoError when the file cannot be read, FormatError as parse.
  static Catalog load(const std::string& path);
};

/// The signatures whose every condition holds, most conditions first (ties:
/// catalog order), each with its evidence.
std::vector<Match> match(const Catalog& catalog, const ClusterProfile& p);

/// The profile pass: the packets the feature options select, read again
/// from the captures, counted for the clusters of the table's rows
/// (`labels`, one per row) on options.threads_ threads (a reading thread
/// beside the counting ones; counts are sums, so the profiles are the same
/// on any number), their origins added (add_origins) when `origins` has a
/// database, each then matched against `catalog` when given; each lists
/// its `heaviest` sources (ProfileOptions::heaviest_). gt, catalog and
/// origins may be null. Throws what reading the captures throws.
std::vector<ClusterProfile> profile_clusters(const features::FeatureOptions& options,
                                             const std::vector<std::string>& captures,
                                             const features::FeatureTable& table, const std::vector<int>& labels,
                                             const ground_truth::GroundTruth* gt, const Catalog* catalog,
                                             const origin::Origins* origins = nullptr, size_t heaviest = 0);

}  // namespace darklens::profile
