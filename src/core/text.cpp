// UTF-8 validation and the \xHH escape of invalid bytes.
#include "darklens/core/text.hpp"

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace darklens {
namespace {

// Length of the valid UTF-8 sequence starting at s[i], or 0 (RFC 3629).
size_t sequence_at(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  if (c < 0x80) return 1;
  size_t n = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;  // no overlong forms
    if (c == 0xED) hi = 0x9F;  // no surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;  // at most U+10FFFF
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  if (b(i + 1) < lo || b(i + 1) > hi) return 0;
  for (size_t k = 2; k < n; ++k) {
    if (b(i + k) < 0x80 || b(i + k) > 0xBF) return 0;
  }
  return n;
}

void put_hex(std::string& out, unsigned char c) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += "\\x";
  out += kHex[c >> 4];
  out += kHex[c & 15];
}

std::string escape(std::string_view s, bool controls) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const size_t n = sequence_at(s, i);
    const auto c = static_cast<unsigned char>(s[i]);
    if (n == 0 || (controls && n == 1 && (c < 0x20 || c == 0x7f) && c != '\n' && c != '\t')) {
      put_hex(out, c);
      ++i;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  return out;
}

nlohmann::json valid_copy(const nlohmann::json& j) {
  switch (j.type()) {
    case nlohmann::json::value_t::string: {
      const auto& s = j.get_ref<const std::string&>();
      return valid_utf8(s) ? j : nlohmann::json(escape_invalid_utf8(s));
    }
    case nlohmann::json::value_t::array: {
      nlohmann::json a = nlohmann::json::array();
      for (const auto& x : j) a.push_back(valid_copy(x));
      return a;
    }
    case nlohmann::json::value_t::object: {
      nlohmann::json o = nlohmann::json::object();
      for (const auto& [k, v] : j.items()) o[valid_utf8(k) ? k : escape_invalid_utf8(k)] = valid_copy(v);
      return o;
    }
    default:
      return j;
  }
}

// Whether any string or key of j is not valid UTF-8 (the usual answer,
// no, costs no copy).
bool needs_escape(const nlohmann::json& j) {
  switch (j.type()) {
    case nlohmann::json::value_t::string:
      return !valid_utf8(j.get_ref<const std::string&>());
    case nlohmann::json::value_t::array:
      for (const auto& x : j) {
        if (needs_escape(x)) return true;
      }
      return false;
    case nlohmann::json::value_t::object:
      for (const auto& [k, v] : j.items()) {
        if (!valid_utf8(k) || needs_escape(v)) return true;
      }
      return false;
    default:
      return false;
  }
}

// Blanks (space, tab, CR) around an unquoted field are not part of it.
std::string trim_blanks(const std::string& s) {
  size_t b = 0, e = s.size();
  while (e > b && (s[e - 1] == '\r' || s[e - 1] == ' ' || s[e - 1] == '\t')) --e;
  while (b < e && (s[b] == ' ' || s[b] == '\t')) ++b;
  return s.substr(b, e - b);
}

}  // namespace

bool valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const size_t n = sequence_at(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string escape_invalid_utf8(std::string_view s) { return escape(s, false); }

std::string terminal_text(std::string_view s) { return escape(s, true); }

std::string dump_json(const nlohmann::json& j, int indent) {
  return needs_escape(j) ? valid_copy(j).dump(indent) : j.dump(indent);
}

bool csv_fields(std::string_view line, std::vector<std::string>& out) {
  out.clear();
  std::string f;
  size_t i = 0;
  for (;;) {
    f.clear();
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    if (i < line.size() && line[i] == '"') {
      ++i;
      for (;; ++i) {
        if (i >= line.size()) return false;  // not closed
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            f += '"';
            ++i;
            continue;
          }
          ++i;
          break;
        }
        f += line[i];
      }
      while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
      if (i < line.size() && line[i] != ',') return false;
    } else {
      const size_t comma = line.find(',', i);
      f = std::string(line.substr(i, comma == std::string::npos ? std::string::npos : comma - i));
      if (f.find('"') != std::string::npos) return false;
      i = comma == std::string::npos ? line.size() : comma;
      f = trim_blanks(f);
    }
    out.push_back(f);
    if (i >= line.size()) return true;
    ++i;  // the comma
  }
}

}  // namespace darklens
