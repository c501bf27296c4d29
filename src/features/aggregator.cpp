// (source, window) -> SourceState, filled packet by packet, merged across
// files and threads in a fixed order.
#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <filesystem>
#include <limits>
#include <mutex>
#include <thread>
#include <type_traits>

#include "../core/key_index.hpp"
#include "../core/parallel.hpp"
#include "../core/radix_sort.hpp"
#include "chunked_vector.hpp"
#include "columns.hpp"
#include "darklens/core/memory.hpp"
#include "darklens/error.hpp"
#include "darklens/features/features.hpp"
#include "source_state.hpp"

namespace darklens::features {
namespace {

using Key = SourceKey;

// Sorts row << 32 | position entries by row, keeping positions in order.
// One pass while the rows fit 17 bits (a count table of 512 KiB).
void sort_by_row(std::vector<uint64_t>& v, std::vector<uint64_t>& tmp) {
  uint64_t max_row = 0;
  for (uint64_t x : v) max_row = std::max(max_row, x >> 32);
  radix_sort(v, tmp, static_cast<int>(std::bit_width(max_row)), 17, [](uint64_t x) { return x >> 32; });
}

}  // namespace

struct Aggregator::Impl {
  FeatureOptions opt;
  filter::Selection selection;
  // The states the selected families read (family.hpp).
  bool want_agm = false, want_tcp = false, want_time = false, want_fp = false, want_int = false;
  bool every_row = false;  // a family reads the rows left out of the table too
  KeyIndex index;
  // Per row: its packets; where its states are (kNoSlot while it has at
  // most one packet); its one packet's Facts while it has exactly one. Most
  // darknet sources send one packet: their states (~1.3 KiB with every
  // family) are only built when a second packet comes, or when the table
  // reads them (build_table, a block of rows at a time).
  static constexpr uint32_t kNoSlot = std::numeric_limits<uint32_t>::max();
  std::vector<uint64_t> packets;
  std::vector<uint32_t> slot;
  ChunkedVector<Facts> only;
  // One array per kind of state, indexed by slot; only those the selected
  // families read grow.
  uint32_t slots = 0;
  ChunkedVector<AgmCounts> all, tcp;
  ChunkedVector<Temporal> time;
  ChunkedVector<Fingerprints> fp;
  ChunkedVector<Intensity> intensity;
  ChunkedVector<filter::Handshakes> handshakes;  // by row, when a darknet prefix is known
  AggregateCounters counters;
  // Partitions of the last multi-threaded add_file: keys disjoint from this
  // one's and from each other's. table() reads them as they are; anything
  // that adds to this aggregator folds them in first.
  std::vector<std::unique_ptr<Impl>> shards;

  explicit Impl(FeatureOptions o) : opt(std::move(o)), selection(opt.selection()) {
    if (opt.families_.empty()) throw ParamError("no feature family given");
    uint8_t states = 0;
    for (Family f : opt.families_) {
      states |= family_def(f).states;
      every_row |= family_def(f).reads_every_row;
    }
    want_agm = states & kStateAgm;
    want_tcp = states & kStateAgmTcp;
    want_time = states & kStateTemporal;
    want_fp = states & kStateFingerprints;
    want_int = states & kStateIntensity;
    if (opt.threads_ <= 0) opt.threads_ = static_cast<int>(resolve_threads(0));  // all cores
    if (opt.flow_timeout_ns_ <= 0) throw ParamError("flow timeout must be positive");
    if (opt.validated_only_ && opt.darknet_.empty()) {
      throw ParamError("validated TCP needs the darknet prefix (--prefix): the responder's SYN-ACKs come from it");
    }
  }

  uint32_t row_for(const Key& k, uint64_t h) {
    bool fresh = false;
    return row_for(k, h, fresh);
  }
  uint32_t row_for(const Key& k, uint64_t h, bool& fresh) {
    const uint32_t row = index.find_or_insert(k, h, fresh);
    if (fresh) {
      packets.push_back(0);
      slot.push_back(kNoSlot);
      only.emplace_back();
      if (!opt.darknet_.empty()) handshakes.emplace_back();
    }
    return row;
  }

