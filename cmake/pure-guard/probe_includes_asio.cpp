// Built only by the CTest test "build: a pure module that includes Asio does
// not build" (CMakeLists.txt): a pure target whose one source includes an Asio
// header, which the guard of airgate_pure_module() must reject.
#include <boost/asio/ip/address.hpp>

bool airgate_pure_guard_probe() { return boost::asio::ip::address().is_unspecified(); }
