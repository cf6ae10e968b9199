// The access log: the exact line for a record, valid JSON whatever the request held, and the
// writer thread (many submitters, rotation, a full queue, failed writes).
#include "observe/access_log.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <simdjson.h>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace shimgate {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

// 2026-11-23T15:04:05.123456Z
std::chrono::system_clock::time_point example_time() {
    using namespace std::chrono;
    return sys_days{year{2026} / 11 / 23} + 15h + 4min + 5s + 123456us;
}

access_record example_record() {
    access_record r;
    r.time = example_time();
    r.peer = "203.0.113.7:51234";
    r.method = "POST";
    r.path = "/v1/customers/a\"b\\c";
    r.rule = "";
    r.dialect = "";
    r.status = 401;
    r.upstream_status = 0;
    r.bytes_in = 17;
    r.bytes_out = 1234567890123;
    r.duration = 12345us;
    r.upstream_duration = 0us;
    r.request_id = "req-1\t";
    return r;
}

std::string line_for(const access_record& r) {
    std::string out;
    append_access_record(out, r);
    return out;
}

simdjson::dom::element parse(simdjson::dom::parser& parser, const std::string& line) {
    simdjson::dom::element doc;
    const auto error = parser.parse(line).get(doc);
    EXPECT_EQ(error, simdjson::SUCCESS) << line;
    return doc;
}

std::string_view string_field(simdjson::dom::element doc, const char* key) {
    std::string_view s;
    EXPECT_EQ(doc[key].get(s), simdjson::SUCCESS) << key;
    return s;
}

class temp_dir {
  public:
    temp_dir() {
        std::string pattern = (fs::temp_directory_path() / "shimgate-access-log-XXXXXX").string();
        if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error(std::strerror(errno));
        path_ = pattern;
    }
    ~temp_dir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
    fs::path operator/(const char* name) const { return path_ / name; }
    const fs::path& path() const { return path_; }

  private:
    fs::path path_;
};

std::vector<std::string> read_lines(const fs::path& path, bool& complete) {
    std::ifstream in(path, std::ios::binary);
    const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    complete = text.empty() || text.back() == '\n';
    std::vector<std::string> lines;
    std::size_t start = 0;
    while (start < text.size()) {
        std::size_t end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        lines.push_back(text.substr(start, end - start));
        start = end + 1;
    }
    return lines;
}

// `n` lines whose request ids are `prefix` followed by first, first + 1, ...
std::string make_lines(std::string_view prefix, int first, int n) {
    std::string out;
    access_record r = example_record();
    for (int i = first; i < first + n; ++i) {
        const std::string id = std::string(prefix) + std::to_string(i);
        r.request_id = id;
        append_access_record(out, r);
    }
    return out;
}

TEST(AccessLog, ExactLine) {
    EXPECT_EQ(
        line_for(example_record()),
        R"({"time":"2026-11-23T15:04:05.123Z","peer":"203.0.113.7:51234",)"
        R"("client_ip":"203.0.113.7:51234","method":"POST",)"
        R"("path":"/v1/customers/a\"b\\c","host":null,"rule":null,"dialect":null,"client":null,"status":401,)"
        R"("upstream_status":null,"upstream_addr":null,"bytes_in":17,"bytes_out":1234567890123,)"
        R"("duration_ms":12.345,"upstream_ms":null,"request_id":"req-1\t","trace_id":null,)"
        R"("user_agent":null,"error":null})"
        "\n");

    // Nothing to escape: the line is written by the fast path, which must agree.
    access_record r = example_record();
    r.time = std::chrono::sys_days{std::chrono::year{2024} / 2 / 29} + 23h + 59min + 59s + 7ms;
    r.peer = "[2001:db8::1]:443";
    r.path = "/v1/customers/42";
    r.rule = "create-customer";
    r.dialect = "legacy-v1";
    r.client = "49897762e129dbaa";
    r.status = 200;
    r.upstream_status = 201;
    r.bytes_out = 0;
    r.duration = 0us;
    r.upstream_duration = 1us;
    r.request_id = "";
    r.client_ip = "198.51.100.2";
    r.host = "api.example:8443";
    r.upstream_addr = "[::1]:9000";
    r.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    r.user_agent = "curl/8.5.0";
    r.error = "upstream_reset";
    EXPECT_EQ(line_for(r),
              R"({"time":"2024-02-29T23:59:59.007Z","peer":"[2001:db8::1]:443",)"
              R"("client_ip":"198.51.100.2","method":"POST",)"
              R"("path":"/v1/customers/42","host":"api.example:8443","rule":"create-customer",)"
              R"("dialect":"legacy-v1","client":"49897762e129dbaa","status":200,)"
              R"("upstream_status":201,)"
              R"("upstream_addr":"[::1]:9000","bytes_in":17,"bytes_out":0,)"
              R"("duration_ms":0.000,"upstream_ms":0.001,"request_id":"",)"
              R"("trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","user_agent":"curl/8.5.0",)"
              R"("error":"upstream_reset"})"
              "\n");
}

