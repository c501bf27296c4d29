// Traffic intensity of one source: packets and flows per TCP flag
// combination, protocol and service group, bytes, distinct destinations,
// ports and /24s. A flow is one (destination, source port, destination
// port, protocol) with an idle timeout: a packet more than `timeout` after
// the previous packet of the same tuple starts a new flow.
//
// Mergeable across consecutive parts: each part keeps its live flows (those
// that may continue into the next part; bounded by rate x timeout) and its
// head flows (started within one timeout of the part's first packet of this
// source; the only ones that may continue a flow of the previous part).
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "count_map.hpp"
#include "darklens/types.hpp"
#include "flow_table.hpp"
#include "packet_facts.hpp"

namespace darklens::features {

/// TCP flag combinations counted (flags & 0x3f; ECN bits ignored).
enum FlagGroup { kFlSyn, kFlSynAck, kFlAck, kFlPshAck, kFlRst, kFlRstAck, kFlFinAck, kFlOtherTcp, kFlagGroups };
enum ProtoGroup { kPrTcp, kPrUdp, kPrIcmp, kPrOther, kProtoGroups };
/// Service groups of TCP/UDP destination ports (docs/features.md).
enum ServiceGroup {
  kSvTelnet,
  kSvSsh,
  kSvHttp,
  kSvHttps,
  kSvSmb,
  kSvSql,
  kSvRdp,
  kSvDns,
  kSvNtp,
  kSvSip,
  kSvOtherSystem,
  kSvOtherUser,
  kSvEphemeral,
  kServiceGroups
};
extern const char* const kFlagGroupNames[kFlagGroups];
extern const char* const kProtoGroupNames[kProtoGroups];
extern const char* const kServiceGroupNames[kServiceGroups];
ServiceGroup service_of(uint16_t port);

struct Intensity {
  static constexpr uint8_t kNoGroup = 0xff;
  struct Groups {  // where a packet (or the flow it starts) is counted
    uint8_t flag = kNoGroup, proto = 0, service = kNoGroup;
  };
  struct Head {
    FlowKey key;
    int64_t start;
    Groups groups;
  };

  uint64_t packets = 0, bytes = 0, flows = 0;
  std::array<uint64_t, kFlagGroups> flag_packets{}, flag_flows{};
  std::array<uint64_t, kProtoGroups> proto_packets{}, proto_flows{};
  std::array<uint64_t, kServiceGroups> service_packets{}, service_flows{};
  CountMap dst, dport, dst24;  // for the distinct counts
  // With agm, the source's agm destination-port map holds exactly the
  // ports counted here (every packet's, the same values in the same order)
  // as long as every packet was TCP or UDP with its header: `dport` stays
  // empty until the first other packet, which copies agm's map over.
  bool dport_in_agm = true;
  int64_t first = 0, last = 0;
  FlowTable live;  // last packet time of the flows that may still continue
  std::vector<Head> head;

  static Groups groups_of(const Facts& p);
  /// `agm_dports`: the source's agm destination-port map, before p is
  /// added to it, or nullptr without agm. With agm, the destinations are
  /// counted in agm's dst_ip map only, and the ports there while
  /// dport_in_agm (the columns read them from there).
  void add(const Facts& p, int64_t timeout, uint32_t cap, const CountMap* agm_dports);
  /// Before the agm maps are merged: `agm_dports` and `later_agm_dports`
  /// are this source's and the later part's (nullptr without agm).
  void merge(const Intensity& later, int64_t timeout, uint32_t cap, const CountMap* agm_dports,
             const CountMap* later_agm_dports);
  /// The map that counts the destination ports (`agm_dports` as for add).
  const CountMap& dports(const CountMap* agm_dports) const { return dport_in_agm && agm_dports ? *agm_dports : dport; }
  /// merge() into this empty state (no packets yet), taking o's parts.
  void adopt(Intensity&& o, int64_t timeout);

 private:
  void count_flow(const Groups& g, int sign);
  /// From now on `dport` holds the ports itself, starting from agm's counts
  /// so far (nothing without agm).
  void own_dports(const CountMap* agm_dports, uint32_t cap);
};

}  // namespace darklens::features
