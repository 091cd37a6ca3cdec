# Sourced (bash): exports the sanitizer runtime options for one suite.
#   source scripts/sanitizers/options.sh asan|tsan REPORT_DIR
# Every instrumented process (gtests, and the vent-bridge / vent-server /
# redis fixtures the e2e tests start through VENT_BIN_DIR) inherits them and
# writes each report to REPORT_DIR/<tool>.<exe>.<pid> instead of stderr, so a
# report from a child whose stderr a test swallows is still seen: a run is
# clean only if REPORT_DIR stays empty. Source it before running a sanitizer
# build's tests with ctest.
# ("main" exports nothing: the gcc build is not instrumented.)
_vent_san_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
_vent_san_reports=${2:?usage: source options.sh asan|tsan REPORT_DIR}
mkdir -p "$_vent_san_reports"
case "${1:?}" in
  asan)
    # detect_leaks: LeakSanitizer at exit (processes that exit normally,
    # e.g. after SIGTERM; SIGKILLed children are not checked).
    export ASAN_OPTIONS="log_path=$_vent_san_reports/asan:log_exe_name=1:detect_leaks=1:check_initialization_order=1:strict_init_order=1:detect_stack_use_after_return=1:print_summary=1"
    export LSAN_OPTIONS="suppressions=$_vent_san_dir/lsan.supp:print_suppressions=0"
    # UBSan aborts on the first report anyway (-fno-sanitize-recover).
    export UBSAN_OPTIONS="log_path=$_vent_san_reports/ubsan:log_exe_name=1:print_stacktrace=1:halt_on_error=1"
    ;;
  tsan)
    # ignore_noninstrumented_modules: interceptors (memcpy, free, sendmsg,
    # pthread_*) called from code not built with TSan (Debian's gRPC,
    # Protobuf, Abseil, libstdc++) are not checked: that code synchronizes
    # through atomics TSan cannot see, so its accesses would be reported as
    # races among its own threads. Races between two of our accesses are
    # still reported, and absl::Mutex is made visible by tsan_absl_sync.cc.
    export TSAN_OPTIONS="log_path=$_vent_san_reports/tsan:log_exe_name=1:suppressions=$_vent_san_dir/tsan.supp:print_suppressions=0:second_deadlock_stack=1:halt_on_error=0:ignore_noninstrumented_modules=1"
    ;;
  main) ;;
  *) echo "options.sh: unknown suite $1" >&2; return 1 ;;
esac
unset _vent_san_dir _vent_san_reports
