// Parsing of the user-facing feature options: families, windows.
#include <charconv>
#include <nlohmann/json.hpp>

#include "../core/lists.hpp"
#include "darklens/error.hpp"
#include "darklens/features/features.hpp"
#include "family.hpp"

namespace darklens::features {

std::string_view family_name(Family f) { return family_def(f).name; }

std::vector<Family> parse_families(std::string_view list) {
  std::vector<Family> out;
  for_each_item(list, [&](std::string_view item) {
    for (const FamilyDef* d : registered_families()) {
      if (item == d->name) {
        for (Family g : out) {
          if (g == d->id) return;  // listed twice: once is enough
        }
        out.push_back(d->id);
        return;
      }
    }
    std::string known;
    for (const FamilyDef* d : registered_families()) known += std::string(known.empty() ? "" : ", ") + d->name;
    throw ParamError("unknown feature family '" + std::string(item) + "' (known: " + known + ")");
  });
  if (out.empty()) throw ParamError("no feature family given");
  return out;
}

int64_t WindowSpec::start_of(int64_t ts) const {
  int64_t k = (ts - origin_ns_) / length_ns_;
  if ((ts - origin_ns_) % length_ns_ < 0) --k;  // floor for times before the origin
  return origin_ns_ + k * length_ns_;
}

WindowSpec parse_window(std::string_view text) {
  auto bad = [&] {
    return ParamError("window '" + std::string(text) +
                      "': expected a length such as 30m, 1h, 6h, 24h or 7d (1s to 366d)");
  };
  if (text.size() < 2) throw bad();
  int64_t n = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size() - 1, n);
  if (ec != std::errc() || p != text.data() + text.size() - 1 || n <= 0) throw bad();
  int64_t unit = 0;
  switch (text.back()) {
    case 's':
      unit = 1;
      break;
    case 'm':
      unit = 60;
      break;
    case 'h':
      unit = 3600;
      break;
    case 'd':
      unit = 86400;
      break;
    default:
      throw bad();
  }
  if (n > int64_t{366} * 86400 / unit) throw bad();
  WindowSpec w;
  w.length_ns_ = n * unit * 1'000'000'000;
  return w;
}

nlohmann::json packets_to_json(const AggregateCounters& c) {
  return {{"decoded", c.packets_},
          {"outside_prefix", c.outside_prefix_},
          {"class_filtered", c.class_filtered_},
          {"used", c.used_},
          {"responder", c.responder_}};
}

nlohmann::json options_to_json(const FeatureOptions& o) {
  std::string families;
  for (Family f : o.families_) {
    if (!families.empty()) families += ',';
    families += family_name(f);
  }
  nlohmann::json prefixes = nlohmann::json::array();
  for (const auto& c : o.darknet_) prefixes.push_back(c.to_string());
  nlohmann::json j = {{"families", families},
                      {"window_ns", o.window_.length_ns_},
                      {"origin_ns", o.window_.origin_ns_},
                      {"prefix", prefixes},
                      {"classes", o.classes_},
                      {"filter", o.bpf_},
                      {"validated_only", o.validated_only_},
                      {"min_packets", o.min_packets_},
                      {"exact_cap", o.exact_cap_},
                      {"flow_timeout_ns", o.flow_timeout_ns_},
                      {"agm_ext_min_share", o.agm_ext_min_share_}};
  if (o.agm_ext_vocab_) j["agm_ext_vocab"] = *o.agm_ext_vocab_;
  return j;
}

FeatureOptions options_from_json(const nlohmann::json& j) {
  FeatureOptions o;
  std::string key;
  try {
    key = "families";
    o.families_ = parse_families(j.at(key).get<std::string>());
    key = "window_ns";
    o.window_.length_ns_ = j.at(key).get<int64_t>();
    key = "origin_ns";
    o.window_.origin_ns_ = j.at(key).get<int64_t>();
    key = "prefix";
    for (const auto& c : j.at(key)) {
      auto cidr = Cidr::parse(c.get<std::string>());
      if (!cidr) throw FormatError("feature options: prefix '" + c.get<std::string>() + "' is not a prefix");
      o.darknet_.push_back(*cidr);
    }
    key = "classes";
    o.classes_ = j.at(key).get<uint8_t>();
    key = "filter";
    o.bpf_ = j.at(key).get<std::string>();
    key = "validated_only";
    o.validated_only_ = j.at(key).get<bool>();
    key = "min_packets";
    o.min_packets_ = j.at(key).get<uint64_t>();
    key = "exact_cap";
    o.exact_cap_ = j.at(key).get<uint32_t>();
    key = "flow_timeout_ns";
    o.flow_timeout_ns_ = j.at(key).get<int64_t>();
    key = "agm_ext_min_share";
    o.agm_ext_min_share_ = j.at(key).get<double>();
    key = "agm_ext_vocab";
    if (j.contains(key)) o.agm_ext_vocab_ = j.at(key).get<AgmExtVocab>();
  } catch (const nlohmann::json::exception& e) {
    throw FormatError("feature options: '" + key + "' is missing or malformed (" + e.what() + ")");
  }
  if (o.window_.length_ns_ <= 0) throw FormatError("feature options: window_ns must be positive");
  return o;
}

}  // namespace darklens::features
