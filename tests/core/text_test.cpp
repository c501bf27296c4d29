// UTF-8 validation and the \xHH escape, against cases worked out by hand
// from RFC 3629's table (tests/cli/text_test.py checks the same escape
// against Python's "backslashreplace" on every byte value).
#include "darklens/core/text.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

using namespace darklens;

TEST(Text, ValidUtf8FollowsRfc3629) {
  EXPECT_TRUE(valid_utf8(""));
  EXPECT_TRUE(valid_utf8("ascii"));
  EXPECT_TRUE(valid_utf8("caf\xc3\xa9"));        // é
  EXPECT_TRUE(valid_utf8("\xe2\x82\xac"));       // €
  EXPECT_TRUE(valid_utf8("\xf0\x9f\x98\x80"));   // U+1F600
  EXPECT_TRUE(valid_utf8("\xf4\x8f\xbf\xbf"));   // U+10FFFF
  EXPECT_FALSE(valid_utf8("caf\xe9"));           // Latin-1
  EXPECT_FALSE(valid_utf8("\xff"));              // never in UTF-8
  EXPECT_FALSE(valid_utf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(valid_utf8("\xe0\x80\xaf"));      // overlong
  EXPECT_FALSE(valid_utf8("\xed\xa0\x80"));      // surrogate U+D800
  EXPECT_FALSE(valid_utf8("\xf4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(valid_utf8("\xe2\x82"));          // truncated
  EXPECT_FALSE(valid_utf8("\x80"));              // lone continuation
}

TEST(Text, InvalidBytesBecomeBackslashX) {
  EXPECT_EQ(escape_invalid_utf8("caf\xe9"), "caf\\xe9");
  EXPECT_EQ(escape_invalid_utf8("a\xff\xfe"
                                "b"),
            "a\\xff\\xfeb");
  EXPECT_EQ(escape_invalid_utf8("\xe2\x82"
                                "x"),
            "\\xe2\\x82x");                                           // a truncated sequence, byte by byte
  EXPECT_EQ(escape_invalid_utf8("caf\xc3\xa9"), "caf\xc3\xa9");       // valid text unchanged
  EXPECT_EQ(escape_invalid_utf8("\x1b[31m"), "\x1b[31m");             // controls are valid UTF-8...
  EXPECT_EQ(terminal_text("\x1b[31mred\tx\n"), "\\x1b[31mred\tx\n");  // ...but not for a terminal
  EXPECT_EQ(terminal_text("caf\xe9\x7f"), "caf\\xe9\\x7f");
}

TEST(Text, DumpJsonEscapesStringsAndKeys) {
  nlohmann::json j = {{"inputs", {"ok.pcap", "bad\xff.pcap"}}, {"files", {{"k\xfe", 1}}}, {"n", 2}};
  const std::string s = dump_json(j);
  EXPECT_EQ(s, R"({"files":{"k\\xfe":1},"inputs":["ok.pcap","bad\\xff.pcap"],"n":2})");
  EXPECT_NO_THROW((void)nlohmann::json::parse(s));
  EXPECT_THROW((void)j.dump(), nlohmann::json::type_error);  // what plain dump() does
  const nlohmann::json fine = {{"a", "caf\xc3\xa9"}};
  EXPECT_EQ(dump_json(fine, 2), fine.dump(2));
}