  StatePtrs ptrs(uint32_t s) {
    return {want_agm ? &all[s] : nullptr, want_tcp ? &tcp[s] : nullptr, want_time ? &time[s] : nullptr,
            want_fp ? &fp[s] : nullptr, want_int ? &intensity[s] : nullptr};
  }
  SourceView states_view(uint32_t s) const {
    SourceView v;
    if (want_agm) v.all = &all[s];
    if (want_tcp) v.tcp = &tcp[s];
    if (want_time) v.time = &time[s];
    if (want_fp) v.fp = &fp[s];
    if (want_int) v.intensity = &intensity[s];
    return v;
  }

  // Gives `row` its states (empty ones) when it has none yet; they then
  // hold its one packet, if it has one. Returns its slot.
  uint32_t build_states(uint32_t row) {
    if (slot[row] != kNoSlot) return slot[row];
    const uint32_t s = slots++;
    if (want_agm) all.emplace_back();
    if (want_tcp) tcp.emplace_back();
    if (want_time) time.emplace_back();
    if (want_fp) fp.emplace_back();
    if (want_int) intensity.emplace_back();
    slot[row] = s;
    if (packets[row] > 0) add_packet(ptrs(s), only[row], opt.exact_cap_, opt.flow_timeout_ns_);
    return s;
  }

  // The window of the last packet, [window_lo, window_hi): consecutive
  // packets mostly share it, and start_of divides.
  int64_t window_lo = 1, window_hi = 0;
  int64_t window_of(int64_t ts) {
    if (ts >= window_lo && ts < window_hi) return window_lo;
    window_lo = opt.window_.start_of(ts);
    if (__builtin_add_overflow(window_lo, opt.window_.length_ns_, &window_hi)) {
      window_hi = std::numeric_limits<int64_t>::max();
    }
    return window_lo;
  }

  /// What a packet is used for, and the key of the row it updates.
  enum class Use : uint8_t { kSkip, kSource, kSynAck };
  Use select(const Packet& p, Key& k) {
    const auto selected = filter::select_packet(selection, p);
    if (selected == filter::Selected::kOutsideTime) return Use::kSkip;  // another window's
    ++counters.packets_;
    switch (selected) {
      case filter::Selected::kResponder:
        // The responder: never a source. Its SYN-ACK opens a handshake with
        // the source it answers.
        ++counters.responder_;
        if (p.proto_ == ip_proto::kTcp && p.has(Packet::kHasTransport) &&
            (p.tcp_flags_ & (tcp_flag::kSyn | tcp_flag::kAck | tcp_flag::kRst)) == (tcp_flag::kSyn | tcp_flag::kAck)) {
          k = {p.dst_, window_of(p.ts_ns_)};
          return Use::kSynAck;
        }
        return Use::kSkip;
      case filter::Selected::kOutsidePrefix:
        ++counters.outside_prefix_;
        return Use::kSkip;
      case filter::Selected::kClassFiltered:
        ++counters.class_filtered_;
        return Use::kSkip;
      case filter::Selected::kUsed:
      case filter::Selected::kOutsideTime:
        break;
    }
    ++counters.used_;
    k = {p.src_, window_of(p.ts_ns_)};
    return Use::kSource;
  }

  [[gnu::always_inline]] static Facts facts(const Packet& p, Use use) {
    return Facts::of(p, use == Use::kSynAck, static_cast<uint8_t>(use));
  }

  void apply(uint32_t row, const Facts& f) {
    const Use use = static_cast<Use>(f.use);
    if (use == Use::kSource) {
      update(row, f);
    } else if (use == Use::kSynAck) {
      // The responder's address and port, the source's port.
      handshakes[row].syn_ack({f.addr, f.sport, f.dport}, f.ts, opt.flow_timeout_ns_);
    }
  }

  void update(uint32_t row, const Facts& f) {
    if (!handshakes.empty() && f.is_tcp_segment() &&
        (f.tcp_flags & (tcp_flag::kSyn | tcp_flag::kAck | tcp_flag::kRst)) == tcp_flag::kAck) {
      handshakes[row].ack({f.addr, f.dport, f.sport}, f.ts, opt.flow_timeout_ns_);
    }
    if (slot[row] == kNoSlot) {
      if (packets[row] == 0) {  // the row's first packet: kept as it is
        only[row] = f;
        packets[row] = 1;
        return;
      }
      build_states(row);  // the second: the states take the first, then this one
    }
    ++packets[row];
    add_packet(ptrs(slot[row]), f, opt.exact_cap_, opt.flow_timeout_ns_);
  }

