// The /migration page as a person sees it, from render_migration_html alone (no running shim): a
// ledger with clients in every status, named and unnamed, on a route in a running brownout, plus
// a route without clients and a rule only the ledger knows; rendered by headless Chromium. The DOM
// holds every client and status, and the screenshot is the requested size and shows the status
// colours. A copy of the screenshot is left at /tmp/migration-page.png to look at.
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/beast/zlib/inflate_stream.hpp>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>

#include "fixtures/migration_fixture.hpp"
#include "harness.hpp"
#include "observe/migration_page.hpp"

namespace shimgate::testing {
namespace {

namespace fs = std::filesystem;

using namespace migration_fixture;

const std::string quiet_route_json =
    rule_json("stateset-legacy-user", "POST", "/v0/users",
              R"({"deprecation": "2026-01-01", "sunset": "2027-12-31", "successor": "/v1/users"})");

struct png_image {
    unsigned width = 0, height = 0;
    std::vector<std::uint32_t> rgb;  // 0xRRGGBB, row by row
    std::string problem;
};

std::uint32_t be32(const unsigned char* p) {
    return std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 | std::uint32_t{p[2]} << 8 | p[3];
}

// An 8-bit RGB or RGBA, non-interlaced PNG (what Chromium writes): IHDR, the IDAT stream inflated
// (Beast's raw-deflate inflater, past the 2-byte zlib header) and the row filters undone.
png_image decode_png(const std::string& file) {
    png_image img;
    const auto* b = reinterpret_cast<const unsigned char*>(file.data());
    if (file.size() < 33 || file.compare(0, 8, "\x89PNG\r\n\x1a\n") != 0) {
        img.problem = "not a PNG";
        return img;
    }
    unsigned channels = 0;
    std::string idat;
    for (std::size_t at = 8; at + 12 <= file.size();) {
        const std::uint32_t length = be32(b + at);
        const std::string type = file.substr(at + 4, 4);
        if (at + 12 + length > file.size()) break;
        const unsigned char* data = b + at + 8;
        if (type == "IHDR") {
            img.width = be32(data);
            img.height = be32(data + 4);
            if (data[8] != 8 || (data[9] != 2 && data[9] != 6) || data[12] != 0) {
                img.problem = "not 8-bit RGB(A) non-interlaced";
                return img;
            }
            channels = data[9] == 6 ? 4 : 3;
        } else if (type == "IDAT") {
            idat.append(reinterpret_cast<const char*>(data), length);
        } else if (type == "IEND") {
            break;
        }
        at += 12 + length;
    }
    if (channels == 0 || idat.size() < 2) {
        img.problem = "no IHDR or IDAT";
        return img;
    }
    const std::size_t stride = std::size_t{img.width} * channels;
    std::string raw((stride + 1) * img.height, '\0');
    boost::beast::zlib::inflate_stream inflater;
    boost::beast::zlib::z_params z;
    z.next_in = idat.data() + 2;  // the zlib header; the inflater reads raw deflate
    z.avail_in = idat.size() - 2;
    z.next_out = raw.data();
    z.avail_out = raw.size();
    boost::system::error_code ec;
    inflater.write(z, boost::beast::zlib::Flush::finish, ec);
    if (z.avail_out != 0 || (ec && ec != boost::beast::zlib::error::end_of_stream)) {
        img.problem = "inflate: " + ec.message();
        return img;
    }
    auto* px = reinterpret_cast<unsigned char*>(raw.data());
    std::vector<unsigned char> prev(stride, 0);
    img.rgb.reserve(std::size_t{img.width} * img.height);
    for (unsigned y = 0; y < img.height; ++y) {
        unsigned char* row = px + y * (stride + 1);
        const unsigned char filter = row[0];
        unsigned char* cur = row + 1;
        for (std::size_t i = 0; i < stride; ++i) {
            const int a = i >= channels ? cur[i - channels] : 0;
            const int up = prev[i];
            const int c = i >= channels ? prev[i - channels] : 0;
            int add = 0;
            switch (filter) {
                case 0:
                    break;
                case 1:
                    add = a;
                    break;
                case 2:
                    add = up;
                    break;
                case 3:
                    add = (a + up) / 2;
                    break;
                case 4: {
                    const int p = a + up - c, pa = std::abs(p - a), pb = std::abs(p - up),
                              pc = std::abs(p - c);
                    add = pa <= pb && pa <= pc ? a : pb <= pc ? up : c;
                    break;
                }
                default:
                    img.problem = "bad filter";
                    return img;
            }
            cur[i] = static_cast<unsigned char>(cur[i] + add);
        }
        for (unsigned x = 0; x < img.width; ++x) {
            const unsigned char* p = cur + x * channels;
            img.rgb.push_back(std::uint32_t{p[0]} << 16 | std::uint32_t{p[1]} << 8 | p[2]);
        }
        prev.assign(cur, cur + stride);
    }
    return img;
}

// Pixels within `tolerance` per channel of `colour`.
std::size_t pixels_near(const png_image& img, std::uint32_t colour, int tolerance = 8) {
    std::size_t n = 0;
    for (std::uint32_t p : img.rgb) {
        bool near = true;
        for (int shift : {16, 8, 0}) {
            const int d =
                static_cast<int>((p >> shift) & 0xff) - static_cast<int>((colour >> shift) & 0xff);
            near = near && std::abs(d) <= tolerance;
        }
        n += near;
    }
    return n;
}

std::string slurp(const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

TEST(MigrationPageRender, EveryClientAndStatusIsOnTheRenderedPage) {
    if (!headless_chromium::installed()) GTEST_FAIL() << "chromium is not installed";

    const rule_set_ptr rules = rules_of({&explo_json, &quiet_route_json});
    ledger_data ledger;
    client_names names;
    const std::string explo = "explo-update-user-group";
    const std::int64_t old = now_unix - 12 * day_seconds;
    struct client {
        std::uint64_t fingerprint;
        const char* name;  // nullptr: unnamed
        client_record rec;
        const char* status;
    };
    const std::vector<client> clients = {
        {0x3f9a1c0de5b7a201ULL, "Acme billing",
         calls(now_unix - 120, {{today - 3, {40, 0, 1}}, {today, {12, 7, 0}}}), "active"},
        {0x51d0c3a9e8f71b42ULL, nullptr,
         calls(now_unix - 3 * day_seconds, {{today - 3, {3, 0, 0}}}), "active"},
        {0x7b2e44f0a9c1d583ULL, "Globex <ops> & \"reports\"",
         calls(old, {{today - 12, {25, 0, 2}}}), "quiet"},
        {0x8c4f0e1b2a3d9964ULL, nullptr, calls(old - 5 * day_seconds, {{today - 17, {1, 0, 0}}}),
         "quiet"},
        {0xa1b2c3d4e5f60718ULL, "Initech", calls(old, {{today - 12, {300, 0, 0}}}, old + 3600),
         "migrated"},
        {0xf0e1d2c3b4a59687ULL, nullptr, calls(old, {{today - 12, {8, 0, 0}}}, now_unix - 60),
         "migrated"},
    };
    for (const auto& c : clients) {
        ledger.clients[client_id{explo, c.fingerprint}] = c.rec;
        if (c.name) names[c.fingerprint] = c.name;
    }
    ledger.clients[client_id{"explo-old-v0", 0x0123456789abcdefULL}] =
        calls(now_unix - 60 * day_seconds, {});

    migration_input in;
    in.rules = rules;
    in.ledger = &ledger;
    in.names = &names;
    in.ledger_since = 1793491200;
    in.ledger_source = "sqlite:shimgate-ledger.sqlite3";
    in.ledger_problem = "";
    in.now = std::chrono::system_clock::time_point{std::chrono::seconds{now_unix}};
    const std::string html = render_migration_html(in);
    for (const auto& c : clients) {
        ASSERT_EQ(to_string(status_of(c.rec, in.now)), c.status) << fingerprint_hex(c.fingerprint);
    }

    const fs::path page = fs::temp_directory_path() /
                          ("shimgate-migration-page-" + std::to_string(::getpid()) + ".html");
    const fs::path shot = fs::path(page).replace_extension(".png");
    {
        std::ofstream f(page, std::ios::binary);
        f << html;
    }
    const std::string url = "file://" + page.string();
    headless_chromium chromium;

    const auto dom = chromium.dump_dom(url);
    EXPECT_EQ(dom.exit_code, 0) << dom.output;
    for (const auto& c : clients) {
        EXPECT_NE(dom.output.find(fingerprint_hex(c.fingerprint)), std::string::npos)
            << fingerprint_hex(c.fingerprint) << "\n"
            << dom.output;
    }
    for (const char* text :
         {"Acme billing", "Globex &lt;ops&gt; &amp; \"reports\"", "Initech",
          "<span class=\"status active\">active</span>",
          "<span class=\"status quiet\">quiet</span>",
          "<span class=\"status migrated\">migrated</span>", "running now", "56 days 4 hours left",
          "No client has called this deprecated route since 2026-11-01 00:00 UTC", "explo-old-v0",
          "not in the loaded rules", "0123456789abcdef", "sqlite:shimgate-ledger.sqlite3"}) {
        EXPECT_NE(dom.output.find(text), std::string::npos) << text << "\n" << dom.output;
    }
    EXPECT_EQ(dom.output.find("<script"), std::string::npos);

    constexpr int width = 1200, height = 900;
    const auto run = chromium.screenshot(url, shot, width, height);
    ASSERT_TRUE(fs::exists(shot)) << run.output;
    const std::string png = slurp(shot);
    EXPECT_GT(png.size(), 10'000u) << "a page of text and tables, not a flat colour";
    const png_image img = decode_png(png);
    ASSERT_EQ(img.problem, "");
    EXPECT_EQ(img.width, static_cast<unsigned>(width));
    EXPECT_EQ(img.height, static_cast<unsigned>(height));
    const std::set<std::uint32_t> colours(img.rgb.begin(), img.rgb.end());
    EXPECT_GT(colours.size(), 50u) << "anti-aliased text in several colours";
    // Each status badge in its colour (a badge is some 80 x 20 pixels), above the fold.
    EXPECT_GT(pixels_near(img, 0xc0392b), 500u) << "active: red";
    EXPECT_GT(pixels_near(img, 0xf1c40f), 500u) << "quiet: yellow";
    EXPECT_GT(pixels_near(img, 0x2e8b57), 500u) << "migrated: green";
    EXPECT_GT(pixels_near(img, 0xffffff, 0), img.rgb.size() / 3) << "a white page";

    std::error_code ignored;
    fs::copy_file(shot, "/tmp/migration-page.png", fs::copy_options::overwrite_existing, ignored);
    std::cout << "migration page screenshot: /tmp/migration-page.png (" << png.size()
              << " bytes)\n";
    fs::remove(page, ignored);
    fs::remove(shot, ignored);
}

}  // namespace
}  // namespace shimgate::testing
