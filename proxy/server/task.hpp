// Completion handlers for the coroutines the server starts with co_spawn.
// asio::detached drops an exception that escapes a coroutine without a trace;
// every task here is started with log_failure("what and where") instead, so
// such a failure is logged naming the task and its listener or address
// (design §4: no detached task whose failure nobody logs).
#pragma once

#include <spdlog/spdlog.h>

#include <exception>
#include <string>
#include <string_view>

namespace airgate::server {

// Logs the exception in `e`, if any, as an error "<task> failed: <what>".
inline void report_failure(std::string_view task, std::exception_ptr e) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    spdlog::error("{} failed: {}", task, ex.what());
  } catch (...) {
    spdlog::error("{} failed with an exception that is not a std::exception", task);
  }
}

// A co_spawn completion handler that reports a failure of `task`, e.g.
// co_spawn(ioc, loop(), log_failure("admin accept loop on 127.0.0.1:9901")).
inline auto log_failure(std::string task) {
  return [task = std::move(task)](std::exception_ptr e) { report_failure(task, e); };
}

}  // namespace airgate::server
