// Command-line parsing of `vent` (hand-written: subcommands and options in any
// order, which vent_config's OptionSet does not model).
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "clients/cli/cli.h"
#include "vent/config/options.h"

namespace vent::cli {

std::string Usage() {
  return R"(usage: vent [global options] emit [--idempotency-key K] CHANNEL JSON
       vent [global options] emit [--batch [--batch-size N]] [--quiet] CHANNEL  < events.jsonl
       vent [global options] listen [--with-channel] [--count N] CHANNEL...
       vent config check FILE
       vent token --secret SECRET --user USER [--ttl DURATION]
       vent --version

Emit events through vent-server's gRPC API, or print the events published on channels.

commands:
  emit CHANNEL JSON   publish one event; prints {"id":...,"receivers":N,"duplicate":false}
  emit CHANNEL        publish every stdin line (one JSON value per line; blank lines are
                      skipped) over one EmitStream call; progress on stderr every second,
                      a summary at the end. A line that is not JSON stops the run (events
                      before it are published) with exit 3 and its line number.
    --batch             use EmitBatch calls instead of a stream
    --batch-size N      events per EmitBatch call (default 1000, max 10000)
    --idempotency-key K (single event) not published again if K was used on CHANNEL recently
    --quiet             no progress lines or summary
  listen CHANNEL...   print each event published on the channels, one per line: the JSON
                      exactly as published (also by redis-cli or redis-oplog apps)
    --with-channel      print CHANNEL<TAB>JSON
    --count N           exit 0 after N events (default: until SIGINT/SIGTERM)
  config check FILE   validate a config file for vent-server and vent-bridge and print what
                      each publication resolves to (exit 3 when invalid)
  token               mint an HS256 login JWT for development: --secret (default
                      $VENT_BRIDGE_JWT_HS256_SECRET) --user USER [--ttl 1h] [--issuer I]
                      [--audience A]; prints the token

global options (also accepted after the command):
  --server HOST:PORT  vent-server gRPC address (env VENT_SERVER, default 127.0.0.1:50051)
  --api-key KEY       sent as "authorization: Bearer KEY" (env VENT_API_KEY)
  --timeout DURATION  deadline per call, and listen's wait for the subscription (default 10s)
  --tls               use TLS with the system's root certificates
  --tls-ca FILE       use TLS with these PEM root certificates
  --help              this text
  --version           print the version

exit codes: 0 ok; 1 server or transport error (gRPC code and server message shown);
            2 usage error; 3 invalid input (bad JSON or channel, or refused by the server
            as INVALID_ARGUMENT)
)";
}

