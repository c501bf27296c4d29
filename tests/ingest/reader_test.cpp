// CaptureReader on files built here: pcap in both byte orders and both
// timestamp precisions, pcapng, gzip and zstd (written with zlib's gzFile
// and zstd's one-shot API, not with darklens' own writer), and hostile
// files: every message of a file that cannot be read is asserted.
#include <gtest/gtest.h>
#include <zlib.h>
#include <zstd.h>

#include <filesystem>

#include "darklens/error.hpp"
#include "darklens/ingest/ingest.hpp"
#include "darklens/synth/pcap_writer.hpp"
#include "support/capture_bytes.hpp"
#include "support/error_of.hpp"
#include "support/temp_dir.hpp"

using namespace darklens;
using darklens::test::Frame;
using ingest::CaptureReader;
using ingest::Weird;

namespace {

std::vector<Frame> three_frames() {
  std::vector<Frame> v;
  for (int i = 0; i < 3; ++i) {
    FrameSpec s;
    s.src = 0x01020300 + i;
    s.dst = 0xC6336400 + i;
    s.dport = static_cast<uint16_t>(23 + i);
    s.tcp_flags = 0x02;
    v.push_back({1'600'000'000'123'456'789LL + i * 1'000'000'000LL, build_frame(s)});
  }
  return v;
}

struct ReadAll {
  std::vector<Packet> packets;
  ingest::ReadCounters counters;
  ingest::CaptureInfo info;
};

ReadAll read_all(const std::string& path) {
  auto r = CaptureReader::open(path);
  ReadAll out;
  Packet p;
  while (r->next(p)) out.packets.push_back(p);
  out.counters = r->counters();
  out.info = r->info();
  return out;
}

using test::error_of;

std::vector<uint8_t> gzip_bytes(const test::TempDir& dir, const std::vector<uint8_t>& raw) {
  std::string path = dir.file("tmp.gz");
  gzFile g = gzopen(path.c_str(), "wb");
  gzwrite(g, raw.data(), static_cast<unsigned>(raw.size()));
  gzclose(g);
  return test::read_bytes(path);
}

std::vector<uint8_t> zstd_bytes(const std::vector<uint8_t>& raw) {
  std::vector<uint8_t> out(ZSTD_compressBound(raw.size()));
  out.resize(ZSTD_compress(out.data(), out.size(), raw.data(), raw.size(), 3));
  return out;
}

}  // namespace

TEST(Reader, PcapBothByteOrdersAndPrecisions) {
  test::TempDir dir;
  for (bool be : {false, true}) {
    for (bool ns : {false, true}) {
      auto path = dir.write("x.pcap", test::pcap_file(three_frames(), 1, be, ns));
      auto r = read_all(path);
      ASSERT_EQ(r.packets.size(), 3u) << "be=" << be << " ns=" << ns;
      EXPECT_EQ(r.info.format_, ingest::Format::kPcap);
      EXPECT_EQ(r.info.linktype_, 1);
      // Microsecond files lose the last three digits.
      EXPECT_EQ(r.packets[0].ts_ns_, ns ? 1'600'000'000'123'456'789LL : 1'600'000'000'123'456'000LL);
      EXPECT_EQ(r.packets[2].dport_, 25);
      EXPECT_EQ(r.counters.records_, 3u);
      EXPECT_EQ(r.counters.wire_bytes_, 3u * 60);
      EXPECT_TRUE(r.counters.stop_message_.empty());
    }
  }
}

TEST(Reader, Pcapng) {
  test::TempDir dir;
  auto path = dir.write("x.pcapng", test::pcapng_file(three_frames()));
  auto r = read_all(path);
  ASSERT_EQ(r.packets.size(), 3u);
  EXPECT_EQ(r.info.format_, ingest::Format::kPcapNg);
  EXPECT_EQ(r.packets[1].ts_ns_, 1'600'000'001'123'456'789LL);
  EXPECT_EQ(r.packets[1].dst_.to_string(), "198.51.100.1");
}

TEST(Reader, GzipAndZstdDetectedByContentNotName) {
  test::TempDir dir;
  auto raw = test::pcap_file(three_frames());
  auto gz = dir.write("no-extension-a", gzip_bytes(dir, raw));
  auto zs = dir.write("no-extension-b", zstd_bytes(raw));
  auto a = read_all(gz);
  EXPECT_EQ(a.info.compression_, ingest::Compression::kGzip);
  EXPECT_EQ(a.packets.size(), 3u);
  auto b = read_all(zs);
  EXPECT_EQ(b.info.compression_, ingest::Compression::kZstd);
  EXPECT_EQ(b.packets.size(), 3u);
  // pcapng inside zstd
  auto zng = dir.write("c.pcapng.zst", zstd_bytes(test::pcapng_file(three_frames())));
  auto c = read_all(zng);
  EXPECT_EQ(c.info.format_, ingest::Format::kPcapNg);
  EXPECT_EQ(c.packets.size(), 3u);
}

TEST(Reader, ConcatenatedGzipMembers) {
  test::TempDir dir;
  auto raw = test::pcap_file(three_frames());
  // Split the file in two gzip members, as `cat a.gz b.gz` would.
  std::vector<uint8_t> first(raw.begin(), raw.begin() + 50), second(raw.begin() + 50, raw.end());
  auto a = gzip_bytes(dir, first);
  auto b = gzip_bytes(dir, second);
  a.insert(a.end(), b.begin(), b.end());
  auto r = read_all(dir.write("cat.gz", a));
  EXPECT_EQ(r.packets.size(), 3u);
  EXPECT_TRUE(r.counters.stop_message_.empty()) << r.counters.stop_message_;
}

TEST(Reader, OurWriterRoundTripsCompressed) {
  test::TempDir dir;
  for (auto c : {ingest::Compression::kNone, ingest::Compression::kGzip, ingest::Compression::kZstd}) {
    std::string path = dir.file("w.pcap");
    PcapWriter w(path, 1, c, /*nanosecond=*/true);
    for (const auto& f : three_frames()) w.write(f.ts_ns, f.bytes);
    w.commit();
    auto r = read_all(path);
    EXPECT_EQ(r.info.compression_, c);
    ASSERT_EQ(r.packets.size(), 3u);
    EXPECT_EQ(r.packets[0].ts_ns_, 1'600'000'000'123'456'789LL);
  }
}

TEST(ReaderErrors, MissingFileAndDirectory) {
  test::TempDir dir;
  std::string missing = dir.file("nope.pcap");
  EXPECT_EQ(error_of([&] { CaptureReader::open(missing); }), missing + ": cannot open: No such file or directory");
  EXPECT_EQ(error_of([&] { CaptureReader::open(dir.path().string()); }),
            dir.path().string() + ": cannot read: is a directory");
  EXPECT_THROW(CaptureReader::open(missing), IoError);
}

TEST(ReaderErrors, EmptyAndNotACapture) {
  test::TempDir dir;
  auto empty = dir.write("empty.pcap", std::string());
  EXPECT_EQ(error_of([&] { CaptureReader::open(empty); }), empty + ": empty file, not a capture");
  auto html = dir.write("page.pcap", std::string("<html><body>hello</body></html>\n"));
  EXPECT_EQ(error_of([&] { CaptureReader::open(html); }),
            html +
                ": not a capture file: starts with bytes 3c 68 74 6d (expected pcap, "
                "pcapng, a DarkVec CSV header or a FlowTuple Avro file, optionally gzip- or zstd-compressed)");
  EXPECT_THROW(CaptureReader::open(html), FormatError);
  auto gz_html = dir.write("page.gz", gzip_bytes(dir, {'<', 'h', 't', 'm', 'l', '>'}));
  EXPECT_EQ(error_of([&] { CaptureReader::open(gz_html); }),
            gz_html +
                " (gzip): not a capture file: starts with bytes 3c 68 74 6d (expected "
                "pcap, pcapng, a DarkVec CSV header or a FlowTuple Avro file, optionally gzip- or zstd-compressed)");
}

TEST(ReaderErrors, TruncatedFileHeader) {
  test::TempDir dir;
  auto raw = test::pcap_file({});
  raw.resize(9);
  auto path = dir.write("short.pcap", raw);
  EXPECT_EQ(error_of([&] { CaptureReader::open(path); }),
            path +
                ": cannot read pcap header: truncated file header; tried to read 24 "
                "bytes, only got 9");
}

TEST(ReaderErrors, AbsurdSnaplenIsTolerated) {
  test::TempDir dir;
  auto path = dir.write("snap.pcap", test::pcap_file(three_frames(), 1, false, false, 0xffffffffu));
  auto r = read_all(path);
  EXPECT_EQ(r.packets.size(), 3u);
}

TEST(ReaderErrors, AbsurdRecordLengthStopsTheFileAndIsCounted) {
  test::TempDir dir;
  auto raw = test::pcap_file(three_frames());
  // Second record header: caplen field at offset 24 + (16 + 60) + 8.
  size_t off = 24 + 16 + 60 + 8;
  raw[off] = 0xff, raw[off + 1] = 0xff, raw[off + 2] = 0xff, raw[off + 3] = 0x7f;
  auto path = dir.write("absurd.pcap", raw);
  auto r = read_all(path);
  EXPECT_EQ(r.packets.size(), 1u);
  EXPECT_EQ(r.counters.weird_[Weird::kCorruptRecord], 1u);
  EXPECT_EQ(r.counters.stop_message_, path +
                                          ": invalid captured length 2147483647 at offset 100, bigger than the "
                                          "maximum of 262144 (stopped after 1 records)");
}

TEST(ReaderErrors, TruncatedLastRecord) {
  test::TempDir dir;
  auto raw = test::pcap_file(three_frames());
  raw.resize(raw.size() - 38);
  auto path = dir.write("cut.pcap", raw);
  auto r = read_all(path);
  EXPECT_EQ(r.packets.size(), 2u);
  EXPECT_EQ(r.counters.weird_[Weird::kTruncatedRecord], 1u);
  EXPECT_EQ(r.counters.stop_message_, path +
                                          ": truncated record at offset 176; tried to read 60 captured bytes, "
                                          "only got 22 (stopped after 2 records)");
}

TEST(ReaderErrors, TruncatedRecordHeader) {
  test::TempDir dir;
  auto raw = test::pcap_file(three_frames());
  raw.resize(24 + 2 * (16 + 60) + 10);
  auto path = dir.write("cut-header.pcap", raw);
  auto r = read_all(path);
  EXPECT_EQ(r.packets.size(), 2u);
  EXPECT_EQ(r.counters.weird_[Weird::kTruncatedRecord], 1u);
  EXPECT_EQ(r.counters.stop_message_, path +
                                          ": truncated record header at offset 176; tried to read 16 bytes, only "
                                          "got 10 (stopped after 2 records)");
}

TEST(ReaderErrors, GarbageInTheMiddleNeverCrashes) {
  test::TempDir dir;
  auto frames = three_frames();
  auto raw = test::pcap_file({frames[0]});
  for (int i = 0; i < 64; ++i) raw.push_back(static_cast<uint8_t>(i * 37 + 11));
  auto tail = test::pcap_file({frames[1], frames[2]});
  raw.insert(raw.end(), tail.begin() + 24, tail.end());
  auto r = read_all(dir.write("garbage.pcap", raw));
  ASSERT_GE(r.packets.size(), 1u);
  EXPECT_EQ(r.packets[0].dport_, 23);
  EXPECT_GE(r.counters.weird_.total() + (r.counters.stop_message_.empty() ? 0 : 1), 1u);
}

TEST(ReaderErrors, TruncatedAndCorruptCompressedStreams) {
  test::TempDir dir;
  auto raw = test::pcap_file(three_frames());
  auto gz = gzip_bytes(dir, raw);
  gz.resize(gz.size() - 12);  // cut the trailer and some data
  auto gz_path = dir.write("cut.gz", gz);
  auto a = read_all(gz_path);
  EXPECT_EQ(a.counters.weird_[Weird::kTruncatedRecord], 1u);
  EXPECT_NE(a.counters.stop_message_.find(gz_path + ": truncated gzip stream"), std::string::npos)
      << a.counters.stop_message_;
  auto zs = zstd_bytes(raw);
  for (size_t i = 20; i < zs.size() - 4; ++i) zs[i] ^= 0x5a;
  auto zs_path = dir.write("bad.zst", zs);
  std::string msg;
  try {
    msg = read_all(zs_path).counters.stop_message_;
  } catch (const FormatError& e) {
    msg = e.what();  // damaged before the capture header could be read
  }
  EXPECT_NE(msg.find("corrupt zstd data"), std::string::npos) << msg;
}

TEST(ReaderErrors, CorruptGzipDataIsCorruptNotTruncated) {
  test::TempDir dir;
  std::vector<Frame> many;
  for (int i = 0; i < 200; ++i) many.push_back(three_frames()[i % 3]);
  auto gz = gzip_bytes(dir, test::pcap_file(many));
  for (size_t i = gz.size() / 2; i < gz.size() / 2 + 40; ++i) gz[i] ^= 0xff;
  auto path = dir.write("bad.gz", gz);
  auto r = read_all(path);
  EXPECT_LT(r.packets.size(), 200u);
  EXPECT_EQ(r.counters.weird_[Weird::kCorruptRecord], 1u);
  EXPECT_EQ(r.counters.weird_[Weird::kTruncatedRecord], 0u);
  EXPECT_EQ(r.counters.stop_message_.rfind(path + ": corrupt gzip data: ", 0), 0u) << r.counters.stop_message_;
}

TEST(ReaderErrors, TruncatedZstdBeforeAnyDataNamesTheFile) {
  test::TempDir dir;
  auto zs = zstd_bytes(test::pcap_file(three_frames()));
  zs.resize(zs.size() - 8);
  auto path = dir.write("cut.zst", zs);
  EXPECT_EQ(error_of([&] { CaptureReader::open(path); }), path + " (zstd): truncated zstd stream");
}

TEST(ReaderErrors, PcapngHeaderAndTailThroughLibpcap) {
  test::TempDir dir;
  auto ng = test::pcapng_file(three_frames());
  auto short_path = dir.write("short.pcapng", std::vector<uint8_t>(ng.begin(), ng.begin() + 20));
  // libpcap's wording: it counts after the 12 bytes (type, length, byte
  // order magic) it has already read of the 28-byte section header.
  EXPECT_EQ(error_of([&] { CaptureReader::open(short_path); }),
            short_path +
                ": cannot read pcapng header: truncated pcapng dump file; tried to "
                "read 16 bytes, only got 8");
  ng.resize(ng.size() - 10);
  auto cut_path = dir.write("cut.pcapng", ng);
  auto r = read_all(cut_path);
  EXPECT_EQ(r.packets.size(), 2u);
  EXPECT_EQ(r.counters.weird_[Weird::kTruncatedRecord], 1u);
  EXPECT_EQ(r.counters.stop_message_.rfind(cut_path + ": truncated pcapng dump file", 0), 0u)
      << r.counters.stop_message_;
}

TEST(ReaderErrors, DamagedPacketsAreCountedAndSkipped) {
  test::TempDir dir;
  auto frames = three_frames();
  frames[1].bytes[14] = 0x35;  // IP version 3
  std::vector<uint8_t> arp(42, 0);
  arp[12] = 0x08, arp[13] = 0x06;
  frames.push_back({frames[2].ts_ns + 1, arp});
  auto r = read_all(dir.write("mixed.pcap", test::pcap_file(frames)));
  EXPECT_EQ(r.packets.size(), 2u);
  EXPECT_EQ(r.counters.records_, 4u);
  EXPECT_EQ(r.counters.decoded_, 2u);
  EXPECT_EQ(r.counters.weird_[Weird::kBadIpVersion], 1u);
  EXPECT_EQ(r.counters.weird_[Weird::kNonIp], 1u);
  EXPECT_TRUE(r.counters.stop_message_.empty());
}

TEST(ReaderErrors, UnsupportedLinktypeCountsEveryRecord) {
  test::TempDir dir;
  auto r = read_all(dir.write("lt.pcap", test::pcap_file(three_frames(), 147)));
  EXPECT_EQ(r.packets.size(), 0u);
  EXPECT_EQ(r.counters.weird_[Weird::kUnsupportedLinktype], 3u);
}

TEST(Reader, FromMemory) {
  auto raw = test::pcap_file(three_frames());
  auto r = CaptureReader::open_memory(raw.data(), raw.size(), "mem");
  Packet p;
  int n = 0;
  while (r->next(p)) ++n;
  EXPECT_EQ(n, 3);
  EXPECT_EQ(r->info().path_, "mem");
}

// Progress of every reader: bytes of the input as stored (compressed ones
// for gzip and zstd) read so far, never more than its size, and all of it
// at the end; memory inputs too.
TEST(Reader, InputBytesReadReachTheSizeOfEveryKind) {
  test::TempDir dir;
  const auto pcap = test::pcap_file(three_frames());
  std::vector<std::string> paths = {dir.write("a.pcap", pcap), dir.write("b.pcapng", test::pcapng_file(three_frames())),
                                    std::string(DARKLENS_TEST_DATA) + "/darknet01_20210501.csv.gz"};
  {
    PcapWriter w(dir.file("c.pcap.zst"), 1, ingest::Compression::kZstd);
    for (const auto& f : three_frames()) w.write(f.ts_ns, f.bytes);
    w.commit();
    paths.push_back(dir.file("c.pcap.zst"));
  }
  for (const auto& path : paths) {
    SCOPED_TRACE(path);
    const uint64_t size = std::filesystem::file_size(path);
    auto r = CaptureReader::open(path);
    EXPECT_EQ(r->input_size(), size);
    Packet p;
    while (r->next(p)) EXPECT_LE(r->input_read(), size);
    EXPECT_EQ(r->input_read(), size);
  }
  auto m = CaptureReader::open_memory(pcap.data(), pcap.size(), "mem");
  Packet p;
  while (m->next(p)) {
  }
  EXPECT_EQ(m->input_size(), pcap.size());
  EXPECT_EQ(m->input_read(), pcap.size());
}
