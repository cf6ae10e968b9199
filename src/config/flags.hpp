#pragma once
// Command line -> config. A problem is reported as one line naming the flag and what is wrong.
#include <string>

#include "config/config.hpp"

namespace shimgate {

struct flags_result {
    config cfg;
    std::string error;              // one line, set when the command line is refused
    std::string help;               // set when --help was asked for
    bool check_rules_only = false;  // --check-rules DIR: validate the rules and exit
    bool version = false;
};

flags_result parse_flags(int argc, const char* const* argv);

// The flags in effect, defaults included, as a command line ("--listen 127.0.0.1:8080 --upstream
// http://... --threads 2 ... --upstream-timeout 30 ..."), for the start-up line of the process log.
std::string describe_flags(const config& c);

// "http://host:port[/prefix]" or "https://..." -> upstream_url; "" error on success.
std::string parse_upstream_url(std::string_view text, upstream_url& out);
// "HOST:PORT", "[v6]:PORT" -> host_port; "" on success.
std::string parse_host_port(std::string_view text, host_port& out);

}  // namespace shimgate
