// The Python module (`import darklens`): functions over the library, not
// over the command line (docs/python.md). The work runs without the GIL;
// darklens's errors arrive as darklens.Error and its kinds, with the
// messages the command line prints.
#include <pybind11/eigen.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "darklens/analyze/analyze.hpp"
#include "darklens/analyze/evaluate_table.hpp"
#include "darklens/core/memory.hpp"
#include "darklens/core/output_set.hpp"
#include "darklens/error.hpp"
#include "darklens/features/features.hpp"
#include "darklens/filter/filter.hpp"
#include "darklens/labels/origin.hpp"
#include "darklens/patterns/patterns.hpp"
#include "darklens/pipeline/pipeline.hpp"
#include "darklens/report/report.hpp"

namespace py = pybind11;
using namespace darklens;

namespace {

py::object to_python(const nlohmann::json& j) { return py::module_::import("json").attr("loads")(j.dump()); }

// A Python progress callback run from the library's threads: with the GIL,
// one call at a time; an exception it raises is kept and raised once the
// work is done (the work is not interrupted half-way).
class Progress {
 public:
  explicit Progress(py::object fn) : fn_(std::move(fn)) {}
  ~Progress() {
    py::gil_scoped_acquire gil;
    fn_ = py::object();
  }
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;
  bool on() const { return !fn_.is_none(); }
  /// After the work that calls it has returned (its threads joined).
  bool failed() const { return failed_.has_value(); }
  template <typename... A>
  void call(A&&... args) {
    py::gil_scoped_acquire gil;
    if (failed_) return;
    try {
      fn_(std::forward<A>(args)...);
    } catch (py::error_already_set& e) {
      failed_.emplace(std::move(e));
    }
  }
  void raise_if_failed() {
    if (failed_) {
      auto e = std::move(*failed_);
      failed_.reset();
      throw e;
    }
  }
  std::function<void(const std::string&)> lines() {
    if (!on()) return {};
    return [this](const std::string& line) { call(line); };
  }

