// The bytes of one HTTP/1.1 exchange for HttpServer: a request parser that
// keeps only what the server uses, and a response head written into a
// reused string. Both exist to keep per-request work off the I/O threads:
// Beast's request_parser<string_body> allocates a node per header field and
// its serializer walks a typed buffer sequence per response, together about
// a tenth of the server's CPU on GET /healthz (profiled, issue 16).
//
//   RequestParser parser(max_body);
//   std::size_t used = parser.put(asio::buffer(bytes), ec);   // Beast's incremental parse
//   if (parser.is_done()) handle(parser.method(), parser.target(), parser.take_body());
//
//   std::string head;
//   write_response_head(head, {.status = 200, .content_type = "text/plain", .body_size = 3,
//                              .version = 11, .keep_alive = true}, {});
//   // "HTTP/1.1 200 OK\r\nServer: warmpool\r\nContent-Type: text/plain\r\n..."
#pragma once

#include <boost/beast/http/basic_parser.hpp>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace warmpool::cli {

// Parses one request (Beast's parser: the same grammar, limits and errors as
// http::request_parser), keeping the method, target, body and whether a
// Transfer-Encoding was sent; other fields are checked and dropped. A
// parser parses one message: make a new one per request.
class RequestParser final : public boost::beast::http::basic_parser<true> {
 public:
  explicit RequestParser(std::size_t max_body);

  const std::string& method() const { return method_; }
  const std::string& target() const { return target_; }
  int version() const { return version_; }
  bool is_head() const { return method_verb_ == boost::beast::http::verb::head; }
  // The first Transfer-Encoding field's value, if the request had one.
  const std::optional<std::string>& transfer_encoding() const { return transfer_encoding_; }
  std::string take_method() { return std::move(method_); }
  std::string take_target() { return std::move(target_); }
  std::string take_body() { return std::move(body_); }

 private:
  using error_code = boost::beast::error_code;
  void on_request_impl(boost::beast::http::verb method, boost::beast::string_view method_text,
                       boost::beast::string_view target, int version, error_code&) override;
  void on_response_impl(int, boost::beast::string_view, int, error_code&) override {}
  void on_field_impl(boost::beast::http::field name, boost::beast::string_view,
                     boost::beast::string_view value, error_code&) override;
  void on_header_impl(error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>& content_length,
                         error_code&) override;
  std::size_t on_body_impl(boost::beast::string_view data, error_code&) override;
  void on_chunk_header_impl(std::uint64_t, boost::beast::string_view, error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, boost::beast::string_view data,
                                 error_code&) override;
  void on_finish_impl(error_code&) override {}

  boost::beast::http::verb method_verb_ = boost::beast::http::verb::unknown;
  std::string method_;
  std::string target_;
  int version_ = 11;
  std::optional<std::string> transfer_encoding_;
  std::string body_;
};

struct ResponseHead {
  unsigned status = 200;
  std::string_view content_type;
  std::size_t body_size = 0;  // Content-Length (for HEAD: that of the GET response)
  int version = 11;           // the request's: 10 or 11
  bool keep_alive = true;
};

// Replaces `out` with the status line and header fields of a response, as
// Beast's serializer wrote them for http::response after keep_alive() and
// prepare_payload(): Server, Content-Type, Content-Length, `extra` in order,
// and Connection where the version's default needs overriding.
void write_response_head(std::string& out, const ResponseHead& head,
                         const std::vector<std::pair<std::string, std::string>>& extra);

}  // namespace warmpool::cli
