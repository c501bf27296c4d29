// Feature tables on disk: CSV, JSON Lines, NumPy .npy (+ sidecars).
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>

#include "darklens/core/atomic_file.hpp"
#include "darklens/error.hpp"
#include "darklens/features/features.hpp"

namespace darklens::features {
namespace {

// Shortest text that reads back as the same double ("3", "0.25", "1e+20").
void append_number(std::string& out, double v) {
  char buf[32];
  // Most features are counts. An integer of at most five digits comes out
  // of std::to_chars(double) in fixed notation, digit for digit as the
  // integer's own (much faster) conversion writes it; -0 keeps its sign.
  if (v > -1e5 && v < 1e5) {
    const auto i = static_cast<int64_t>(v);
    if (static_cast<double>(i) == v && !(i == 0 && std::signbit(v))) {
      auto [p, ec] = std::to_chars(buf, buf + sizeof buf, i);
      out.append(buf, p);
      return;
    }
  }
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, p);
}

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// "source,window_start" of row r into `line` (replacing it). Rows come
// sorted by window, so `start` keeps the text of the current window.
void row_key(const FeatureTable& t, size_t r, std::string& start, std::string& line) {
  if (r == 0 || t.window_start_ns_[r] != t.window_start_ns_[r - 1]) start = iso8601_utc(t.window_start_ns_[r]);
  line = t.source_[r].to_string();
  line += ',';
  line += start;
}

void write_csv(const FeatureTable& t, const std::string& path) {
  AtomicFile f(path);
  std::string line = "source,window_start";
  for (const auto& c : t.columns_) line += "," + c;
  line += "\n";
  f.write(line);
  const size_t nc = t.columns_.size();
  std::string start;
  for (size_t r = 0; r < t.rows(); ++r) {
    row_key(t, r, start, line);
    for (size_t c = 0; c < nc; ++c) {
      line += ',';
      append_number(line, t.at(r, c));
    }
    line += '\n';
    f.write(line);
  }
  f.commit();
}

void write_jsonl(const FeatureTable& t, const std::string& path) {
  AtomicFile f(path);
  const size_t nc = t.columns_.size();
  std::string line;
  for (size_t r = 0; r < t.rows(); ++r) {
    line = "{\"source\":\"" + t.source_[r].to_string() + "\",\"window_start\":\"" + iso8601_utc(t.window_start_ns_[r]) +
           "\"";
    for (size_t c = 0; c < nc; ++c) {
      line += ",\"" + t.columns_[c] + "\":";  // column names are plain identifiers
      append_number(line, t.at(r, c));
    }
    line += "}\n";
    f.write(line);
  }
  f.commit();
}

void write_npy(const FeatureTable& t, const std::string& path) {
  const std::string base = path.substr(0, path.size() - 4);
  // Sidecars first, so a reader never finds a matrix without its names.
  {
    AtomicFile cols(base + ".columns.txt");
    for (const auto& c : t.columns_) cols.write(c + "\n");
    cols.commit();
    AtomicFile rows(base + ".rows.csv");
    rows.write("source,window_start\n");
    std::string line, start;
    for (size_t r = 0; r < t.rows(); ++r) {
      row_key(t, r, start, line);
      line += '\n';
      rows.write(line);
    }
    rows.commit();
  }
  std::string dict = "{'descr': '<f8', 'fortran_order': True, 'shape': (" + std::to_string(t.rows()) + ", " +
                     std::to_string(t.columns_.size()) + "), }";
  // Column-major, as the table holds it (numpy reads it as any other array).
  // NPY 1.0: magic, version, little-endian header length, the dict padded
  // with spaces and a newline so that the data starts at a multiple of 64.
  const size_t unpadded = 10 + dict.size() + 1;
  dict.append((64 - unpadded % 64) % 64, ' ');
  dict += '\n';
  std::string header = "\x93NUMPY";
  header += '\x01';
  header += '\x00';
  header += static_cast<char>(dict.size() & 0xff);
  header += static_cast<char>(dict.size() >> 8);
  header += dict;
  AtomicFile f(path);
  f.write(header);
  static_assert(sizeof(double) == 8);
  f.write(t.values_.data(), t.values_.size() * sizeof(double));  // x86-64: little-endian
  f.commit();
}

}  // namespace

void check_table_path(const std::string& path) {
  if (!ends_with(path, ".csv") && !ends_with(path, ".jsonl") && !ends_with(path, ".npy")) {
    throw ParamError(path + ": unknown output format; use a .csv, .jsonl or .npy file name");
  }
  auto dir = std::filesystem::path(path).parent_path();
  if (dir.empty()) dir = ".";
  if (!std::filesystem::is_directory(dir)) {
    throw IoError(path + ": cannot create output file: directory " + dir.string() + " does not exist");
  }
}

std::vector<std::string> table_files(const std::string& path) {
  if (!ends_with(path, ".npy")) return {path};
  const std::string base = path.substr(0, path.size() - 4);
  return {path, base + ".columns.txt", base + ".rows.csv"};
}

void write_table(const FeatureTable& t, const std::string& path) {
  check_table_path(path);
  if (ends_with(path, ".csv")) {
    write_csv(t, path);
  } else if (ends_with(path, ".jsonl")) {
    write_jsonl(t, path);
  } else {
    write_npy(t, path);
  }
}

}  // namespace darklens::features