 private:
  py::object fn_;
  std::optional<py::error_already_set> failed_;
};

// A feature table as a dict of NumPy arrays and lists; the values stay where
// the table holds them (column-major: a Fortran-order array) and the array
// owns the table.
py::dict table_dict(std::unique_ptr<features::FeatureTable> table) {
  const auto rows = static_cast<py::ssize_t>(table->rows());
  const auto cols = static_cast<py::ssize_t>(table->columns_.size());
  py::list sources;
  for (const auto& s : table->source_) sources.append(s.to_string());
  py::array_t<int64_t> starts(rows);
  std::copy(table->window_start_ns_.begin(), table->window_start_ns_.end(), starts.mutable_data());
  py::list kinds;
  for (auto k : table->kinds_) kinds.append(std::string(features::kind_name(k)));
  py::list columns = py::cast(table->columns_);
  double* data = table->values_.data();
  auto* owned = table.release();
  py::capsule owner(owned, [](void* p) { delete static_cast<features::FeatureTable*>(p); });
  py::array_t<double> values({rows, cols}, {py::ssize_t{sizeof(double)}, py::ssize_t{sizeof(double)} * rows}, data,
                             owner);
  py::dict out;
  out["values"] = values;
  out["columns"] = columns;
  out["kinds"] = kinds;
  out["sources"] = sources;
  out["window_start_ns"] = starts;
  return out;
}

py::array_t<int> int_array(const std::vector<int>& v) {
  py::array_t<int> a(static_cast<py::ssize_t>(v.size()));
  std::copy(v.begin(), v.end(), a.mutable_data());
  return a;
}

// The selection and feature flags the commands share (docs/features.md).
struct FeatureArgs {
  std::vector<std::string> paths;
  std::string families, window;
  std::string prefix;  // comma-separated, as --prefix
  std::string filter, classes = "scan,backscatter,other";
  uint64_t min_packets = 1;
  bool validated_only = false;
  double flow_timeout = 60;
  std::string vocab;
  uint32_t exact_cap = 4096;
  int threads = 0;
  std::string max_memory = MemoryBudget::kDefault;
};

features::FeatureOptions feature_options(const FeatureArgs& f) {
  features::FeatureOptions o;
  o.families_ = features::parse_families(f.families);
  o.window_ = features::parse_window(f.window);
  o.darknet_ = filter::parse_prefixes(f.prefix);
  o.bpf_ = f.filter;
  o.classes_ = filter::parse_classes(f.classes);
  o.min_packets_ = f.min_packets;
  o.validated_only_ = f.validated_only;
  if (!(f.flow_timeout >= 0.001 && f.flow_timeout <= 86400.0)) {
    throw ParamError("flow_timeout must be 0.001..86400 seconds");
  }
  o.flow_timeout_ns_ = static_cast<int64_t>(f.flow_timeout * 1e9);
  if (f.exact_cap < 16 || f.exact_cap > (1u << 24)) throw ParamError("exact_cap must be 16..16777216");
  o.exact_cap_ = f.exact_cap;
  if (!f.vocab.empty()) o.agm_ext_vocab_ = features::read_vocab(f.vocab);
  o.threads_ = f.threads;
  o.max_memory_ = parse_memory_size(f.max_memory, "max_memory");
  return o;
}

py::dict features_of(const FeatureArgs& f, const py::object& progress_fn) {
  features::FeatureOptions o = feature_options(f);
  auto table = std::make_unique<features::FeatureTable>();
  Progress progress(progress_fn);
  {
    py::gil_scoped_release free;
    features::Aggregator a(o);
    features::ProgressFn fn;
    if (progress.on()) {
      fn = [&progress](const features::ReadProgress& p) { progress.call(p.records, p.bytes, p.total_bytes); };
    }
    a.add_files(f.paths, fn);
    *table = a.table();
  }
  progress.raise_if_failed();
  return table_dict(std::move(table));
}

// What analyze and classify read besides the captures (analyze::Extras).
struct RunArgs {
  std::vector<std::string> gt;
  std::string label_map, signatures, asn_db, geo_db, resolver;
  size_t rdns = 0;
  size_t min_class = 1;
};
analyze::Extras extras(const RunArgs& r) {
  if (r.rdns > profile::kMaxHeaviest) {
    throw ParamError("rdns must be 0.." + std::to_string(profile::kMaxHeaviest) + " sources per cluster");
  }
  analyze::Extras x;
  x.gt = r.gt;
  x.label_map = r.label_map;
  x.signatures = r.signatures;
  x.asn_db = r.asn_db;
  x.geo_db = r.geo_db;
  x.names.heaviest = r.rdns;
  x.names.lookup.resolver_ = r.resolver;
  return x;
}

py::dict analyze_of(const FeatureArgs& f, const RunArgs& r, const std::string& pipeline_spec,
                    const std::string& categories, size_t top, const std::string& out, const std::string& db_path,
                    const py::object& progress_fn) {
  Progress progress(progress_fn);
  analyze::Analysis a;
  int64_t run = 0;
  {
    py::gil_scoped_release free;
    analyze::Options opt;
    opt.features = feature_options(f);
    opt.pipeline = pipeline_spec;
    opt.categories = pipeline::parse_categories(categories);
    if (top < 1 || top > 1000) throw ParamError("top must be 1..1000");
    opt.top = top;
    opt.min_class = r.min_class;
    opt.threads = f.threads;
    pipeline::parse_spec(opt.pipeline);
    const analyze::Extras x = extras(r);
    const analyze::Loaded in = analyze::load(x);
    in.attach(opt);
    opt.progress = progress.lines();
    std::optional<OutputDir> dir;
    if (!out.empty()) {
      dir.emplace(out, analyze::kAnalysisFiles, analyze::inputs_of(f.paths, x, db_path), patterns::committed);
    }
    std::unique_ptr<patterns::Store> db;
    if (!db_path.empty()) db = std::make_unique<patterns::Store>(db_path);
    a = analyze::analyze(f.paths, opt);
    if (progress.failed()) {
      // raised below; nothing written or stored
    } else if (dir) {
      run = analyze::publish(*dir, a, db.get(), f.paths, opt);
    } else if (db) {
      run = analyze::store(*db, a, f.paths, opt);
      a.summary["stored"] = {{"db", db->path()}, {"run", run}};
    }
  }
  progress.raise_if_failed();
  py::dict d;
  d["labels"] = int_array(a.result.labels_);
  d["summary"] = to_python(a.summary);
  d["profiles"] = to_python(a.report.profiles);
  d["run"] = run == 0 ? py::object(py::none()) : py::object(py::int_(run));
  d["report_html"] = report::render_html(report::to_json(a.report));
  d["table"] = table_dict(std::make_unique<features::FeatureTable>(std::move(a.table)));
  return d;
}

py::dict classify_of(const std::vector<std::string>& paths, const std::string& db_path, const RunArgs& r, int64_t model,
                     bool store, int threads, const std::string& max_memory, const std::string& out,
                     const py::object& progress_fn) {
  Progress progress(progress_fn);
  analyze::Classification c;
  int64_t run = 0;
  {
    py::gil_scoped_release free;
    if (db_path.empty() || !std::filesystem::exists(db_path)) throw IoError(db_path + ": no such pattern database");
    auto db = store ? std::make_unique<patterns::Store>(db_path)
                    : std::make_unique<patterns::Store>(db_path, patterns::Store::ReadOnly::kYes);
    analyze::ClassifyOptions opt;
    opt.model = model;
    opt.min_class = r.min_class;
    opt.threads = threads;
    opt.max_memory = parse_memory_size(max_memory, "max_memory");
    const analyze::Extras x = extras(r);
    const analyze::Loaded in = analyze::load(x);
    in.attach(opt);
    opt.progress = progress.lines();
    std::optional<OutputDir> dir;
    if (!out.empty()) {
      dir.emplace(out, analyze::kClassificationFiles, analyze::inputs_of(paths, x, db_path), patterns::committed);
    }
    c = analyze::classify(*db, paths, opt);
    if (progress.failed()) {
      // raised below; nothing written or stored
    } else if (dir) {
      run = analyze::publish(*dir, c, store ? db.get() : nullptr, paths);
    } else if (store) {
      run = analyze::store(*db, c, paths);
      c.summary["stored"] = {{"db", db->path()}, {"run", run}};
    }
  }
  progress.raise_if_failed();
  // assignments.csv as columns: status known/new, pattern id or new group
  // (-1: a new source left as noise).
  const auto rows = static_cast<py::ssize_t>(c.table.rows());
  py::list status;
  py::array_t<int64_t> pattern(rows), group(rows);
  auto* pp = pattern.mutable_data();
  auto* gp = group.mutable_data();
  for (size_t i = 0; i < c.table.rows(); ++i) {
    const bool known = c.known_of_row[i] >= 0;
    status.append(known ? "known" : "new");
    pp[i] = known ? c.known[static_cast<size_t>(c.known_of_row[i])].id : 0;
    gp[i] = known ? -1 : c.new_of_row[i] >= 0 ? c.new_of_row[i] : -1;
  }
  py::dict d;
  d["status"] = status;
  d["pattern"] = pattern;
  d["new_group"] = group;
  d["summary"] = to_python(c.summary);
  d["profiles"] = to_python(c.report.profiles);
  d["run"] = run == 0 ? py::object(py::none()) : py::object(py::int_(run));
  d["report_html"] = report::render_html(report::to_json(c.report));
  d["table"] = table_dict(std::make_unique<features::FeatureTable>(std::move(c.table)));
  return d;
}

py::object evaluate_of(const pipeline::MatrixRef& X, const std::vector<std::string>& columns,
                       const std::vector<std::string>& sources, const std::vector<std::string>& gt_files,
                       const std::string& label_map, const std::optional<std::vector<int>>& clusters,
                       const analyze::EvaluateOptions& options) {
  nlohmann::json doc;
  {
    py::gil_scoped_release free;
    if (columns.size() != static_cast<size_t>(X.cols())) {
      throw ParamError(std::to_string(columns.size()) + " column names for a matrix of " + std::to_string(X.cols()) +
                       " columns");
    }
    if (sources.size() != static_cast<size_t>(X.rows())) {
      throw ParamError(std::to_string(sources.size()) + " sources for a matrix of " + std::to_string(X.rows()) +
                       " rows");
    }
    if (gt_files.empty()) throw ParamError("gt: no ground-truth file");
    auto gt = ground_truth::load(
        gt_files, label_map.empty() ? std::map<std::string, std::string>{} : ground_truth::load_label_map(label_map));
    pipeline::MatrixFile m{cluster::Matrix(X), columns, sources};
    analyze::EvaluateOptions o = options;
    o.gt_files = gt_files;
    doc = analyze::evaluate_table(m, "the table", gt, clusters ? &*clusters : nullptr, "the labels", o);
  }
  return to_python(doc);
}

py::tuple cluster_of(const pipeline::MatrixRef& X, const std::string& spec,
                     const std::optional<std::vector<std::string>>& columns, int threads) {
  pipeline::Result r;
  {
    py::gil_scoped_release free;
    if (columns) {
      if (columns->size() != static_cast<size_t>(X.cols())) {
        throw ParamError(std::to_string(columns->size()) + " column names for a matrix of " + std::to_string(X.cols()) +
                         " columns");
      }
      r = pipeline::run(X, spec, threads, pipeline::columns_named(*columns));
    } else {
      r = pipeline::run(cluster::Matrix(X), spec, threads);
    }
  }
  py::array_t<int> labels(static_cast<py::ssize_t>(r.labels_.size()));
  std::copy(r.labels_.begin(), r.labels_.end(), labels.mutable_data());
  return py::make_tuple(labels, to_python(pipeline::to_json(r.summary_)));
}

py::list patterns_of(const std::string& db_path) {
  std::vector<patterns::Pattern> found;
  {
    py::gil_scoped_release free;
    patterns::Store db(db_path, patterns::Store::ReadOnly::kYes);
    found = db.patterns();
  }
  py::list out;
  for (const auto& p : found) {
    py::dict d;
    d["id"] = p.id;
    d["name"] = p.name;
    d["model_run"] = p.model_run;
    d["first_run"] = p.first_run;
    d["cluster"] = p.cluster;
    d["sources"] = p.sources;
    d["packets"] = p.packets;
    d["radius"] = p.radius;
    d["profile"] = to_python(p.profile);
    out.append(d);
  }
  return out;
}

// Origin AS and country of addresses (--asn-db, --geo-db): a dict of columns.
py::dict origins_of(const std::vector<std::string>& addresses, const std::string& asn_db, const std::string& geo_db) {
  std::vector<origin::Origin> found(addresses.size());
  bool asn = false, country = false;
  {
    py::gil_scoped_release free;
    if (asn_db.empty() && geo_db.empty()) throw ParamError("origins: give asn_db, geo_db or both");
    const auto o = origin::Origins::open(asn_db, geo_db);
    asn = o.has_asn();
    country = o.has_country();
    for (size_t i = 0; i < addresses.size(); ++i) {
      const auto ip = IpAddr::parse(addresses[i]);
      if (!ip) throw ParamError("'" + addresses[i] + "' is not an IP address");
      found[i] = o.lookup(*ip);
    }
  }
  py::list asns, orgs, countries;
  for (const auto& f : found) {
    asns.append(asn && f.asn ? py::object(py::int_(f.asn)) : py::object(py::none()));
    orgs.append(asn && f.asn && !f.as_org.empty() ? py::object(py::str(f.as_org)) : py::object(py::none()));
    countries.append(country && !f.country.empty() ? py::object(py::str(f.country)) : py::object(py::none()));
  }
  py::dict d;
  d["source"] = py::cast(addresses);
  d["asn"] = asns;
  d["as_org"] = orgs;
  d["country"] = countries;
  return d;
}

py::object pattern_of(const std::string& db_path, int64_t id) {
  nlohmann::json doc;
  {
    py::gil_scoped_release free;
    patterns::Store db(db_path, patterns::Store::ReadOnly::kYes);
    doc = patterns::to_json(db, db.pattern(id));
  }
  return to_python(doc);
}

py::object export_of(const std::string& db_path) {
  nlohmann::json doc;
  {
    py::gil_scoped_release free;
    patterns::Store db(db_path, patterns::Store::ReadOnly::kYes);
    doc = patterns::export_json(db);
  }
  return to_python(doc);
}

}  // namespace

