#!/bin/sh
# Run each test executable in its own process with a time limit; print a cmocka-style summary
# line "N passed, N failed" for the layer. Usage: run-tests.sh LABEL TIMEOUT_S TEST...
label=$1; limit=$2; shift 2
passed=0; failed=0; failed_names=""
for t in "$@"; do
  if timeout "$limit" "$t" >"$t.log" 2>&1; then
    passed=$((passed + 1))
  else
    rc=$?
    failed=$((failed + 1)); failed_names="$failed_names $(basename "$t")"
    echo "---- $label: $(basename "$t") failed (exit $rc); its output:"
    tail -n 60 "$t.log"
  fi
done
echo "$label: $passed passed, $failed failed"
[ "$failed" -eq 0 ] || { echo "failed:$failed_names"; exit 1; }
