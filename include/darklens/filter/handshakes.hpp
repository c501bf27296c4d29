// Validated TCP: a source is validated in a window when it completed a
// three-way handshake with a responding darknet: its SYN (seen or not), the
// responder's SYN-ACK from (darknet address, port) to (source, port), then
// the source's ACK (ACK set, SYN and RST clear) on the same four-tuple
// within the flow timeout. The responder's packets come from inside the
// --prefix and are never counted as any source's traffic.
//
// Mergeable across consecutive parts like flows: a part keeps its pending
// SYN-ACKs (purged after the timeout: bounded by rate x timeout) and its
// early ACKs (within one timeout of its first event), which may complete a
// SYN-ACK pending at the end of the previous part.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <unordered_map>
#include <vector>

namespace darklens::filter {

struct Handshakes {
  struct Key {  // the connection, seen from the source
    uint32_t darknet_addr;
    uint16_t darknet_port, source_port;
    friend bool operator==(const Key&, const Key&) = default;
  };
  struct KeyHash {
    size_t operator()(const Key& k) const noexcept {
      uint64_t x = (uint64_t{k.darknet_addr} << 32) ^ (uint64_t{k.darknet_port} << 16) ^ k.source_port;
      x *= 0x9e3779b97f4a7c15ULL;
      return static_cast<size_t>(x ^ (x >> 29));
    }
  };
  static constexpr int64_t kNone = std::numeric_limits<int64_t>::min();

  bool validated = false;
  int64_t first = kNone, last = kNone;
  std::unordered_map<Key, int64_t, KeyHash> pending;  // SYN-ACK time
  std::vector<std::pair<Key, int64_t>> early_acks;

  void syn_ack(const Key& k, int64_t ts, int64_t timeout) {
    event(ts);
    if (validated) return;
    auto [it, fresh] = pending.try_emplace(k, ts);
    if (!fresh) it->second = std::max(it->second, ts);
    if (pending.size() > 4096) purge(timeout);
  }
  void ack(const Key& k, int64_t ts, int64_t timeout) {
    event(ts);
    if (validated) return;
    auto it = pending.find(k);
    if (it != pending.end() && ts >= it->second && ts - it->second <= timeout) {
      validated = true;
      pending.clear();
      early_acks.clear();
      return;
    }
    if (ts - first <= timeout) early_acks.emplace_back(k, ts);
  }
  void merge(const Handshakes& o, int64_t timeout) {
    if (o.first == kNone) return;
    if (!validated && !o.validated) {
      for (const auto& [k, ts] : o.early_acks) {
        auto it = pending.find(k);
        if (it != pending.end() && ts >= it->second && ts - it->second <= timeout) validated = true;
      }
    }
    validated = validated || o.validated;
    if (validated) {
      pending.clear();
      early_acks.clear();
    } else {
      for (const auto& [k, ts] : o.pending) {
        auto [it, fresh] = pending.try_emplace(k, ts);
        if (!fresh) it->second = std::max(it->second, ts);
      }
      const int64_t start = first == kNone ? o.first : std::min(first, o.first);
      for (const auto& e : o.early_acks) {
        if (e.second - start <= timeout) early_acks.push_back(e);
      }
    }
    first = first == kNone ? o.first : std::min(first, o.first);
    last = std::max(last, o.last);
    purge(timeout);
  }

 private:
  void event(int64_t ts) {
    if (first == kNone || ts < first) first = ts;
    if (last == kNone || ts > last) last = ts;
  }
  void purge(int64_t timeout) {
    for (auto it = pending.begin(); it != pending.end();) {
      it = last - it->second > timeout ? pending.erase(it) : std::next(it);
    }
  }
};

}  // namespace darklens::filter
