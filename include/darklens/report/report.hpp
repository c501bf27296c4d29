// The HTML report: one self-contained file (inline CSS and SVG, no script,
// no network) that a person who did not run the tool can read.
// docs/analyze.md lists its sections.
//
// The report is drawn from one JSON document, so it can be re-rendered
// from saved outputs:
//   {"title": "...", "subtitle": "...",
//    "numbers": [["sources", 5000], ...],                 summary table
//    "profiles": [profile::to_json(...), ...],            largest first
//    "projection": {"x": [...], "y": [...], "cluster": [...], "note": "..."},
//    "silhouette": [{"cluster": 0, "value": 0.41}, ...],  optional
//    "knn": {"classes": [...], "confusion": [[...]], "per_class": [...], "accuracy": .9}, optional
//    "series": {"x": ["2021-05-01", ...], "lines": {"AMI": [...], "kNN accuracy": [...]}},  optional
//    "patterns": [{"id":..,"name":..,"status":"back|absent|new",...}], optional (classify)
//    "som": {"u_matrix": [[...]], "hit_map": [[...]]}}     optional
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace darklens::report {

/// Throws FormatError naming the key when a present section is malformed.
std::string render_html(const nlohmann::json& doc);

/// A categorical colour for cluster `c` (noise, -1: grey), as "#rrggbb".
std::string cluster_colour(int c);

}  // namespace darklens::report
