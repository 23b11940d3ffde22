#!/bin/sh
# bench_serve.sh -- sq25 serve on the bundled RMI storm (2021-07-04, 20 frames at 5 minutes):
# 1. per-cycle time with a 100 m city grid (the demo's, about 430 x 445 cells) and the 3 demo
#    targets: median and quartiles of the cycle durations the service logs, and CPU time per
#    cycle, with every output (forecast.h5, warning.png, CAP) and without forecast and map;
#    compared in the same run with the simplest baseline, one `sq25 run` per cycle (what a
#    cron job would do: re-read the frames, start a process);
# 2. a soak: SQ25_SOAK_CYCLES cycles (default 1000) replaying the frames shifted in time,
#    with a sensor file in the inbox (24 stations, made here, merged every cycle), with the
#    resident memory every 100 cycles (the service logs it in replay mode). SQ25_SOAK_GRID
#    (default the city grid above) and SQ25_SOAK_OUTPUTS (lean: no forecast, no maps; maps: no
#    forecast; or full)
#    choose its cost per cycle; SQ25_SOAK_ONLY=1 skips part 1.
# Usage: bench/bench_serve.sh [path/to/sq25]. Prints figures; asserts nothing.
set -eu
sq25=$(cd "$(dirname "${1:-build/sq25}")" && pwd)/$(basename "${1:-build/sq25}")
cycles=${SQ25_BENCH_CYCLES:-40}
soak=${SQ25_SOAK_CYCLES:-1000}
d=$(pwd)/data/radar/rmi_20210704
grid=lonlat:5.8,49.95,6.4,50.35:100
targets=$(pwd)/tests/demo/targets.csv
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/in" "$tmp/in_sensors"
cp "$d"/*.hdf "$tmp/in/"
cp "$d"/*.hdf "$tmp/in_sensors/"
# 24 rain sensors spread over the city grid, 5-minute amounts over the whole storm (values
# made up: a fixed pattern; the soak measures memory and time, not skill)
python3 - "$tmp/in_sensors/pws.csv" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("station_id,lon,lat,time_utc,mm\n")
    for i in range(24):
        lon, lat = 5.85 + 0.5 * ((i * 0.618) % 1), 50.0 + 0.3 * ((i * 0.382) % 1)
        for k in range(22):
            m = 16 * 60 + 45 + 5 * k
            f.write(f"p{i:02d},{lon:.4f},{lat:.4f},2021-07-04T{m // 60:02d}:{m % 60:02d}:00Z,"
                    f"{0.1 + 0.1 * ((i * 7 + k * 3) % 13):.2f}\n")
PY
stats() { # median and quartiles of the cycle totals (ms) of the log in $1, skipping warm-up
  python3 - "$1" <<'PY'
import json, statistics, sys
t = [json.loads(l)["durations_ms"] for l in open(sys.argv[1]) if '"event":"cycle"' in l]
t = [x for x in t[3:]]  # the first cycles hold fewer frames
tot = sorted(x["total"] for x in t)
q = statistics.quantiles(tot, n=4)
pipe = statistics.median(x["pipeline"] for x in t); out = statistics.median(x["outputs"] for x in t)
pub = statistics.median(x["publish"] for x in t)
print(f"{len(tot)} cycles: median {statistics.median(tot):.0f} ms (quartiles {q[0]:.0f}-{q[2]:.0f}); "
      f"pipeline {pipe:.0f}, outputs {out:.0f}, publish {pub:.0f} ms")
PY
}
cpu() { # cpu LOG CMD...: run CMD with stdout into LOG; print its user+sys seconds
  python3 -c 'import resource, subprocess, sys
subprocess.run(sys.argv[2:], check=True, stdout=open(sys.argv[1], "w"))
r = resource.getrusage(resource.RUSAGE_CHILDREN); print(f"{r.ru_utime + r.ru_stime:.2f}")' "$@"
}
if [ "${SQ25_SOAK_ONLY:-0}" != 1 ]; then
echo "== sq25 serve per-cycle time, 100 m grid ($grid), 3 targets, $cycles cycles"
echo "   (shared 2-core machine: wall times are noisy; CPU time is the steadier figure)"
echo "   full: every output (forecast.h5, 4 maps, CAP, JSON, CSV); lean: no forecast, no maps;"
echo "   sensors: every output, the sensor file merged each cycle"
for mode in full lean sensors; do
  extra=""; [ $mode = lean ] && extra="--no-forecast --no-maps"
  inbox=$tmp/in; [ $mode = sensors ] && inbox=$tmp/in_sensors
  rm -rf "$tmp/out"
  # shellcheck disable=SC2086
  c=$(cpu "$tmp/log.$mode" "$sq25" serve --inbox "$inbox" --outbox "$tmp/out" --grid "$grid" \
        --targets "$targets" --levels 5,10,15 --replay "$cycles" $extra)
  printf '   %-7s %s; CPU %.0f ms per cycle\n' "$mode" "$(stats "$tmp/log.$mode")" \
    "$(python3 -c "print($c * 1000 / $cycles)")"
done
echo "== baseline: one 'sq25 run' per cycle on the newest 3 frames (same grid, targets, levels)"
frames=$(ls "$tmp"/in/*.hdf)
n=0; : > "$tmp/run.times"
set -- $frames
while [ $# -ge 3 ] && [ $n -lt 10 ]; do
  s=$(date +%s%N)
  c=$(cpu /dev/null "$sq25" run --radar "$1" "$2" "$3" --grid "$grid" --targets "$targets" --levels 5,10,15 \
        --out "$tmp/ref" --quiet)
  e=$(date +%s%N)
  echo "$(( (e - s) / 1000000 )) $c" >> "$tmp/run.times"
  n=$((n + 1)); shift
done
python3 - "$tmp/run.times" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
wall = [float(a) for a, _ in rows]; cpu = [float(b) * 1000 for _, b in rows]
print(f"   {len(rows)} runs: median {statistics.median(wall):.0f} ms wall, {statistics.median(cpu):.0f} ms CPU per cycle")
PY
fi
# --replay 0 would start the service for real (no replay, no end): 0 cycles skips the soak.
if [ "$soak" -le 0 ]; then echo "== soak: skipped (SQ25_SOAK_CYCLES=$soak)"; exit 0; fi
soak_grid=${SQ25_SOAK_GRID:-$grid}
case ${SQ25_SOAK_OUTPUTS:-lean} in
  full) soak_extra="" ;;
  maps) soak_extra="--no-forecast" ;; # the maps and the cycle folders, without forecast.h5
  *) soak_extra="--no-forecast --no-maps" ;;
esac
echo "== soak: $soak cycles (replayed frames + a sensor file, grid $soak_grid,"
echo "   outputs ${SQ25_SOAK_OUTPUTS:-lean}), resident memory every 500 cycles"
echo "   (logged every 100; the change is measured after the first 100, the warm-up)"
rm -rf "$tmp/out"
s=$(date +%s)
# shellcheck disable=SC2086
"$sq25" serve --inbox "$tmp/in_sensors" --outbox "$tmp/out" --grid "$soak_grid" --targets "$targets" \
  --levels 5,10,15 --replay "$soak" $soak_extra > "$tmp/soak.log"
e=$(date +%s)
[ -n "${SQ25_SOAK_LOG:-}" ] && cp "$tmp/soak.log" "$SQ25_SOAK_LOG"
m=$(grep -c '"sensors_used":[1-9]' "$tmp/out/summary.json" || true)
echo "   sensor file merged in the last cycle: $([ "$m" -gt 0 ] && echo yes || echo no)" 
python3 - "$tmp/soak.log" $((e - s)) <<'PY'
import json, sys
rss = [json.loads(l) for l in open(sys.argv[1]) if '"event":"soak"' in l]
cyc = [json.loads(l) for l in open(sys.argv[1]) if '"event":"cycle"' in l]
pub = sum(c["published"] for c in cyc)
for r in rss:
    if r["cycles"] == 1 or r["cycles"] % 500 == 0 or r is rss[-1]:
        print(f"   after {r['cycles']:>6} cycles: RSS {r['rss_kb'] / 1024:.1f} MiB")
if len(rss) >= 3:
    a, b = rss[1]["rss_kb"], rss[-1]["rss_kb"]
    hi = max(r["rss_kb"] for r in rss[1:]); lo = min(r["rss_kb"] for r in rss[1:])
    print(f"   RSS change from cycle {rss[1]['cycles']} to {rss[-1]['cycles']}: {100 * (b - a) / a:+.2f} %"
          f" (range over those samples {lo / 1024:.1f}-{hi / 1024:.1f} MiB)")
print(f"   {len(cyc)} cycles, {pub} published, {sys.argv[2]} s wall; "
      f"{sum(c['sensors']['merged'] > 0 for c in cyc)} cycles merged the sensors")
dur = sorted(c["durations_ms"]["total"] for c in cyc)
if dur: print(f"   median cycle {dur[len(dur) // 2]:.0f} ms wall")
states = {}
for c in cyc: states[c["data_state"]] = states.get(c["data_state"], 0) + 1
print(f"   states: {states}")
PY
