// Per-source features: every (source IP, time window) becomes one row of
// numbers. Families and columns are defined in docs/features.md.
//
//   darklens::features::FeatureOptions o;
//   o.families_ = darklens::features::parse_families("agm,temporal");
//   darklens::features::Aggregator agg(o);
//   agg.add_file("day1.pcap");            // or agg.add(packet) yourself
//   darklens::features::FeatureTable t = agg.table();
//   darklens::features::write_table(t, "features.csv");
//
// Per-source state is mergeable: the table of a capture split into
// consecutive parts, aggregated separately and merged, equals the table of
// the whole capture (tested with random split points).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "darklens/filter/filter.hpp"
#include "darklens/ingest/ingest.hpp"
#include "darklens/types.hpp"

namespace darklens::features {

enum class Family : uint8_t { kAgm, kAgmExt, kAgmNum, kTemporal, kFingerprints, kIntensity };
/// "agm,temporal,..." -> families. Throws ParamError naming the bad one.
std::vector<Family> parse_families(std::string_view list);
std::string_view family_name(Family f);

/// Fixed-length windows aligned to `origin_ns_` (default: the Unix epoch,
/// so any window dividing a day starts at UTC midnight).
struct WindowSpec {
  int64_t length_ns_ = 86'400'000'000'000;
  int64_t origin_ns_ = 0;
  int64_t start_of(int64_t ts_ns) const;
};
/// "30m", "1h", "6h", "24h", "7d" (s, m, h, d units; 1 s .. 366 d).
/// Throws ParamError.
WindowSpec parse_window(std::string_view text);

/// agm-ext's dummy vocabulary: for each AGM field (dst_ip, src_port,
/// dst_port, proto, ttl, tcp_flags, size), the mode values that get a
/// one-hot column, ascending.
using AgmExtVocab = std::array<std::vector<uint32_t>, 7>;
/// The names of the AGM fields, in column order.
extern const char* const kAgmFieldNames[7];

struct FeatureOptions {
  std::vector<Family> families_ = {Family::kAgm};
  WindowSpec window_;
  /// The packet selection (filter::Selection): the monitored darknet
  /// (packets to other destinations are counted in
  /// AggregateCounters::outside_prefix_ and left out; empty = keep all)...
  std::vector<Cidr> darknet_;
  /// ...the bit mask of filter::TrafficClass values to keep...
  uint8_t classes_ = filter::kAllClasses;
  /// ...and a libpcap expression applied to every record ("" = none).
  std::string bpf_;
  /// Keep only rows of validated sources (completed a TCP handshake with
  /// the responding darknet, filter/handshakes.hpp). Needs darknet_ (the
  /// responder's addresses).
  bool validated_only_ = false;
  /// Rows with fewer packets are dropped from the table.
  uint64_t min_packets_ = 1;
  /// Distinct values kept exactly per source and field (docs/features.md).
  uint32_t exact_cap_ = 4096;
  /// intensity: a packet more than this after the previous one of the same
  /// (source, destination, ports, protocol) starts a new flow.
  int64_t flow_timeout_ns_ = 60'000'000'000;
  /// agm-ext: a value gets a dummy column when it is the mode of at least
  /// this share of the table's rows...
  double agm_ext_min_share_ = 0.01;
  /// ...unless a vocabulary is given (frozen from an earlier table).
  std::optional<AgmExtVocab> agm_ext_vocab_;
  /// Threads for add_file / add_files: one file's sources are split across
  /// them by hash; several files are read this many at a time. The result
  /// does not depend on it. 0 = all cores.
  int threads_ = 1;
  /// Memory budget in bytes (core/memory.hpp; 0 = none): reading refuses
  /// with ResourceError once the rows so far would need more for their
  /// states and the table. Not part of the stored options.
  uint64_t max_memory_ = 0;

  /// Only packets stamped in [time_from_ns_, time_to_ns_) are read (the
  /// others are not counted at all): `darklens watch` takes one window
  /// out of the captures that overlap it. Not part of the stored options.
  int64_t time_from_ns_ = std::numeric_limits<int64_t>::min();
  int64_t time_to_ns_ = std::numeric_limits<int64_t>::max();

  /// agm-num: the top ports of each window given (counted over every
  /// process's rows, darklens-mpi) instead of counted over this
  /// aggregator's. Not part of the stored options.
  std::optional<std::vector<std::pair<int64_t, std::vector<uint16_t>>>> agm_num_top_ports_;

