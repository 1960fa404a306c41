// airgate: subcommand dispatch only (design §1).
#include "cli/commands.hpp"

#include <boost/program_options.hpp>

#include <unistd.h>
#include <iostream>

namespace po = boost::program_options;
using namespace airgate::cli;

namespace {

constexpr const char* kUsage =
    "usage:\n"
    "  airgate [run] [-c FILE]               start the proxy (the default subcommand)\n"
    "  airgate check [-c FILE]               validate the config; problems as FILE:LINE:COL: message\n"
    "  airgate selfcheck [-c FILE] [--json]  security self-check; exit 0 clean, 1 warnings, 2 critical\n"
    "  airgate passwd [-f FILE] USER         add or update a bcrypt entry; password from stdin\n"
    "  airgate version                       print airgate, OpenSSL and Boost versions\n"
    "\n"
    "Without -c, $AIRGATE_CONFIG is used, else the built-in defaults plus the environment.\n";

int usage_error(const std::string& message) {
  std::cerr << "airgate: " << message << "\n\n" << kUsage;
  return kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  std::string command = "run";
  if (!args.empty() && !args.front().empty() && args.front()[0] != '-') {
    command = args.front();
    args.erase(args.begin());
  }
  if (command == "help" || (!args.empty() && (args.front() == "-h" || args.front() == "--help"))) {
    std::cout << kUsage;
    return kExitOk;
  }

  po::options_description opts;
  std::optional<std::string> config_path;
  std::string users_file = "htpasswd";
  std::vector<std::string> positional;
  opts.add_options()("config,c", po::value<std::string>(), "config file")(
      "file,f", po::value<std::string>(&users_file), "htpasswd file (passwd)")("json", "JSON output (selfcheck)")(
      "args", po::value<std::vector<std::string>>(&positional));
  po::positional_options_description pos;
  pos.add("args", -1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(opts).positional(pos).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    return usage_error(e.what());
  }
  if (vm.count("config")) config_path = vm["config"].as<std::string>();

  if (command == "run" || command == "check" || command == "version") {
    if (!positional.empty()) return usage_error("unexpected argument '" + positional.front() + "'");
    if (command == "run") return cmd_run(config_path);
    if (command == "check") return cmd_check(config_path);
    return cmd_version();
  }
  if (command == "selfcheck") {
    if (!positional.empty()) return usage_error("unexpected argument '" + positional.front() + "'");
    return cmd_selfcheck(config_path, vm.count("json") > 0);
  }
  if (command == "passwd") {
    if (positional.size() != 1) return usage_error("passwd takes exactly one USER");
    return cmd_passwd(users_file, positional.front(), std::cin, ::isatty(STDIN_FILENO));
  }
  return usage_error("unknown command '" + command + "'");
}
