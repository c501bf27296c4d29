// Errors, one rule: throw only when a call cannot do what was asked.
// Imperfect data (a damaged packet) is never an exception: it is counted
// under a named reason (see ingest.hpp, Weird) and skipped.
#pragma once

#include <stdexcept>
#include <string>

namespace darklens {

/// Base of every exception darklens throws on purpose.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A file or stream could not be opened, read or written.
class IoError : public Error {
 public:
  using Error::Error;
};

/// The input is not in a format darklens can read at all
/// (not a capture, unreadable header, unknown CSV columns, ...).
class FormatError : public Error {
 public:
  using Error::Error;
};

/// A parameter given by the caller is out of range or malformed.
class ParamError : public Error {
 public:
  using Error::Error;
};

/// The work would need more memory than the budget allows (--max-memory,
/// core/memory.hpp), or the machine ran out.
class ResourceError : public Error {
 public:
  using Error::Error;
};

}  // namespace darklens
