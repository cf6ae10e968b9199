#pragma once
// Whether the upstream can be reached, process-wide, so that the process log says so once per
// change ("upstream unreachable", "upstream reachable again"), not once per request or per
// worker. One atomic flag; a state that did not change costs a relaxed load.
#include <string_view>

namespace shimgate {

// A connection to `address` failed (`why`): logged if the upstream was reachable until now.
void note_upstream_unreachable(std::string_view address, std::string_view why);
// A connection to `address` succeeded: logged if the upstream was unreachable until now.
void note_upstream_reachable(std::string_view address);
// For tests: whether the last change said unreachable.
bool upstream_marked_unreachable() noexcept;

}  // namespace shimgate
