// Hot paths of ingest: decoding one frame, and reading + summarising a
// whole in-memory capture (packets/s in the "items_per_second" column).
#include <benchmark/benchmark.h>

#include "darklens/ingest/ingest.hpp"
#include "darklens/ingest/summary.hpp"
#include "darklens/synth/pcap_writer.hpp"

using namespace darklens;

namespace {

std::vector<std::vector<uint8_t>> sample_frames(size_t n) {
  std::vector<std::vector<uint8_t>> v;
  for (size_t i = 0; i < n; ++i) {
    FrameSpec s;
    s.src = 0x01000000u + static_cast<uint32_t>(i * 2654435761u % 100000);
    s.dst = 0xC6336400u + (i & 0xff);
    s.dport = static_cast<uint16_t>(i % 7 == 0 ? 22 : 23);
    s.proto = i % 10 == 0 ? 17 : 6;
    if (i % 3 == 0) s.tcp_options = {2, 4, 5, 180, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7};
    v.push_back(build_frame(s));
  }
  return v;
}

void BM_DecodeFrame(benchmark::State& state) {
  auto frames = sample_frames(4096);
  size_t i = 0;
  Packet p;
  for (auto _ : state) {
    const auto& f = frames[i++ & 4095];
    p = Packet{};
    benchmark::DoNotOptimize(ingest::decode_frame(1, f.data(), f.size(), p));
    benchmark::DoNotOptimize(p);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DecodeFrame);

std::vector<uint8_t> pcap_in_memory(size_t n) {
  std::vector<uint8_t> out = {0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 1, 0, 0, 0};
  auto frames = sample_frames(n);
  for (size_t i = 0; i < n; ++i) {
    uint32_t len = static_cast<uint32_t>(frames[i].size());
    uint32_t h[4] = {1'600'000'000u + static_cast<uint32_t>(i / 1000), static_cast<uint32_t>(i % 1000) * 1000, len,
                     len};
    const auto* hb = reinterpret_cast<const uint8_t*>(h);
    out.insert(out.end(), hb, hb + 16);
    out.insert(out.end(), frames[i].begin(), frames[i].end());
  }
  return out;
}

void BM_ReadAndSummarise(benchmark::State& state) {
  const size_t n = 200000;
  auto bytes = pcap_in_memory(n);
  for (auto _ : state) {
    auto r = ingest::CaptureReader::open_memory(bytes.data(), bytes.size(), "bench");
    ingest::SummaryBuilder b;
    Packet p;
    while (r->next(p)) b.add(p);
    benchmark::DoNotOptimize(b.finish());
  }
  state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_ReadAndSummarise)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
