#include "darklens/core/memory.hpp"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>

#include "darklens/core/text.hpp"
#include "darklens/error.hpp"

namespace darklens {
namespace {

// The first number in a cgroup file, or 0 ("max", missing, unreadable).
uint64_t cgroup_limit(const char* path) {
  std::ifstream in(path);
  std::string word;
  if (!(in >> word) || word.size() > 32) return 0;
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(word.data(), word.data() + word.size(), v);
  return ec == std::errc() && p == word.data() + word.size() ? v : 0;
}

}  // namespace

uint64_t physical_memory() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  uint64_t bytes = pages > 0 && page > 0 ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(page) : 0;
  for (const char* path : {"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"}) {
    const uint64_t limit = cgroup_limit(path);
    if (limit > 0 && (bytes == 0 || limit < bytes)) bytes = limit;
  }
  return bytes;
}

ProcessMemory process_memory() {
  ProcessMemory m;
  std::ifstream in("/proc/self/status");
  std::string line;
  // "VmHWM:\t  123456 kB"; the file is the kernel's, a few dozen short lines.
  for (int lines = 0; lines < 200 && std::getline(in, line); ++lines) {
    uint64_t* field = line.rfind("VmRSS:", 0) == 0 ? &m.resident : line.rfind("VmHWM:", 0) == 0 ? &m.peak : nullptr;
    if (!field) continue;
    const size_t digits = line.find_first_of("0123456789");
    if (digits == std::string::npos) continue;
    uint64_t kib = 0;
    auto [p, ec] = std::from_chars(line.data() + digits, line.data() + line.size(), kib);
    if (ec == std::errc() && kib < (uint64_t{1} << 50)) *field = kib * 1024;
  }
  return m;
}

uint64_t parse_memory_size(std::string_view text, std::string_view what) {
  const std::string shown = terminal_text(std::string(text.substr(0, 64)));
  auto bad = [&](const std::string& why) {
    return ParamError(std::string(what) + " '" + shown + "': " + why +
                      " (a size such as 4G, 512M or 1.5GiB, a share of memory such as 75%, or none)");
  };
  if (text == "none") return 0;
  if (text.empty() || text.size() > 32) throw bad("not a size");
  double v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || !std::isfinite(v) || v < 0) throw bad("not a size");
  std::string unit(p, text.data() + text.size());
  unit.erase(std::remove_if(unit.begin(), unit.end(), [](unsigned char c) { return std::isspace(c); }), unit.end());
  for (auto& c : unit) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  double bytes = 0;
  if (unit == "%") {
    if (v <= 0 || v > 100) throw bad("a share of memory is between 0 and 100%");
    const uint64_t ram = physical_memory();
    if (ram == 0) throw bad("the machine's memory is unknown here: give a size");
    bytes = static_cast<double>(ram) * v / 100;
  } else {
    if (unit.size() >= 2 && unit.substr(unit.size() - 2) == "IB") unit.resize(unit.size() - 2);
    if (!unit.empty() && unit.back() == 'B') unit.pop_back();
    static constexpr const char* kUnits = "KMGT";
    double scale = 1;
    if (unit.size() == 1 && std::string_view(kUnits).find(unit[0]) != std::string_view::npos) {
      for (const char* u = kUnits; *u != unit[0]; ++u) scale *= 1024;
      scale *= 1024;
    } else if (!unit.empty()) {
      throw bad("unknown unit '" + terminal_text(unit) + "'");
    }
    bytes = v * scale;
  }
  if (bytes < 16.0 * 1024 * 1024) throw bad("a budget under 16 MiB leaves no room to work");
  if (bytes >= 1.8e19) throw bad("too large");
  return static_cast<uint64_t>(bytes);
}

std::string format_bytes(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 6) v /= 1024, ++u;
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, kUnits[u]);
  return buf;
}

void MemoryBudget::check(uint64_t need, std::string_view what, std::string_view advice) const {
  if (bytes == 0 || need <= bytes) return;
  throw ResourceError(std::string(what) + ": about " + format_bytes(need) + " needed, over the memory budget of " +
                      format_bytes(bytes) + " (--max-memory); " + std::string(advice));
}

}  // namespace darklens