  // Brings a row's state into cache ahead of update().
  template <typename T>
  static void prefetch_object(const T& obj) {
    const char* p = reinterpret_cast<const char*>(&obj);
    for (size_t off = 0; off < sizeof(T); off += 64) __builtin_prefetch(p + off, 1);
  }
  void prefetch_state(uint32_t row) const {
    const uint32_t s = slot[row];
    if (s == kNoSlot) {
      __builtin_prefetch(&only[row], 1);
      return;
    }
    if (want_agm) prefetch_object(all[s]);
    if (want_tcp) prefetch_object(tcp[s]);
    if (want_time) prefetch_object(time[s]);
    if (want_fp) prefetch_object(fp[s]);
    if (want_int) prefetch_object(intensity[s]);
  }

  // Applies facts[position] to each `order` entry's row (row << 32 |
  // position), grouped by row and, within a row, in the order given: a
  // row's state stays in cache across its packets, prefetched ahead of its
  // first, and still sees them in arrival order. `scratch`: the sort's.
  void apply_by_row(std::vector<uint64_t>& order, std::vector<uint64_t>& scratch, const Facts* facts) {
    sort_by_row(order, scratch);
    constexpr size_t kAhead = 8, kFactsAhead = 16;
    for (size_t j = 0; j < order.size(); ++j) {
      if (j + kFactsAhead < order.size()) __builtin_prefetch(&facts[order[j + kFactsAhead] & 0xffffffff]);
      if (j + kAhead < order.size() && (order[j + kAhead] >> 32) != (order[j + kAhead - 1] >> 32)) {
        prefetch_state(static_cast<uint32_t>(order[j + kAhead] >> 32));
      }
      apply(static_cast<uint32_t>(order[j] >> 32), facts[order[j] & 0xffffffff]);
    }
  }

  void add_counters(const AggregateCounters& c) {
    counters.responder_ += c.responder_;
    counters.packets_ += c.packets_;
    counters.outside_prefix_ += c.outside_prefix_;
    counters.class_filtered_ += c.class_filtered_;
    counters.used_ += c.used_;
    counters.files_.insert(counters.files_.end(), c.files_.begin(), c.files_.end());
  }

  // Whether o (its main part or a shard) holds a key this aggregator (its
  // main part or a shard) has.
  bool shares_keys_with(const Impl& o) const {
    for (const auto& q : o.shards) {
      if (shares_keys_with(*q)) return true;
    }
    for (uint32_t i = 0; i < o.index.size(); ++i) {
      const Key& k = o.index.key(i);
      const uint64_t h = hash_of(k);
      if (index.find(k, h)) return true;
      for (const auto& q : shards) {
        if (q->index.find(k, h)) return true;
      }
    }
    return false;
  }

  // Takes o, given up: kept whole, its parts as more shards, when its keys
  // are all new here (files of other windows: nothing to merge or move);
  // merged otherwise.
  void absorb(std::unique_ptr<Impl> o) {
    if (shares_keys_with(*o)) {
      merge(*o);
      return;
    }
    add_counters(o->counters);
    o->counters = {};  // counted here only
    for (auto& q : o->shards) shards.push_back(std::move(q));
    o->shards.clear();
    shards.push_back(std::move(o));
  }

  void fold_shards() {
    auto taken = std::move(shards);
    shards.clear();
    for (const auto& q : taken) merge(*q);
  }

  // Row `row`, new here, takes o's state of row i as it is: what merging
  // it into an empty state gives, without re-adding every value.
  void adopt(uint32_t row, Impl& o, uint32_t i) {
    if (!handshakes.empty()) handshakes[row].merge(o.handshakes[i], opt.flow_timeout_ns_);
    const uint32_t from = o.slot[i];
    if (from == kNoSlot) {
      packets[row] = o.packets[i];
      only[row] = o.only[i];
      return;
    }
    const uint32_t s = build_states(row);  // empty: no packet here yet
    packets[row] = o.packets[i];
    if (want_agm) all[s] = std::move(o.all[from]);
    if (want_tcp) tcp[s] = std::move(o.tcp[from]);
    if (want_time) time[s] = o.time[from];
    if (want_fp) fp[s] = std::move(o.fp[from]);
    if (want_int) intensity[s].adopt(std::move(o.intensity[from]), opt.flow_timeout_ns_);
  }

