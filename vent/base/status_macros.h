// Status propagation macros (Abseil 20220623 has none).
#ifndef VENT_BASE_STATUS_MACROS_H_
#define VENT_BASE_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define VENT_STATUS_CONCAT_INNER_(a, b) a##b
#define VENT_STATUS_CONCAT_(a, b) VENT_STATUS_CONCAT_INNER_(a, b)

// Returns `expr` from the enclosing function if it is not OK.
#define VENT_RETURN_IF_ERROR(expr)               \
  do {                                           \
    ::absl::Status vent_status_ = (expr);        \
    if (!vent_status_.ok()) return vent_status_; \
  } while (0)

// `VENT_ASSIGN_OR_RETURN(auto x, F());` assigns the value of a StatusOr or
// returns its status from the enclosing function.
#define VENT_ASSIGN_OR_RETURN(lhs, expr)                                     \
  VENT_ASSIGN_OR_RETURN_IMPL_(VENT_STATUS_CONCAT_(vent_statusor_, __LINE__), \
                              lhs, expr)
#define VENT_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                \
  if (!tmp.ok()) return tmp.status();               \
  lhs = std::move(tmp).value()

#endif  // VENT_BASE_STATUS_MACROS_H_
