// darklens-mpi: the darklens command line, with `features` spread over MPI
// ranks (docs/mpi.md). Each rank reads a contiguous share of the captures
// (in the order given) and routes every packet it uses to the rank that
// owns the packet's (source, window), one round of MPI_Alltoallv per chunk
// of records; each owner applies what came from each reader to that
// reader's aggregator and merges them in the readers' order, builds the
// table of its rows, and sends it to rank 0, which merges the tables and
// the counters and writes: the files of `darklens features` byte for byte.
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <iostream>
#include <limits>
#include <nlohmann/json.hpp>
#include <string_view>

#include "commands.hpp"  // apps/darklens/, the commands it runs
#include "darklens/error.hpp"

namespace darklens::cli {
namespace {

int rank_of() {
  int r = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}
int size_of() {
  int n = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &n);
  return n;
}

// Sends and receives byte strings of any length, in pieces MPI's int
// counts can say.
constexpr size_t kPiece = size_t{1} << 30;
void send_bytes(const std::string& s, int to) {
  uint64_t n = s.size();
  MPI_Send(&n, 1, MPI_UINT64_T, to, 0, MPI_COMM_WORLD);
  for (size_t at = 0; at < s.size(); at += kPiece) {
    MPI_Send(s.data() + at, static_cast<int>(std::min(kPiece, s.size() - at)), MPI_BYTE, to, 0, MPI_COMM_WORLD);
  }
}
std::string recv_bytes(int from) {
  uint64_t n = 0;
  MPI_Recv(&n, 1, MPI_UINT64_T, from, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  std::string s(n, '\0');
  for (size_t at = 0; at < s.size(); at += kPiece) {
    MPI_Recv(s.data() + at, static_cast<int>(std::min(kPiece, s.size() - at)), MPI_BYTE, from, 0, MPI_COMM_WORLD,
             MPI_STATUS_IGNORE);
  }
  return s;
}

// One round of the all-to-all exchange: out[r] goes to rank r; what each
// rank sent here is received into `got`, rank r's part at [at[r],
// at[r] + count[r]). Each part is at most a chunk's records, far below
// MPI's int counts (the caller sizes the chunks).
struct Received {
  std::string got;
  std::vector<int> count, at;
  std::string_view from(int r) const { return std::string_view(got).substr(static_cast<size_t>(at[r]), count[r]); }
};
void all_to_all(const std::vector<std::string>& out, Received& in) {
  const int n = size_of();
  std::vector<int> send_counts(n), send_at(n);
  in.count.assign(n, 0);
  in.at.assign(n, 0);
  size_t sent_size = 0;
  for (int r = 0; r < n; ++r) sent_size += out[r].size();
  std::string sent;
  sent.reserve(sent_size);
  for (int r = 0; r < n; ++r) {
    send_at[r] = static_cast<int>(sent.size());
    send_counts[r] = static_cast<int>(out[r].size());
    sent += out[r];
  }
  MPI_Alltoall(send_counts.data(), 1, MPI_INT, in.count.data(), 1, MPI_INT, MPI_COMM_WORLD);
  size_t total = 0;
  for (int r = 0; r < n; ++r) {
    in.at[r] = static_cast<int>(total);
    total += static_cast<size_t>(in.count[r]);
  }
  in.got.resize(total);
  MPI_Alltoallv(sent.data(), send_counts.data(), send_at.data(), MPI_BYTE, in.got.data(), in.count.data(), in.at.data(),
                MPI_BYTE, MPI_COMM_WORLD);
}

template <typename T>
void put(std::string& s, const T& v) {
  s.append(reinterpret_cast<const char*>(&v), sizeof v);
}
template <typename T, typename A>
void put_all(std::string& s, const std::vector<T, A>& v) {
  put(s, uint64_t{v.size()});
  s.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}
template <typename T, typename A = std::allocator<T>>
std::vector<T, A> get_all(const std::string& s, size_t& at) {
  uint64_t n = 0;
  std::memcpy(&n, s.data() + at, sizeof n);
  at += sizeof n;
  std::vector<T, A> v(n);
  std::memcpy(v.data(), s.data() + at, n * sizeof(T));
  at += n * sizeof(T);
  return v;
}

// A rank's table as bytes (its rows; the columns are rank 0's own).
std::string pack(const features::FeatureTable& t) {
  std::string s;
  put_all(s, t.source_);
  put_all(s, t.window_start_ns_);
  put_all(s, t.values_);
  return s;
}
features::FeatureTable unpack(const std::string& s, const features::FeatureTable& like) {
  features::FeatureTable t;
  size_t at = 0;
  t.source_ = get_all<IpAddr>(s, at);
  t.window_start_ns_ = get_all<int64_t>(s, at);
  t.values_ = get_all<double, decltype(t.values_)::allocator_type>(s, at);
  t.columns_ = like.columns_;
  t.kinds_ = like.kinds_;
  return t;
}

nlohmann::json counters_json(const features::AggregateCounters& c) {
  nlohmann::json j = {{"packets", c.packets_},
                      {"outside_prefix", c.outside_prefix_},
                      {"class_filtered", c.class_filtered_},
                      {"used", c.used_},
                      {"responder", c.responder_},
                      {"validated_rows", c.validated_rows_},
                      {"files", nlohmann::json::array()}};
  for (const auto& [path, r] : c.files_) {
    j["files"].push_back({{"path", path},
                          {"records", r.records_},
                          {"wire_bytes", r.wire_bytes_},
                          {"decoded", r.decoded_},
                          {"filtered", r.filtered_},
                          {"first", r.first_ts_ns_},
                          {"last", r.last_ts_ns_},
                          {"timed", r.timed_},
                          {"weird", r.weird_.n_},
                          {"stop", r.stop_message_},
                          {"tokens", r.anonymised_tokens_},
                          {"flow_records", r.flow_records_}});
  }
  return j;
}
void add_counters(features::AggregateCounters& c, const nlohmann::json& j) {
  c.packets_ += j.at("packets").get<uint64_t>();
  c.outside_prefix_ += j.at("outside_prefix").get<uint64_t>();
  c.class_filtered_ += j.at("class_filtered").get<uint64_t>();
  c.used_ += j.at("used").get<uint64_t>();
  c.responder_ += j.at("responder").get<uint64_t>();
  c.validated_rows_ += j.at("validated_rows").get<uint64_t>();
  for (const auto& f : j.at("files")) {
    ingest::ReadCounters r;
    r.records_ = f.at("records").get<uint64_t>();
    r.wire_bytes_ = f.at("wire_bytes").get<uint64_t>();
    r.decoded_ = f.at("decoded").get<uint64_t>();
    r.filtered_ = f.at("filtered").get<uint64_t>();
    r.first_ts_ns_ = f.at("first").get<int64_t>();
    r.last_ts_ns_ = f.at("last").get<int64_t>();
    r.timed_ = f.at("timed").get<bool>();
    r.weird_.n_ = f.at("weird").get<decltype(r.weird_.n_)>();
    r.stop_message_ = f.at("stop").get<std::string>();
    r.anonymised_tokens_ = f.at("tokens").get<uint64_t>();
    r.flow_records_ = f.at("flow_records").get<uint64_t>();
    c.files_.emplace_back(f.at("path").get<std::string>(), std::move(r));
  }
}

// Every rank's agm-num port counts, on every rank.
std::vector<features::Aggregator::PortCount> all_port_counts(const features::Aggregator& agg) {
  std::string mine;
  for (const auto& c : agg.agm_num_port_counts()) {
    put(mine, c.window);
    put(mine, c.port);
    put(mine, c.packets);
  }
  const int n = size_of();
  int size = static_cast<int>(mine.size());
  std::vector<int> sizes(n), at(n);
  MPI_Allgather(&size, 1, MPI_INT, sizes.data(), 1, MPI_INT, MPI_COMM_WORLD);
  size_t total = 0;
  for (int r = 0; r < n; ++r) {
    at[r] = static_cast<int>(total);
    total += static_cast<size_t>(sizes[r]);
  }
  std::string all(total, '\0');
  MPI_Allgatherv(mine.data(), size, MPI_BYTE, all.data(), sizes.data(), at.data(), MPI_BYTE, MPI_COMM_WORLD);
  std::vector<features::Aggregator::PortCount> counts;
  constexpr size_t kRecord = sizeof(int64_t) + sizeof(uint32_t) + sizeof(uint64_t);
  for (size_t i = 0; i + kRecord <= all.size(); i += kRecord) {
    features::Aggregator::PortCount c{};
    std::memcpy(&c.window, all.data() + i, sizeof c.window);
    std::memcpy(&c.port, all.data() + i + sizeof c.window, sizeof c.port);
    std::memcpy(&c.packets, all.data() + i + sizeof c.window + sizeof c.port, sizeof c.packets);
    counts.push_back(c);
  }
  return counts;
}

}  // namespace

Process::Process(int& argc, char**& argv) {
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);  // threads of its own, MPI from main only
}
Process::~Process() { MPI_Finalize(); }
int Process::finish(int code) {
  if (code != 0 && size_of() > 1) MPI_Abort(MPI_COMM_WORLD, code);
  return code;
}

