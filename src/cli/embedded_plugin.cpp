#include "embedded_plugin.hpp"

#include <cstddef>

namespace warmpool::cli {
namespace internal {
// Defined in the source generated from markdown.wasm by embed_file.cmake.
extern const std::uint8_t embedded_markdown_wasm[];
extern const std::size_t embedded_markdown_wasm_size;
}  // namespace internal

std::span<const std::uint8_t> embedded_plugin_bytes() {
  return {internal::embedded_markdown_wasm, internal::embedded_markdown_wasm_size};
}

const std::string_view kEmbeddedSampleInput = R"md(# warmpool sample page

warmpool keeps *pre-warmed* WebAssembly instances in a **pool**, so a call pays for
the plugin's work and not for building a fresh instance. This page is what
`warmpool bench` renders when you give it no plugin.

## Why pool

1. Instantiation allocates linear memory and runs `_initialize`.
2. A warm instance skips all of that.
3. A poisoned instance (trap, fuel, deadline) is *never* reused.

- Reuse: keep the instance as it is.
- Reset: restore memory and globals to the **post-instantiation** snapshot.
- Fresh: build a new one in the background.

## Limits

Every call can carry a budget: `--fuel 1000000` counts loop iterations and
function entries, `--timeout-ms 50` is a wall-clock deadline, and
`--max-memory-pages 64` caps linear memory. See [the plugin ABI](docs/plugin-abi.md)
and the [project page](https://example.org/warmpool?ref=bench&x=1).

```
warmpool bench --policy reset --threads 2
warmpool serve plugins/echo.wasm --listen 127.0.0.1:8080
```

### Escaping

Text such as <script>alert("x")</script> & "quotes" must come out escaped,
and so must `a < b && c > d` inside code.

That is all: typical Markdown, rendered to HTML on every call.
)md";

}  // namespace warmpool::cli
