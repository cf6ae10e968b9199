#include "simdjson_floor.hpp"

#include <simdjson.h>

namespace shimgate::bench {
namespace ondemand = simdjson::ondemand;

namespace {

std::size_t touch(ondemand::value v);

std::size_t touch_object(ondemand::object o) {
    std::size_t n = 0;
    for (auto member : o) {
        ondemand::field f;
        if (std::move(member).get(f)) return 0;
        std::string_view key;
        if (f.unescaped_key().get(key)) return 0;
        n += key.size() + touch(f.value());
    }
    return n;
}

std::size_t touch(ondemand::value v) {
    ondemand::json_type t;
    if (v.type().get(t)) return 0;
    switch (t) {
        case ondemand::json_type::object: {
            ondemand::object o;
            if (v.get_object().get(o)) return 0;
            return touch_object(o);
        }
        case ondemand::json_type::array: {
            ondemand::array a;
            if (v.get_array().get(a)) return 0;
            std::size_t n = 0;
            for (auto element : a) {
                ondemand::value e;
                if (std::move(element).get(e)) return 0;
                n += touch(e);
            }
            return n;
        }
        case ondemand::json_type::string: {
            std::string_view s;
            return v.get_string().get(s) ? 0 : s.size();
        }
        case ondemand::json_type::number: {
            double d = 0;
            return v.get_double().get(d) ? 0 : static_cast<std::size_t>(d != 0);
        }
        case ondemand::json_type::boolean: {
            bool b = false;
            return v.get_bool().get(b) ? 0 : static_cast<std::size_t>(b);
        }
        case ondemand::json_type::null:
            return v.is_null() ? 1 : 0;
    }
    return 0;
}

}  // namespace

struct simdjson_floor::parser {
    ondemand::parser p;
};

simdjson_floor::simdjson_floor() : parser_(std::make_unique<parser>()) {}
simdjson_floor::~simdjson_floor() = default;

std::size_t simdjson_floor::parse(std::string& body) {
    if (body.capacity() < body.size() + simdjson::SIMDJSON_PADDING)
        body.reserve(body.size() + simdjson::SIMDJSON_PADDING);
    ondemand::document doc;
    if (parser_->p.iterate(simdjson::padded_string_view(body.data(), body.size(), body.capacity()))
            .get(doc))
        return 0;
    ondemand::object o;
    if (doc.get_object().get(o)) return 0;
    return touch_object(o);
}

const char* simdjson_floor::kernel() {
    return SIMDJSON_STRINGIFY(SIMDJSON_BUILTIN_IMPLEMENTATION);
}

}  // namespace shimgate::bench
