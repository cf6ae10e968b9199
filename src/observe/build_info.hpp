#pragma once
// What this binary was built from: the version (CMake's project version) and the source revision
// (`git describe --always --dirty`, captured when CMake configures; "unknown" outside a git
// checkout). Printed by --version, logged at start-up.
#include <string_view>

namespace shimgate {

std::string_view source_revision() noexcept;  // generated: build/generated/build_revision.cpp

}  // namespace shimgate
