// (source, window) -> SourceState, filled packet by packet, merged across
// files and threads in a fixed order.
#include <algorithm>
#include <thread>
#include <unordered_map>

#include "columns.hpp"
#include "darklens/error.hpp"
#include "darklens/features.hpp"

namespace darklens::features {
namespace {

struct Key {
  IpAddr src;
  int64_t window;
  friend bool operator==(const Key&, const Key&) = default;
};
struct KeyHash {
  size_t operator()(const Key& k) const noexcept {
    return IpAddrHash{}(k.src) ^ (static_cast<size_t>(k.window) * 0x9e3779b97f4a7c15ULL);
  }
};

}  // namespace

struct Aggregator::Impl {
  FeatureOptions opt;
  bool want_agm = false, want_tcp = false, want_time = false, want_fp = false;
  std::unordered_map<Key, uint32_t, KeyHash> index;
  std::vector<Key> keys;
  std::vector<SourceState> states;
  AggregateCounters counters;

  explicit Impl(FeatureOptions o) : opt(std::move(o)) {
    if (opt.families_.empty()) throw ParamError("no feature family given");
    for (Family f : opt.families_) {
      want_agm |= f == Family::kAgm;
      want_tcp |= f == Family::kAgmNum;
      want_time |= f == Family::kTemporal;
      want_fp |= f == Family::kFingerprints;
    }
  }

  SourceState& state_for(const Key& k) {
    auto [it, fresh] = index.try_emplace(k, static_cast<uint32_t>(states.size()));
    if (fresh) {
      keys.push_back(k);
      states.emplace_back();
      SourceState& s = states.back();
      s.all.set_cap(opt.exact_cap_);
      s.tcp.set_cap(opt.exact_cap_);
      s.fp.set_cap(opt.exact_cap_);
    }
    return states[it->second];
  }

  bool in_darknet(const IpAddr& dst) const {
    if (opt.darknet_.empty()) return true;
    for (const auto& c : opt.darknet_) {
      if (c.contains(dst)) return true;
    }
    return false;
  }

  void add(const Packet& p) {
    ++counters.packets_;
    if (!in_darknet(p.dst_)) {
      ++counters.outside_prefix_;
      return;
    }
    if (!(opt.classes_ & (1u << static_cast<int>(classify(p))))) {
      ++counters.class_filtered_;
      return;
    }
    ++counters.used_;
    SourceState& s = state_for({p.src_, opt.window_.start_of(p.ts_ns_)});
    ++s.packets;
    if (want_agm) s.all.add(p);
    if (want_tcp && p.proto_ == ip_proto::kTcp && p.has(Packet::kHasTransport)) s.tcp.add(p);
    if (want_time) s.time.add(p.ts_ns_);
    if (want_fp) s.fp.add(p);
  }

  void merge(const Impl& o) {
    for (size_t i = 0; i < o.keys.size(); ++i) {
      SourceState& s = state_for(o.keys[i]);
      const SourceState& t = o.states[i];
      s.packets += t.packets;
      if (want_agm) s.all.merge(t.all);
      if (want_tcp) s.tcp.merge(t.tcp);
      if (want_time) s.time.merge(t.time);
      if (want_fp) s.fp.merge(t.fp);
    }
    counters.packets_ += o.counters.packets_;
    counters.outside_prefix_ += o.counters.outside_prefix_;
    counters.class_filtered_ += o.counters.class_filtered_;
    counters.used_ += o.counters.used_;
    counters.files_.insert(counters.files_.end(), o.counters.files_.begin(),
                           o.counters.files_.end());
  }
};

Aggregator::Aggregator(FeatureOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Aggregator::~Aggregator() = default;
Aggregator::Aggregator(Aggregator&&) noexcept = default;
Aggregator& Aggregator::operator=(Aggregator&&) noexcept = default;

void Aggregator::add(const Packet& p) { impl_->add(p); }

void Aggregator::add_file(const std::string& path, const std::function<void(uint64_t)>& progress) {
  auto reader = ingest::CaptureReader::open(path);
  reader->set_filter(impl_->opt.bpf_);
  Packet p;
  uint64_t n = 0;
  while (reader->next(p)) {
    impl_->add(p);
    if (progress && (++n & 0xfffff) == 0) progress(reader->counters().records_);
  }
  impl_->counters.files_.emplace_back(path, reader->counters());
}

void Aggregator::add_files(const std::vector<std::string>& paths,
                           const std::function<void(uint64_t)>& progress) {
  const size_t threads = std::max(1, impl_->opt.threads_);
  if (threads == 1 || paths.size() == 1) {
    for (const auto& p : paths) add_file(p, progress);
    return;
  }
  // Each file into its own aggregator, `threads` at a time; merged in the
  // order the files were given, so the result does not depend on timing.
  for (size_t begin = 0; begin < paths.size(); begin += threads) {
    const size_t end = std::min(paths.size(), begin + threads);
    std::vector<Aggregator> parts;
    for (size_t i = begin; i < end; ++i) parts.emplace_back(impl_->opt);
    std::vector<std::exception_ptr> errors(end - begin);
    std::vector<std::thread> pool;
    for (size_t i = begin; i < end; ++i) {
      pool.emplace_back([&, i] {
        try {
          parts[i - begin].add_file(paths[i], i == begin ? progress : nullptr);
        } catch (...) {
          errors[i - begin] = std::current_exception();
        }
      });
    }
    for (auto& t : pool) t.join();
    for (auto& e : errors) {
      if (e) std::rethrow_exception(e);
    }
    for (auto& part : parts) merge(part);
  }
}

void Aggregator::merge(const Aggregator& other) { impl_->merge(*other.impl_); }

const AggregateCounters& Aggregator::counters() const { return impl_->counters; }
const FeatureOptions& Aggregator::options() const { return impl_->opt; }

FeatureTable Aggregator::table() const {
  const Impl& m = *impl_;
  std::vector<uint32_t> rows;
  for (uint32_t i = 0; i < m.keys.size(); ++i) {
    if (m.states[i].packets >= std::max<uint64_t>(1, m.opt.min_packets_)) rows.push_back(i);
  }
  std::sort(rows.begin(), rows.end(), [&](uint32_t a, uint32_t b) {
    const Key &x = m.keys[a], &y = m.keys[b];
    return x.window != y.window ? x.window < y.window : x.src < y.src;
  });
  std::vector<RowRef> refs;
  refs.reserve(rows.size());
  for (uint32_t i : rows) refs.push_back({m.keys[i].src, m.keys[i].window, &m.states[i]});
  std::vector<WindowTraffic> windows;
  if (m.want_tcp) {
    // agm-num's dummies use each window's top TCP destination ports, over
    // every source of the window (also those below --min-packets).
    std::vector<RowRef> all;
    for (uint32_t i = 0; i < m.keys.size(); ++i) all.push_back({m.keys[i].src, m.keys[i].window, &m.states[i]});
    windows = top_tcp_ports(all, 10);
  }
  return build_table(m.opt.families_, refs, windows);
}

size_t FeatureTable::column(std::string_view name) const {
  for (size_t i = 0; i < columns_.size(); ++i) {
    if (columns_[i] == name) return i;
  }
  throw ParamError("feature table has no column '" + std::string(name) + "'");
}

}  // namespace darklens::features
