// The memory budget: sizes as users write them, the refusal's message, and
// the aggregator refusing a storm of sources before it outgrows the budget.
#include "darklens/core/memory.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <vector>

#include "darklens/error.hpp"
#include "darklens/features/features.hpp"
#include "darklens/synth/pcap_writer.hpp"
#include "support/temp_dir.hpp"

using namespace darklens;

namespace {

std::string refusal(std::string_view text) {
  try {
    parse_memory_size(text);
  } catch (const ParamError& e) {
    return e.what();
  }
  return "accepted";
}

}  // namespace

TEST(MemoryBudget, SizesAsWritten) {
  EXPECT_EQ(parse_memory_size("4G"), uint64_t{4} << 30);
  EXPECT_EQ(parse_memory_size("512MiB"), uint64_t{512} << 20);
  EXPECT_EQ(parse_memory_size("1.5 GB"), uint64_t{3} << 29);
  EXPECT_EQ(parse_memory_size("16m"), uint64_t{16} << 20);
  EXPECT_EQ(parse_memory_size("1t"), uint64_t{1} << 40);
  EXPECT_EQ(parse_memory_size("20000000"), 20000000u);
  EXPECT_EQ(parse_memory_size("none"), 0u);
  const uint64_t ram = physical_memory();
  ASSERT_GT(ram, uint64_t{64} << 20);
  EXPECT_NEAR(static_cast<double>(parse_memory_size("75%")), 0.75 * static_cast<double>(ram), 1.0);
  EXPECT_NEAR(static_cast<double>(parse_memory_size("100%")), static_cast<double>(ram), 1.0);
}

TEST(MemoryBudget, MalformedSizesAreRefusedByName) {
  EXPECT_EQ(refusal("4X"),
            "--max-memory '4X': unknown unit 'X' (a size such as 4G, 512M or 1.5GiB, a share of memory such as 75%, "
            "or none)");
  EXPECT_NE(refusal("15M").find("a budget under 16 MiB leaves no room to work"), std::string::npos);
  EXPECT_NE(refusal("0").find("under 16 MiB"), std::string::npos);
  EXPECT_NE(refusal("0%").find("a share of memory is between 0 and 100%"), std::string::npos);
  EXPECT_NE(refusal("101%").find("between 0 and 100%"), std::string::npos);
  for (const char* bad : {"", "G", "-1G", "nan", "inf", "1e400", "4 G B X", "99999999999999999999T"}) {
    EXPECT_NE(refusal(bad), "accepted") << bad;
  }
}

TEST(MemoryBudget, FormatsBytes) {
  EXPECT_EQ(format_bytes(0), "0 B");
  EXPECT_EQ(format_bytes(1023), "1023 B");
  EXPECT_EQ(format_bytes(1536), "1.5 KiB");
  EXPECT_EQ(format_bytes(uint64_t{3} << 29), "1.5 GiB");
}

// What analyze's stage lines show: the resident memory follows 64 MiB held
// and written, agrees with /proc/self/statm's count of pages, and the peak
// is never below it.
TEST(MemoryBudget, ProcessMemoryFollowsWhatIsHeld) {
  auto statm_resident = [] {
    std::ifstream in("/proc/self/statm");
    uint64_t size = 0, pages = 0;
    in >> size >> pages;
    return pages * static_cast<uint64_t>(sysconf(_SC_PAGE_SIZE));
  };
  const ProcessMemory before = process_memory();
  ASSERT_GT(before.resident, 0u);
  EXPECT_GE(before.peak, before.resident);
  std::vector<char> held(size_t{64} << 20, 1);
  const ProcessMemory during = process_memory();
  const uint64_t statm = statm_resident();
  EXPECT_GE(during.resident, before.resident + (uint64_t{60} << 20));
  EXPECT_GE(during.peak, during.resident);
  EXPECT_LT(during.resident > statm ? during.resident - statm : statm - during.resident, uint64_t{8} << 20);
  EXPECT_EQ(held[held.size() - 1], 1);
}

TEST(MemoryBudget, RefusesWorkOverItWithWhatAndAdvice) {
  MemoryBudget none;
  EXPECT_NO_THROW(none.check(uint64_t{1} << 50, "anything", "nothing"));
  MemoryBudget b{uint64_t{1} << 30};
  EXPECT_NO_THROW(b.check(uint64_t{1} << 30, "x", "y"));
  try {
    b.check(uint64_t{3} << 29, "clustering 5 rows", "cluster fewer");
    FAIL() << "not refused";
  } catch (const ResourceError& e) {
    EXPECT_STREQ(e.what(),
                 "clustering 5 rows: about 1.5 GiB needed, over the memory budget of 1.0 GiB (--max-memory); "
                 "cluster fewer");
  }
}

// 300,000 sources of one packet each: about 40 MiB with agm, refused under
// a 16 MiB budget, read whole under a large one.
TEST(MemoryBudget, AggregatorRefusesAStormOverBudget) {
  test::TempDir dir;
  const std::string path = (dir.path() / "storm.pcap").string();
  {
    PcapWriter w(path, 1);
    FrameSpec f;
    f.dst = 0xC0A80001;
    f.dport = 23;
    for (uint32_t i = 0; i < 300000; ++i) {
      f.src = 0x0B000000 + i * 7;
      w.write(1'619'827'200'000'000'000 + int64_t{i} * 1000, build_frame(f));
    }
    w.commit();
  }
  features::FeatureOptions o;
  o.max_memory_ = uint64_t{16} << 20;
  features::Aggregator small(o);
  try {
    small.add_file(path);
    FAIL() << "not refused";
  } catch (const ResourceError& e) {
    const std::string m = e.what();
    EXPECT_EQ(m.find("reading the captures: 300000 (source, window) rows so far, their states and a table of 22 "
                     "columns: about "),
              0u)
        << m;
    EXPECT_NE(m.find("over the memory budget of 16.0 MiB (--max-memory); raise it, or read less at once"),
              std::string::npos)
        << m;
  }
  o.max_memory_ = uint64_t{1} << 30;
  features::Aggregator large(o);
  large.add_file(path);
  EXPECT_EQ(large.table().rows(), 300000u);
}