void check_distributed(const std::string& command) {
  if (size_of() > 1 && command != "features") {
    throw ParamError("darklens-mpi spreads 'features' over its ranks; run '" + command +
                     "' with darklens (or one rank) on the table 'features' writes");
  }
}

bool writes_outputs() { return rank_of() == 0; }

FeatureRead read_features(const features::FeatureOptions& options, const std::vector<std::string>& files,
                          const features::ProgressFn& /*progress: rank 0 reads a share only*/) {
  const auto t0 = std::chrono::steady_clock::now();
  const int rank = rank_of(), n = size_of();
  for (features::Family f : options.families_) {
    // Its columns depend on a vocabulary taken over every row.
    if (n > 1 && f == features::Family::kAgmExt && !options.agm_ext_vocab_) {
      throw ParamError("--family agm-ext over several ranks needs --vocab (its vocabulary is taken over every row)");
    }
  }
  const size_t lo = files.size() * static_cast<size_t>(rank) / static_cast<size_t>(n);
  const size_t hi = files.size() * static_cast<size_t>(rank + 1) / static_cast<size_t>(n);
  features::PacketRouter router(
      options, {files.begin() + static_cast<ptrdiff_t>(lo), files.begin() + static_cast<ptrdiff_t>(hi)},
      static_cast<size_t>(n));
  std::vector<features::Aggregator> from;
  from.reserve(static_cast<size_t>(n));
  for (int r = 0; r < n; ++r) from.emplace_back(options);
  // A round sends at most `records` records of 56 bytes to each rank and
  // receives as many from each: well within MPI's int counts.
  const size_t records = std::min<size_t>(size_t{1} << 19, (size_t{1} << 30) / (56 * static_cast<size_t>(n)));
  std::vector<std::string> out(static_cast<size_t>(n));
  Received in;
  for (;;) {
    for (auto& o : out) o.clear();
    int more = router.next(out, records) ? 1 : 0;
    all_to_all(out, in);
    for (int r = 0; r < n; ++r) from[r].apply_routed(in.from(r));
    MPI_Allreduce(MPI_IN_PLACE, &more, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    if (!more) break;
  }
  // The readers' parts in the order they read: one process's states.
  auto mine = std::make_shared<features::Aggregator>(std::move(from[0]));
  for (int r = 1; r < n; ++r) {
    mine->merge(from[r]);
    from[r] = features::Aggregator(options);  // freed as it goes
  }
  FeatureRead result;
  result.read_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // agm-num's top ports: counted over every rank's rows.
  features::FeatureOptions table_options = options;
  bool agm_num = false;
  for (features::Family f : options.families_) agm_num |= f == features::Family::kAgmNum;
  if (agm_num) table_options.agm_num_top_ports_ = features::agm_num_top_ports(all_port_counts(*mine));
  features::FeatureTable table = mine->table(table_options);
  features::AggregateCounters counters = router.counters();
  counters.validated_rows_ = mine->counters().validated_rows_;
  result.held = mine;
  const std::string counted = counters_json(counters).dump();
  if (rank != 0) {
    send_bytes(pack(table), 0);
    send_bytes(counted, 0);
    return result;
  }
  std::vector<features::FeatureTable> parts;
  parts.push_back(std::move(table));
  features::AggregateCounters all;
  add_counters(all, nlohmann::json::parse(counted));
  for (int r = 1; r < n; ++r) {
    parts.push_back(unpack(recv_bytes(r), parts[0]));
    add_counters(all, nlohmann::json::parse(recv_bytes(r)));
  }
  result.table = features::merge_tables(std::move(parts));
  result.counters = std::move(all);
  return result;
}

}  // namespace darklens::cli