  void add(const Packet& p) {
    if (!shards.empty()) fold_shards();
    Key k;
    const Use use = select(p, k);
    if (use != Use::kSkip) apply(row_for(k, hash_of(k)), facts(p, use));
  }

  // Folds o in. From an O = Impl that is given up, the states of keys new
  // here are moved over (adopt) instead of merged into empty ones.
  template <typename O>  // Impl or const Impl
  void merge(O& o) {
    if (!shards.empty()) fold_shards();
    for (const auto& q : o.shards) merge(static_cast<O&>(*q));  // as const as o
    const uint32_t cap = opt.exact_cap_;
    for (uint32_t i = 0; i < o.index.size(); ++i) {
      const Key& k = o.index.key(i);
      bool fresh = false;
      const uint32_t row = row_for(k, hash_of(k), fresh);
      if constexpr (!std::is_const_v<O>) {
        if (fresh) {
          adopt(row, o, i);
          continue;
        }
      }
      if (!handshakes.empty()) handshakes[row].merge(o.handshakes[i], opt.flow_timeout_ns_);
      if (o.packets[i] == 0) continue;  // nothing to merge (a responder's SYN-ACKs only)
      const uint32_t from = o.slot[i];
      if (from == kNoSlot && packets[row] == 0 && slot[row] == kNoSlot) {
        only[row] = o.only[i];  // one packet, still
        packets[row] = 1;
        continue;
      }
      const uint32_t s = build_states(row);
      // o's row as states: its own, or built from its one packet.
      RowStates built;
      SourceView later;
      if (from == kNoSlot) {
        built.build(o.only[i], states_bits(), cap, opt.flow_timeout_ns_);
        later = built.view({}, states_bits());
      } else {
        later = o.states_view(from);
      }
      packets[row] += o.packets[i];
      merge_states(ptrs(s), later, cap, opt.flow_timeout_ns_);
    }
    add_counters(o.counters);
  }

  // What this part holds (and its shards), estimated from the sizes of
  // its arrays: bytes per row (packets, slot, Facts, index) and per slot
  // (the states); value counts past their inline part and flows add more.
  uint64_t state_bytes() const {
    // The index: the key, and two slots of a table at most half full.
    uint64_t per_row = sizeof(uint64_t) + sizeof(uint32_t) + sizeof(Facts) + 3 * sizeof(Key);
    if (!opt.darknet_.empty()) per_row += sizeof(filter::Handshakes);
    uint64_t per_slot = 0;
    if (want_agm) per_slot += sizeof(AgmCounts);
    if (want_tcp) per_slot += sizeof(AgmCounts);
    if (want_time) per_slot += sizeof(Temporal);
    if (want_fp) per_slot += sizeof(Fingerprints);
    if (want_int) per_slot += sizeof(Intensity);
    uint64_t b = index.size() * per_row + uint64_t{slots} * per_slot;
    for (const auto& q : shards) b += q->state_bytes();
    return b;
  }
  uint64_t rows_held() const {
    uint64_t n = index.size();
    for (const auto& q : shards) n += q->rows_held();
    return n;
  }
  // Refuses (ResourceError) when the rows held here and in `more` parts,
  // with the table they make, are over the budget.
  void check_memory(const std::vector<std::unique_ptr<Impl>>& more = {}) const {
    if (opt.max_memory_ == 0) return;
    uint64_t bytes = state_bytes(), rows = rows_held();
    for (const auto& q : more) bytes += q->state_bytes(), rows += q->rows_held();
    // The table: a double per column, the key, the row's reference and order.
    const uint64_t columns = table_columns();
    bytes += rows * (columns * sizeof(double) + sizeof(IpAddr) + sizeof(int64_t) + sizeof(RowRef) + 8);
    // A quarter more: the index's free slots, read buffers, the allocator
    // (the peak of `features` on a storm of one-packet sources).
    bytes += bytes / 4;
    MemoryBudget{opt.max_memory_}.check(
        bytes,
        "reading the captures: " + std::to_string(rows) +
            " (source, window) rows so far, their states and a table of " + std::to_string(columns) + " columns",
        "raise it, or read less at once: fewer or shorter captures per run, --prefix, --class or --filter, "
        "fewer --family");
  }
  mutable uint64_t columns_ = 0;
  uint64_t table_columns() const {
    if (columns_ == 0) columns_ = build_table(opt, {}, {}).columns_.size();
    return columns_;
  }

