// Reading numeric tables: darklens feature tables (CSV, .npy + sidecars)
// and plain numeric CSV. Bounded: header and lines are size-checked before
// use, the .npy payload against the file size.
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>

#include "darklens/error.hpp"
#include "darklens/pipeline/pipeline.hpp"

namespace darklens::pipeline {
namespace {

constexpr size_t kMaxLine = 1 << 20;

std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t comma = line.find(',', start);
    out.push_back(line.substr(start, comma - start));
    if (comma == std::string::npos) return out;
    start = comma + 1;
  }
}

bool getline_bounded(std::istream& in, std::string& line, const std::string& path, size_t number) {
  if (!std::getline(in, line)) return false;
  if (line.size() > kMaxLine) throw FormatError(path + ":" + std::to_string(number) + ": line longer than 1 MiB");
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return true;
}

MatrixFile read_csv(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw IoError(path + ": cannot open: " + std::strerror(errno));
  std::string line;
  if (!getline_bounded(in, line, path, 1)) throw FormatError(path + ": empty file, expected a CSV header");
  const auto header = split(line);
  MatrixFile m;
  std::vector<int> key_cols, value_cols;
  for (size_t i = 0; i < header.size(); ++i) {
    if (header[i] == "source" || header[i] == "window_start") {
      key_cols.push_back(static_cast<int>(i));
    } else {
      value_cols.push_back(static_cast<int>(i));
      m.columns.push_back(header[i]);
    }
  }
  if (value_cols.empty()) throw FormatError(path + ": no numeric columns");
  std::vector<double> values;
  size_t number = 1;
  while (getline_bounded(in, line, path, ++number)) {
    if (line.empty()) continue;
    const auto f = split(line);
    if (f.size() != header.size()) {
      throw FormatError(path + ":" + std::to_string(number) + ": expected " + std::to_string(header.size()) +
                        " fields, got " + std::to_string(f.size()));
    }
    std::string key;
    for (int k : key_cols) {
      if (!key.empty()) key += ',';
      key += f[k];
    }
    m.row_keys.push_back(key.empty() ? std::to_string(m.row_keys.size()) : key);
    for (int c : value_cols) {
      double v = 0;
      auto [p, ec] = std::from_chars(f[c].data(), f[c].data() + f[c].size(), v);
      if (ec != std::errc() || p != f[c].data() + f[c].size()) {
        throw FormatError(path + ":" + std::to_string(number) + ": column '" + header[c] + "': '" + f[c] +
                          "' is not a number");
      }
      values.push_back(v);
    }
  }
  const auto rows = static_cast<Eigen::Index>(m.row_keys.size());
  const auto cols = static_cast<Eigen::Index>(value_cols.size());
  m.X = Eigen::Map<Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(values.data(), rows, cols);
  return m;
}

MatrixFile read_npy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(path + ": cannot open: " + std::strerror(errno));
  char pre[10];
  if (!in.read(pre, 10) || std::string(pre, 6) != "\x93NUMPY") throw FormatError(path + ": not a NumPy .npy file");
  const unsigned major = static_cast<unsigned char>(pre[6]);
  size_t header_len = static_cast<unsigned char>(pre[8]) | (static_cast<unsigned char>(pre[9]) << 8);
  if (major != 1) throw FormatError(path + ": .npy version " + std::to_string(major) + " (only 1.0 is read)");
  std::string header(header_len, '\0');
  if (!in.read(header.data(), static_cast<std::streamsize>(header_len))) {
    throw FormatError(path + ": truncated .npy header");
  }
  std::smatch mt;
  if (!std::regex_search(header, mt, std::regex("'descr':\\s*'<f8'"))) {
    throw FormatError(path + ": .npy dtype must be little-endian float64 ('<f8')");
  }
  const bool fortran = header.find("'fortran_order': True") != std::string::npos;
  if (!std::regex_search(header, mt, std::regex("'shape':\\s*\\((\\d+),\\s*(\\d+)\\)"))) {
    throw FormatError(path + ": .npy shape must be two-dimensional (rows, columns)");
  }
  // Digits only, but any number of them: a value past 2^64 is refused
  // here (std::stoull threw out_of_range, found by the table fuzz target).
  auto dim = [&](const std::ssub_match& m) {
    uint64_t v = 0;
    const std::string text = m.str();
    if (std::from_chars(text.data(), text.data() + text.size(), v).ec != std::errc()) {
      throw FormatError(path + ": .npy shape holds " + std::to_string(text.size()) + "-digit dimension; too large");
    }
    return v;
  };
  const uint64_t rows = dim(mt[1]), cols = dim(mt[2]);
  const uint64_t bytes = std::filesystem::file_size(path);
  if (cols == 0 || rows > bytes / 8 / cols || 10 + header_len + rows * cols * 8 != bytes) {
    throw FormatError(path + ": .npy data size does not match its shape (" + std::to_string(rows) + ", " +
                      std::to_string(cols) + ")");
  }
  std::vector<double> data(rows * cols);
  in.read(reinterpret_cast<char*>(data.data()), static_cast<std::streamsize>(data.size() * 8));
  MatrixFile m;
  if (fortran) {
    m.X = Eigen::Map<cluster::Matrix>(data.data(), static_cast<Eigen::Index>(rows), static_cast<Eigen::Index>(cols));
  } else {
    m.X = Eigen::Map<Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(
        data.data(), static_cast<Eigen::Index>(rows), static_cast<Eigen::Index>(cols));
  }
  const std::string base = path.substr(0, path.size() - 4);
  std::ifstream names(base + ".columns.txt");
  for (std::string line; names && std::getline(names, line) && m.columns.size() < cols;) m.columns.push_back(line);
  for (size_t c = m.columns.size(); c < cols; ++c) m.columns.push_back(std::string(1, 'c').append(std::to_string(c)));
  std::ifstream keys(base + ".rows.csv");
  std::string line;
  if (keys && std::getline(keys, line)) {
    while (std::getline(keys, line) && m.row_keys.size() < rows) m.row_keys.push_back(line);
  }
  for (size_t r = m.row_keys.size(); r < rows; ++r) m.row_keys.push_back(std::to_string(r));
  return m;
}

}  // namespace

MatrixFile read_matrix(const std::string& path) {
  if (path.size() > 4 && path.compare(path.size() - 4, 4, ".npy") == 0) return read_npy(path);
  return read_csv(path);
}

Eigen::Map<const cluster::Matrix> table_values(const features::FeatureTable& t) {
  return {t.values_.data(), static_cast<Eigen::Index>(t.rows()), static_cast<Eigen::Index>(t.columns_.size())};
}

cluster::Matrix matrix_of(const features::FeatureTable& t) {
  return Eigen::Map<const Eigen::MatrixXd>(t.values_.data(), static_cast<Eigen::Index>(t.rows()),
                                           static_cast<Eigen::Index>(t.columns_.size()));  // both column-major
}

}  // namespace darklens::pipeline
