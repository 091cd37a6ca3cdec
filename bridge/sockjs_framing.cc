#include "bridge/sockjs_framing.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "vent/base/json_write.h"

namespace vent::bridge {
namespace {

bool IsSegment(absl::string_view s) {
  return !s.empty() && s.find_first_of("/.") == absl::string_view::npos;
}

// sockjs-node's htmlfile page before the callback is substituted; padded so
// that the page is over 1024 bytes (Safari renders nothing before that).
constexpr absl::string_view kHtmlFileTemplate =
    "<!doctype html>\n"
    "<html><head>\n"
    "  <meta http-equiv=\"X-UA-Compatible\" content=\"IE=edge\" />\n"
    "  <meta http-equiv=\"Content-Type\" content=\"text/html; "
    "charset=UTF-8\" />\n"
    "</head><body><h2>Don't panic!</h2>\n"
    "  <script>\n"
    "    document.domain = document.domain;\n"
    "    var c = parent.{{ callback }};\n"
    "    c.start();\n"
    "    function p(d) {c.message(d);};\n"
    "    window.onload = function() {c.stop();};\n"
    "  </script>";

}  // namespace

std::optional<SockJsPath> ParseSockJsPath(absl::string_view path) {
  if (!absl::ConsumePrefix(&path, "/sockjs/")) return std::nullopt;
  std::vector<absl::string_view> parts = absl::StrSplit(path, '/');
  if (parts.size() != 3 || !IsSegment(parts[0]) || !IsSegment(parts[1])) {
    return std::nullopt;
  }
  SockJsPath out{std::string(parts[0]), std::string(parts[1]),
                 SockJsTransport::kXhrPolling};
  absl::string_view t = parts[2];
  if (t == "xhr") {
    out.transport = SockJsTransport::kXhrPolling;
  } else if (t == "xhr_streaming") {
    out.transport = SockJsTransport::kXhrStreaming;
  } else if (t == "eventsource") {
    out.transport = SockJsTransport::kEventSource;
  } else if (t == "htmlfile") {
    out.transport = SockJsTransport::kHtmlFile;
  } else if (t == "xhr_send") {
    out.transport = SockJsTransport::kXhrSend;
  } else if (t == "websocket") {
    out.transport = SockJsTransport::kWebSocket;
  } else {
    return std::nullopt;
  }
  return out;
}

bool IsReceiving(SockJsTransport t) {
  return t != SockJsTransport::kXhrSend && t != SockJsTransport::kWebSocket;
}

absl::string_view TransportName(SockJsTransport t) {
  switch (t) {
    case SockJsTransport::kXhrPolling:
      return "xhr-polling";
    case SockJsTransport::kXhrStreaming:
      return "xhr-streaming";
    case SockJsTransport::kEventSource:
      return "eventsource";
    case SockJsTransport::kHtmlFile:
      return "htmlfile";
    case SockJsTransport::kXhrSend:
      return "xhr_send";
    case SockJsTransport::kWebSocket:
      return "websocket";
  }
  return "?";
}

std::string ReceiverPrelude(SockJsTransport t, absl::string_view callback) {
  switch (t) {
    case SockJsTransport::kXhrStreaming:
      // Old browsers show nothing of a streaming response before 2 KiB.
      return std::string(2048, 'h') + "\n";
    case SockJsTransport::kEventSource:
      return "\r\n";
    case SockJsTransport::kHtmlFile: {
      std::string page(kHtmlFileTemplate.data(), kHtmlFileTemplate.size());
      // Padding computed on the template (with the placeholder), as
      // sockjs-node does.
      size_t target = 1024 + 13;
      if (page.size() < target) page.append(target - page.size(), ' ');
      page.append("\r\n\r\n");
      return absl::StrReplaceAll(page, {{"{{ callback }}", callback}});
    }
    default:
      return "";
  }
}

std::string ReceiverFrame(SockJsTransport t, absl::string_view frame) {
  switch (t) {
    case SockJsTransport::kEventSource: {
      // A raw CR, LF or NUL would end the event early; frames are JSON
      // (escaped already), so this only guards the contract.
      std::string out = "data: ";
      for (char c : frame) {
        if (c == '\r' || c == '\n' || c == '\0') {
          absl::StrAppend(
              &out, "\\u00",
              absl::Hex(static_cast<unsigned char>(c), absl::kZeroPad2));
        } else {
          out.push_back(c);
        }
      }
      out.append("\r\n\r\n");
      return out;
    }
    case SockJsTransport::kHtmlFile: {
      // JSON.stringify as sockjs-node, and '<' as \u003c so that an event
      // holding "</script>" cannot end the script block (same string for
      // the page's JavaScript).
      std::string json;
      AppendJsonString(&json, frame);
      std::string out = "<script>\np(";
      out.append(absl::StrReplaceAll(json, {{"<", "\\u003c"}}));
      out.append(");\n</script>\r\n");
      return out;
    }
    default:
      return absl::StrCat(frame, "\n");
  }
}

bool ValidHtmlFileCallback(absl::string_view callback) {
  if (callback.empty()) return false;
  for (char c : callback) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_' &&
        c != '.' && c != '-') {
      return false;
    }
  }
  return true;
}

absl::string_view ReceiverContentType(SockJsTransport t) {
  switch (t) {
    case SockJsTransport::kEventSource:
      return "text/event-stream";
    case SockJsTransport::kHtmlFile:
      return "text/html; charset=UTF-8";
    default:
      return "application/javascript; charset=UTF-8";
  }
}

std::string Chunk(absl::string_view data) {
  return absl::StrCat(absl::Hex(data.size()), "\r\n", data, "\r\n");
}

}  // namespace vent::bridge
