#include "vent/redis/exchange.h"

#include <boost/asio/steady_timer.hpp>
#include <memory>

#include "absl/strings/str_cat.h"
#include "vent/redis/connection.h"

namespace vent::redis::internal {

namespace asio = boost::asio;

asio::awaitable<absl::Status> RoundTrip(Stream& stream, RespReader& reader,
                                        const std::vector<Command>& commands,
                                        std::vector<ReplyPtr>* out) {
  std::string bytes;
  std::vector<absl::string_view> args;
  for (const Command& c : commands) {
    args.assign(c.begin(), c.end());
    AppendCommand(bytes, args);
  }
  auto write_error = std::make_shared<absl::Status>();
  Stream* s = &stream;
  stream.OnWriteError([write_error, s](absl::Status st) {
    *write_error = std::move(st);
    s->Close();  // wakes the read below
  });
  stream.Write(std::move(bytes));
  while (out->size() < commands.size()) {
    absl::StatusOr<ReplyPtr> r = reader.Next();
    if (!r.ok()) co_return r.status();
    if (*r != nullptr) {
      out->push_back(*std::move(r));
      continue;
    }
    absl::StatusOr<absl::string_view> got = co_await stream.Read();
    if (!write_error->ok()) co_return *write_error;
    if (!got.ok()) co_return got.status();
    reader.Feed(got->data(), got->size());
  }
  stream.OnWriteError(nullptr);
  co_return absl::OkStatus();
}

asio::awaitable<absl::StatusOr<std::vector<ReplyPtr>>> OneShot(
    asio::io_context& io, const Address& address, const TlsSettings& tls,
    const Credentials& credentials, const std::vector<Command>& commands,
    absl::Duration timeout) {
  auto stream = std::make_shared<Stream>(io);
  auto timed_out = std::make_shared<bool>(false);
  asio::steady_timer timer(io);
  timer.expires_after(absl::ToChronoNanoseconds(timeout));
  timer.async_wait([stream, timed_out](boost::system::error_code ec) {
    if (ec) return;
    *timed_out = true;
    stream->Close();
  });
  auto deadline_error = [&] {
    return absl::DeadlineExceededError(
        absl::StrCat(address.ToString(), " did not answer within ",
                     absl::FormatDuration(timeout)));
  };
  absl::Status st = co_await stream->Connect(address, tls);
  if (*timed_out) co_return deadline_error();
  if (!st.ok()) {
    timer.cancel();
    stream->Close();
    co_return st;
  }
  std::vector<Command> all;
  if (!credentials.password.empty()) {
    if (credentials.username.empty()) {
      all.push_back({"AUTH", credentials.password});
    } else {
      all.push_back({"AUTH", credentials.username, credentials.password});
    }
  }
  all.insert(all.end(), commands.begin(), commands.end());
  RespReader reader;
  std::vector<ReplyPtr> replies;
  st = co_await RoundTrip(*stream, reader, all, &replies);
  timer.cancel();
  stream->Close();
  if (*timed_out) co_return deadline_error();
  if (!st.ok()) {
    co_return absl::UnavailableError(
        absl::StrCat(address.ToString(), ": ", st.message()));
  }
  if (!credentials.password.empty()) {
    if (TypeOf(*replies.front()) == ReplyType::kError) {
      co_return ErrorReplyToStatus(absl::StrCat("AUTH at ", address.ToString()),
                                   StringOf(*replies.front()));
    }
    replies.erase(replies.begin());
  }
  co_return replies;
}

}  // namespace vent::redis::internal
