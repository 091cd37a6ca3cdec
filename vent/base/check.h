// VENT_DCHECK(cond): checks an invariant the surrounding code states in its
// comments. Active when NDEBUG is not defined (Debug builds) or when
// VENT_ENABLE_DCHECK is defined (the sanitizer builds, see CMakeLists.txt);
// compiled out otherwise (the condition is not evaluated). A failed check logs
// the condition and its location to stderr and aborts, so sanitizer and
// randomized tests report it as a crash with a stack trace.
#ifndef VENT_BASE_CHECK_H_
#define VENT_BASE_CHECK_H_

namespace vent::base::internal {
[[noreturn]] void DcheckFailed(const char* condition, const char* file,
                               int line);
}  // namespace vent::base::internal

#if !defined(NDEBUG) || defined(VENT_ENABLE_DCHECK)
#define VENT_DCHECK_IS_ON 1
#define VENT_DCHECK(cond)        \
  ((cond) ? static_cast<void>(0) \
          : ::vent::base::internal::DcheckFailed(#cond, __FILE__, __LINE__))
#else
#define VENT_DCHECK_IS_ON 0
#define VENT_DCHECK(cond) static_cast<void>(sizeof(!(cond)))
#endif

#endif  // VENT_BASE_CHECK_H_
