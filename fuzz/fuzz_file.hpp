// For fuzz targets whose input is a file: the bytes written to a fixed
// name in a folder of this process's own (created once, never shared,
// removed at exit).
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>

// The folder, removed when the process ends normally.
struct FuzzDir {
  std::filesystem::path path = std::filesystem::temp_directory_path() / ("darklens-fuzz-" + std::to_string(::getpid()));
  FuzzDir() { std::filesystem::create_directories(path); }
  ~FuzzDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

inline std::string fuzz_file(const uint8_t* data, size_t size, const std::string& name) {
  static const FuzzDir dir;
  const std::string path = (dir.path / name).string();
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f) {
    if (size) std::fwrite(data, 1, size, f);
    std::fclose(f);
  }
  return path;
}

/// Removes a file fuzz_file wrote (and, for a database, SQLite's beside it).
inline void fuzz_remove(const std::string& path) {
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) std::remove((path + suffix).c_str());
}
