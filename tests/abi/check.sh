#!/bin/sh
# Check the exported surface of libsq25.so against tests/abi/exported_symbols.txt, and that
# every macro and enum name in the public header carries the SQ25_/sq25_ prefix.
# Usage: check.sh LIBRARY HEADER.   To accept a deliberate addition: update the list by hand.
set -eu
lib=$1; header=$2; here=$(dirname "$0")
expected=$here/exported_symbols.txt
actual=$(mktemp)
nm -D --defined-only "$lib" | awk '$2 != "A" {print $3}' | sed 's/@.*//' | sort -u > "$actual"
status=0
if ! diff -u "$expected" "$actual" > "$actual.diff"; then
  echo "abi: exported symbols differ from $expected:"; cat "$actual.diff"; status=1
fi
bad=$(grep -v '^sq25_' "$actual" || true)
[ -z "$bad" ] || { echo "abi: exported symbols without the sq25_ prefix: $bad"; status=1; }
# Macros defined in the header must start with SQ25_ (the include guard included).
badmacros=$(sed -n 's/^#define \([A-Za-z_][A-Za-z0-9_]*\).*/\1/p' "$header" | grep -v '^SQ25_' || true)
[ -z "$badmacros" ] || { echo "abi: macros without the SQ25_ prefix: $badmacros"; status=1; }
# Enum constants: identifiers at the start of a line inside enum { } blocks.
badenum=$(awk '/enum[^;]*\{/ {inside=1} inside {print} /\}/ {inside=0}' "$header" |
  grep -oE '\b[A-Z][A-Z0-9_]+\s*=' | sed 's/[ =]//g' | grep -v '^SQ25_' || true)
[ -z "$badenum" ] || { echo "abi: enum values without the SQ25_ prefix: $badenum"; status=1; }
# ABI of the types and functions: abigail's abidiff against the committed 1.0 baseline
# (abidw of the 1.0.0 release). Added symbols are allowed; any other change (a removed symbol,
# a parameter or struct type changed) fails. Regenerate the baseline only at a new soname.
baseline=$here/libsq25-1.0.abi
if command -v abidiff >/dev/null 2>&1; then
  abirc=0
  abidiff --headers-dir2 "$(dirname "$header")" --no-added-syms "$baseline" "$lib" \
    > "$actual.abidiff" 2>&1 || abirc=$?
  if [ $abirc -ne 0 ]; then
    echo "abi: abidiff against $baseline exited $abirc:"; cat "$actual.abidiff"; status=1
  else
    echo "abi: abidiff against the 1.0 baseline: no change"
  fi
  rm -f "$actual.abidiff"
else
  echo "abi: abidiff not found (Debian package abigail-tools)"; status=1
fi
n=$(wc -l < "$actual")
rm -f "$actual" "$actual.diff"
echo "abi: $n exported symbols checked"
if [ $status -eq 0 ]; then echo "abi: 1 passed, 0 failed"; else echo "abi: 0 passed, 1 failed"; fi
exit $status