  /// The packet selection these options make.
  filter::Selection selection() const { return {darknet_, classes_, bpf_, time_from_ns_, time_to_ns_}; }
};

/// The options as JSON (what a stored model needs to compute the same
/// columns on a later window; threads are left out), and back. from_json
/// throws FormatError naming the key that is missing or malformed.
nlohmann::json options_to_json(const FeatureOptions& o);
FeatureOptions options_from_json(const nlohmann::json& j);

/// Counts of what the aggregation saw and left out.
struct AggregateCounters {
  uint64_t packets_ = 0;         // decoded packets offered
  uint64_t outside_prefix_ = 0;  // destination not in the darknet
  uint64_t class_filtered_ = 0;  // class not selected
  uint64_t used_ = 0;            // packets that went into features
  uint64_t responder_ = 0;       // sent from inside the darknet (a responder)
  uint64_t validated_rows_ = 0;  // (source, window) rows that completed a handshake
  std::vector<std::pair<std::string, ingest::ReadCounters>> files_;
};
/// The packet counts as outputs carry them: {decoded, outside_prefix,
/// class_filtered, used, responder}.
nlohmann::json packets_to_json(const AggregateCounters& c);

/// What a column's numbers are (docs/features.md, "Column kinds"): how a
/// distance may use them. Counts, shares, rates and times are
/// coordinates; a category (a port, protocol, TTL, size, flag byte, TCP
/// window or option layout taken as its value) and an address are labels
/// written as numbers: the pipeline turns their frequent values into
/// indicator columns instead of measuring differences between them.
/// kNumber is a column darklens did not make (a user's own CSV).
enum class ColumnKind : uint8_t { kCount, kShare, kRate, kTime, kCategory, kAddress, kNumber };
std::string_view kind_name(ColumnKind k);
/// Category and address columns.
inline bool is_label(ColumnKind k) { return k == ColumnKind::kCategory || k == ColumnKind::kAddress; }
/// The kind of a column by its name: every column a family writes (also
/// agm-ext's vocabulary dummies), kNumber for any other name.
ColumnKind column_kind(std::string_view name);

/// std::allocator, except that a vector's resize(n) leaves the new
/// elements unset (value-initialised ones, resize(n, 0.0), are as usual):
/// a table of a million sources is 0.7 GB of fresh memory, and the
/// kernel's zeroing of fresh pages, on first touch, is what it costs; the
/// table builder touches them first on every thread instead of on one.
template <typename T>
class UnsetAllocator : public std::allocator<T> {
 public:
  template <typename U>
  struct rebind {
    using other = UnsetAllocator<U>;
  };
  UnsetAllocator() = default;
  template <typename U>
  UnsetAllocator(const UnsetAllocator<U>&) noexcept {}  // NOLINT(google-explicit-constructor): as std::allocator's
  template <typename U>
  void construct(U* p) noexcept(std::is_nothrow_default_constructible_v<U>) {
    ::new (static_cast<void*>(p)) U;
  }
  template <typename U, typename... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};

/// A feature table: one row per (source, window), named numeric columns.
struct FeatureTable {
  std::vector<IpAddr> source_;
  std::vector<int64_t> window_start_ns_;
  std::vector<std::string> columns_;
  std::vector<ColumnKind> kinds_;                       // one per column
  std::vector<double, UnsetAllocator<double>> values_;  // column-major: column c is values_[c*rows() ...]
  /// agm-num only: per window start, the TCP destination ports behind the
  /// num_dst_port_top1..top10 dummy columns (most packets first).
  std::vector<std::pair<int64_t, std::vector<uint16_t>>> top_ports_;
  /// agm-ext only: the vocabulary behind the ext_*_mode_is_* columns.
  AgmExtVocab agm_ext_vocab_;
  size_t rows() const { return source_.size(); }
  double at(size_t row, size_t col) const { return values_[col * rows() + row]; }
  /// Index of a column by name; throws ParamError when absent.
  size_t column(std::string_view name) const;
};

/// The per-packet tests behind the fingerprints family (docs/features.md):
/// ZMap (IP ID 54321) on any packet; Masscan (IP ID == (dst ^ dport ^ seq)
/// & 0xffff) on TCP; Mirai (seq == destination IPv4, or marked so by the
/// input) on SYNs (SYN without ACK).
struct FingerprintMarks {
  bool tcp = false, syn = false;
  bool zmap = false, masscan = false, mirai = false;
};
inline FingerprintMarks fingerprint_marks(const Packet& p) {
  FingerprintMarks m;
  m.zmap = p.ip_id_ == 54321;
  if (p.proto_ != ip_proto::kTcp || !p.has(Packet::kHasTransport)) return m;
  m.tcp = true;
  const uint32_t dst = p.dst_.is_v4() ? p.dst_.v4_value() : 0;
  m.masscan = p.ip_id_ == ((dst ^ p.dport_ ^ p.tcp_seq_) & 0xffff);
  m.syn = (p.tcp_flags_ & (tcp_flag::kSyn | tcp_flag::kAck)) == tcp_flag::kSyn;
  m.mirai = m.syn && (p.has(Packet::kMiraiMarked) || (p.dst_.is_v4() && p.tcp_seq_ == dst));
  return m;
}

/// How far Aggregator::add_file / add_files have got: packet records read,
/// and bytes of the inputs as stored (compressed ones for gzip and zstd)
/// out of their total size; total_bytes is 0 when a size is unknown
/// (standard input, a pipe).
struct ReadProgress {
  uint64_t records = 0;
  uint64_t bytes = 0;
  uint64_t total_bytes = 0;
};
/// Called about once per 2^19 records read (of any file), never by two
/// threads at once.
using ProgressFn = std::function<void(const ReadProgress&)>;

class Aggregator {
 public:
  explicit Aggregator(FeatureOptions options);
  ~Aggregator();
  Aggregator(Aggregator&&) noexcept;
  Aggregator& operator=(Aggregator&&) noexcept;

