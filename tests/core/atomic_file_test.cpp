#include <gtest/gtest.h>

#include <filesystem>

#include "darklens/atomic_file.hpp"
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
