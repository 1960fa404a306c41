#include "observe/log.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <atomic>
#include <stdexcept>

namespace airgate::observe {

namespace {

std::string dash(const std::string& s) { return s.empty() ? "-" : s; }
std::string_view word(const std::optional<core::Reason>& r) { return r ? core::log_word(*r) : std::string_view(); }

// Quote a value for the text access log: escape quotes, backslashes and
// control characters so a client cannot forge log lines.
std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02X}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

std::atomic<unsigned> access_log_counter{0};

}  // namespace

void setup_logging(const config::Logging& cfg) {
  auto logger = spdlog::stderr_color_mt("airgate");
  spdlog::set_default_logger(logger);
  if (cfg.format == config::LogFormat::json)
    spdlog::set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l","message":"%v"})");
  else
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e%z [%l] %v");
  auto level = spdlog::level::from_str(cfg.level);
  if (level == spdlog::level::off && cfg.level != "off")
    throw std::runtime_error("logging.level: unknown level " + cfg.level);
  spdlog::set_level(level);
  spdlog::flush_on(spdlog::level::info);
}

AccessLog::AccessLog(const std::string& destination, config::LogFormat format) : format_(format) {
  if (destination == "off") return;
  const std::string name = "access" + std::to_string(access_log_counter++);
  try {
    if (destination == "stdout")
      logger_ = spdlog::stdout_logger_mt(name);
    else if (destination == "stderr")
      logger_ = spdlog::stderr_logger_mt(name);
    else
      logger_ = spdlog::basic_logger_mt(name, destination);
  } catch (const spdlog::spdlog_ex& e) {
    throw std::runtime_error("logging.access_log: cannot open " + destination + ": " + e.what());
  }
  logger_->set_pattern("%v");
  logger_->set_level(spdlog::level::info);
  logger_->flush_on(spdlog::level::info);
}

AccessLog::~AccessLog() {
  if (logger_) spdlog::drop(logger_->name());
}

void AccessLog::write(const AccessEntry& e) {
  if (!logger_) return;
  logger_->info(format_ == config::LogFormat::json ? format_json(e) : format_text(e));
}

std::string AccessLog::format_text(const AccessEntry& e) {
  // Combined log format plus timing and airgate fields.
  const auto secs = std::chrono::time_point_cast<std::chrono::seconds>(e.time);
  return fmt::format("{} - {} [{:%d/%b/%Y:%H:%M:%S} +0000] {} {} {} {} {} rt={:.3f} up={} rid={} reason={}",
                     dash(e.client), quoted(dash(e.user)), secs,
                     quoted(e.method + " " + e.target + " " + std::string(protocol_name(e.version))), e.status,
                     e.bytes_sent, quoted(dash(e.referer)), quoted(dash(e.user_agent)), e.duration_s, dash(e.upstream),
                     dash(e.request_id), dash(std::string(word(e.reason)))) +
         (e.tls_client_subject.empty() ? "" : " tls_client=" + quoted(e.tls_client_subject));
}

std::string AccessLog::format_json(const AccessEntry& e) {
  boost::json::object o;
  o["time"] = fmt::format("{:%Y-%m-%dT%H:%M:%S}Z", std::chrono::time_point_cast<std::chrono::milliseconds>(e.time));
  o["client"] = e.client;
  o["user"] = e.user;
  o["method"] = e.method;
  o["target"] = e.target;
  o["protocol"] = protocol_name(e.version);
  o["host"] = e.host;
  o["status"] = e.status;
  o["bytes_sent"] = e.bytes_sent;
  o["bytes_received"] = e.bytes_received;
  o["duration_s"] = e.duration_s;
  o["upstream"] = e.upstream;
  o["reason"] = word(e.reason);
  o["request_id"] = e.request_id;
  o["user_agent"] = e.user_agent;
  o["referer"] = e.referer;
  if (!e.tls_client_subject.empty()) o["tls_client_subject"] = e.tls_client_subject;
  return boost::json::serialize(o);
}

}  // namespace airgate::observe
