// Example: the ten sources that sent the most packets in a capture, using
// only the public ingest API.
//
//   build/release/examples/top_talkers capture.pcap[.gz|.zst]
#include <algorithm>
#include <cstdio>
#include <unordered_map>
#include <vector>

#include "darklens/error.hpp"
#include "darklens/ingest/ingest.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CAPTURE\n", argv[0]);
    return 2;
  }
  try {
    auto reader = darklens::ingest::CaptureReader::open(argv[1]);
    std::unordered_map<darklens::IpAddr, uint64_t, darklens::IpAddrHash> packets;
    darklens::Packet p;
    while (reader->next(p)) ++packets[p.src_];

    std::vector<std::pair<darklens::IpAddr, uint64_t>> top(packets.begin(), packets.end());
    auto most = [](const auto& a, const auto& b) {
      return a.second != b.second ? a.second > b.second : a.first < b.first;
    };
    size_t k = std::min<size_t>(10, top.size());
    std::partial_sort(top.begin(), top.begin() + k, top.end(), most);
    for (size_t i = 0; i < k; ++i) {
      std::printf("%-40s %llu\n", top[i].first.to_string().c_str(), static_cast<unsigned long long>(top[i].second));
    }
    const auto& c = reader->counters();
    std::printf("%llu packets read, %llu skipped as damaged\n", static_cast<unsigned long long>(c.records_),
                static_cast<unsigned long long>(c.weird_.total()));
    if (!c.stop_message_.empty()) std::printf("warning: %s\n", c.stop_message_.c_str());
  } catch (const darklens::Error& e) {
    std::fprintf(stderr, "top_talkers: %s\n", e.what());
    return 1;
  }
  return 0;
}