// Client-controlled headers are escaped by the one escaper and bounded: a line stays one valid
// JSON line of bounded size whatever they hold.
TEST(AccessLog, HeaderFieldsAreEscapedAndBounded) {
    simdjson::dom::parser parser;
    access_record r = example_record();
    const std::string agent = "Mozilla \"x\" \x01\xFF" + std::string(1000, 'u');
    const std::string host = std::string(300, 'h');
    r.user_agent = agent;
    r.host = host;
    r.client_ip = std::string_view("10.0.0.1\n", 9);
    const std::string line = line_for(r);
    EXPECT_EQ(line.find('\n'), line.size() - 1);
    const simdjson::dom::element doc = parse(parser, line);
    const std::string_view ua = string_field(doc, "user_agent");
    EXPECT_TRUE(ua.starts_with("Mozilla \"x\" \x01\xEF\xBF\xBD")) << ua;
    EXPECT_EQ(ua.size(), 256u + 2);  // 256 bytes in, the invalid byte became 3
    EXPECT_EQ(string_field(doc, "host"), host.substr(0, 256));
    EXPECT_EQ(string_field(doc, "client_ip"), "10.0.0.1\n");
    EXPECT_LT(line.size(), 2600u);
}

TEST(AccessLog, TimeAndDurationEdges) {
    for (const bool escaped : {false, true}) {  // the append path and the fast path
        access_record r = example_record();
        if (!escaped) {
            r.path = "/plain";
            r.request_id = "plain";
        }
        r.time = std::chrono::system_clock::time_point{} - 1ms;  // before the epoch: floor
        r.duration = 1234567890us;
        r.upstream_duration = -5us;  // a clock step backwards is not a negative number here
        const std::string line = line_for(r);
        EXPECT_NE(line.find(R"("time":"1969-12-31T23:59:59.999Z")"), std::string::npos) << line;
        EXPECT_NE(line.find(R"("duration_ms":1234567.890,"upstream_ms":0.000)"), std::string::npos)
            << line;
        r.upstream_duration = std::chrono::microseconds::max();
        EXPECT_NE(line_for(r).find(R"("upstream_ms":9223372036854775.807,)"), std::string::npos);

        // Same second twice (the cached prefix), then the next second.
        r.time = example_time();
        EXPECT_NE(line_for(r).find("\"2026-11-23T15:04:05.123Z\""), std::string::npos);
        r.time += 877ms;
        EXPECT_NE(line_for(r).find("\"2026-11-23T15:04:06.000Z\""), std::string::npos);
    }
}

TEST(AccessLog, AppendsToWhatIsThere) {
    std::string out = "previous\n";
    append_access_record(out, example_record());
    append_access_record(out, example_record());
    EXPECT_EQ(out, "previous\n" + line_for(example_record()) + line_for(example_record()));
}

