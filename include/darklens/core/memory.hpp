// The memory budget (--max-memory): work whose estimated memory is over it
// is refused with a ResourceError before the machine runs out, naming what
// needed the memory and what to change. docs/cli.md, "Memory".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace darklens {

/// Bytes of memory this process can have: the machine's, or its cgroup's
/// limit when smaller (containers).
uint64_t physical_memory();

/// "4G", "512MiB", "1.5 GB" (binary units: K, M, G, T; "B" and "iB" are
/// optional), "75%" (of physical_memory()), or "none" (no budget: 0).
/// Throws ParamError naming `what` when malformed, or when below 16 MiB.
uint64_t parse_memory_size(std::string_view text, std::string_view what = "--max-memory");

/// "1.3 GiB", "512 MiB", "900 KiB", "12 B".
std::string format_bytes(uint64_t bytes);

/// This process's resident memory now and its peak so far (bytes; Linux's
/// VmRSS and VmHWM), both 0 where /proc/self/status cannot be read.
struct ProcessMemory {
  uint64_t resident = 0, peak = 0;
};
ProcessMemory process_memory();

/// The budget (default: the share kDefaultShare of physical memory).
struct MemoryBudget {
  static constexpr const char* kDefault = "75%";
  uint64_t bytes = 0;  // 0: none

  /// Throws ResourceError when `need` bytes are over the budget:
  /// "<what>: about N needed, over the memory budget of M (--max-memory);
  /// <advice>".
  void check(uint64_t need, std::string_view what, std::string_view advice) const;
};

}  // namespace darklens
