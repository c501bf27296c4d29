// Services: destination (protocol, port) -> the service whose sentence a
// packet's source joins. docs/embed.md, "Services".
#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "darklens/core/data_files.hpp"
#include "darklens/core/text.hpp"
#include "darklens/embed/embed.hpp"
#include "darklens/error.hpp"

namespace darklens::embed {
namespace {

constexpr uint16_t kUnset = 0xffff;
constexpr size_t kMaxServices = 1000;
constexpr size_t kMaxFile = 1u << 20;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

bool parse_port(std::string_view s, uint16_t& out) {
  unsigned v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v > 65535) return false;
  out = static_cast<uint16_t>(v);
  return true;
}

// The ports not yet given a service, so that each port is visited once
// however many ranges name it (a hostile file of many 0-65535 ranges stays
// linear): next_[p] leads to the first free port >= p.
class FreePorts {
 public:
  FreePorts() : next_(65537) {
    for (uint32_t p = 0; p <= 65536; ++p) next_[p] = p;
  }
  void assign(uint32_t lo, uint32_t hi, uint16_t service, std::vector<uint16_t>& map) {
    for (uint32_t p = find(lo); p <= hi; p = find(p)) {
      map[p] = service;
      next_[p] = p + 1;
    }
  }

 private:
  uint32_t find(uint32_t p) {
    uint32_t root = p;
    while (next_[root] != root) root = next_[root];
    while (next_[p] != root) {
      const uint32_t up = next_[p];
      next_[p] = root;
      p = up;
    }
    return root;
  }
  std::vector<uint32_t> next_;  // 65536 = past the last port
};

}  // namespace

Services Services::parse(std::string_view text, const std::string& origin) {
  Services s;
  s.tcp_.assign(65536, kUnset);
  s.udp_.assign(65536, kUnset);
  FreePorts tcp_free, udp_free;
  size_t line_no = 0;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    ++line_no;
    if (const size_t hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    line = trim(line);
    if (line.empty()) continue;
    const std::string where = origin + ":" + std::to_string(line_no);
    const size_t gap = line.find_first_of(" \t");
    if (gap == std::string_view::npos) throw FormatError(where + ": a service needs a name and its ports");
    const std::string name(line.substr(0, gap));
    for (char c : name) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                      c == '_' || c == '.';
      if (!ok) throw FormatError(where + ": service name '" + name + "' may hold only letters, digits, - _ .");
    }
    if (name.size() > 64) throw FormatError(where + ": service name longer than 64 characters");
    for (const auto& known : s.names_) {
      if (known == name) throw FormatError(where + ": service '" + name + "' is named twice");
    }
    if (s.names_.size() >= kMaxServices) throw FormatError(where + ": more than 1000 services");
    const auto index = static_cast<uint16_t>(s.names_.size());
    s.names_.push_back(name);
    std::string_view specs = trim(line.substr(gap));
    while (!specs.empty()) {
      const size_t comma = specs.find(',');
      const std::string_view spec = trim(specs.substr(0, comma));
      specs.remove_prefix(comma == std::string_view::npos ? specs.size() : comma + 1);
      bool tcp = true, udp = true;
      std::string_view ports = spec;
      if (spec.substr(0, 4) == "tcp/") {
        udp = false;
        ports = spec.substr(4);
      } else if (spec.substr(0, 4) == "udp/") {
        tcp = false;
        ports = spec.substr(4);
      }
      const size_t dash = ports.find('-');
      uint16_t lo = 0, hi = 0;
      const bool ok = dash == std::string_view::npos
                          ? parse_port(ports, lo) && parse_port(ports, hi)
                          : parse_port(ports.substr(0, dash), lo) && parse_port(ports.substr(dash + 1), hi) && lo <= hi;
      if (!ok) {
        throw FormatError(where + ": '" + std::string(spec) +
                          "' is not a port spec (tcp/23, udp/53, 23, tcp/137-139; ports 0-65535)");
      }
      if (tcp) tcp_free.assign(lo, hi, index, s.tcp_);
      if (udp) udp_free.assign(lo, hi, index, s.udp_);
    }
  }
  const auto add = [&](const char* name) {
    for (const auto& known : s.names_) {
      if (known == name) throw FormatError(origin + ": '" + name + "' is a built-in catch-all; name it otherwise");
    }
    s.names_.emplace_back(name);
    return static_cast<uint16_t>(s.names_.size() - 1);
  };
  s.icmp_ = add("icmp");
  const uint16_t system = add("other-system"), user = add("other-user"), dynamic = add("other-dynamic");
  s.other_ = add("other");
  for (uint32_t port = 0; port < 65536; ++port) {
    const uint16_t fallback = port < 1024 ? system : port < 49152 ? user : dynamic;
    if (s.tcp_[port] == kUnset) s.tcp_[port] = fallback;
    if (s.udp_[port] == kUnset) s.udp_[port] = fallback;
  }
  return s;
}

Services Services::read(const std::string& path) {
  const std::string file = path.empty() ? data_file("services.txt") : path;
  std::error_code ec;
  if (std::filesystem::is_directory(file, ec)) throw IoError(file + ": is a directory, not a services file");
  std::ifstream in(file, std::ios::binary);
  if (!in) throw IoError(file + ": cannot open the services file");
  std::string text(kMaxFile + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) throw IoError(file + ": read error");
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > kMaxFile) throw FormatError(file + ": larger than 1 MiB; not a services file");
  return parse(text, file);
}

uint16_t Services::of(const Packet& p) const {
  if (p.proto_ == ip_proto::kIcmp || p.proto_ == ip_proto::kIcmpV6) return icmp_;
  if (!p.has(Packet::kHasTransport)) return other_;
  if (p.proto_ == ip_proto::kTcp) return tcp_[p.dport_];
  if (p.proto_ == ip_proto::kUdp) return udp_[p.dport_];
  return other_;
}

}  // namespace darklens::embed
