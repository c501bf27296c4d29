// Bulk PTR lookups with c-ares (select loop, at most `concurrency` queries
// in flight) and the rules that turn names into organisations.
#include "darklens/labels/rdns.hpp"

#include <ares.h>
#include <netdb.h>
#include <sys/select.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <map>
#include <sstream>

#include "darklens/error.hpp"

namespace darklens::rdns {

std::optional<std::string> Rules::label_of(std::string name) const {
  for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (!name.empty() && name.back() == '.') name.pop_back();
  for (const Rule& r : rules_) {
    if (r.regex) {
      if (std::regex_match(name, r.re)) return r.label;
    } else if (name == r.pattern || (name.size() > r.pattern.size() &&
                                     name.compare(name.size() - r.pattern.size(), r.pattern.size(), r.pattern) == 0 &&
                                     name[name.size() - r.pattern.size() - 1] == '.')) {
      return r.label;
    }
  }
  return std::nullopt;
}

Rules load_rules(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw IoError(path + ": cannot open");
  Rules rules;
  std::string line;
  size_t no = 0;
  while (std::getline(in, line)) {
    ++no;
    const std::string where = path + ":" + std::to_string(no);
    if (line.size() > 4096) throw FormatError(where + ": line longer than 4096 bytes");
    std::istringstream fields(line);
    std::string kind, pattern, label, extra;
    if (!(fields >> kind) || kind[0] == '#') continue;
    if (!(fields >> pattern >> label) || (fields >> extra)) {
      throw FormatError(where + ": expected 'suffix DOMAIN LABEL' or 'regex EXPRESSION LABEL'");
    }
    Rules::Rule r;
    r.label = label;
    if (kind == "suffix") {
      for (auto& c : pattern) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (!pattern.empty() && pattern.front() == '.') pattern.erase(0, 1);
      r.pattern = pattern;
    } else if (kind == "regex") {
      r.regex = true;
      r.pattern = pattern;
      try {
        r.re = std::regex(pattern, std::regex::ECMAScript | std::regex::icase);
      } catch (const std::regex_error& e) {
        throw FormatError(where + ": '" + pattern + "' is not a regular expression: " + e.what());
      }
    } else {
      throw FormatError(where + ": unknown rule '" + kind + "' (suffix, regex)");
    }
    rules.rules_.push_back(std::move(r));
  }
  return rules;
}

namespace {

struct Pending {
  std::vector<std::optional<std::string>>* names;
  std::vector<int>* status;
  size_t index;
  size_t* in_flight;
};

void on_answer(void* arg, int status, int /*timeouts*/, unsigned char* abuf, int alen) {
  auto* p = static_cast<Pending*>(arg);
  (*p->status)[p->index] = status;
  hostent* host = nullptr;
  if (status == ARES_SUCCESS) {
    const int parsed = ares_parse_ptr_reply(abuf, alen, nullptr, 0, AF_INET, &host);
    if (parsed == ARES_SUCCESS && host && host->h_name) {
      (*p->names)[p->index] = std::string(host->h_name).substr(0, 255);
    } else {
      (*p->status)[p->index] = parsed == ARES_SUCCESS ? ARES_ENODATA : parsed;
    }
    if (host) ares_free_hostent(host);
  }
  --*p->in_flight;
  delete p;
}

// The PTR query name: d.c.b.a.in-addr.arpa, or the 32 nibbles under ip6.arpa.
std::string reverse_name(const IpAddr& a) {
  std::string n;
  if (a.is_v4()) {
    const uint32_t v = a.v4_value();
    for (int i = 0; i < 4; ++i) n += std::to_string((v >> (8 * i)) & 0xff) + ".";
    return n + "in-addr.arpa";
  }
  static const char* hex = "0123456789abcdef";
  for (int i = 0; i < 32; ++i) {
    const uint64_t half = i < 16 ? a.lo_ : a.hi_;
    const int shift = 4 * (i % 16);
    n += hex[(half >> shift) & 0xf];
    n += '.';
  }
  return n + "ip6.arpa";
}

struct Library {
  Library() {
    if (ares_library_init(ARES_LIB_INIT_ALL) != ARES_SUCCESS) throw IoError("c-ares: cannot initialise");
  }
  ~Library() { ares_library_cleanup(); }
};

}  // namespace

LookupResult lookup_ptr(const std::vector<IpAddr>& ips, const LookupOptions& o) {
  if (o.concurrency_ < 1 || o.concurrency_ > 512 || o.timeout_ms_ < 1 || o.tries_ < 1) {
    throw ParamError("rdns: concurrency must be 1..512, timeout and tries positive");
  }
  // Each address once.
  std::vector<IpAddr> distinct(ips);
  std::sort(distinct.begin(), distinct.end());
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  std::vector<std::optional<std::string>> names(distinct.size());
  std::vector<int> status(distinct.size(), ARES_ENOTFOUND);

  Library lib;
  ares_channel channel = nullptr;
  ares_options opts{};
  opts.timeout = o.timeout_ms_;
  opts.tries = o.tries_;
  if (ares_init_options(&channel, &opts, ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES) != ARES_SUCCESS) {
    throw IoError("c-ares: cannot create a resolver channel");
  }
  struct Closer {
    ares_channel c;
    ~Closer() { ares_destroy(c); }
  } closer{channel};
  if (!o.resolver_.empty() && ares_set_servers_ports_csv(channel, o.resolver_.c_str()) != ARES_SUCCESS) {
    throw ParamError("rdns: resolver '" + o.resolver_ + "' is not IP or IP:PORT");
  }
  size_t next = 0, in_flight = 0;
  auto launch = [&] {
    while (in_flight < static_cast<size_t>(o.concurrency_) && next < distinct.size()) {
      const std::string name = reverse_name(distinct[next]);
      auto* p = new Pending{&names, &status, next, &in_flight};
      ++in_flight;
      ++next;
      ares_query(channel, name.c_str(), 1 /* class IN */, 12 /* type PTR */, on_answer, p);
    }
  };
  launch();
  while (in_flight > 0) {
    fd_set readers, writers;
    FD_ZERO(&readers);
    FD_ZERO(&writers);
    const int nfds = ares_fds(channel, &readers, &writers);
    timeval tv{}, *wait = ares_timeout(channel, nullptr, &tv);
    if (nfds > 0) {
      select(nfds, &readers, &writers, nullptr, wait);
    } else if (wait) {
      select(0, nullptr, nullptr, nullptr, wait);
    }
    ares_process(channel, &readers, &writers);
    launch();
  }
  LookupResult r;
  r.distinct_ = distinct.size();
  for (size_t i = 0; i < distinct.size(); ++i) {
    if (names[i]) {
      ++r.named_;
    } else if (status[i] == ARES_ENOTFOUND || status[i] == ARES_ENODATA) {
      ++r.no_name_;
    } else {
      ++r.failed_;
    }
  }
  if (r.distinct_ > 0 && r.failed_ == r.distinct_) {
    throw IoError("resolver " + (o.resolver_.empty() ? std::string("(system)") : o.resolver_) +
                  ": no answer to any of " + std::to_string(r.distinct_) + " queries (timed out or refused)");
  }
  r.names_.reserve(ips.size());
  for (const IpAddr& a : ips) {
    r.names_.push_back(
        names[static_cast<size_t>(std::lower_bound(distinct.begin(), distinct.end(), a) - distinct.begin())]);
  }
  return r;
}

}  // namespace darklens::rdns
