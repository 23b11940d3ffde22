#!/bin/sh
# CLI tests: each tests/cli/t_*.sh gets the sq25 executable as $1 and exits 0 on success.
# Prints "cli: N passed, N failed".
cli=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
here=$(dirname "$0")
passed=0; failed=0
for t in "$here"/t_*.sh; do
  [ -e "$t" ] || continue
  if out=$(timeout 300 sh "$t" "$cli" 2>&1); then passed=$((passed + 1))
  else failed=$((failed + 1)); echo "---- $(basename "$t") failed:"; echo "$out" | tail -n 40; fi
done
echo "cli: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
