// The origin AS and country of each cluster's sources, counted per row as
// the profile counts its sources. Each distinct source is looked up once.
#include <algorithm>
#include <map>
#include <unordered_map>

#include "darklens/error.hpp"
#include "darklens/profile/profile.hpp"

namespace darklens::profile {

void add_origins(std::vector<ClusterProfile>& profiles, const std::vector<IpAddr>& sources,
                 const std::vector<int>& labels, const origin::Origins& origins) {
  if (sources.size() != labels.size()) {
    throw ParamError("add_origins: " + std::to_string(sources.size()) + " sources but " +
                     std::to_string(labels.size()) + " labels");
  }
  std::unordered_map<int, size_t> at;  // cluster label -> profile
  for (size_t i = 0; i < profiles.size(); ++i) at[profiles[i].cluster_] = i;
  struct Counts {
    std::map<std::pair<uint32_t, std::string>, uint64_t> asns;
    std::map<std::string, uint64_t> countries;
    uint64_t without_asn = 0, without_country = 0;
  };
  std::vector<Counts> counts(profiles.size());
  std::unordered_map<IpAddr, origin::Origin, IpAddrHash> seen;
  for (size_t r = 0; r < sources.size(); ++r) {
    const auto p = at.find(labels[r]);
    if (p == at.end()) continue;
    auto it = seen.find(sources[r]);
    if (it == seen.end()) it = seen.emplace(sources[r], origins.lookup(sources[r])).first;
    const origin::Origin& o = it->second;
    Counts& c = counts[p->second];
    if (o.asn) {
      ++c.asns[{o.asn, o.as_org}];
    } else {
      ++c.without_asn;
    }
    if (!o.country.empty()) {
      ++c.countries[o.country];
    } else {
      ++c.without_country;
    }
  }
  for (size_t i = 0; i < profiles.size(); ++i) {
    ClusterProfile& p = profiles[i];
    const double whole = static_cast<double>(p.sources_);
    auto share = [&](uint64_t n) { return whole > 0 ? static_cast<double>(n) / whole : 0.0; };
    OriginCounts oc;
    oc.asn_db = origins.has_asn();
    oc.geo_db = origins.has_country();
    oc.without_asn = oc.asn_db ? counts[i].without_asn : 0;
    oc.without_country = oc.geo_db ? counts[i].without_country : 0;
    for (const auto& [key, n] : counts[i].asns) oc.asns.push_back({key.first, key.second, n, share(n)});
    std::stable_sort(oc.asns.begin(), oc.asns.end(),
                     [](const AsShare& a, const AsShare& b) { return a.sources > b.sources; });
    for (const auto& [code, n] : counts[i].countries) oc.countries.push_back({code, n, share(n)});
    std::stable_sort(oc.countries.begin(), oc.countries.end(),
                     [](const Share& a, const Share& b) { return a.count > b.count; });
    p.origin_ = std::move(oc);
  }
}

}  // namespace darklens::profile
