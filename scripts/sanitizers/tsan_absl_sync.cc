// ThreadSanitizer build only (CMakeLists.txt links this into every executable
// when VENT_SANITIZE=thread).
//
// Debian's Abseil (and gRPC, which locks through absl::Mutex) is not built with
// -fsanitize=thread, so TSan does not see absl::Mutex, absl::CondVar or
// absl::Notification synchronize: every field guarded by an absl::Mutex would
// be reported as a data race. This file interposes the exported entry points of
// libabsl_synchronization.so (the executable's definitions win over the shared
// library's, for our code and for gRPC's calls alike), calls the real ones
// through dlsym(RTLD_NEXT) and tells TSan what they do with the annotations
// Abseil itself uses when it is built with TSan (absl/synchronization/mutex.cc:
// __tsan_mutex_pre_lock/post_lock/pre_unlock/post_unlock around the same
// calls). Accesses made inside the real calls (condition functions evaluated
// by absl while it holds or hands over the lock) are ignored by TSan, as in an
// instrumented Abseil. It suppresses nothing: it only makes synchronization
// visible, so races in our code are still reported.
#include <dlfcn.h>
#include <sanitizer/tsan_interface.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

#if !defined(__SANITIZE_THREAD__) && defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define __SANITIZE_THREAD__ 1
#endif
#endif
#ifndef __SANITIZE_THREAD__
#error "tsan_absl_sync.cc is for the ThreadSanitizer build only"
#endif

namespace {

#define VENT_STR2(x) #x
#define VENT_STR(x) VENT_STR2(x)

// "_ZN4absl7debian35Mutex4LockEv" from "_ZN@5Mutex4LockEv": '@' stands for
// the mangled "absl::<inline namespace>" prefix of the installed Abseil.
void* Real(const char* pattern) {
  const std::string ns = VENT_STR(ABSL_OPTION_INLINE_NAMESPACE_NAME);
  std::string name;
  for (const char* p = pattern; *p != '\0'; ++p) {
    if (*p == '@') {
      name += "4absl" + std::to_string(ns.size()) + ns;
    } else {
      name += *p;
    }
  }
  void* fn = dlsym(RTLD_NEXT, name.c_str());
  if (fn == nullptr) {
    std::fprintf(stderr, "tsan_absl_sync: %s not found in the loaded Abseil\n",
                 name.c_str());
    std::abort();
  }
  return fn;
}

// Abseil's entry points call each other (CondVar::WaitWithTimeout calls
// WaitWithDeadline, Notification::Notify locks its Mutex, ...), and those
// inner calls come back here through the PLT. Only the outermost call on a
// thread is annotated; inner ones go straight to the real function.
thread_local int depth = 0;
struct Nesting {
  Nesting() : outer(depth++ == 0) {}
  ~Nesting() { --depth; }
  Nesting(const Nesting&) = delete;
  Nesting& operator=(const Nesting&) = delete;
  const bool outer;
};

// Declares `real` (the library's function) and `nest`; an inner call
// returns real(args...) at once.
#define REAL(type, pattern, ...)                                  \
  static const auto real = reinterpret_cast<type>(Real(pattern)); \
  const Nesting nest;                                             \
  if (!nest.outer) return real(__VA_ARGS__)

// absl::Mutex's only data member is the lock word; kMuWriter (mutex.cc) is set
// while it is held exclusively. Read by the holder, so it is stable here.
unsigned HeldFlags(const absl::Mutex* mu) {
  static_assert(sizeof(absl::Mutex) == sizeof(std::atomic<intptr_t>));
  constexpr intptr_t kMuWriter = 0x0008;
  const intptr_t v = reinterpret_cast<const std::atomic<intptr_t>*>(mu)->load(
      std::memory_order_relaxed);
  return (v & kMuWriter) != 0 ? 0 : __tsan_mutex_read_lock;
}

// The address TSan synchronizes on for Notification / BlockingCounter: their
// atomic right after the Mutex (also what the inline HasBeenNotified() loads
// with acquire order, so it synchronizes with Notify() too).
void* SyncAddr(const void* obj) {
  return const_cast<char*>(static_cast<const char*>(obj)) + sizeof(absl::Mutex);
}

}  // namespace

