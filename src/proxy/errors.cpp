// Error bodies are small and written by hand: the message is the only variable text and goes
// through append_json_string, so any byte a message quotes (a client's key, a path id, an
// upstream's own error text) comes out as valid, escaped JSON.
#include "proxy/errors.hpp"

#include <boost/beast/http/status.hpp>

#include "json/json_writer.hpp"

namespace shimgate {

std::string_view reason_phrase(unsigned status) noexcept {
    namespace http = boost::beast::http;
    const auto s = http::int_to_status(status);
    if (s == http::status::unknown) return "Error";
    const auto phrase = http::obsolete_reason(s);
    return std::string_view(phrase.data(), phrase.size());
}

client_answer render_error(error_style style, unsigned status, std::string_view message) {
    client_answer a;
    a.status = status;
    a.body.reserve(message.size() + 96);
    if (style == error_style::envelope) {
        a.content_type = "application/json";
        a.body.append(R"({"success":0,"error":)");
        append_json_string(a.body, message);
        a.body.push_back('}');
        return a;
    }
    a.content_type = "application/problem+json";
    a.body.append(R"({"type":"about:blank","title":)");
    append_json_string(a.body, reason_phrase(status));
    a.body.append(R"(,"status":)");
    a.body.append(std::to_string(status));
    a.body.append(R"(,"detail":)");
    append_json_string(a.body, message);
    a.body.push_back('}');
    return a;
}

client_answer render_refusal(error_style style, const refusal& why) {
    return render_error(style, why.status, why.message);
}

refusal body_limit_refusal(std::uint64_t limit) {
    return refusal{413, "request body over the limit of " + std::to_string(limit) + " bytes",
                   refusal_reason::size};
}

}  // namespace shimgate
