#!/bin/sh
# Run the libFuzzer harnesses. Usage: run.sh fuzz|smoke SECONDS HARNESS...
#   fuzz   each harness for SECONDS, new inputs kept in build/fuzz/work/<name>, findings in
#          build/fuzz/artifacts/<name>/ (copy a fixed one into tests/fuzz/corpus/<name>/);
#   smoke  replay every file of tests/fuzz/corpus/<name>/ once, then SECONDS of fuzzing from
#          it in a scratch folder (make check).
# A finding whose crashing (or allocating) frame is inside libhdf5 is a bug of HDF5 1.10
# (damaged files reach it through its plainest calls; docs/fuzzing.md): it is listed and kept
# in build/fuzz/hdf5-findings/, not counted as a failure. Any other finding fails.
set -u
mode=$1; seconds=$2; shift 2
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=$root/build/fuzz
# The harnesses write each input to a private folder under $TMPDIR: keep those in build/ and
# remove them when the run ends, so that no run leaves anything in /tmp.
mkdir -p "$out"
TMPDIR=$(mktemp -d "$out/tmp.XXXXXX"); export TMPDIR
trap 'rm -rf "$TMPDIR"' EXIT
failed=0; passed=0
export LSAN_OPTIONS="suppressions=$here/lsan-hdf5.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"

# First stack frame of the report that is not the sanitizer's or libFuzzer's own (nor the
# C library's signal trampoline, which a timeout's stack passes through).
first_own_frame() {
  grep -E '^ +#[0-9]+ 0x' "$1" | grep -vE 'in (__interceptor_|__asan|__ubsan|__sanitizer|malloc|calloc|realloc|free|operator new|__lsan|fuzzer::|LLVMFuzzerTestOneInput|main|__libc_start)' \
    | grep -vE '^ +#[0-9]+ 0x[0-9a-f]+ +\(/lib/[^ ]*libc\.so\.6\+' | head -n 1
}

classify() { # log artifact name
  frame=$(first_own_frame "$1")
  # libnetcdf (the ensemble reader's nc_open) sits on the same HDF5 1.10 and leaks its own
  # structures when it fails to open a damaged file: also not ours.
  if echo "$frame" | grep -qE 'libhdf5|libnetcdf'; then
    mkdir -p "$out/hdf5-findings/$3"
    [ -n "$2" ] && [ -f "$2" ] && cp "$2" "$out/hdf5-findings/$3/"
    echo "fuzz: $3: finding inside HDF5/netCDF (not ours), kept in build/fuzz/hdf5-findings/$3: $frame"
    return 0
  fi
  echo "fuzz: $3: FINDING in our code: $frame"; grep -E 'ERROR|SUMMARY' "$1" | head -n 3
  return 1
}

for bin in "$@"; do
  name=$(basename "$bin" | sed 's/^fuzz_//')
  corpus=$here/corpus/$name
  mkdir -p "$corpus" "$out/artifacts/$name" "$out/logs"
  log=$out/logs/$name.$mode.log
  status=0
  if [ "$mode" = smoke ]; then
    work=$(mktemp -d "$out/smoke.XXXXXX")
    # Replay: every corpus file once (also each known crasher, which must not crash now).
    ASAN_OPTIONS=detect_leaks=1 "$bin" -runs=0 -rss_limit_mb=2048 -timeout=20 \
      -artifact_prefix="$out/artifacts/$name/" "$corpus" > "$log" 2>&1 || status=$?
    if [ $status -eq 0 ]; then
      "$bin" -max_total_time="$seconds" -seed=1 -rss_limit_mb=2048 -timeout=20 \
        -artifact_prefix="$out/artifacts/$name/" "$work" "$corpus" >> "$log" 2>&1 || status=$?
    fi
    rm -rf "$work"
  else
    # Fork mode: a finding does not stop the run; each is replayed and classified after.
    mkdir -p "$out/work/$name"
    stamp=$out/logs/$name.start; touch "$stamp"
    "$bin" -fork=1 -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1 \
      -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=20 \
      -artifact_prefix="$out/artifacts/$name/" "$out/work/$name" "$corpus" > "$log" 2>&1
    ours=0; theirs=0
    for a in $(find "$out/artifacts/$name" -type f -newer "$stamp"); do
      # -timeout: a hang found by the run (inside HDF5's H5HG_read, for one) would otherwise
      # hold the replay for libFuzzer's default 1200 s
      "$bin" -runs=1 -timeout=25 -rss_limit_mb=2048 "$a" > "$out/logs/$name.replay.log" 2>&1 && continue
      if classify "$out/logs/$name.replay.log" "$a" "$name" > /dev/null; then theirs=$((theirs + 1))
      else ours=$((ours + 1)); echo "fuzz: $name: finding in our code: $a"
        first_own_frame "$out/logs/$name.replay.log"; fi
    done
    execs=$(grep -oE '^#[0-9]+' "$log" | tail -n 1 | tr -d '#')
    echo "fuzz: $name: findings inside HDF5: $theirs, in our code: $ours"
    [ $ours -eq 0 ] || status=1
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  [ -n "$execs" ] || execs=$(grep -oE '^#[0-9]+' "$log" | tail -n 1 | tr -d '#')
  units=$(ls "$corpus" | wc -l)
  if [ $status -ne 0 ] && [ "$mode" = fuzz ]; then
    failed=$((failed + 1))
  elif [ $status -ne 0 ]; then
    artifact=$(grep -oE "Test unit written to [^ ]+" "$log" | tail -n 1 | sed 's/Test unit written to //')
    if classify "$log" "$artifact" "$name"; then passed=$((passed + 1))
    else failed=$((failed + 1)); echo "fuzz: $name: log $log, input $artifact"; fi
  else
    passed=$((passed + 1))
  fi
  echo "fuzz: $name ($mode): ${execs:-0} runs, corpus $units files, exit $status"
done
echo "fuzz: $passed passed, $failed failed"
[ $failed -eq 0 ]