PYBIND11_MODULE(_darklens, m) {
  m.doc() = "darklens: coordinated sources in darknet traffic (docs/python.md)";
  // Base first: pybind11 tries the translators registered last first.
  static py::exception<Error> error(m, "Error");
  py::register_exception<IoError>(m, "IoError", error.ptr());
  py::register_exception<FormatError>(m, "FormatError", error.ptr());
  py::register_exception<ParamError>(m, "ParamError", error.ptr());
  py::register_exception<ResourceError>(m, "ResourceError", error.ptr());

  m.attr("DEFAULT_PIPELINE") = pipeline::kDefaultPipeline;
  m.attr("DEFAULT_FAMILIES") = analyze::kDefaultFamilies;
  m.attr("DEFAULT_MAX_MEMORY") = MemoryBudget::kDefault;
  // The arguments as plain records, filled by the Python wrappers
  // (darklens/__init__.py), which carry the defaults and the documentation.
  py::class_<FeatureArgs>(m, "FeatureArgs")
      .def(py::init<>())
      .def_readwrite("paths", &FeatureArgs::paths)
      .def_readwrite("families", &FeatureArgs::families)
      .def_readwrite("window", &FeatureArgs::window)
      .def_readwrite("prefix", &FeatureArgs::prefix)
      .def_readwrite("filter", &FeatureArgs::filter)
      .def_readwrite("classes", &FeatureArgs::classes)
      .def_readwrite("min_packets", &FeatureArgs::min_packets)
      .def_readwrite("validated_only", &FeatureArgs::validated_only)
      .def_readwrite("flow_timeout", &FeatureArgs::flow_timeout)
      .def_readwrite("vocab", &FeatureArgs::vocab)
      .def_readwrite("exact_cap", &FeatureArgs::exact_cap)
      .def_readwrite("threads", &FeatureArgs::threads)
      .def_readwrite("max_memory", &FeatureArgs::max_memory);
  py::class_<RunArgs>(m, "RunArgs")
      .def(py::init<>())
      .def_readwrite("gt", &RunArgs::gt)
      .def_readwrite("label_map", &RunArgs::label_map)
      .def_readwrite("signatures", &RunArgs::signatures)
      .def_readwrite("asn_db", &RunArgs::asn_db)
      .def_readwrite("geo_db", &RunArgs::geo_db)
      .def_readwrite("rdns", &RunArgs::rdns)
      .def_readwrite("resolver", &RunArgs::resolver)
      .def_readwrite("min_class", &RunArgs::min_class);
  py::class_<analyze::EvaluateOptions>(m, "EvaluateOptions")
      .def(py::init<>())
      .def_readwrite("scale", &analyze::EvaluateOptions::scale)
      .def_readwrite("metric", &analyze::EvaluateOptions::metric)
      .def_readwrite("categories", &analyze::EvaluateOptions::categories)
      .def_readwrite("k", &analyze::EvaluateOptions::k)
      .def_readwrite("min_class", &analyze::EvaluateOptions::min_class)
      .def_readwrite("mirai", &analyze::EvaluateOptions::mirai)
      .def_readwrite("labelled_only", &analyze::EvaluateOptions::labelled_only)
      .def_readwrite("include_unknown", &analyze::EvaluateOptions::include_unknown)
      .def_readwrite("threads", &analyze::EvaluateOptions::threads);

  m.def("features", &features_of, py::arg("args"), py::arg("progress"),
        "Feature table of captures: dict of values (rows x columns, float64, Fortran order, no copy), columns, "
        "kinds, sources, window_start_ns.");
  m.def("cluster", &cluster_of, py::arg("X"), py::arg("pipeline") = pipeline::kDefaultPipeline,
        py::arg("columns") = std::nullopt, py::arg("threads") = 0,
        "Runs a pipeline spec on a float64 matrix (rows = sources): (labels, summary). With column names, "
        "category and address columns are encoded as darklens cluster does.");
  m.def("analyze", &analyze_of, py::arg("features"), py::arg("run"), py::arg("pipeline"), py::arg("categories"),
        py::arg("top"), py::arg("out"), py::arg("db"), py::arg("progress"),
        "darklens analyze: labels, summary, profiles, run, report_html and the feature table.");
  m.def("classify", &classify_of, py::arg("paths"), py::arg("db"), py::arg("run"), py::arg("model"), py::arg("store"),
        py::arg("threads"), py::arg("max_memory"), py::arg("out"), py::arg("progress"),
        "darklens classify: status, pattern, new_group per row, summary, profiles, run, report_html, table.");
  m.def("evaluate", &evaluate_of, py::arg("X"), py::arg("columns"), py::arg("sources"), py::arg("gt"),
        py::arg("label_map"), py::arg("clusters"), py::arg("options"),
        "darklens evaluate --json of a table: k-NN and, with clusters, their agreement and quality.");
  m.def("origins", &origins_of, py::arg("addresses"), py::arg("asn_db"), py::arg("geo_db"),
        "Origin AS (asn, as_org) and country of each address; None where the databases do not cover it.");
  m.def("patterns", &patterns_of, py::arg("db"), "The patterns a pattern database holds (opened read-only).");
  m.def("pattern", &pattern_of, py::arg("db"), py::arg("id"), "darklens patterns show: one pattern, whole.");
  m.def("export", &export_of, py::arg("db"), "darklens patterns export: the whole database as one document.");
}