TEST(AccessLog, InvalidUtf8AndControlsStayValidJson) {
    access_record r = example_record();
    const std::string peer("\x00\x01\x1f\x7f", 4);
    r.peer = peer;
    r.method = "GE\xFFT";
    r.path = "/caf\xC3\xA9/\xC3/\xED\xA0\x80/\xF0\x9F\x98\x80\r\n";
    r.rule = "\"\\";
    r.dialect = "\xC0\xAF";
    r.request_id = "\x1b[31m";
    const std::string line = line_for(r);
    ASSERT_EQ(line.back(), '\n');
    EXPECT_EQ(line.find('\n'), line.size() - 1);  // one line, whatever the fields held

    simdjson::dom::parser parser;
    const simdjson::dom::element doc = parse(parser, line);
    EXPECT_EQ(string_field(doc, "peer"), peer);
    EXPECT_EQ(string_field(doc, "method"), "GE\xEF\xBF\xBDT");
    EXPECT_EQ(
        string_field(doc, "path"),
        "/caf\xC3\xA9/\xEF\xBF\xBD/\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD/\xF0\x9F\x98\x80\r\n");
    EXPECT_EQ(string_field(doc, "rule"), "\"\\");
    EXPECT_EQ(string_field(doc, "dialect"), "\xEF\xBF\xBD\xEF\xBF\xBD");
    EXPECT_EQ(string_field(doc, "request_id"), "\x1b[31m");
    EXPECT_NE(line.find(R"("request_id":"\u001b[31m")"), std::string::npos) << line;
}

// Every byte that needs escaping, at every position of a word-at-a-time scan, is escaped.
TEST(AccessLog, EscapesWhereverTheByteIs) {
    simdjson::dom::parser parser;
    access_record r = example_record();
    for (const char special : {'\x00', '\x1f', '"', '\\', '\x80', '\xff'}) {
        const std::string expected = special == '\x80' || special == '\xff'
                                         ? std::string("\xEF\xBF\xBD")
                                         : std::string(1, special);
        for (std::size_t at = 0; at < 20; ++at) {
            std::string id(20, 'k');
            id[at] = special;
            r.request_id = id;
            std::string want(20, 'k');
            want.replace(at, 1, expected);
            EXPECT_EQ(string_field(parse(parser, line_for(r)), "request_id"), want)
                << static_cast<int>(special) << " at " << at;
        }
    }
    // The edges of what is left as it is.
    const std::string plain = " !#[]~\x7f/0123456789:;?@";
    r.request_id = plain;
    EXPECT_NE(line_for(r).find("\"" + plain + "\""), std::string::npos);
}

TEST(AccessLog, LongPathIsCutAt1024Bytes) {
    simdjson::dom::parser parser;
    access_record r = example_record();
    const std::string ascii = "/" + std::string(1999, 'a');
    r.path = ascii;
    EXPECT_EQ(string_field(parse(parser, line_for(r)), "path"), ascii.substr(0, 1024));

    // A sequence across the limit is left out whole, never split into an invalid byte.
    for (std::size_t before : {1021u, 1022u, 1023u}) {
        const std::string wide =
            std::string(before, 'b') + "\xF0\x9F\x98\x80" + std::string(1000, 'c');
        r.path = wide;
        EXPECT_EQ(string_field(parse(parser, line_for(r)), "path"), wide.substr(0, before));
    }
    const std::string fits = std::string(1020, 'd') + "\xF0\x9F\x98\x80" + "e";
    r.path = fits;
    EXPECT_EQ(string_field(parse(parser, line_for(r)), "path"), fits.substr(0, 1024));
}

TEST(AccessLog, FourThreadsTenThousandLinesEach) {
    temp_dir dir;
    const fs::path file = dir / "access.log";
    std::string error;
    {
        auto log = access_log::open(file.string(), error);
        ASSERT_TRUE(log) << error;
        std::vector<std::thread> threads;
        for (int t = 0; t < 4; ++t) {
            threads.emplace_back([&log, t] {
                const std::string prefix = "t" + std::to_string(t) + "-";
                std::string buffer;
                for (int i = 0; i < 10'000; i += 100) {
                    buffer += make_lines(prefix, i, 100);
                    log->submit(buffer);
                    EXPECT_TRUE(buffer.empty());
                }
            });
        }
        for (std::thread& t : threads) t.join();
        EXPECT_EQ(log->dropped_lines(), 0u);
    }  // the destructor writes everything that was submitted

    bool complete = false;
    const std::vector<std::string> lines = read_lines(file, complete);
    EXPECT_TRUE(complete);
    ASSERT_EQ(lines.size(), 40'000u);
    simdjson::dom::parser parser;
    std::set<std::string, std::less<>> ids;
    for (const std::string& line : lines) {
        ids.emplace(string_field(parse(parser, line), "request_id"));
    }
    EXPECT_EQ(ids.size(), 40'000u);
    EXPECT_TRUE(ids.contains("t0-0"));
    EXPECT_TRUE(ids.contains("t3-9999"));
}

TEST(AccessLog, ReopenAfterRotation) {
    temp_dir dir;
    const fs::path file = dir / "access.log";
    const fs::path rotated = dir / "access.log.1";
    std::string error;
    {
        auto log = access_log::open(file.string(), error);
        ASSERT_TRUE(log) << error;
        std::string lines = make_lines("old-", 0, 10);
        log->submit(lines);
        log->flush();
        fs::rename(file, rotated);
        lines = make_lines("old-", 10, 5);  // before reopen(): still the file it has open
        log->submit(lines);
        log->flush();
        log->reopen();
        log->flush();
        EXPECT_TRUE(fs::exists(file));  // created by the reopen, before anything more is written
        lines = make_lines("new-", 0, 7);
        log->submit(lines);
    }
    bool complete = false;
    const std::vector<std::string> old_lines = read_lines(rotated, complete);
    EXPECT_TRUE(complete);
    const std::vector<std::string> new_lines = read_lines(file, complete);
    EXPECT_TRUE(complete);
    ASSERT_EQ(old_lines.size(), 15u);
    ASSERT_EQ(new_lines.size(), 7u);
    simdjson::dom::parser parser;
    for (int i = 0; i < 15; ++i) {
        EXPECT_EQ(string_field(parse(parser, old_lines[static_cast<std::size_t>(i)]), "request_id"),
                  "old-" + std::to_string(i));
    }
    for (int i = 0; i < 7; ++i) {
        EXPECT_EQ(string_field(parse(parser, new_lines[static_cast<std::size_t>(i)]), "request_id"),
                  "new-" + std::to_string(i));
    }
}

TEST(AccessLog, ReopenFailureKeepsWritingTheOpenFile) {
    temp_dir dir;
    const fs::path sub = dir / "logs";
    fs::create_directory(sub);
    const fs::path file = sub / "access.log";
    std::string error;
    {
        auto log = access_log::open(file.string(), error);
        ASSERT_TRUE(log) << error;
        fs::rename(sub, dir / "moved");  // the path's directory is gone: the reopen fails
        log->reopen();
        std::string lines = make_lines("kept-", 0, 3);
        log->submit(lines);
    }
    bool complete = false;
    EXPECT_EQ(read_lines(dir / "moved/access.log", complete).size(), 3u);
    EXPECT_TRUE(complete);
}

TEST(AccessLog, OpenFailsNamingTheFile) {
    temp_dir dir;
    std::string error;
    EXPECT_FALSE(access_log::open(dir.path().string(), error));
    EXPECT_EQ(error, "--access-log " + dir.path().string() + ": " + std::strerror(EISDIR));

    error.clear();
    const std::string missing = (dir / "no/such/dir/access.log").string();
    EXPECT_FALSE(access_log::open(missing, error));
    EXPECT_EQ(error, "--access-log " + missing + ": " + std::strerror(ENOENT));
}

TEST(AccessLog, StdoutIsNotClosed) {
    std::string error;
    {
        auto log = access_log::open("-", error);
        ASSERT_TRUE(log) << error;
        log->reopen();  // nothing to reopen
        log->flush();
    }
    EXPECT_NE(::fcntl(STDOUT_FILENO, F_GETFD), -1);
}

TEST(AccessLog, SubmitHandsBackARecycledBuffer) {
    temp_dir dir;
    std::string error;
    auto log = access_log::open((dir / "access.log").string(), error);
    ASSERT_TRUE(log) << error;
    std::string lines = make_lines("a-", 0, 50);
    const std::size_t capacity = lines.capacity();
    log->submit(lines);
    EXPECT_TRUE(lines.empty());
    log->flush();
    lines = make_lines("b-", 0, 1);
    log->submit(lines);
    EXPECT_TRUE(lines.empty());
    EXPECT_GE(lines.capacity(), capacity);  // the first buffer, written and cleared
    std::string empty;
    log->submit(empty);  // nothing to do
    EXPECT_EQ(log->dropped_lines(), 0u);
}

// The writer is stuck on a pipe nobody reads: the queue fills to 64 MiB, later batches are
// dropped and counted, and once the pipe is read everything queued arrives.
TEST(AccessLog, DropsAndCountsWhenFarBehind) {
    int fds[2];
    ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
    std::string error;
    auto log = access_log::open("/proc/self/fd/" + std::to_string(fds[1]), error);
    ASSERT_TRUE(log) << error;
    ::close(fds[1]);

    std::string one_mib;
    for (int i = 0; i < 1024; ++i) one_mib += std::string(1023, 'x') + '\n';
    for (int i = 0; i < 70; ++i) {
        std::string batch = one_mib;
        log->submit(batch);
        EXPECT_TRUE(batch.empty());
    }
    EXPECT_EQ(log->dropped_lines(), 6u * 1024);

    std::size_t received = 0;
    std::thread reader([&] {
        char buf[1 << 16];
        for (;;) {
            const ssize_t n = ::read(fds[0], buf, sizeof buf);
            if (n > 0) {
                received += static_cast<std::size_t>(n);
            } else if (n == 0 || errno != EINTR) {
                break;
            }
        }
    });
    log.reset();  // writes the 64 queued MiB and closes its end: the reader sees EOF
    reader.join();
    ::close(fds[0]);
    EXPECT_EQ(received, std::size_t{64} << 20);
}

TEST(AccessLog, FailedWritesAreCountedAndTheWriterGoesOn) {
    if (::access("/dev/full", W_OK) != 0) GTEST_SKIP() << "no /dev/full";
    std::string error;
    auto log = access_log::open("/dev/full", error);
    ASSERT_TRUE(log) << error;
    std::string lines = make_lines("x-", 0, 3);
    log->submit(lines);
    log->flush();
    EXPECT_EQ(log->dropped_lines(), 3u);
    lines = make_lines("y-", 0, 2);
    log->submit(lines);
    log->flush();
    EXPECT_EQ(log->dropped_lines(), 5u);
}

}  // namespace
}  // namespace shimgate
