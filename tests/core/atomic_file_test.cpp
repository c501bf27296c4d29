#include "darklens/core/atomic_file.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include "darklens/error.hpp"
#include "support/temp_dir.hpp"

using namespace darklens;

TEST(AtomicFile, AppearsOnlyOnCommit) {
  test::TempDir dir;
  std::string path = dir.file("out.csv");
  {
    AtomicFile f(path);
    f.write("a,b\n");
    EXPECT_FALSE(std::filesystem::exists(path));
    EXPECT_TRUE(std::filesystem::exists(f.temp_path()));
    f.commit();
  }
  EXPECT_EQ(test::read_bytes(path).size(), 4u);
}

// Durable large outputs are handed to the disk in 8 MiB steps as they are
// written: pieces of every size across those steps (small ones through the
// stream's buffer, large ones past it) still give the bytes in order, with
// sync on and off.
TEST(AtomicFile, LargeWritesInPiecesAcrossTheWritebackStepsKeepEveryByte) {
  for (bool sync : {true, false}) {
    AtomicFile::set_sync(sync);
    test::TempDir dir;
    std::string path = dir.file("big.npy");
    std::string expected;
    {
      AtomicFile f(path);
      const size_t sizes[] = {3, (size_t{8} << 20) - 5, 7, 1, (size_t{19} << 20) + 11, 4096, 100};
      char c = 0;
      for (size_t n : sizes) {
        std::string piece(n, '\0');
        for (auto& b : piece) b = c++;
        f.write(piece);
        expected += piece;
      }
      f.commit();
    }
    EXPECT_TRUE(test::read_bytes(path) == std::vector<uint8_t>(expected.begin(), expected.end())) << sync;
  }
  AtomicFile::set_sync(false);  // the default, for the tests after
}

TEST(AtomicFile, AbandonedWriteKeepsTheOldFileAndLeavesNoTemporary) {
  test::TempDir dir;
  std::string path = dir.write("out.csv", std::string("old\n"));
  std::string tmp;
  {
    AtomicFile f(path);
    tmp = f.temp_path();
    f.write("half a fi");
  }  // e.g. an exception unwound before commit()
  EXPECT_FALSE(std::filesystem::exists(tmp));
  EXPECT_EQ(test::read_bytes(path).size(), 4u);
}

TEST(AtomicFile, MissingDirectoryMessage) {
  test::TempDir dir;
  std::string path = dir.file("no/such/dir/out.csv");
  try {
    AtomicFile f(path);
    FAIL();
  } catch (const IoError& e) {
    EXPECT_EQ(std::string(e.what()), path + ": cannot create output file: No such file or directory");
  }
}
