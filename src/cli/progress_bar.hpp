// A one-line progress bar on stderr, drawn only when stderr is a terminal so
// piped or redirected output stays clean.
//
//   ProgressBar bar("pool (reuse)");          // no-op unless isatty(2)
//   bar.update(0.42, "12345 calls");           // cheap; redraws at most 10x/s
//   bar.finish();                             // clears the line
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace warmpool::cli {

class ProgressBar {
 public:
  explicit ProgressBar(std::string label);
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  bool enabled() const { return enabled_; }
  // `fraction` in [0, 1].
  void update(double fraction, std::string_view detail);
  void finish();

 private:
  std::string label_;
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point last_draw_{};
};

}  // namespace warmpool::cli
