// The reverse-DNS names of each cluster's heaviest sources (--rdns N): one
// bounded batch of PTR lookups through labels/rdns (c-ares), each address
// asked once however many clusters list it.

#include "darklens/core/text.hpp"
#include "darklens/profile/profile.hpp"

namespace darklens::profile {

rdns::LookupResult add_names(std::vector<ClusterProfile>& profiles, const rdns::LookupOptions& options) {
  std::vector<IpAddr> ips;
  for (const auto& p : profiles) {
    for (const auto& h : p.heaviest_) ips.push_back(h.source);
  }
  if (ips.empty()) return {};
  rdns::LookupResult r = rdns::lookup_ptr(ips, options);
  size_t i = 0;
  for (auto& p : profiles) {
    for (auto& h : p.heaviest_) {
      const auto& name = r.names_[i++];
      // A PTR answer is the sender's text: made valid UTF-8 and bounded
      // (a DNS name is at most 253 characters) before any JSON or HTML.
      if (name) h.ptr = escape_invalid_utf8(name->substr(0, 253));
    }
  }
  return r;
}

}  // namespace darklens::profile
