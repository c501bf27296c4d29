// The spec grammar: stages separated by '|', each `name[:args]` with args
// `key=value,...` or one positional value; every stage's arguments are
// checked here (the stage table's check), so a bad spec fails before any
// work.
#include "darklens/error.hpp"
#include "stages.hpp"

namespace darklens::pipeline {
namespace {

std::string names_of(bool clusterers_only) {
  std::string list;
  for (const auto& d : detail::stage_table()) {
    if (clusterers_only && d.kind != detail::StageKind::kClusterer) continue;
    list += (list.empty() ? "" : ", ") + std::string(d.name);
  }
  return list;
}

}  // namespace

std::vector<Stage> parse_spec(std::string_view spec) {
  std::vector<Stage> stages;
  size_t start = 0;
  while (start <= spec.size()) {
    const size_t bar = spec.find('|', start);
    std::string_view part = spec.substr(start, bar - start);
    if (part.empty()) throw ParamError("pipeline '" + std::string(spec) + "': empty stage");
    Stage s;
    const size_t colon = part.find(':');
    s.name = std::string(part.substr(0, colon));
    if (colon != std::string_view::npos) {
      std::string_view args = part.substr(colon + 1);
      size_t a = 0;
      while (a <= args.size()) {
        const size_t comma = args.find(',', a);
        std::string_view arg = args.substr(a, comma - a);
        const size_t eq = arg.find('=');
        if (arg.empty()) throw ParamError("pipeline stage '" + s.name + "': empty argument");
        if (eq == std::string_view::npos) {
          s.args.emplace_back("", std::string(arg));
        } else {
          s.args.emplace_back(std::string(arg.substr(0, eq)), std::string(arg.substr(eq + 1)));
        }
        if (comma == std::string_view::npos) break;
        a = comma + 1;
      }
    }
    stages.push_back(std::move(s));
    if (bar == std::string_view::npos) break;
    start = bar + 1;
  }
  for (size_t i = 0; i < stages.size(); ++i) {
    const auto* def = detail::find_stage(stages[i].name);
    if (!def) throw ParamError("pipeline: unknown stage '" + stages[i].name + "' (known: " + names_of(false) + ")");
    if ((def->kind == detail::StageKind::kClusterer) != (i + 1 == stages.size())) {
      throw ParamError("pipeline '" + std::string(spec) + "': the last stage, and only it, must cluster (" +
                       names_of(true) + ")");
    }
    def->check(stages[i]);
  }
  return stages;
}

}  // namespace darklens::pipeline
