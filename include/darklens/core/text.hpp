// Text that reaches JSON, HTML, SQLite or a terminal is valid UTF-8.
// File names and CSV fields on Linux are bytes: each byte that is not
// part of a valid UTF-8 sequence is written as the four characters \xHH
// (lower-case hex), as Python's "backslashreplace" decoding does, so
// `b.decode("utf-8", "backslashreplace")` gives the same text. Valid text
// is left exactly as it is. docs/cli.md, "Text".
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace darklens {

/// Whether `s` is valid UTF-8 (no overlong forms, surrogates or code
/// points above U+10FFFF).
bool valid_utf8(std::string_view s);

/// `s` with every byte outside a valid UTF-8 sequence written as \xHH.
std::string escape_invalid_utf8(std::string_view s);

/// For a terminal: escape_invalid_utf8, and control characters other
/// than newline and tab written as \xHH too (no escape sequences reach
/// the terminal from a file name or a field).
std::string terminal_text(std::string_view s);

/// A copy of `j` whose strings and keys are all valid UTF-8 (escaped as
/// above), then serialised (indent < 0: compact). Never throws for text.
std::string dump_json(const nlohmann::json& j, int indent = -1);

/// The fields of one CSV line, RFC 4180: a field may be quoted ("a,b"),
/// with "" for a quote inside; blanks around an unquoted field are
/// dropped. False when a quote is not closed, a quote appears inside an
/// unquoted field, or text follows a closing quote.
bool csv_fields(std::string_view line, std::vector<std::string>& out);

}  // namespace darklens
