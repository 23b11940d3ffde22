#!/bin/sh
# Run the deliberate misuse (tests/tsan/misuse.c) under TSan and require a data race report
# inside the library: proof that the TSan build of the thread tests can fail.
set -u
bin=$1
out=$(TSAN_OPTIONS="ignore_noninstrumented_modules=1 halt_on_error=0 exitcode=0" "$bin" 2>&1)
if echo "$out" | grep -q "WARNING: ThreadSanitizer: data race" &&
   echo "$out" | grep -q "sq25__fail"; then
  echo "tsan: the deliberate misuse (one context shared by two threads) is reported: 1 passed"
  exit 0
fi
echo "tsan: the deliberate misuse was NOT reported; output:"; echo "$out" | tail -n 30
exit 1
