// http_request, http_status_code and http_headers against a Beast server on
// 127.0.0.1 (never the internet): the shared http.wasm / http_headers.wasm
// plugins on every engine, and the kernel directly for what those plugins do
// not send (a body, other methods, bad URLs).
#include <gtest/gtest.h>

// Boost 1.74's awaitable.hpp uses std::exchange without including <utility>.
#include <utility>
// (the include above must come first)
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "warmpool/extism/extism.hpp"

namespace warmpool::extism {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace fs = std::filesystem;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

const fs::path kPlugins = fs::path(WARMPOOL_EXTISM_SHARED_DIR) / "plugins";

// Answers on 127.0.0.1, ephemeral port:
//   /echo...          200, body "METHOD TARGET BODY", header x-seen = the request's x-test
//   /status/N         status N, body "status N"
//   /bytes/N          200, N bytes of 'x'
//   /chunked/N        200, N bytes of 'x' in chunked encoding (no Content-Length)
//   /redirect/N       302 to /redirect/N-1; /redirect/0 answers 200 "arrived"
//   /to?url=U         302 to U
//   /silent           reads the request and never answers
class LocalHttpServer {
 public:
  LocalHttpServer() : acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}) {
    asio::co_spawn(io_, accept_loop(), [](std::exception_ptr) {});
    thread_ = std::thread([this] { io_.run(); });
  }
  ~LocalHttpServer() {
    io_.stop();
    thread_.join();
  }
  LocalHttpServer(const LocalHttpServer&) = delete;
  LocalHttpServer& operator=(const LocalHttpServer&) = delete;

  std::string url(std::string_view path) const {
    return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()) +
           std::string(path);
  }
  int requests() const { return requests_.load(); }

 private:
  using Response = bhttp::response<bhttp::string_body>;

  asio::awaitable<void> accept_loop() {
    for (;;) {
      tcp::socket socket = co_await acceptor_.async_accept(asio::use_awaitable);
      asio::co_spawn(io_, session(std::move(socket)), [](std::exception_ptr) {});
    }
  }

  asio::awaitable<void> session(tcp::socket socket) {
    beast::flat_buffer buffer;
    bhttp::request<bhttp::string_body> request;
    co_await bhttp::async_read(socket, buffer, request, asio::use_awaitable);
    ++requests_;
    const std::string target(request.target());
    if (target == "/silent") {
      asio::steady_timer forever(socket.get_executor(), asio::steady_timer::time_point::max());
      co_await forever.async_wait(asio::use_awaitable);
    }
    Response response = respond(request, target);
    response.set(bhttp::field::connection, "close");
    if (!response.chunked()) response.prepare_payload();
    co_await bhttp::async_write(socket, response, asio::use_awaitable);
    boost::system::error_code ignored;
    socket.shutdown(tcp::socket::shutdown_both, ignored);
  }

  static Response respond(const bhttp::request<bhttp::string_body>& request,
                          const std::string& target) {
    Response response{bhttp::status::ok, 11};
    if (target.starts_with("/echo")) {
      response.body() = std::string(request.method_string()) + " " + target + " " + request.body();
      response.set("x-seen", request["x-test"]);
    } else if (target.starts_with("/status/")) {
      response.result(std::stoi(target.substr(8)));
      response.body() = "status " + target.substr(8);
    } else if (target.starts_with("/bytes/")) {
      response.body() = std::string(std::stoul(target.substr(7)), 'x');
    } else if (target.starts_with("/chunked/")) {
      response.body() = std::string(std::stoul(target.substr(9)), 'x');
      response.chunked(true);
    } else if (target.starts_with("/redirect/")) {
      const int left = std::stoi(target.substr(10));
      if (left == 0) {
        response.body() = "arrived";
      } else {
        response.result(bhttp::status::found);
        response.set(bhttp::field::location, "/redirect/" + std::to_string(left - 1));
      }
    } else if (target.starts_with("/to?url=")) {
      response.result(bhttp::status::found);
      response.set(bhttp::field::location, target.substr(8));
    } else {
      response.result(bhttp::status::not_found);
    }
    return response;
  }

  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::atomic<int> requests_{0};
  std::thread thread_;
};

// A certificate for 127.0.0.1 signed by itself, made at run time: no CA in
// the system store vouches for it.
struct SelfSigned {
  std::string certificate_pem;
  std::string key_pem;
};

