// The data files darklens ships (the signature catalog, the reverse-DNS
// rules): where a binary finds them, built or installed, wherever it was
// moved with its tree.
//
// Looked for, in order:
//   1. $DARKLENS_DATA_DIR (when set, the only place looked: a wrong
//      setting is an error, never silently passed over);
//   2. when the library was linked into a shared object other than the
//      running binary (the Python module, python/): <its directory>/data,
//      where the package keeps its copy;
//   3. <directory of the running binary>/../share/darklens — the layout of
//      `cmake --install` (bin/, share/darklens/) and of the build tree,
//      which copies data/ there.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace darklens {

/// The directories searched for shipped data, in order (see above).
std::vector<std::string> data_dirs();

/// The path of the shipped data file `name` (e.g. "signatures.txt").
/// Throws IoError naming the file, every place looked and how to point
/// darklens at it when it is in none of them.
std::string data_file(std::string_view name);

}  // namespace darklens
