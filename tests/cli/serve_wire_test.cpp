// `warmpool serve`'s bytes on the wire, read from raw sockets: the response
// head it writes itself (status line, fields, Connection by version and
// keep-alive, HEAD), requests parsed in pieces (chunked bodies, split heads,
// pipelining), a client that ends mid-request, and the idle deadline the
// loop's sweep enforces.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "serve_process.hpp"

namespace warmpool::cli::test {
namespace {

using namespace std::chrono_literals;

constexpr const char* kHealthz =
    "HTTP/1.1 200 OK\r\nServer: warmpool\r\nContent-Type: text/plain; charset=utf-8\r\n"
    "Content-Length: 3\r\n\r\nok\n";

bool send_text(int fd, const std::string& text) {
  return ::send(fd, text.data(), text.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(text.size());
}

class ServeWire : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new ServeProcess({plugin("echo.wasm"), "--threads", "2", "--max-body", "64"});
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  int connect() {
    EXPECT_NE(server_->port(), 0) << server_->child().stderr_text();
    const int fd = connect_raw(server_->port());
    EXPECT_GE(fd, 0);
    return fd;
  }
  static ServeProcess* server_;
};
ServeProcess* ServeWire::server_ = nullptr;

TEST_F(ServeWire, ResponsesAreByteExactAndPipelinedInOrder) {
  const int fd = connect();
  // A GET, a HEAD (the GET's Content-Length, no body), an echo, and a GET
  // that closes: sent at once, answered in order.
  ASSERT_TRUE(send_text(fd,
                        "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                        "HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                        "POST /call/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nabcd"
                        "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  const std::string reply = read_until_closed(fd, 10s);
  ::close(fd);
  const std::string head_reply = std::string(kHealthz).substr(0, std::string(kHealthz).size() - 3);
  const std::string echo_reply =
      "HTTP/1.1 200 OK\r\nServer: warmpool\r\nContent-Type: application/octet-stream\r\n"
      "Content-Length: 4\r\n\r\nabcd";
  const std::string closing =
      "HTTP/1.1 200 OK\r\nServer: warmpool\r\nContent-Type: text/plain; charset=utf-8\r\n"
      "Content-Length: 3\r\nConnection: close\r\n\r\nok\n";
  EXPECT_EQ(reply, kHealthz + head_reply + echo_reply + closing);
}

TEST_F(ServeWire, Http10ClosesUnlessKeptAlive) {
  const int once = connect();
  ASSERT_TRUE(send_text(once, "GET /healthz HTTP/1.0\r\n\r\n"));
  EXPECT_EQ(read_until_closed(once, 10s),
            "HTTP/1.0 200 OK\r\nServer: warmpool\r\nContent-Type: text/plain; charset=utf-8\r\n"
            "Content-Length: 3\r\n\r\nok\n");
  ::close(once);

  const int kept = connect();
  const std::string kept_reply =
      "HTTP/1.0 200 OK\r\nServer: warmpool\r\nContent-Type: text/plain; charset=utf-8\r\n"
      "Content-Length: 3\r\nConnection: keep-alive\r\n\r\nok\n";
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(send_text(kept, "GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    EXPECT_EQ(read_bytes(kept, kept_reply.size(), 10s), kept_reply) << "request " << i;
  }
  ::close(kept);
}

TEST_F(ServeWire, RequestsSentInPiecesAndChunkedBodiesAreReassembled) {
  const int fd = connect();
  const std::string request =
      "POST /call/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n7\r\n, wire!\r\n0\r\n\r\n";
  // A byte at a time, then the same request in one piece.
  for (char c : request) {
    ASSERT_TRUE(send_text(fd, std::string(1, c)));
    std::this_thread::sleep_for(1ms);
  }
  ASSERT_TRUE(send_text(fd, request));
  const std::string expected =
      "HTTP/1.1 200 OK\r\nServer: warmpool\r\nContent-Type: application/octet-stream\r\n"
      "Content-Length: 12\r\n\r\nhello, wire!";
  EXPECT_EQ(read_bytes(fd, 2 * expected.size(), 10s), expected + expected);
  ::close(fd);
}

TEST_F(ServeWire, AChunkedBodyOverTheLimitIs413AndAHugeHeadIs400) {
  const int chunked = connect();
  ASSERT_TRUE(send_text(chunked,
                        "POST /call/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                        "41\r\n" +
                            std::string(65, 'x') + "\r\n0\r\n\r\n"));
  const std::string too_big = read_until_closed(chunked, 10s);
  ::close(chunked);
  EXPECT_TRUE(too_big.starts_with("HTTP/1.1 413 Payload Too Large\r\n")) << too_big;
  EXPECT_NE(too_big.find("Connection: close\r\n"), std::string::npos) << too_big;

  const int huge = connect();
  ASSERT_TRUE(
      send_text(huge, "GET /healthz HTTP/1.1\r\nX-Long: " + std::string(10000, 'a') + "\r\n\r\n"));
  const std::string refused = read_until_closed(huge, 10s);
  ::close(huge);
  EXPECT_TRUE(refused.starts_with("HTTP/1.1 400 Bad Request\r\n")) << refused;
  EXPECT_NE(refused.find("header limit"), std::string::npos) << refused;
}

// Beast keeps a chunk's size line and the trailer whole while it waits for
// their end; without the server's cap one connection grew the process by
// ~190 MB a second until the header timeout.
TEST_F(ServeWire, AnEndlessChunkExtensionOrTrailerIs400NotUnboundedMemory) {
  const std::string head =
      "POST /call/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (const std::string& start : {head + "3;", head + "3\r\nabc\r\n0\r\nX-Trailer: "}) {
    const int fd = connect();
    ASSERT_TRUE(send_text(fd, start));
    const std::string filler(16 * 1024, 'e');
    // 1 MiB unless the server answers and closes first (then a send fails).
    for (int i = 0; i < 64 && send_text(fd, filler); ++i) {
    }
    const std::string answer = read_until_closed(fd, 10s);
    ::close(fd);
    EXPECT_TRUE(answer.starts_with("HTTP/1.1 400 Bad Request\r\n")) << answer.substr(0, 200);
    EXPECT_NE(answer.find("chunk extensions and trailers are capped"), std::string::npos)
        << answer.substr(0, 400);
  }
  const int fd = connect();  // still serving
  ASSERT_TRUE(send_text(fd, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_EQ(read_bytes(fd, std::string(kHealthz).size(), 10s), kHealthz);
  ::close(fd);
}

TEST_F(ServeWire, AClientThatEndsMidRequestGets400) {
  const int fd = connect();
  ASSERT_TRUE(
      send_text(fd, "POST /call/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc"));
  ::shutdown(fd, SHUT_WR);
  const std::string reply = read_until_closed(fd, 10s);
  ::close(fd);
  EXPECT_TRUE(reply.starts_with("HTTP/1.1 400 Bad Request\r\n")) << reply;
  EXPECT_NE(reply.find("partial message"), std::string::npos) << reply;
}

// The sweep closes an idle connection once its deadline passed, never before.
TEST(ServeWireTimeouts, AnIdleConnectionIsClosedAfterTheIdleTimeoutNotBefore) {
  ServeProcess server({plugin("echo.wasm"), "--threads", "1", "--idle-timeout-ms", "400"});
  ASSERT_NE(server.port(), 0) << server.child().stderr_text();
  const int fd = connect_raw(server.port());
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(send_text(fd, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_EQ(read_bytes(fd, std::string(kHealthz).size(), 10s), kHealthz);
  const auto answered = std::chrono::steady_clock::now();
  EXPECT_EQ(read_until_closed(fd, 20s), "");
  const auto idle = std::chrono::steady_clock::now() - answered;
  ::close(fd);
  EXPECT_GE(idle, 390ms);
  EXPECT_LT(idle, 15s);
}

}  // namespace
}  // namespace warmpool::cli::test
