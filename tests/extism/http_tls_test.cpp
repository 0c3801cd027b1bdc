// http_request over https against Beast TLS servers on 127.0.0.1 (never the internet). The test
// makes a CA at run time and trusts it the way a host would trust a private CA, through
// OpenSSL's SSL_CERT_FILE (the client's verification itself is unchanged): a server with a
// certificate from that CA for 127.0.0.1 and localhost answers GET and POST, a large body and
// the plugin's http.wasm on every engine; a certificate from that CA for another name, an
// expired one and a self-signed one are refused, naming OpenSSL's reason, before any request.
#include <gtest/gtest.h>

// Boost 1.74's awaitable.hpp uses std::exchange without including <utility>.
#include <utility>
// (the include above must come first)
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
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

const fs::path kPlugins = fs::path(WARMPOOL_EXTISM_SHARED_DIR) / "plugins";

using Key = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using Certificate = std::unique_ptr<X509, decltype(&X509_free)>;

struct Identity {
  std::string certificate_pem;
  std::string key_pem;
};

template <class Write>
std::string pem(Write write) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  write(bio.get());
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

struct CertificateSpec {
  const char* common_name;
  std::vector<std::pair<int, const char*>> extensions;  // NID, OpenSSL config value
  long valid_from_seconds = -60;                        // relative to now
  long valid_until_seconds = 3600;
};

// A certificate for `key` signed by `issuer` with `issuer_key`, or by itself when issuer is null.
Certificate make_certificate(const CertificateSpec& spec, EVP_PKEY* key, X509* issuer,
                             EVP_PKEY* issuer_key) {
  static std::atomic<long> serial{1};
  Certificate cert(X509_new(), X509_free);
  X509_set_version(cert.get(), 2);  // v3, for the extensions
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial++);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), spec.valid_from_seconds);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), spec.valid_until_seconds);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(spec.common_name), -1, -1, 0);
  X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : name);
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, issuer ? issuer : cert.get(), cert.get(), nullptr, nullptr, 0);
  for (const auto& [nid, value] : spec.extensions) {
    X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &context, nid, value);
    X509_add_ext(cert.get(), extension, -1);
    X509_EXTENSION_free(extension);
  }
  X509_sign(cert.get(), issuer_key ? issuer_key : key, EVP_sha256());
  return cert;
}

// The test's certificates, made once: a CA (trusted through SSL_CERT_FILE) and the servers'.
struct TestPki {
  TestPki() {
    Key ca_key(EVP_EC_gen("P-256"), EVP_PKEY_free);
    Certificate ca = make_certificate({"warmpool test CA",
                                       {{NID_basic_constraints, "critical,CA:TRUE"},
                                        {NID_key_usage, "critical,keyCertSign,cRLSign"},
                                        {NID_subject_key_identifier, "hash"}}},
                                      ca_key.get(), nullptr, nullptr);
    auto server = [&](const char* name, const char* alt_names, long from, long until,
                      bool self_signed) {
      Key key(EVP_EC_gen("P-256"), EVP_PKEY_free);
      Certificate cert = make_certificate({name,
                                           {{NID_basic_constraints, "critical,CA:FALSE"},
                                            {NID_ext_key_usage, "serverAuth"},
                                            {NID_subject_alt_name, alt_names}},
                                           from,
                                           until},
                                          key.get(), self_signed ? nullptr : ca.get(),
                                          self_signed ? nullptr : ca_key.get());
      return Identity{pem([&](BIO* b) { PEM_write_bio_X509(b, cert.get()); }), pem([&](BIO* b) {
                        PEM_write_bio_PrivateKey(b, key.get(), nullptr, nullptr, 0, nullptr,
                                                 nullptr);
                      })};
    };
    local = server("127.0.0.1", "IP:127.0.0.1,DNS:localhost", -60, 3600, false);
    other_name = server("other.example", "DNS:other.example", -60, 3600, false);
    expired = server("127.0.0.1", "IP:127.0.0.1,DNS:localhost", -7200, -3600, false);
    self_signed = server("127.0.0.1", "IP:127.0.0.1,DNS:localhost", -60, 3600, true);
    ca_file =
        fs::temp_directory_path() / ("warmpool_http_tls_ca_" + std::to_string(::getpid()) + ".pem");
    std::ofstream(ca_file) << pem([&](BIO* b) { PEM_write_bio_X509(b, ca.get()); });
  }

  Identity local, other_name, expired, self_signed;
  fs::path ca_file;
};

const TestPki& pki() {
  static const TestPki made;
  return made;
}

// Before any test: the client's CA store is read at the process's first https request.
class TrustTheTestCa : public ::testing::Environment {
 public:
  void SetUp() override { ::setenv("SSL_CERT_FILE", pki().ca_file.c_str(), 1); }
  void TearDown() override { fs::remove(pki().ca_file); }
};
[[maybe_unused]] ::testing::Environment* const kTrust =
    ::testing::AddGlobalTestEnvironment(new TrustTheTestCa);

