// Running scikit-learn (Debian's python3-sklearn) as an independent
// reference: matrices go to it as .npy files, its answers come back as JSON.
#pragma once

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace darklens::test {

/// Writes a column-major array as NumPy .npy (1.0): `cols` 0 = 1-D.
/// descr is the NumPy type, e.g. "<f8" or "<i8".
template <typename T>
void write_npy(const T* data, size_t rows, size_t cols, const char* descr, const std::string& path) {
  std::string dict = std::string("{'descr': '") + descr + "', 'fortran_order': True, 'shape': (" +
                     std::to_string(rows) + (cols ? ", " + std::to_string(cols) : std::string(",")) + "), }";
  dict.append((64 - (10 + dict.size() + 1) % 64) % 64, ' ');
  dict += '\n';
  std::ofstream f(path, std::ios::binary);
  f << "\x93NUMPY" << '\x01' << '\x00' << static_cast<char>(dict.size() & 0xff) << static_cast<char>(dict.size() >> 8)
    << dict;
  f.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(rows * (cols ? cols : 1) * sizeof(T)));
}

/// Runs `/usr/bin/python3 tests/<script> ARGS... OUT.json` and returns the
/// JSON it wrote; nullopt when Python or scikit-learn is missing (or the
/// script fails), so the caller can skip with a clear message.
inline std::optional<nlohmann::json> run_reference(const std::string& script, const std::vector<std::string>& args,
                                                   const std::string& out_json) {
  std::string cmd = "/usr/bin/python3 " DARKLENS_TESTS_DIR "/" + script;
  for (const auto& a : args) cmd += " " + a;
  cmd += " " + out_json + " 2>&1";
  if (std::system(cmd.c_str()) != 0) return std::nullopt;
  return nlohmann::json::parse(std::ifstream(out_json));
}

/// tests/cluster/sklearn_algorithms_reference.py on X with a JSON list of
/// requests; its list of answers, or nullopt without scikit-learn.
template <typename Matrix>
std::optional<nlohmann::json> sklearn_algorithms(const Matrix& X, const nlohmann::json& requests,
                                                 const std::string& dir) {
  write_npy(X.data(), static_cast<size_t>(X.rows()), static_cast<size_t>(X.cols()), "<f8", dir + "/x.npy");
  std::ofstream(dir + "/req.json") << requests.dump();
  return run_reference("cluster/sklearn_algorithms_reference.py", {dir + "/x.npy", dir + "/req.json"},
                       dir + "/ref.json");
}

inline constexpr const char* kNoSklearn =
    "/usr/bin/python3 with python3-sklearn is not installed (scripts/setup.sh installs it)";

}  // namespace darklens::test