SelfSigned self_signed_certificate() {
  auto pem = [](auto write) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
    write(bio.get());
    char* data = nullptr;
    const long size = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(size));
  };
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), X509_free);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("127.0.0.1"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  X509_sign(cert.get(), key.get(), EVP_sha256());
  return {pem([&](BIO* b) { PEM_write_bio_X509(b, cert.get()); }), pem([&](BIO* b) {
            PEM_write_bio_PrivateKey(b, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
          })};
}

// Accepts TLS handshakes on 127.0.0.1 with a self-signed certificate.
class LocalTlsServer {
 public:
  LocalTlsServer()
      : tls_(asio::ssl::context::tls_server),
        acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}) {
    const SelfSigned identity = self_signed_certificate();
    tls_.use_certificate_chain(asio::buffer(identity.certificate_pem));
    tls_.use_private_key(asio::buffer(identity.key_pem), asio::ssl::context::pem);
    asio::co_spawn(io_, accept_loop(), [](std::exception_ptr) {});
    thread_ = std::thread([this] { io_.run(); });
  }
  ~LocalTlsServer() {
    io_.stop();
    thread_.join();
  }
  LocalTlsServer(const LocalTlsServer&) = delete;
  LocalTlsServer& operator=(const LocalTlsServer&) = delete;

  std::string url() const {
    return "https://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()) + "/";
  }

 private:
  asio::awaitable<void> accept_loop() {
    for (;;) {
      tcp::socket socket = co_await acceptor_.async_accept(asio::use_awaitable);
      asio::co_spawn(io_, handshake(std::move(socket)), [](std::exception_ptr) {});
    }
  }
  asio::awaitable<void> handshake(tcp::socket socket) {
    asio::ssl::stream<tcp::socket> stream(std::move(socket), tls_);
    co_await stream.async_handshake(asio::ssl::stream_base::server, asio::use_awaitable);
  }

  // Before io_: handshakes still pending when io_ stops are destroyed with it.
  asio::ssl::context tls_;
  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::thread thread_;
};

// A port on 127.0.0.1 where nothing listens (bound, then released).
std::string refused_url() {
  asio::io_context io;
  tcp::acceptor probe(io, {asio::ip::make_address("127.0.0.1"), 0});
  const auto port = probe.local_endpoint().port();
  probe.close();
  return "http://127.0.0.1:" + std::to_string(port) + "/";
}

std::string request_json(const std::string& url, nlohmann::json extra = nlohmann::json::object()) {
  extra["url"] = url;
  return extra.dump();
}

class HttpPluginTest : public ::testing::TestWithParam<std::string_view> {
 protected:
  // http.wasm (export http_request: the input is the request JSON, the
  // output the response body) or http_headers.wasm (export http_get).
  std::expected<Plugin, Error> plugin(const std::string& file,
                                      std::optional<std::vector<std::string>> allowed_hosts,
                                      void (*adjust)(Manifest&) = nullptr,
                                      bool response_headers = false) {
    auto manifest = Manifest::load_file(kPlugins / file);
    if (!manifest) return std::unexpected(manifest.error());
    manifest->allowed_hosts = std::move(allowed_hosts);
    if (adjust != nullptr) adjust(*manifest);
    return Plugin::create(*manifest, {.engine = *wasm::Engine::named(GetParam()),
                                      .wasi = true,
                                      .http_response_headers = response_headers});
  }

  void SetUp() override {
    if (!fs::exists(kPlugins / "http.wasm")) GTEST_SKIP() << kPlugins << " is absent";
  }

  LocalHttpServer server_;
};

TEST_P(HttpPluginTest, GetReturnsTheResponseBodyWithTheRequestHeaders) {
  auto p = plugin("http.wasm", std::vector<std::string>{"127.0.0.1"});
  ASSERT_TRUE(p) << p.error();
  auto out = p->call("http_request",
                     request_json(server_.url("/echo?x=1"), {{"headers", {{"x-test", "abc"}}}}));
  ASSERT_TRUE(out) << out.error();
  EXPECT_EQ(*out, "GET /echo?x=1 ");
  EXPECT_EQ(p->kernel().http_status(), 200);
}