namespace absl {
ABSL_NAMESPACE_BEGIN

Mutex::~Mutex() {
  static const auto real =
      reinterpret_cast<void (*)(Mutex*)>(Real("_ZN@5MutexD2Ev"));
  const Nesting nest;
  if (nest.outer) __tsan_mutex_destroy(this, __tsan_mutex_not_static);
  real(this);
}

void Mutex::Lock() {
  REAL(void (*)(Mutex*), "_ZN@5Mutex4LockEv", this);
  __tsan_mutex_pre_lock(this, 0);
  real(this);
  __tsan_mutex_post_lock(this, 0, 0);
}

void Mutex::ReaderLock() {
  REAL(void (*)(Mutex*), "_ZN@5Mutex10ReaderLockEv", this);
  __tsan_mutex_pre_lock(this, __tsan_mutex_read_lock);
  real(this);
  __tsan_mutex_post_lock(this, __tsan_mutex_read_lock, 0);
}

bool Mutex::TryLock() {
  REAL(bool (*)(Mutex*), "_ZN@5Mutex7TryLockEv", this);
  __tsan_mutex_pre_lock(this, __tsan_mutex_try_lock);
  const bool ok = real(this);
  __tsan_mutex_post_lock(
      this, __tsan_mutex_try_lock | (ok ? 0 : __tsan_mutex_try_lock_failed), 0);
  return ok;
}

bool Mutex::ReaderTryLock() {
  REAL(bool (*)(Mutex*), "_ZN@5Mutex13ReaderTryLockEv", this);
  __tsan_mutex_pre_lock(this, __tsan_mutex_try_read_lock);
  const bool ok = real(this);
  __tsan_mutex_post_lock(
      this,
      __tsan_mutex_try_read_lock | (ok ? 0 : __tsan_mutex_try_lock_failed), 0);
  return ok;
}

void Mutex::Unlock() {
  REAL(void (*)(Mutex*), "_ZN@5Mutex6UnlockEv", this);
  __tsan_mutex_pre_unlock(this, 0);
  real(this);
  __tsan_mutex_post_unlock(this, 0);
}

void Mutex::ReaderUnlock() {
  REAL(void (*)(Mutex*), "_ZN@5Mutex12ReaderUnlockEv", this);
  __tsan_mutex_pre_unlock(this, __tsan_mutex_read_lock);
  real(this);
  __tsan_mutex_post_unlock(this, __tsan_mutex_read_lock);
}

// LockWhen*: returns holding the lock (also after a timeout).
void Mutex::LockWhen(const Condition& cond) {
  REAL(void (*)(Mutex*, const Condition&),
       "_ZN@5Mutex8LockWhenERKNS0_9ConditionE", this, cond);
  __tsan_mutex_pre_lock(this, 0);
  real(this, cond);
  __tsan_mutex_post_lock(this, 0, 0);
}

void Mutex::ReaderLockWhen(const Condition& cond) {
  REAL(void (*)(Mutex*, const Condition&),
       "_ZN@5Mutex14ReaderLockWhenERKNS0_9ConditionE", this, cond);
  __tsan_mutex_pre_lock(this, __tsan_mutex_read_lock);
  real(this, cond);
  __tsan_mutex_post_lock(this, __tsan_mutex_read_lock, 0);
}

bool Mutex::LockWhenWithTimeout(const Condition& cond, Duration timeout) {
  REAL(bool (*)(Mutex*, const Condition&, Duration),
       "_ZN@5Mutex19LockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE", this,
       cond, timeout);
  __tsan_mutex_pre_lock(this, 0);
  const bool res = real(this, cond, timeout);
  __tsan_mutex_post_lock(this, 0, 0);
  return res;
}

bool Mutex::LockWhenWithDeadline(const Condition& cond, Time deadline) {
  REAL(bool (*)(Mutex*, const Condition&, Time),
       "_ZN@5Mutex20LockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE", this,
       cond, deadline);
  __tsan_mutex_pre_lock(this, 0);
  const bool res = real(this, cond, deadline);
  __tsan_mutex_post_lock(this, 0, 0);
  return res;
}

bool Mutex::ReaderLockWhenWithTimeout(const Condition& cond, Duration timeout) {
  REAL(bool (*)(Mutex*, const Condition&, Duration),
       "_ZN@5Mutex25ReaderLockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE",
       this, cond, timeout);
  __tsan_mutex_pre_lock(this, __tsan_mutex_read_lock);
  const bool res = real(this, cond, timeout);
  __tsan_mutex_post_lock(this, __tsan_mutex_read_lock, 0);
  return res;
}

bool Mutex::ReaderLockWhenWithDeadline(const Condition& cond, Time deadline) {
  REAL(bool (*)(Mutex*, const Condition&, Time),
       "_ZN@5Mutex26ReaderLockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE",
       this, cond, deadline);
  __tsan_mutex_pre_lock(this, __tsan_mutex_read_lock);
  const bool res = real(this, cond, deadline);
  __tsan_mutex_post_lock(this, __tsan_mutex_read_lock, 0);
  return res;
}

// Await*: called holding the lock; releases it while waiting and holds it
// again on return.
void Mutex::Await(const Condition& cond) {
  REAL(void (*)(Mutex*, const Condition&), "_ZN@5Mutex5AwaitERKNS0_9ConditionE",
       this, cond);
  const unsigned flags = HeldFlags(this);
  __tsan_mutex_pre_unlock(this, flags);
  __tsan_mutex_post_unlock(this, flags);
  __tsan_mutex_pre_lock(this, flags);
  real(this, cond);
  __tsan_mutex_post_lock(this, flags, 0);
}

bool Mutex::AwaitWithTimeout(const Condition& cond, Duration timeout) {
  REAL(bool (*)(Mutex*, const Condition&, Duration),
       "_ZN@5Mutex16AwaitWithTimeoutERKNS0_9ConditionENS0_8DurationE", this,
       cond, timeout);
  const unsigned flags = HeldFlags(this);
  __tsan_mutex_pre_unlock(this, flags);
  __tsan_mutex_post_unlock(this, flags);
  __tsan_mutex_pre_lock(this, flags);
  const bool res = real(this, cond, timeout);
  __tsan_mutex_post_lock(this, flags, 0);
  return res;
}

bool Mutex::AwaitWithDeadline(const Condition& cond, Time deadline) {
  REAL(bool (*)(Mutex*, const Condition&, Time),
       "_ZN@5Mutex17AwaitWithDeadlineERKNS0_9ConditionENS0_4TimeE", this, cond,
       deadline);
  const unsigned flags = HeldFlags(this);
  __tsan_mutex_pre_unlock(this, flags);
  __tsan_mutex_post_unlock(this, flags);
  __tsan_mutex_pre_lock(this, flags);
  const bool res = real(this, cond, deadline);
  __tsan_mutex_post_lock(this, flags, 0);
  return res;
}

// CondVar::Wait*: same contract as Await for the mutex passed in.
void CondVar::Wait(Mutex* mu) {
  REAL(void (*)(CondVar*, Mutex*), "_ZN@7CondVar4WaitEPNS0_5MutexE", this, mu);
  const unsigned flags = HeldFlags(mu);
  __tsan_mutex_pre_unlock(mu, flags);
  __tsan_mutex_post_unlock(mu, flags);
  __tsan_mutex_pre_lock(mu, flags);
  real(this, mu);
  __tsan_mutex_post_lock(mu, flags, 0);
}

bool CondVar::WaitWithTimeout(Mutex* mu, Duration timeout) {
  REAL(bool (*)(CondVar*, Mutex*, Duration),
       "_ZN@7CondVar15WaitWithTimeoutEPNS0_5MutexENS0_8DurationE", this, mu,
       timeout);
  const unsigned flags = HeldFlags(mu);
  __tsan_mutex_pre_unlock(mu, flags);
  __tsan_mutex_post_unlock(mu, flags);
  __tsan_mutex_pre_lock(mu, flags);
  const bool res = real(this, mu, timeout);
  __tsan_mutex_post_lock(mu, flags, 0);
  return res;
}

bool CondVar::WaitWithDeadline(Mutex* mu, Time deadline) {
  REAL(bool (*)(CondVar*, Mutex*, Time),
       "_ZN@7CondVar16WaitWithDeadlineEPNS0_5MutexENS0_4TimeE", this, mu,
       deadline);
  const unsigned flags = HeldFlags(mu);
  __tsan_mutex_pre_unlock(mu, flags);
  __tsan_mutex_post_unlock(mu, flags);
  __tsan_mutex_pre_lock(mu, flags);
  const bool res = real(this, mu, deadline);
  __tsan_mutex_post_lock(mu, flags, 0);
  return res;
}

// Notification: Notify() happens before every wait that sees it notified.
void Notification::Notify() {
  REAL(void (*)(Notification*), "_ZN@12Notification6NotifyEv", this);
  __tsan_release(SyncAddr(this));
  real(this);
}

// Waits in slices: TSan runs a signal handler only when the thread that got
// the signal enters one of its interceptors, and the real wait blocks in
// Abseil's futex call, which is not one. vent-server's main thread waits here
// for its stop notification while SIGTERM may be delivered to it, so an
// unsliced wait never ran the handler (Asio's signal_set) and the process
// never drained. usleep(0) is intercepted: pending signals run there.
void Notification::WaitForNotification() const {
  REAL(void (*)(const Notification*),
       "_ZNK@12Notification19WaitForNotificationEv", this);
  static const auto timed =
      reinterpret_cast<bool (*)(const Notification*, Duration)>(
          Real("_ZNK@12Notification30WaitForNotificationWithTimeoutENS0_"
               "8DurationE"));
  while (!timed(this, absl::Milliseconds(50))) usleep(0);
  __tsan_acquire(SyncAddr(this));
}

bool Notification::WaitForNotificationWithTimeout(Duration timeout) const {
  REAL(bool (*)(const Notification*, Duration),
       "_ZNK@12Notification30WaitForNotificationWithTimeoutENS0_8DurationE",
       this, timeout);
  const bool res = real(this, timeout);
  if (res) __tsan_acquire(SyncAddr(this));
  return res;
}

bool Notification::WaitForNotificationWithDeadline(Time deadline) const {
  REAL(bool (*)(const Notification*, Time),
       "_ZNK@12Notification31WaitForNotificationWithDeadlineENS0_4TimeE", this,
       deadline);
  const bool res = real(this, deadline);
  if (res) __tsan_acquire(SyncAddr(this));
  return res;
}

// BlockingCounter: every DecrementCount() happens before Wait() returns.
bool BlockingCounter::DecrementCount() {
  REAL(bool (*)(BlockingCounter*), "_ZN@15BlockingCounter14DecrementCountEv",
       this);
  __tsan_release(SyncAddr(this));
  return real(this);
}

void BlockingCounter::Wait() {
  REAL(void (*)(BlockingCounter*), "_ZN@15BlockingCounter4WaitEv", this);
  real(this);
  __tsan_acquire(SyncAddr(this));
}

ABSL_NAMESPACE_END
}  // namespace absl
