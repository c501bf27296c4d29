// darklens gt build: ground truth by reverse DNS.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>

#include "commands.hpp"
#include "darklens/core/atomic_file.hpp"
#include "darklens/core/data_files.hpp"
#include "darklens/core/output_set.hpp"
#include "darklens/error.hpp"
#include "darklens/labels/rdns.hpp"

namespace darklens::cli {
namespace {

// Addresses: the first comma-separated field of each line; a first line
// that is not an address is a header; blank lines and '#' comments skipped.
std::vector<IpAddr> read_addresses(const std::string& path) {
  std::ifstream file;
  if (path != "-") {
    file.open(path);
    if (!file) throw IoError(path + ": cannot open");
  }
  std::istream& in = path == "-" ? std::cin : file;
  std::vector<IpAddr> ips;
  std::string line;
  size_t no = 0;
  while (std::getline(in, line)) {
    ++no;
    if (line.size() > 4096) throw FormatError(path + ":" + std::to_string(no) + ": line longer than 4096 bytes");
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    const std::string field = line.substr(0, line.find(','));
    const auto ip = IpAddr::parse(field);
    if (!ip) {
      if (no == 1) continue;  // header
      throw FormatError(path + ":" + std::to_string(no) + ": '" + field + "' is not an IP address");
    }
    ips.push_back(*ip);
  }
  return ips;
}

}  // namespace

Command add_gt(CLI::App& app) {
  struct Opts {
    std::string ips, rules, resolver, out, names;  // rules: empty = the shipped file
    int concurrency = 64, timeout_ms = 2000, tries = 3;
    bool quiet = false;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* gt = app.add_subcommand("gt", "Ground truth: 'darklens gt build' labels sources by reverse DNS");
  gt->require_subcommand(1);
  CLI::App* sub = gt->add_subcommand(
      "build",
      "Look up the PTR name of every address (c-ares, bounded concurrency, timeout, retries, each address once) "
      "and label it by the first matching rule (suffix or regular expression -> organisation). Writes "
      "'ip,label' for the matched addresses, the ground-truth format of 'darklens evaluate --gt'.");
  sub->add_option("--ips", o->ips, "Addresses, one per line (first CSV field; '-' = standard input)")->required();
  sub->add_option("--rules", o->rules,
                  "Rules file; default: the shipped one, share/darklens/rdns_rules.txt beside the binary's folder "
                  "or in $DARKLENS_DATA_DIR");
  sub->add_option("--resolver", o->resolver, "DNS server IP or IP:PORT (default: the system's)");
  sub->add_option("--concurrency", o->concurrency, "Queries in flight")->default_val(64)->check(CLI::Range(1, 512));
  sub->add_option("--timeout-ms", o->timeout_ms, "Per try")->default_val(2000)->check(CLI::PositiveNumber);
  sub->add_option("--tries", o->tries, "Tries per query")->default_val(3)->check(CLI::Range(1, 10));
  sub->add_option("--names", o->names, "Also write 'ip,ptr' for every address that has a name (to audit the rules)");
  add_output(sub, o->out, "Ground truth CSV to write");
  add_quiet(sub, o->quiet);
  return {sub, [o]() {
            // A bad rules file fails before any query.
            const auto rules = rdns::load_rules(o->rules.empty() ? data_file("rdns_rules.txt") : o->rules);
            // Outputs checked before any query; --names elsewhere is published on its own.
            std::vector<std::string> inputs = {o->ips, o->rules};
            const bool together = !o->names.empty() && std::filesystem::path(o->names).parent_path() ==
                                                           std::filesystem::path(o->out).parent_path();
            OutputFiles out(together ? std::vector<std::string>{o->out, o->names} : std::vector<std::string>{o->out},
                            inputs);
            std::optional<OutputFiles> names_out;
            if (!o->names.empty() && !together) names_out.emplace(std::vector<std::string>{o->names}, inputs);
            const auto ips = read_addresses(o->ips);
            rdns::LookupOptions lo;
            lo.resolver_ = o->resolver;
            lo.concurrency_ = o->concurrency;
            lo.timeout_ms_ = o->timeout_ms;
            lo.tries_ = o->tries;
            const auto r = rdns::lookup_ptr(ips, lo);
            std::vector<std::pair<IpAddr, std::string>> rows, named;
            for (size_t i = 0; i < ips.size(); ++i) {
              if (!r.names_[i]) continue;
              named.emplace_back(ips[i], *r.names_[i]);
              if (auto label = rules.label_of(*r.names_[i])) rows.emplace_back(ips[i], *label);
            }
            std::sort(rows.begin(), rows.end());
            rows.erase(std::unique(rows.begin(), rows.end()), rows.end());
            {
              AtomicFile f(out.path(o->out));
              f.write("ip,label\n");
              for (const auto& [ip, label] : rows) f.write(ip.to_string() + "," + label + "\n");
              f.commit();
            }
            if (!o->names.empty()) {
              std::sort(named.begin(), named.end());
              named.erase(std::unique(named.begin(), named.end()), named.end());
              AtomicFile n(together ? out.path(o->names) : names_out->path(o->names));
              n.write("ip,ptr\n");
              for (const auto& [ip, name] : named) n.write(ip.to_string() + "," + name + "\n");
              n.commit();
            }
            out.commit();
            if (names_out) names_out->commit();
            if (!o->quiet) {
              std::cerr << o->out << ": " << r.distinct_ << " addresses: " << r.named_ << " with a name, "
                        << rows.size() << " labelled by a rule, " << r.no_name_ << " without a name, " << r.failed_
                        << " unanswered (timeout or refused)\n";
            }
            return 0;
          }};
}

}  // namespace darklens::cli
