// The message of the exception (darklens::Error or a subclass E) that f()
// throws, or "(no exception)": every error message is asserted once.
#pragma once

#include <string>

#include "darklens/error.hpp"

namespace darklens::test {

template <typename E = Error, typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  return "(no exception)";
}

}  // namespace darklens::test
