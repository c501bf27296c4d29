#include "darklens/core/data_files.hpp"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "darklens/error.hpp"

namespace darklens {
namespace {

// The running binary's directory, through /proc (the path it was started
// by may be relative or a link); empty where /proc is not mounted.
std::string binary_dir() {
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : exe.parent_path().string();
}

// The shared object this code was linked into (the Python module), or
// empty when it is the running binary itself.
std::string module_dir(const std::string& binary) {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&binary_dir), &info) == 0 || info.dli_fname == nullptr) return {};
  std::error_code ec;
  const auto so = std::filesystem::canonical(info.dli_fname, ec);
  if (ec || so.parent_path().string() == binary) return {};
  return so.parent_path().string();
}

// $DARKLENS_DATA_DIR, or nullptr when unset or empty.
const char* env_dir() {
  const char* env = std::getenv("DARKLENS_DATA_DIR");
  return env && *env ? env : nullptr;
}

}  // namespace

std::vector<std::string> data_dirs() {
  if (const char* env = env_dir()) return {env};
  const std::string bin = binary_dir();
  std::vector<std::string> dirs;
  if (const std::string so = module_dir(bin); !so.empty())
    dirs.push_back((std::filesystem::path(so) / "data").string());
  if (!bin.empty()) dirs.push_back((std::filesystem::path(bin).parent_path() / "share" / "darklens").string());
  return dirs;
}

std::string data_file(std::string_view name) {
  const auto dirs = data_dirs();
  std::string looked;
  for (const auto& d : dirs) {
    const auto path = std::filesystem::path(d) / name;
    std::error_code ec;
    if (std::filesystem::is_regular_file(path, ec)) return path.string();
    looked += (looked.empty() ? "" : ", ") + path.string();
  }
  const bool from_env = env_dir() != nullptr;
  throw IoError(std::string(name) + ": shipped data file not found (looked in " +
                (looked.empty() ? std::string("no place: /proc/self/exe cannot be read") : looked) + ")" +
                (from_env ? "; DARKLENS_DATA_DIR names a folder without it"
                          : "; set DARKLENS_DATA_DIR to the folder that holds it (share/darklens of an "
                            "installed tree, data/ of the sources)"));
}

}  // namespace darklens