  uint8_t states_bits() const {
    return static_cast<uint8_t>((want_agm ? kStateAgm : 0) | (want_tcp ? kStateAgmTcp : 0) |
                                (want_time ? kStateTemporal : 0) | (want_fp ? kStateFingerprints : 0) |
                                (want_int ? kStateIntensity : 0));
  }

  // A row of one packet without states reads as that packet (only); a row
  // without packets and states gets empty ones.
  SourceView view(uint32_t row) {
    if (slot[row] == kNoSlot && packets[row] == 0) build_states(row);
    SourceView v;
    if (slot[row] == kNoSlot) {
      v.only = &only[row];
    } else {
      v = states_view(slot[row]);
    }
    v.packets = packets[row];
    v.validated = !handshakes.empty() && handshakes[row].validated;
    return v;
  }
};

Aggregator::Aggregator(FeatureOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Aggregator::~Aggregator() = default;
Aggregator::Aggregator(Aggregator&&) noexcept = default;
Aggregator& Aggregator::operator=(Aggregator&&) noexcept = default;

void Aggregator::add(const Packet& p) { impl_->add(p); }

namespace {

// Progress over several files, read on several threads: each file's
// latest counts, summed under a lock and reported as one. The total is
// the files' sizes on disk (0, unknown, when one is not a regular file).
class ProgressSum {
 public:
  ProgressSum(const ProgressFn& fn, const std::vector<std::string>& paths) : fn_(fn), files_(paths.size()) {
    if (!fn_) return;
    for (const auto& path : paths) {
      std::error_code ec;
      const bool regular = path != "-" && std::filesystem::is_regular_file(path, ec);
      const uintmax_t size = regular ? std::filesystem::file_size(path, ec) : 0;
      if (!regular || ec) {
        total_ = 0;
        break;
      }
      total_ += size;
    }
  }
  // File i has read `records` records and `bytes` bytes so far.
  void report(size_t i, uint64_t records, uint64_t bytes) {
    if (!fn_) return;
    std::lock_guard<std::mutex> lock(mutex_);
    files_[i] = {records, bytes};
    ReadProgress sum;
    for (const auto& f : files_) sum.records += f.first, sum.bytes += f.second;
    sum.total_bytes = total_;
    fn_(sum);
  }
  std::function<void(uint64_t, uint64_t)> of(size_t i) {
    if (!fn_) return {};
    return [this, i](uint64_t records, uint64_t bytes) { report(i, records, bytes); };
  }

 private:
  const ProgressFn& fn_;
  std::vector<std::pair<uint64_t, uint64_t>> files_;
  uint64_t total_ = 0;
  std::mutex mutex_;
};

}  // namespace

void Aggregator::add_file(const std::string& path, const ProgressFn& progress) {
  ProgressSum sum(progress, {path});
  read_file(path, sum.of(0));
}

void Aggregator::read_file(const std::string& path, const std::function<void(uint64_t, uint64_t)>& report) {
  if (impl_->opt.threads_ > 1 && (impl_->index.size() > 0 || !impl_->shards.empty())) {
    // The partitions below hold keys disjoint from each other's, not from
    // what this aggregator already has: the file goes to its own, then in.
    Aggregator part(impl_->opt);
    part.read_file(path, report);
    impl_->absorb(std::move(part.impl_));
    return;
  }
  Impl& m = *impl_;
  if (!m.shards.empty()) m.fold_shards();
  auto reader = ingest::CaptureReader::open(path);
  filter::apply_bpf(*reader, m.opt.bpf_);
  // Packets are taken a chunk at a time. Selection and counting happen once,
  // here; then each key goes to one partition by its hash, and every
  // partition applies its packets grouped by row (a stable order: by row,
  // then arrival), so a source's state stays in cache across its packets
  // and still sees its packets in arrival order. Partitions hold disjoint
  // keys and are merged at the end: the result is the same for any number
  // of threads. With several threads there are four partitions per thread,
  // taken by whichever thread is free (produce_and_share): the one that
  // reads the next chunk meanwhile joins in when it is done.
  const int threads = std::clamp(m.opt.threads_, 1, 64);
  const size_t parts = threads == 1 ? 1 : size_t{4} * static_cast<size_t>(threads);
  std::vector<std::unique_ptr<Impl>> extra;
  for (size_t t = 1; t < parts; ++t) extra.push_back(std::make_unique<Impl>(m.opt));
  auto part = [&](size_t t) -> Impl& { return t == 0 ? m : *extra[t - 1]; };
  constexpr size_t kBatch = 32;  // index lookups prefetched this far ahead
  // One chunk of the packets used, as Facts with their keys, split by
  // partition. With several partitions, each record's key and hash go to
  // its partition's list beside its position: a partition then reads its
  // keys in order, not scattered over the whole chunk (that gather cost
  // one file on two threads ~0.1 s of CPU a day).
  struct Routed {
    Key key;
    uint64_t hash;
    uint32_t position;
  };
  struct Chunk {
    std::vector<Facts> facts;
    std::vector<Key> keys;  // one partition: by position
    std::vector<uint64_t> hashes;
    std::vector<std::vector<Routed>> routed;  // several: per partition, in arrival order
    size_t used = 0;                          // records in the chunk
    uint64_t records = 0, bytes = 0;          // read so far, for progress
  };
  // With several threads the next chunk is read while this one is applied,
  // in a second chunk. Larger chunks group more of a source's packets
  // together (fewer cold visits to its state) at ~85 bytes of chunk per
  // packet: 2^19 packets, ~45 MB a chunk (half that on several threads
  // was 10% slower there: each thread's visits are colder). A chunk is
  // reserved whole but grows in place as it is filled: small captures never
  // touch (so never get) the memory they do not use.
  const size_t chunk_size = size_t{1} << 19;
  auto make_chunk = [&] {
    Chunk c;
    c.facts.reserve(chunk_size);
    if (parts == 1) {
      c.keys.reserve(chunk_size);
      c.hashes.reserve(chunk_size);
    } else {
      c.routed.resize(parts);
      for (auto& r : c.routed) r.reserve(2 * chunk_size / parts);  // room for skew; grows beyond
    }
    return c;
  };
  auto grow = [&](Chunk& c) {
    const size_t size = std::min(chunk_size, c.facts.size() + 4096);
    c.facts.resize(size);
    if (parts == 1) {
      c.keys.resize(size);
      c.hashes.resize(size);
    }
  };
  // Reads and selects the next chunk (selection counts into m.counters,
  // which applying never touches). False after the last.
  auto produce = [&](Chunk& c) {
    for (auto& r : c.routed) r.clear();
    Packet p;
    size_t n = 0;  // used, of chunk_size read (progress comes once a chunk)
    bool more = true;
    for (size_t read = 0; read < chunk_size; ++read) {
      if (!(more = reader->next(p))) break;
      if (n == c.facts.size()) grow(c);
      Key routed_key;  // several partitions: the key goes to its partition's list
      Key& key = parts == 1 ? c.keys[n] : routed_key;
      const Impl::Use use = m.select(p, key);
      if (use == Impl::Use::kSkip) continue;
      c.facts[n] = Impl::facts(p, use);
      const uint64_t h = hash_of(key);
      if (parts == 1) {
        c.hashes[n] = h;
      } else {
        c.routed[((h >> 32) * parts) >> 32].push_back({key, h, static_cast<uint32_t>(n)});
      }
      ++n;
    }
    c.used = n;
    c.records = reader->counters().records_;
    c.bytes = reader->input_read();
    return more;
  };
  std::vector<std::vector<uint64_t>> orders(parts), scratch(parts);  // row << 32 | position in the chunk
  auto apply_part = [&](const Chunk& c, size_t t) {
    Impl& q = part(t);
    // One partition: every record of the chunk, in order.
    const size_t records = parts == 1 ? c.used : c.routed[t].size();
    auto& order = orders[t];
    order.clear();
    for (size_t base = 0; base < records; base += kBatch) {
      const size_t end = std::min(records, base + kBatch);
      if (parts == 1) {
        for (size_t j = base; j < end; ++j) q.index.prefetch(c.hashes[j]);
        for (size_t j = base; j < end; ++j) order.push_back(uint64_t{q.row_for(c.keys[j], c.hashes[j])} << 32 | j);
      } else {
        const auto& routed = c.routed[t];
        for (size_t j = base; j < end; ++j) q.index.prefetch(routed[j].hash);
        for (size_t j = base; j < end; ++j) {
          order.push_back(uint64_t{q.row_for(routed[j].key, routed[j].hash)} << 32 | routed[j].position);
        }
      }
    }
    q.apply_by_row(order, scratch[t], c.facts.data());
  };
  Chunk first = make_chunk();
  Chunk second = parts == 1 ? Chunk{} : make_chunk();  // one thread: no reading ahead, one chunk
  produce_and_share(threads, parts, first, second, produce, apply_part, [&](const Chunk& c) {
    if (report) report(c.records, c.bytes);
    m.check_memory(extra);  // every partition is idle here
  });
  // Disjoint keys: kept as they are (no copy), read by table().
  for (auto& q : extra) m.shards.push_back(std::move(q));
  m.counters.files_.emplace_back(path, reader->counters());
}

void Aggregator::add_files(const std::vector<std::string>& paths, const ProgressFn& progress) {
  const size_t threads = std::max(1, impl_->opt.threads_);
  ProgressSum sum(progress, paths);
  // One file (or one thread): the file's sources are split across the threads.
  if (threads == 1 || paths.size() == 1) {
    for (size_t i = 0; i < paths.size(); ++i) read_file(paths[i], sum.of(i));
    return;
  }
  // Each file into its own aggregator, `threads` at a time; merged in the
  // order the files were given, so the result does not depend on timing.
  for (size_t begin = 0; begin < paths.size(); begin += threads) {
    const size_t end = std::min(paths.size(), begin + threads);
    std::vector<Aggregator> parts;
    FeatureOptions one = impl_->opt;
    one.threads_ = 1;  // the threads go to the files here
    // Files read at once share the budget; what is held already counts.
    if (one.max_memory_ > 0) {
      const uint64_t held = impl_->state_bytes();
      one.max_memory_ = one.max_memory_ > held ? (one.max_memory_ - held) / (end - begin) : 1;
    }
    for (size_t i = begin; i < end; ++i) parts.emplace_back(one);
    std::vector<std::exception_ptr> errors(end - begin);
    std::vector<std::thread> pool;
    for (size_t i = begin; i < end; ++i) {
      pool.emplace_back([&, i] {
        try {
          parts[i - begin].read_file(paths[i], sum.of(i));
        } catch (...) {
          errors[i - begin] = std::current_exception();
        }
      });
    }
    for (auto& t : pool) t.join();
    for (auto& e : errors) {
      if (e) std::rethrow_exception(e);
    }
    for (auto& part : parts) {
      // The first part into an empty aggregator: take it whole.
      if (impl_->index.size() == 0 && impl_->counters.packets_ == 0 && impl_->counters.files_.empty()) {
        std::swap(impl_, part.impl_);
        impl_->opt.threads_ = static_cast<int>(threads);
      } else {
        impl_->absorb(std::move(part.impl_));  // given up: kept as it is, or merged
      }
      impl_->check_memory();
    }
  }
}

void Aggregator::merge(const Aggregator& other) { impl_->merge(*other.impl_); }

namespace {
// A routed packet: its row's key, then its Facts, as they are in memory
// (the processes run the same binary).
static_assert(sizeof(Key) == 24 && sizeof(Facts) == 32, "routed records change size: both sides are this binary");
constexpr size_t kRoutedRecord = sizeof(Key) + sizeof(Facts);
}  // namespace

void Aggregator::apply_routed(std::string_view records) {
  if (records.size() % kRoutedRecord != 0) {
    throw FormatError("routed packets: " + std::to_string(records.size()) + " bytes is not a whole number of " +
                      std::to_string(kRoutedRecord) + "-byte records");
  }
  Impl& m = *impl_;
  if (!m.shards.empty()) m.fold_shards();
  // As read_file applies a chunk: rows looked up a batch at a time (the
  // index prefetched), then the packets applied grouped by row, each row's
  // in the order given, its state prefetched ahead.
  const size_t n = records.size() / kRoutedRecord;
  std::vector<Facts> facts(n);
  std::vector<uint64_t> order, scratch;  // row << 32 | position
  order.reserve(n);
  constexpr size_t kBatch = 32;
  std::array<Key, kBatch> keys;
  std::array<uint64_t, kBatch> hashes{};
  for (size_t base = 0; base < n; base += kBatch) {
    const size_t end = std::min(n, base + kBatch);
    for (size_t j = base; j < end; ++j) {
      const char* at = records.data() + j * kRoutedRecord;
      std::memcpy(&keys[j - base], at, sizeof(Key));
      std::memcpy(&facts[j], at + sizeof(Key), sizeof(Facts));
      hashes[j - base] = hash_of(keys[j - base]);
      m.index.prefetch(hashes[j - base]);
    }
    for (size_t j = base; j < end; ++j) {
      order.push_back(uint64_t{m.row_for(keys[j - base], hashes[j - base])} << 32 | j);
    }
  }
  m.apply_by_row(order, scratch, facts.data());
  m.check_memory();
}

PacketRouter::PacketRouter(FeatureOptions options, std::vector<std::string> paths, size_t owners)
    : agg_(std::move(options)), paths_(std::move(paths)), owners_(std::max<size_t>(1, owners)) {}
PacketRouter::~PacketRouter() = default;
PacketRouter::PacketRouter(PacketRouter&&) noexcept = default;
PacketRouter& PacketRouter::operator=(PacketRouter&&) noexcept = default;

bool PacketRouter::next(std::vector<std::string>& out, size_t records) {
  Aggregator::Impl& m = *agg_.impl_;
  out.resize(owners_);
  for (size_t read = 0; read < records;) {
    if (!reader_) {
      if (file_ == paths_.size()) return false;
      reader_ = ingest::CaptureReader::open(paths_[file_]);
      filter::apply_bpf(*reader_, m.opt.bpf_);
    }
    Packet p;
    if (!reader_->next(p)) {
      m.counters.files_.emplace_back(paths_[file_], reader_->counters());
      reader_.reset();
      ++file_;
      continue;
    }
    ++read;
    Key k;
    const Aggregator::Impl::Use use = m.select(p, k);
    if (use == Aggregator::Impl::Use::kSkip) continue;
    const Facts f = Aggregator::Impl::facts(p, use);
    const uint64_t h = hash_of(k);
    std::string& to = out[((h >> 32) * owners_) >> 32];
    to.append(reinterpret_cast<const char*>(&k), sizeof k);
    to.append(reinterpret_cast<const char*>(&f), sizeof f);
  }
  return reader_ != nullptr || file_ < paths_.size();
}

const AggregateCounters& PacketRouter::counters() const { return agg_.counters(); }

const AggregateCounters& Aggregator::counters() const { return impl_->counters; }
const FeatureOptions& Aggregator::options() const { return impl_->opt; }

namespace {
// The rows a table is built from: those of the table (`refs`), and every
// row when `every_row`. Reading may build states (rows of one packet, when
// `build_all`: a family reads every row's states to declare its columns).
template <typename Impl>
uint64_t table_rows(Impl& main, bool build_all, bool every_row, std::vector<RowRef>& refs, std::vector<RowRef>& all) {
  std::vector<Impl*> parts = {&main};
  for (const auto& q : main.shards) parts.push_back(q.get());
  uint64_t validated = 0;
  for (Impl* m : parts) {
    for (uint32_t i = 0; i < m->index.size(); ++i) {
      if (build_all) m->build_states(i);
      const RowRef ref{m->index.key(i).src, m->index.key(i).window, m->view(i)};
      if (every_row) all.push_back(ref);
      if (m->packets[i] < std::max<uint64_t>(1, main.opt.min_packets_)) continue;
      const bool ok = !m->handshakes.empty() && m->handshakes[i].validated;
      validated += ok;
      if (ok || !main.opt.validated_only_) refs.push_back(ref);
    }
  }
  return validated;
}
}  // namespace

FeatureTable Aggregator::table() const { return table(impl_->opt); }

FeatureTable Aggregator::table(const FeatureOptions& options) const {
  // Building states on reading gives the same table either way.
  bool build_all = false;
  for (Family f : options.families_) build_all |= family_def(f).declares_from_rows;
  std::vector<RowRef> refs, all;
  impl_->counters.validated_rows_ = table_rows(*impl_, build_all, impl_->every_row, refs, all);
  return build_table(options, std::move(refs), all);  // sorts the rows
}

std::vector<Aggregator::PortCount> Aggregator::agm_num_port_counts() const {
  if (!impl_->want_tcp) return {};
  std::vector<RowRef> refs, all;
  table_rows(*impl_, /*build_all=*/true, /*every_row=*/true, refs, all);
  return features::agm_num_port_counts(all);
}

size_t FeatureTable::column(std::string_view name) const {
  for (size_t i = 0; i < columns_.size(); ++i) {
    if (columns_[i] == name) return i;
  }
  throw ParamError("feature table has no column '" + std::string(name) + "'");
}

}  // namespace darklens::features
