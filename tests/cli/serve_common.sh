# serve_common.sh -- set-up shared by the `sq25 serve` tests, sourced by tests/cli/t_serve*.sh
# after their skip checks (it is no test itself: run.sh runs t_*.sh only). It makes
#   tmp        a fresh folder, removed at exit (kept, with a trace of the commands, when
#              SQ25_TEST_KEEP is set), with in=$tmp/in (created) and out=$tmp/out;
#   pid, rpid  the service and a reader process of the test, killed at exit when still set
#              (the service with kill_signal, TERM unless the test set another before);
# and the waits and comparisons the tests share. Waits poll every 0.1 s for at most wait_s
# seconds (30 unless the test set another).
[ -n "${SQ25_TEST_KEEP:-}" ] && set -x
tmp=$(mktemp -d)
pid=""; rpid=""
kill_signal=${kill_signal:-TERM}
wait_s=${wait_s:-30}
trap '[ -z "$pid" ] || kill -s "$kill_signal" "$pid" 2>/dev/null || true
[ -z "$rpid" ] || kill "$rpid" 2>/dev/null || true
[ -n "${SQ25_TEST_KEEP:-}" ] || rm -rf "$tmp"' EXIT
in=$tmp/in; out=$tmp/out
mkdir -p "$in"

# the cycle number latest.json reports (0 before the first)
cycle_no() { python3 -c 'import json,sys
try: print(json.load(open(sys.argv[1]))["service"]["cycle"])
except Exception: print(0)' "$out/latest.json"; }

# wait until latest.json reports cycle $1
wait_cycle() {
  i=0
  while [ "$(cycle_no)" -lt "$1" ]; do
    i=$((i + 1)); [ $i -le $((wait_s * 10)) ] || { echo "cycle $1 never came"; cat "$tmp/log" "$tmp/err"; exit 1; }
    sleep 0.1
  done
}

# wait until $tmp/log holds $2 lines (1 unless given) with $1
wait_log() {
  i=0
  while n=$(grep -c "$1" "$tmp/log" 2>/dev/null || true); [ "${n:-0}" -lt "${2:-1}" ]; do
    i=$((i + 1)); [ $i -le $((wait_s * 10)) ] || { echo "no log line with $1"; cat "$tmp/log"; exit 1; }
    sleep 0.1
  done
}

# the outbox's warnings, targets and summary equal `sq25 run`'s in folder $1 (the service's
# own block aside), and its targets.csv equals run's with one more column, data_state
same_outputs_as_run() {
  python3 - "$out" "$1" <<'PY'
import csv, json, sys
out, ref = sys.argv[1], sys.argv[2]
for name in ("warnings.geojson", "targets.geojson", "summary.json"):
    a = json.load(open(f"{out}/{name}")); b = json.load(open(f"{ref}/{name}"))
    a.pop("service")
    assert a == b, f"{name} differs from sq25 run"
a = list(csv.reader(open(f"{out}/targets.csv"))); b = list(csv.reader(open(f"{ref}/targets.csv")))
assert a[0][-1] == "data_state" and [r[:-1] for r in a] == b, "targets.csv differs from sq25 run"
PY
}

# the outbox's forecast.h5 (h5diff) and maps (byte for byte) equal `sq25 run`'s in folder $1,
# and latest.json names the maps
same_forecast_and_maps_as_run() {
  h5diff -q "$out/forecast.h5" "$1/forecast.h5" || { echo "forecast.h5 differs from sq25 run"; exit 1; }
  for m in observation.png forecast_30.png forecast_60.png warning.png; do
    cmp -s "$out/$m" "$1/$m" || { echo "$m differs from sq25 run"; exit 1; }
    grep -q "\"$m\"" "$out/latest.json" || { echo "latest.json does not name $m"; exit 1; }
  done
}

# the summary's analysis merged sensors: exactly $1 when given, else at least one
expect_sensors_merged() {
  python3 - "$out/summary.json" "${1:-}" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))["analysis"]
n = int(sys.argv[2]) if sys.argv[2] else None
assert s["radar_only"] is False and (s["sensors_used"] == n if n is not None else s["sensors_used"] > 0), s
PY
}