TEST_P(HttpPluginTest, PostAndNon2xxStatusesAreNotErrors) {
  auto p = plugin("http.wasm", std::vector<std::string>{"127.*"});
  ASSERT_TRUE(p) << p.error();
  auto posted = p->call("http_request", request_json(server_.url("/echo"), {{"method", "POST"}}));
  ASSERT_TRUE(posted) << posted.error();
  EXPECT_EQ(*posted, "POST /echo ");
  auto teapot = p->call("http_request", request_json(server_.url("/status/418")));
  ASSERT_TRUE(teapot) << teapot.error();
  EXPECT_EQ(*teapot, "status 418");
  EXPECT_EQ(p->kernel().http_status(), 418);
}

TEST_P(HttpPluginTest, ResponseHeadersOnlyWhenEnabled) {
  const std::string request = request_json(server_.url("/echo"), {{"headers", {{"x-test", "v"}}}});
  auto with = plugin("http_headers.wasm", std::vector<std::string>{"127.0.0.1"}, nullptr, true);
  ASSERT_TRUE(with) << with.error();
  auto out = with->call("http_get", request);
  ASSERT_TRUE(out) << out.error();
  EXPECT_NE(out->find("x-seen"), std::string::npos) << *out;

  auto without = plugin("http_headers.wasm", std::vector<std::string>{"127.0.0.1"});
  ASSERT_TRUE(without) << without.error();
  auto plain = without->call("http_get", request);
  EXPECT_TRUE(!plain || plain->find("x-seen") == std::string::npos)
      << "headers reached the plugin without being enabled: " << *plain;
}

TEST_P(HttpPluginTest, HostsOutsideAllowedHostsAreDeniedWithTheOfficialWording) {
  const std::string url = server_.url("/echo");
  for (auto allowed : {std::optional<std::vector<std::string>>{},
                       std::optional<std::vector<std::string>>{{"*.example.org", "localhost"}}}) {
    auto p = plugin("http.wasm", allowed);
    ASSERT_TRUE(p) << p.error();
    auto out = p->call("http_request", request_json(url));
    ASSERT_FALSE(out);
    EXPECT_NE(out.error().message().find("HTTP request to \"" + url +
                                         "\" is not allowed (no allowed_hosts match "
                                         "\"127.0.0.1\")"),
              std::string::npos)
        << out.error();
  }
  EXPECT_EQ(server_.requests(), 0);
}

TEST_P(HttpPluginTest, ResponsesOverTheCapFailNamingTheLimit) {
  auto capped = [this] {
    return plugin("http.wasm", std::vector<std::string>{"127.0.0.1"},
                  [](Manifest& m) { m.max_http_response_bytes = 1000; });
  };
  auto p = capped();
  ASSERT_TRUE(p) << p.error();
  auto fits = p->call("http_request", request_json(server_.url("/bytes/1000")));
  ASSERT_TRUE(fits) << fits.error();
  EXPECT_EQ(fits->size(), 1000u);
  // A failed host function stops the plugin: a new one for each case.
  for (std::string_view path : {"/bytes/1001", "/chunked/1001"}) {
    auto fresh = capped();
    ASSERT_TRUE(fresh) << fresh.error();
    auto over = fresh->call("http_request", request_json(server_.url(path)));
    ASSERT_FALSE(over) << path;
    EXPECT_NE(over.error().message().find("max_http_response_bytes (1000 bytes)"),
              std::string::npos)
        << over.error();
  }
}

TEST_P(HttpPluginTest, AServerThatNeverAnswersEndsAtTheTimeout) {
  auto p = plugin("http.wasm", std::vector<std::string>{"127.0.0.1"},
                  [](Manifest& m) { m.timeout = std::chrono::milliseconds(300); });
  ASSERT_TRUE(p) << p.error();
  const auto start = std::chrono::steady_clock::now();
  auto out = p->call("http_request", request_json(server_.url("/silent")));
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(out);
  EXPECT_NE(out.error().message().find("timeout"), std::string::npos) << out.error();
  EXPECT_LT(took, 30s) << "liveness: the request did not stop at the deadline";
}

TEST_P(HttpPluginTest, ConnectionRefusedIsAClearError) {
  auto p = plugin("http.wasm", std::vector<std::string>{"127.0.0.1"});
  ASSERT_TRUE(p) << p.error();
  auto out = p->call("http_request", request_json(refused_url()));
  ASSERT_FALSE(out);
  EXPECT_NE(out.error().message().find("Connection refused"), std::string::npos) << out.error();
}

