// The Python module (`import darklens`): functions over the library, not
// over the command line (docs/python.md). The work runs without the GIL;
// darklens's errors arrive as darklens.Error and its kinds, with the
// messages the command line prints.
#include <pybind11/eigen.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "darklens/error.hpp"
#include "darklens/features/features.hpp"
#include "darklens/filter/filter.hpp"
#include "darklens/patterns/patterns.hpp"
#include "darklens/pipeline/pipeline.hpp"

namespace py = pybind11;
using namespace darklens;

namespace {

py::object to_python(const nlohmann::json& j) { return py::module_::import("json").attr("loads")(j.dump()); }

py::dict features_of(const std::vector<std::string>& paths, const std::string& families, const std::string& window,
                     const std::vector<std::string>& prefix, const std::string& filter, const std::string& classes,
                     int threads) {
  features::FeatureOptions o;
  o.families_ = features::parse_families(families);
  o.window_ = features::parse_window(window);
  for (const auto& p : prefix) {
    auto c = Cidr::parse(p);
    if (!c) throw ParamError("prefix '" + p + "' is not an address block (e.g. 198.51.100.0/24)");
    o.darknet_.push_back(*c);
  }
  o.bpf_ = filter;
  o.classes_ = filter::parse_classes(classes);
  o.threads_ = threads;
  auto table = std::make_unique<features::FeatureTable>();
  {
    py::gil_scoped_release free;
    features::Aggregator a(o);
    a.add_files(paths);
    *table = a.table();
  }
  const auto rows = static_cast<py::ssize_t>(table->rows());
  const auto cols = static_cast<py::ssize_t>(table->columns_.size());
  py::list sources;
  for (const auto& s : table->source_) sources.append(s.to_string());
  py::array_t<int64_t> starts(rows);
  std::copy(table->window_start_ns_.begin(), table->window_start_ns_.end(), starts.mutable_data());
  py::list kinds;
  for (auto k : table->kinds_) kinds.append(std::string(features::kind_name(k)));
  py::list columns = py::cast(table->columns_);
  // The values stay where the table holds them (column-major: a Fortran
  // order array); the array owns the table.
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
  m.def("features", &features_of, py::arg("paths"), py::arg("families"), py::arg("window"), py::arg("prefix"),
        py::arg("filter"), py::arg("classes"), py::arg("threads"),
        "Feature table of captures: dict of values (rows x columns, float64, Fortran order, no copy), columns, "
        "kinds, sources, window_start_ns.");
  m.def("cluster", &cluster_of, py::arg("X"), py::arg("pipeline") = pipeline::kDefaultPipeline,
        py::arg("columns") = std::nullopt, py::arg("threads") = 0,
        "Runs a pipeline spec on a float64 matrix (rows = sources): (labels, summary). With column names, "
        "category and address columns are encoded as darklens cluster does.");
  m.def("patterns", &patterns_of, py::arg("db"), "The patterns a pattern database holds (opened read-only).");
}
