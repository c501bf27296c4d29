// Feature tables on disk: CSV, JSON Lines, NumPy .npy (+ sidecars).
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

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

// The agm-ext vocabulary of an earlier run's <output>.meta.json.
AgmExtVocab read_vocab(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(path + ": cannot open: " + std::strerror(errno));
  // Read in pieces up to the bound (a pipe or a growing file has no size to trust).
  std::string text;
  char piece[1 << 16];
  while (in.read(piece, sizeof piece) || in.gcount() > 0) {
    text.append(piece, static_cast<size_t>(in.gcount()));
    if (text.size() > kMaxVocabFile) throw FormatError(path + ": larger than 64 MiB; not a darklens meta.json");
  }
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) throw FormatError(path + ": not JSON");
  if (!j.contains("agm_ext_vocab") || !j["agm_ext_vocab"].is_object()) {
    throw FormatError(path + ": no agm_ext_vocab (write one with --family agm-ext)");
  }
  AgmExtVocab vocab;
  for (int f = 0; f < 7; ++f) {
    const auto& v = j["agm_ext_vocab"][kAgmFieldNames[f]];
    if (!v.is_array()) {
      throw FormatError(path + ": agm_ext_vocab lacks field '" + std::string(kAgmFieldNames[f]) + "'");
    }
    if (v.size() > kMaxVocab) {
      throw FormatError(path + ": agm_ext_vocab." + kAgmFieldNames[f] + " holds " + std::to_string(v.size()) +
                        " values; at most " + std::to_string(kMaxVocab) + " (each is a column of every row)");
    }
    for (const auto& x : v) {
      if (!x.is_number_unsigned() || x.get<uint64_t>() > 0xffffffffu) {
        throw FormatError(path + ": agm_ext_vocab." + kAgmFieldNames[f] +
                          " holds a value that is not a 32-bit unsigned number");
      }
      vocab[f].push_back(x.get<uint32_t>());
    }
  }
  return vocab;
}

}  // namespace darklens::features