absl::StatusOr<Args> ParseArgs(int argc, const char* const* argv,
                               const char* (*getenv_fn)(const char*)) {
  Args a;
  if (const char* v = getenv_fn("VENT_SERVER"); v != nullptr && *v != '\0')
    a.server = v;
  if (const char* v = getenv_fn("VENT_API_KEY"); v != nullptr) a.api_key = v;
  bool options_done = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (options_done || arg.size() < 2 || arg[0] != '-') {
      if (a.command.empty()) {
        if (arg != "emit" && arg != "listen") {
          return absl::InvalidArgumentError(absl::StrCat(
              "unknown command '", arg, "' (expected emit or listen)"));
        }
        a.command = arg;
      } else {
        a.positional.push_back(arg);
      }
      continue;
    }
    if (arg == "--") {
      options_done = true;
      continue;
    }
    if (arg == "-h" || arg == "--help") {
      a.help = true;
      continue;
    }
    std::string name = arg.substr(2);
    std::string value;
    bool has_value = false;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    auto flag = [&](bool* dest) -> absl::Status {
      if (has_value)
        return absl::InvalidArgumentError(
            absl::StrCat("--", name, " takes no value"));
      *dest = true;
      return absl::OkStatus();
    };
    auto take = [&]() -> absl::StatusOr<std::string> {
      if (has_value) return value;
      if (i + 1 >= argc)
        return absl::InvalidArgumentError(
            absl::StrCat("--", name, " needs a value"));
      return std::string(argv[++i]);
    };
    auto positive = [&](int64_t* dest, int64_t max) -> absl::Status {
      auto v = take();
      if (!v.ok()) return v.status();
      int64_t n;
      if (!absl::SimpleAtoi(*v, &n) || n < 1 || n > max) {
        return absl::InvalidArgumentError(absl::StrCat(
            "--", name, ": '", *v, "' is not a number in 1..", max));
      }
      *dest = n;
      return absl::OkStatus();
    };
    absl::Status s;
    if (name == "server" || name == "api-key" || name == "tls-ca" ||
        name == "idempotency-key") {
      auto v = take();
      if (!v.ok()) return v.status();
      if (name == "server") a.server = *v;
      if (name == "api-key") a.api_key = *v;
      if (name == "tls-ca") a.tls_ca = *v;
      if (name == "idempotency-key") a.idempotency_key = *v;
    } else if (name == "timeout") {
      auto v = take();
      if (!v.ok()) return v.status();
      auto d = config::ParseDuration(*v);
      if (!d.ok() || *d <= absl::ZeroDuration()) {
        return absl::InvalidArgumentError(
            absl::StrCat("--timeout: '", *v,
                         "' is not a positive duration (e.g. 5s, 500ms)"));
      }
      a.timeout = *d;
    } else if (name == "tls") {
      s = flag(&a.tls);
    } else if (name == "batch") {
      s = flag(&a.batch);
    } else if (name == "quiet") {
      s = flag(&a.quiet);
    } else if (name == "with-channel") {
      s = flag(&a.with_channel);
    } else if (name == "batch-size") {
      s = positive(&a.batch_size, 10000);
    } else if (name == "count") {
      s = positive(&a.count, int64_t{1} << 62);
    } else {
      return absl::InvalidArgumentError(absl::StrCat("unknown option ", arg));
    }
    if (!s.ok()) return s;
  }
  if (a.help) return a;
  if (a.command.empty())
    return absl::InvalidArgumentError("missing command (emit or listen)");
  if (a.command == "emit") {
    if (a.positional.empty() || a.positional.size() > 2) {
      return absl::InvalidArgumentError("emit takes CHANNEL [JSON]");
    }
    if (a.positional.size() == 2 && a.batch) {
      return absl::InvalidArgumentError(
          "--batch reads stdin; do not give JSON");
    }
    if (a.positional.size() == 1 && !a.idempotency_key.empty()) {
      return absl::InvalidArgumentError(
          "--idempotency-key needs a single event (CHANNEL JSON)");
    }
  } else if (a.positional.empty()) {
    return absl::InvalidArgumentError("listen needs at least one CHANNEL");
  }
  if (a.command != "emit" &&
      (a.batch || a.quiet || !a.idempotency_key.empty())) {
    return absl::InvalidArgumentError(
        "--batch, --batch-size, --quiet and --idempotency-key are emit "
        "options");
  }
  if (a.command != "listen" && (a.with_channel || a.count != 0)) {
    return absl::InvalidArgumentError(
        "--with-channel and --count are listen options");
  }
  return a;
}

absl::StatusOr<ClientOptions> MakeClientOptions(const Args& args) {
  ClientOptions o;
  o.address = args.server;
  o.api_key = args.api_key;
  o.default_deadline = args.timeout;
  o.use_tls = args.tls;
  if (!args.tls_ca.empty()) {
    std::ifstream in(args.tls_ca);
    if (!in)
      return absl::InvalidArgumentError(
          absl::StrCat("--tls-ca: cannot read ", args.tls_ca));
    std::stringstream ss;
    ss << in.rdbuf();
    o.tls_root_certs = ss.str();
    if (o.tls_root_certs.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--tls-ca: ", args.tls_ca, " is empty"));
    }
  }
  return o;
}

int ExitCodeFor(const absl::Status& s) {
  return s.code() == absl::StatusCode::kInvalidArgument ? kInvalidInput
                                                        : kServerError;
}

}  // namespace vent::cli
