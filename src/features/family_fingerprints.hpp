// The fingerprints state: how many of a source's packets carry each tool's
// mark (features::fingerprint_marks), and the modes of its SYNs' MSS,
// window and option layout. Read by the fingerprints family.
#pragma once

#include <cstdint>

#include "count_map.hpp"
#include "packet_facts.hpp"

namespace darklens::features {

struct Fingerprints {
  uint64_t packets = 0, tcp = 0, syn = 0;
  uint64_t mirai = 0, zmap = 0, masscan = 0, no_options = 0, ttl_ge_200 = 0, win_1024 = 0;
  CountMap syn_mss, syn_win, syn_layout;

  void add(const Facts& p, uint32_t cap) {
    ++packets;
    zmap += p.has(Facts::kZmap);
    ttl_ge_200 += p.ttl >= 200;
    if (!p.has(Facts::kTcp)) return;
    ++tcp;
    win_1024 += p.tcp_win == 1024;
    masscan += p.has(Facts::kMasscan);
    if (!p.has(Facts::kSyn)) return;
    ++syn;
    mirai += p.has(Facts::kMirai);
    no_options += p.has(Facts::kNoOptions);
    syn_mss.add(p.tcp_mss, cap);
    syn_win.add(p.tcp_win, cap);
    syn_layout.add(p.layout, cap);
  }
  void merge(const Fingerprints& o, uint32_t cap) {
    packets += o.packets, tcp += o.tcp, syn += o.syn;
    mirai += o.mirai, zmap += o.zmap, masscan += o.masscan;
    no_options += o.no_options, ttl_ge_200 += o.ttl_ge_200, win_1024 += o.win_1024;
    syn_mss.merge(o.syn_mss, cap);
    syn_win.merge(o.syn_win, cap);
    syn_layout.merge(o.syn_layout, cap);
  }
};

}  // namespace darklens::features