// An https server on `address` (127.0.0.1 unless given) presenting `identity`:
//   /bytes/N   200, N bytes of 'x'
//   otherwise  200, body "METHOD TARGET BODY", header x-seen = the request's x-test
class LocalHttpsServer {
 public:
  explicit LocalHttpsServer(const Identity& identity, const char* address = "127.0.0.1")
      : tls_(asio::ssl::context::tls_server), acceptor_(io_, {asio::ip::make_address(address), 0}) {
    tls_.use_certificate_chain(asio::buffer(identity.certificate_pem));
    tls_.use_private_key(asio::buffer(identity.key_pem), asio::ssl::context::pem);
    // Read before the I/O thread starts, which then owns the acceptor.
    port_ = acceptor_.local_endpoint().port();
    asio::co_spawn(io_, accept_loop(), [](std::exception_ptr) {});
    thread_ = std::thread([this] { io_.run(); });
  }
  ~LocalHttpsServer() {
    io_.stop();
    thread_.join();
  }
  LocalHttpsServer(const LocalHttpsServer&) = delete;
  LocalHttpsServer& operator=(const LocalHttpsServer&) = delete;

  std::string url(std::string_view host, std::string_view path) const {
    return "https://" + std::string(host) + ":" + std::to_string(port_) + std::string(path);
  }
  int requests() const { return requests_.load(); }

 private:
  asio::awaitable<void> accept_loop() {
    for (;;) {
      tcp::socket socket = co_await acceptor_.async_accept(asio::use_awaitable);
      asio::co_spawn(io_, session(std::move(socket)), [](std::exception_ptr) {});
    }
  }

  asio::awaitable<void> session(tcp::socket socket) {
    asio::ssl::stream<tcp::socket> stream(std::move(socket), tls_);
    co_await stream.async_handshake(asio::ssl::stream_base::server, asio::use_awaitable);
    beast::flat_buffer buffer;
    bhttp::request<bhttp::string_body> request;
    co_await bhttp::async_read(stream, buffer, request, asio::use_awaitable);
    ++requests_;
    const std::string target(request.target());
    bhttp::response<bhttp::string_body> response{bhttp::status::ok, 11};
    if (target.starts_with("/bytes/")) {
      response.body() = std::string(std::stoul(target.substr(7)), 'x');
    } else {
      response.body() = std::string(request.method_string()) + " " + target + " " + request.body();
      response.set("x-seen", request["x-test"]);
    }
    response.set(bhttp::field::connection, "close");
    response.prepare_payload();
    co_await bhttp::async_write(stream, response, asio::use_awaitable);
    boost::system::error_code ignored;
    stream.next_layer().shutdown(tcp::socket::shutdown_both, ignored);
  }

  // Before io_: sessions still pending when io_ stops are destroyed with it.
  asio::ssl::context tls_;
  asio::io_context io_;
  tcp::acceptor acceptor_;
  unsigned short port_ = 0;
  std::atomic<int> requests_{0};
  std::thread thread_;
};

std::string request_json(const std::string& url, nlohmann::json extra = nlohmann::json::object()) {
  extra["url"] = url;
  return extra.dump();
}

