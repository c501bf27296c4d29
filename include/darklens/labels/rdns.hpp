// Ground truth by reverse DNS, as the source study built it: PTR names of
// the source addresses looked up in bulk (c-ares: bounded concurrency,
// per-query timeout, retries, each address once), mapped to organisations
// by a rules file (data/rdns_rules.txt, first match wins).
//
//   auto rules = darklens::rdns::load_rules("data/rdns_rules.txt");
//   auto names = darklens::rdns::lookup_ptr(ips, {.resolver_ = "127.0.0.1:53"});
//   std::optional<std::string> label = rules.label_of(*names.names_[0]);
#pragma once

#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "darklens/types.hpp"

namespace darklens::rdns {

struct Rules {
  struct Rule {
    bool regex = false;
    std::string pattern, label;
    std::regex re;
  };
  std::vector<Rule> rules_;
  /// Lower-cases `name`, drops a trailing dot, returns the first match.
  std::optional<std::string> label_of(std::string name) const;
};

/// Throws IoError / FormatError naming the file and line.
Rules load_rules(const std::string& path);

struct LookupOptions {
  std::string resolver_;   // "IP:PORT" or "IP" (port 53); empty = the system's resolvers
  int concurrency_ = 64;   // queries in flight
  int timeout_ms_ = 2000;  // per try
  int tries_ = 3;
};

struct LookupResult {
  std::vector<std::optional<std::string>> names_;               // per input address
  size_t distinct_ = 0, named_ = 0, no_name_ = 0, failed_ = 0;  // over distinct addresses
};

/// PTR names of `ips` (duplicates asked once). Throws ParamError on a bad
/// resolver or options, IoError when the resolver never answered.
LookupResult lookup_ptr(const std::vector<IpAddr>& ips, const LookupOptions& options);

}  // namespace darklens::rdns
