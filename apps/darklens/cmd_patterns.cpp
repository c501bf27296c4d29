// darklens patterns list|show|label|export: read and name what the pattern database holds.
#include <filesystem>
#include <iostream>
#include <optional>

#include "commands.hpp"
#include "darklens/core/atomic_file.hpp"
#include "darklens/core/output_set.hpp"
#include "darklens/core/text.hpp"
#include "darklens/error.hpp"
#include "darklens/patterns/patterns.hpp"
#include "darklens/profile/profile.hpp"

namespace darklens::cli {
namespace {

std::string top_ports(const patterns::Pattern& p, size_t n) {
  std::string s;
  const auto& ports = p.profile.at("top_ports");
  for (size_t i = 0; i < ports.size() && i < n; ++i)
    s += (s.empty() ? "" : " ") + ports[i].at("key").get<std::string>();
  return s;
}

// Read-only unless the command writes (label): list, show and export work
// on a database in a folder that cannot be written.
std::unique_ptr<patterns::Store> open_existing(const std::string& path, bool write) {
  if (!std::filesystem::exists(path)) throw IoError(path + ": no such pattern database");
  return write ? std::make_unique<patterns::Store>(path)
               : std::make_unique<patterns::Store>(path, patterns::Store::ReadOnly::kYes);
}

}  // namespace

Command add_patterns(CLI::App& app) {
  struct Opts {
    std::string db, name, out, format = "json";
    int64_t id = 0, model = 0;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* top =
      app.add_subcommand("patterns", "Read and name the patterns a database holds: list, show, label, export");
  top->require_subcommand(1);
  CLI::App* list = top->add_subcommand("list",
                                       "One line per pattern: id, model, name, sources when found and at "
                                       "the last run, top ports, matched activity");
  CLI::App* show = top->add_subcommand("show",
                                       "Everything stored for one pattern (JSON): profile, centroid, radius, "
                                       "and how many sources it had in every run");
  CLI::App* label = top->add_subcommand("label", "Give a pattern a name, e.g. 'Mirai telnet'");
  CLI::App* exp = top->add_subcommand("export", "Every run and pattern as one JSON document, or patterns as CSV");
  for (CLI::App* s : {list, show, label, exp}) {
    s->add_option("--db", o->db, "Pattern database")->required();
  }
  list->add_option("--model", o->model, "Only patterns of this analyze run");
  show->add_option("id", o->id, "Pattern id")->required();
  label->add_option("id", o->id, "Pattern id")->required();
  label->add_option("name", o->name, "Name (\"\" removes it)")->required();
  exp->add_option("-o,--output", o->out, "Output file (default: standard output)");
  exp->add_option("--format", o->format, "json or csv")->check(CLI::IsMember({"json", "csv"}))->default_val("json");
  return {top, [o, list, show, label]() {
            auto db = open_existing(o->db, label->parsed());
            if (list->parsed()) {
              const auto runs = db->runs();
              std::cout << "id\tmodel\tname\tsources_found\tsources_last\ttop_ports\tactivity\n";
              for (const auto& p : db->patterns(o->model)) {
                const auto seen = db->sightings(p.id);
                std::cout << p.id << '\t' << p.model_run << '\t' << (p.name.empty() ? "-" : p.name) << '\t' << p.sources
                          << '\t' << (seen.empty() ? 0 : seen.back().sources) << '\t' << top_ports(p, 3) << '\t'
                          << profile::activity_of(p.profile) << '\n';
              }
              return 0;
            }
            if (show->parsed()) {
              std::cout << dump_json(patterns::to_json(*db, db->pattern(o->id)), 2) << "\n";
              return 0;
            }
            if (label->parsed()) {
              db->set_name(o->id, o->name);
              std::cout << "pattern " << o->id << ": " << (o->name.empty() ? "name removed" : "named '" + o->name + "'")
                        << "\n";
              return 0;
            }
            std::optional<OutputFiles> out;  // checked before the export is read
            if (!o->out.empty()) out.emplace(std::vector<std::string>{o->out}, std::vector<std::string>{o->db});
            std::string text;
            if (o->format == "json") {
              const nlohmann::json doc = patterns::export_json(*db);
              text = dump_json(doc, 2) + "\n";
            } else {
              text = "id,model_run,first_run,cluster,name,sources,packets,radius,top_ports,activity\n";
              auto quote = [](const std::string& s) {
                std::string q = "\"";
                for (char ch : s) q += ch == '"' ? std::string("\"\"") : std::string(1, ch);
                return q + "\"";
              };
              for (const auto& p : db->patterns()) {
                text += std::to_string(p.id) + "," + std::to_string(p.model_run) + "," + std::to_string(p.first_run) +
                        "," + std::to_string(p.cluster) + "," + quote(p.name) + "," + std::to_string(p.sources) + "," +
                        std::to_string(p.packets) + "," + std::to_string(p.radius) + "," + quote(top_ports(p, 5)) +
                        "," + quote(profile::activity_of(p.profile)) + "\n";
              }
            }
            if (o->out.empty()) {
              std::cout << text;
            } else {
              {
                AtomicFile f(out->path(o->out));
                f.write(text);
                f.commit();
              }
              out->commit();
            }
            return 0;
          }};
}

}  // namespace darklens::cli