  /// Adds one decoded packet (applies prefix and class selection).
  void add(const Packet& p);
  /// Reads a whole capture (applies the BPF filter too).
  void add_file(const std::string& path, const ProgressFn& progress = {});
  /// Reads several captures, options().threads_ at a time, merged in the
  /// order given: the result is the same for any thread count.
  void add_files(const std::vector<std::string>& paths, const ProgressFn& progress = {});
  /// Folds another aggregator's state into this one (same options). For
  /// parts of one capture, `other` must hold the later part.
  void merge(const Aggregator& other);
  /// Applies packets another process read and routed here (PacketRouter),
  /// in the order given. Throws FormatError when `records` is not whole
  /// records.
  void apply_routed(std::string_view records);

  /// The table, rows sorted by (window start, source).
  FeatureTable table() const;
  /// The same with `options` instead of options() (their columns, e.g.
  /// agm_num_top_ports_ given).
  FeatureTable table(const FeatureOptions& options) const;
  /// agm-num's counts behind its top ports: per window, TCP destination
  /// port and packets, summed over every row held (also those below
  /// --min-packets); agm_num_top_ports() of the sums over several
  /// aggregators is what one aggregator of all their rows takes.
  struct PortCount {
    int64_t window;
    uint32_t port;
    uint64_t packets;
  };
  std::vector<PortCount> agm_num_port_counts() const;
  const AggregateCounters& counters() const;
  const FeatureOptions& options() const;

 private:
  struct Impl;
  // add_file, telling `report` (records, input bytes) of this file after
  // each chunk.
  void read_file(const std::string& path, const std::function<void(uint64_t, uint64_t)>& report);
  std::unique_ptr<Impl> impl_;
  friend class PacketRouter;
};

/// Reading spread over processes (darklens-mpi): each process reads some of
/// the captures, and each packet it uses goes to the process that owns the
/// packet's (source, window), one of `owners` by hash. An owner applies
/// what each reader sends to one Aggregator per reader (apply_routed), in
/// the order read, then merges those in the readers' order: the states, so
/// the table, of one process reading every capture in that order.
class PacketRouter {
 public:
  PacketRouter(FeatureOptions options, std::vector<std::string> paths, size_t owners);
  ~PacketRouter();
  PacketRouter(PacketRouter&&) noexcept;
  PacketRouter& operator=(PacketRouter&&) noexcept;
  /// Reads on, at most `records` records, appending each packet used to
  /// `out[owner]` (`out` has one string per owner). False once every file
  /// has been read.
  bool next(std::vector<std::string>& out, size_t records);
  /// What was read, as Aggregator::counters() counts it (validated_rows_
  /// aside: the owners' tables count those).
  const AggregateCounters& counters() const;

 private:
  Aggregator agg_;  // selects and counts; holds no rows
  std::vector<std::string> paths_;
  size_t owners_, file_ = 0;
  std::unique_ptr<ingest::CaptureReader> reader_;
};

/// Each window's ten most used ports of `counts` (most packets first, ties
/// by the smaller port; several entries of one window and port are summed).
std::vector<std::pair<int64_t, std::vector<uint16_t>>> agm_num_top_ports(
    const std::vector<Aggregator::PortCount>& counts);

/// The rows of tables built from disjoint (source, window) rows with the
/// same options, as one table: sorted by (window start, source), the side
/// data (vocabularies) of the first.
FeatureTable merge_tables(std::vector<FeatureTable> parts);

/// Writes the table atomically; the format follows the extension:
/// .csv (header `source,window_start,<columns>`), .jsonl (one object per
/// row), .npy (float64 matrix; plus `<name>.columns.txt` and
/// `<name>.rows.csv`). Throws ParamError for other extensions, IoError.
void write_table(const FeatureTable& t, const std::string& path);

/// Checks, before any work, what write_table would refuse: an unknown
/// extension (ParamError) or a directory that does not exist (IoError).
void check_table_path(const std::string& path);

/// The agm-ext vocabulary of an earlier run's `<output>.meta.json`
/// (features --vocab): at most kMaxVocab values per field (each is a
/// column of every row), a file of at most 64 MiB. Throws IoError,
/// FormatError naming the file and what is wrong.
inline constexpr size_t kMaxVocab = 4096;
inline constexpr size_t kMaxVocabFile = size_t{64} << 20;
AgmExtVocab read_vocab(const std::string& path);

/// The files a table at `path` is made of: the path, and for .npy its
/// `.columns.txt` and `.rows.csv` sidecars.
std::vector<std::string> table_files(const std::string& path);

}  // namespace darklens::features