// The kernel's http_request without a plugin in between.
class KernelHttpsTest : public ::testing::Test {
 protected:
  KernelHttpsTest() {
    auto settings = std::make_shared<KernelSettings>();
    settings->allowed_hosts = std::vector<std::string>{"127.0.0.1", "localhost", "::1*"};
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

  // The error of a request to `url` that must fail.
  std::string refusal(const std::string& url) {
    auto out = request(request_json(url));
    return out ? "(answered: " + *out + ")" : out.error();
  }

  std::optional<Kernel> kernel_;
};

TEST_F(KernelHttpsTest, ATrustedServerAnswersOverTls) {
  LocalHttpsServer server(pki().local);
  auto got =
      request(request_json(server.url("127.0.0.1", "/echo?q=1"), {{"headers", {{"x-test", "t"}}}}));
  ASSERT_TRUE(got) << got.error();
  EXPECT_EQ(*got, "GET /echo?q=1 ");
  EXPECT_EQ(kernel_->http_status(), 200);
  EXPECT_EQ(nlohmann::json::parse(kernel_->text(kernel_->http_headers()))["x-seen"], "t");

  auto posted =
      request(request_json(server.url("127.0.0.1", "/echo"), {{"method", "POST"}}), "the body");
  ASSERT_TRUE(posted) << posted.error();
  EXPECT_EQ(*posted, "POST /echo the body");

  // Many TLS records.
  auto large = request(request_json(server.url("127.0.0.1", "/bytes/300000")));
  ASSERT_TRUE(large) << large.error();
  EXPECT_EQ(large->size(), 300000u);
  EXPECT_EQ(large->find_first_not_of('x'), std::string::npos);

  // By name: SNI and the host name check against the certificate's DNS name.
  auto named = request(request_json(server.url("localhost", "/echo")));
  ASSERT_TRUE(named) << named.error();
  EXPECT_EQ(*named, "GET /echo ");
  EXPECT_EQ(server.requests(), 4);
}

TEST_F(KernelHttpsTest, ACertificateFromTheTrustedCaForAnotherNameIsRefused) {
  LocalHttpsServer server(pki().other_name);
  const std::string by_address = refusal(server.url("127.0.0.1", "/echo"));
  EXPECT_NE(by_address.find("TLS handshake with 127.0.0.1:"), std::string::npos) << by_address;
  EXPECT_NE(by_address.find("certificate verify failed"), std::string::npos) << by_address;
  EXPECT_NE(by_address.find("IP address mismatch"), std::string::npos) << by_address;
  const std::string by_name = refusal(server.url("localhost", "/echo"));
  EXPECT_NE(by_name.find("TLS handshake with localhost:"), std::string::npos) << by_name;
  EXPECT_NE(by_name.find("hostname mismatch"), std::string::npos) << by_name;
  EXPECT_EQ(server.requests(), 0);
}

// OpenSSL takes no scoped IPv6 literal as the address to check; a client that went on without
// it would accept any certificate from a trusted CA (here one for other.example).
TEST_F(KernelHttpsTest, AnAddressOpenSslCannotCheckIsRefusedBeforeConnecting) {
  std::optional<LocalHttpsServer> server;
  try {
    server.emplace(pki().other_name, "::1");
  } catch (const boost::system::system_error& e) {
    GTEST_SKIP() << "no IPv6 loopback here: " << e.what();
  }
  // glibc resolves a numeric zone id on any address (a name only on link-local ones).
  const std::string scoped = refusal(server->url("[::1%1]", "/echo"));
  EXPECT_NE(scoped.find("cannot check the certificate of [::1%1]:"), std::string::npos) << scoped;
  EXPECT_NE(scoped.find("IPv6 zone id"), std::string::npos) << scoped;
  // Without the zone id the address is checked, and this certificate does not name it.
  const std::string plain = refusal(server->url("[::1]", "/echo"));
  EXPECT_NE(plain.find("IP address mismatch"), std::string::npos) << plain;
  EXPECT_EQ(server->requests(), 0);
}

TEST_F(KernelHttpsTest, ExpiredAndSelfSignedCertificatesAreRefusedNamingWhy) {
  LocalHttpsServer expired(pki().expired);
  const std::string old = refusal(expired.url("127.0.0.1", "/echo"));
  EXPECT_NE(old.find("certificate verify failed"), std::string::npos) << old;
  EXPECT_NE(old.find("certificate has expired"), std::string::npos) << old;
  LocalHttpsServer self_signed(pki().self_signed);
  const std::string untrusted = refusal(self_signed.url("127.0.0.1", "/echo"));
  EXPECT_NE(untrusted.find("certificate verify failed"), std::string::npos) << untrusted;
  EXPECT_NE(untrusted.find("self-signed certificate"), std::string::npos) << untrusted;
  EXPECT_EQ(expired.requests() + self_signed.requests(), 0);
}

// The shared http.wasm (export http_request: the input is the request JSON, the output the
// response body) over https on every engine.
class HttpsPluginTest : public ::testing::TestWithParam<std::string_view> {};

TEST_P(HttpsPluginTest, APluginFetchesFromATrustedServer) {
  if (!fs::exists(kPlugins / "http.wasm")) GTEST_SKIP() << kPlugins << " is absent";
  LocalHttpsServer server(pki().local);
  auto manifest = Manifest::load_file(kPlugins / "http.wasm");
  ASSERT_TRUE(manifest) << manifest.error();
  manifest->allowed_hosts = std::vector<std::string>{"127.0.0.1"};
  auto plugin =
      Plugin::create(*manifest, {.engine = *wasm::Engine::named(GetParam()), .wasi = true});
  ASSERT_TRUE(plugin) << plugin.error();
  auto out = plugin->call("http_request", request_json(server.url("127.0.0.1", "/echo/tls")));
  ASSERT_TRUE(out) << out.error();
  EXPECT_EQ(*out, "GET /echo/tls ");
  EXPECT_EQ(plugin->kernel().http_status(), 200);

  LocalHttpsServer untrusted(pki().self_signed);
  auto refused = plugin->call("http_request", request_json(untrusted.url("127.0.0.1", "/")));
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message().find("self-signed certificate"), std::string::npos)
      << refused.error();
}

INSTANTIATE_TEST_SUITE_P(Engines, HttpsPluginTest,
                         ::testing::ValuesIn(::warmpool::wasm::Engine::available()),
                         [](const auto& info) { return std::string(info.param); });

}  // namespace
}  // namespace warmpool::extism
