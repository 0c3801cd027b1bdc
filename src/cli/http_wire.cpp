#include "http_wire.hpp"

#include <boost/beast/http/status.hpp>
#include <charconv>

namespace warmpool::cli {

namespace http = boost::beast::http;

RequestParser::RequestParser(std::size_t max_body) {
  body_limit(max_body);
  // The whole body in the put() that completes the header, not one more call.
  eager(true);
}

void RequestParser::on_request_impl(http::verb method, boost::beast::string_view method_text,
                                    boost::beast::string_view target, int version, error_code&) {
  method_verb_ = method;
  method_.assign(method_text.data(), method_text.size());
  target_.assign(target.data(), target.size());
  version_ = version;
}

void RequestParser::on_field_impl(http::field name, boost::beast::string_view,
                                  boost::beast::string_view value, error_code&) {
  if (name == http::field::transfer_encoding && !transfer_encoding_) {
    transfer_encoding_.emplace(value.data(), value.size());
  }
}

void RequestParser::on_body_init_impl(const boost::optional<std::uint64_t>& content_length,
                                      error_code&) {
  // Bounded by the body limit: the parser refuses a larger Content-Length first.
  if (content_length) body_.reserve(static_cast<std::size_t>(*content_length));
}

std::size_t RequestParser::on_body_impl(boost::beast::string_view data, error_code&) {
  body_.append(data.data(), data.size());
  return data.size();
}

std::size_t RequestParser::on_chunk_body_impl(std::uint64_t, boost::beast::string_view data,
                                              error_code&) {
  body_.append(data.data(), data.size());
  return data.size();
}

void write_response_head(std::string& out, const ResponseHead& head,
                         const std::vector<std::pair<std::string, std::string>>& extra) {
  char digits[24];
  auto number = [&digits](std::size_t n) {
    return std::string_view(digits, std::to_chars(digits, digits + sizeof digits, n).ptr);
  };
  out.assign(head.version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ");
  out += number(head.status);
  out += ' ';
  const auto reason = http::obsolete_reason(static_cast<http::status>(head.status));
  out.append(reason.data(), reason.size());
  out += "\r\nServer: warmpool\r\nContent-Type: ";
  out += head.content_type;
  out += "\r\nContent-Length: ";
  out += number(head.body_size);
  out += "\r\n";
  for (const auto& [name, value] : extra) {
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
  }
  // HTTP/1.1 connections persist unless closed, HTTP/1.0 ones close unless kept.
  if (head.version >= 11 && !head.keep_alive) out += "Connection: close\r\n";
  if (head.version < 11 && head.keep_alive) out += "Connection: keep-alive\r\n";
  out += "\r\n";
}

}  // namespace warmpool::cli