INSTANTIATE_TEST_SUITE_P(Engines, HttpPluginTest,
                         ::testing::ValuesIn(::warmpool::wasm::Engine::available()),
                         [](const auto& info) { return std::string(info.param); });

// The kernel's http_request without a plugin in between.
class KernelHttpTest : public ::testing::Test {
 protected:
  KernelHttpTest() {
    auto settings = std::make_shared<KernelSettings>();
    settings->allowed_hosts = std::vector<std::string>{"127.0.0.1"};
    settings->http_response_headers = true;
    kernel_.emplace(std::move(settings));
    kernel_->begin_call({}, nullptr);
  }

  std::expected<std::string, std::string> request(const std::string& json,
                                                  std::string_view body = {}) {
    auto response = kernel_->http_request(kernel_->allocate_bytes(json),
                                          body.empty() ? 0 : kernel_->allocate_bytes(body));
    if (!response) return std::unexpected(response.error());
    return std::string(kernel_->text(*response));
  }

  LocalHttpServer server_;
  std::optional<Kernel> kernel_;
};

TEST_F(KernelHttpTest, SendsTheBodyWithTheMethodAndHeaders) {
  auto out = request(
      request_json(server_.url("/echo"), {{"method", "PUT"}, {"headers", {{"x-test", "t"}}}}),
      "the body");
  ASSERT_TRUE(out) << out.error();
  EXPECT_EQ(*out, "PUT /echo the body");
  auto headers = nlohmann::json::parse(kernel_->text(kernel_->http_headers()));
  EXPECT_EQ(headers["x-seen"], "t");
}

TEST_F(KernelHttpTest, FollowsUpToFiveRedirects) {
  auto five = request(request_json(server_.url("/redirect/5")));
  ASSERT_TRUE(five) << five.error();
  EXPECT_EQ(*five, "arrived");
  EXPECT_EQ(kernel_->http_status(), 200);
  auto six = request(request_json(server_.url("/redirect/6")));
  ASSERT_FALSE(six);
  EXPECT_NE(six.error().find("more than 5 redirects"), std::string::npos) << six.error();
}

TEST_F(KernelHttpTest, ARedirectToAHostNotAllowedIsDenied) {
  const std::string elsewhere = "http://localhost:1/";
  auto out = request(request_json(server_.url("/to?url=" + elsewhere)));
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error(), "HTTP request to \"" + elsewhere +
                             "\" is not allowed (no allowed_hosts match \"localhost\")");
}

TEST_F(KernelHttpTest, HttpsRefusesACertificateNoTrustedCaSigned) {
  LocalTlsServer tls;
  auto out = request(request_json(tls.url()));
  ASSERT_FALSE(out);
  EXPECT_NE(out.error().find("TLS handshake with 127.0.0.1:"), std::string::npos) << out.error();
  EXPECT_NE(out.error().find("certificate verify failed"), std::string::npos) << out.error();
}

TEST_F(KernelHttpTest, BadRequestsAndUrlsAreClearErrors) {
  const std::pair<std::string, std::string> cases[] = {
      {R"({"url": "ftp://127.0.0.1/file"})", "unsupported URL scheme \"ftp\""},
      {R"({"url": "127.0.0.1/no-scheme"})", "not a valid URL"},
      {R"({"url": "http://127.0.0.1:99999/"})", "bad port \"99999\""},
      {R"({"url": "http://127.0.0.1/a b"})", "space or a control character"},
      {R"({"url": "http://127.0.0.1/", "body": "x"})", "unknown field \"body\""},
      {R"({"method": "GET"})", "string \"url\""},
      {R"({"url": "http://127.0.0.1/", "headers": {"a": 1}})", "headers.a is not a string"},
      // TLS to a server that speaks plain HTTP: the handshake fails, cleanly.
      {request_json("https" + server_.url("/echo").substr(4)), "TLS handshake with 127.0.0.1:"},
  };
  for (const auto& [json, expected] : cases) {
    auto out = request(json);
    ASSERT_FALSE(out) << json;
    EXPECT_NE(out.error().find(expected), std::string::npos) << json << " -> " << out.error();
  }
}

}  // namespace
}  // namespace warmpool::extism
