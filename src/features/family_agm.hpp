// The AGM state: per field of the packets (destination address, source
// and destination port, protocol, TTL, TCP flags, size), the count of each
// value (bounded: count_map.hpp). Read by the agm, agm-ext and agm-num
// families (agm-num keeps one over TCP segments only) and by intensity.
#pragma once

#include <array>
#include <cstdint>

#include "count_map.hpp"
#include "darklens/types.hpp"
#include "packet_facts.hpp"

namespace darklens::features {

/// The seven AGM fields, in column order.
enum AgmField { kDstIp, kSrcPort, kDstPort, kProto, kTtl, kTcpFlags, kSize, kAgmFields };

struct AgmCounts {
  uint64_t packets = 0;
  std::array<CountMap, kAgmFields> fields;

  [[gnu::always_inline]] void add(const Facts& p, uint32_t cap) {
    ++packets;
    fields[kDstIp].add(p.addr, cap);
    fields[kSrcPort].add(p.sport, cap);
    fields[kDstPort].add(p.dport, cap);
    fields[kProto].add(p.proto, cap);
    fields[kTtl].add(p.ttl, cap);
    fields[kTcpFlags].add(p.proto == ip_proto::kTcp ? p.tcp_flags : 0, cap);
    fields[kSize].add(p.ip_len, cap);
  }
  void merge(const AgmCounts& o, uint32_t cap) {
    packets += o.packets;
    for (int i = 0; i < kAgmFields; ++i) fields[i].merge(o.fields[i], cap);
  }
};

}  // namespace darklens::features
