// The markdown plugin renders every golden document in
// plugins/testdata/markdown exactly, on every engine; its output stays
// well-formed and escaped for any input; and pathological inputs render in
// linear time.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "plugin_engines.hpp"

namespace warmpool::plugin_test {
namespace {

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::filesystem::path> golden_inputs() {
  std::vector<std::filesystem::path> inputs;
  for (const auto& entry : std::filesystem::directory_iterator(
           std::filesystem::path(WARMPOOL_PLUGIN_TESTDATA_DIR) / "markdown")) {
    if (entry.path().extension() == ".md") inputs.push_back(entry.path());
  }
  std::sort(inputs.begin(), inputs.end());
  return inputs;
}

class MarkdownTest : public PluginEngineTest {
 protected:
  std::string render(std::string_view markdown, const wasm::Limits& limits = {}) {
    auto instance = instantiate("markdown", limits);
    auto out = instance.call_bytes("render", as_bytes(markdown));
    if (!out) throw std::runtime_error(out.error().message());
    EXPECT_EQ(out->stdout_text, "");
    EXPECT_EQ(out->stderr_text, "");
    return out->output;
  }
};
WARMPOOL_ON_EVERY_ENGINE(MarkdownTest);

TEST_P(MarkdownTest, RendersEveryGoldenDocument) {
  const auto inputs = golden_inputs();
  ASSERT_FALSE(inputs.empty()) << "no .md files in " << WARMPOOL_PLUGIN_TESTDATA_DIR;
  // One instance for all documents: rendering must leave no state behind.
  auto instance = instantiate("markdown");
  for (const auto& input : inputs) {
    SCOPED_TRACE(input.filename().string());
    auto expected_path = input;
    expected_path.replace_extension(".html");
    ASSERT_TRUE(std::filesystem::exists(expected_path)) << expected_path << " is missing";
    auto out = instance.call_bytes("render", as_bytes(read_file(input)));
    ASSERT_TRUE(out) << out.error();
    EXPECT_EQ(out->output, read_file(expected_path));
  }
}

TEST_P(MarkdownTest, LineEndingsDoNotChangeTheResult) {
  const std::string unix_text = "# Title\n\nSome *text*\nmore.\n\n- a\n- b\n";
  std::string windows_text;
  for (char c : unix_text) {
    if (c == '\n') windows_text += '\r';
    windows_text += c;
  }
  EXPECT_EQ(this->render(windows_text), this->render(unix_text));
  EXPECT_EQ(this->render("# Title"), "<h1>Title</h1>\n");  // no final line end
  EXPECT_EQ(this->render(""), "");
}

// Checks that every '<' in `html` opens or closes one of the tags the
// renderer writes, and that they nest properly: whatever the input, the
// output carries no markup the author did not write as Markdown.
testing::AssertionResult well_formed(std::string_view html) {
  static const std::vector<std::string_view> container_tags = {"p",   "h1", "h2", "h3",     "h4",
                                                               "h5",  "h6", "em", "strong", "code",
                                                               "pre", "ul", "ol", "li",     "a"};
  std::vector<std::string_view> open;
  for (std::size_t i = html.find('<'); i != std::string_view::npos; i = html.find('<', i + 1)) {
    const std::size_t close = html.find('>', i);
    if (close == std::string_view::npos)
      return testing::AssertionFailure() << "unclosed '<' at " << i;
    std::string_view tag = html.substr(i + 1, close - i - 1);
    if (tag == "hr /") continue;
    const bool closing = tag.starts_with('/');
    if (closing) tag.remove_prefix(1);
    std::string_view name = tag.substr(0, tag.find(' '));
    if (std::find(container_tags.begin(), container_tags.end(), name) == container_tags.end()) {
      return testing::AssertionFailure() << "unexpected tag <" << tag << "> at " << i;
    }
    if (name != tag && (closing || (name != "a" && name != "ol" && name != "code"))) {
      return testing::AssertionFailure() << "unexpected attributes in <" << tag << ">";
    }
    if (!closing) {
      open.push_back(name);
    } else if (open.empty() || open.back() != name) {
      return testing::AssertionFailure() << "</" << name << "> at " << i << " closes "
                                         << (open.empty() ? "nothing" : open.back());
    } else {
      open.pop_back();
    }
  }
  if (!open.empty()) return testing::AssertionFailure() << "<" << open.back() << "> never closed";
  return testing::AssertionSuccess();
}

TEST_P(MarkdownTest, OutputIsWellFormedForRandomMarkdownSoup) {
  // Fragments chosen to collide: delimiters, brackets, markup, line starts.
  const std::vector<std::string_view> fragments = {
      "*",   "**",       "***",         "_",        "__",    "`",
      "``",  "[",        "]",           "(",        ")",     "](",
      "<",   ">",        "&",           "\"",       "\\",    "#",
      "# ",  "- ",       "1. ",         "2) ",      "```",   "~~~",
      "---", "\n",       "\n\n",        "   ",      "\t",    "word",
      "x_y", "http://a", "javascript:", "<script>", "&amp;", std::string_view("\0", 1),
      "\r\n"};
  std::mt19937 random(20240611);  // fixed: a failure must reproduce
  std::uniform_int_distribution<std::size_t> pick(0, fragments.size() - 1);
  auto instance = instantiate("markdown");
  for (int document = 0; document < 150; ++document) {
    std::string markdown;
    for (int piece = 0; piece < 120; ++piece) markdown += fragments[pick(random)];
    auto out = instance.call_bytes("render", as_bytes(markdown));
    ASSERT_TRUE(out) << out.error() << "\ninput: " << markdown;
    ASSERT_TRUE(well_formed(out->output)) << "input: " << markdown << "\noutput: " << out->output;
  }
}

// Linear rendering of these 16 KiB documents takes under 10^8 metered units;
// the same renderer without its failure caches (quadratic) needs more than
// 3 * 10^9 for "*a ". The budget sits in between, with room on both sides.
TEST_P(MarkdownTest, PathologicalDocumentsRenderInLinearTime) {
  constexpr std::size_t size = 16 * 1024;
  const wasm::Limits budget{.fuel = 300'000'000};
  for (std::string_view unit : {"*a ", "_a ", "[a](", "[", "`` ` ", "**a *b ", "((", "a\n"}) {
    SCOPED_TRACE(unit);
    std::string markdown;
    while (markdown.size() < size) markdown += unit;
    EXPECT_NO_THROW(this->render(markdown, budget));
  }
}

}  // namespace
}  // namespace warmpool::plugin_test
