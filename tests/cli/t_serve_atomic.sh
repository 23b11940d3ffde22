# sq25 serve publishes one cycle in one step: a reader never sees files of two cycles. The
# service is killed with SIGKILL at random moments while frames arrive (12 rounds: two frames
# dropped, a random wait of 0.1-1.5 s, kill -9, restart), and a reader runs beside it the whole
# time. After every kill, and at every read of the reader, the set that `current` (or
# latest.json's "folder") names must be one cycle, whole: every file latest.json lists is there
# and parses (JSON, CSV, CAP XML; PNG and HDF5 from their signatures and, for PNG, the IEND
# chunk that ends the file), and every JSON output carries the cycle number of latest.json. The
# top-level names are links through `current`; old cycle folders are pruned to keep-cycles.
set -eu
sq25=$1
d=data/radar/rmi_20210704
[ -d "$d" ] || { echo "skip: $d not present"; exit 0; }
kill_signal=KILL
. "$(dirname "$0")/serve_common.sh"
mkdir -p "$out"
cat > "$tmp/check.py" <<'PY'
import csv, json, os, sys, time
import xml.etree.ElementTree as ET

def whole(out, folder):
    """The cycle in out/folder, checked; returns its cycle number."""
    base = os.path.join(out, folder)
    latest = json.load(open(os.path.join(base, "latest.json")))
    cycle = latest["service"]["cycle"]
    assert latest["folder"] == folder, (latest["folder"], folder)
    for name in latest["files"]:
        p = os.path.join(base, name)
        if name.endswith((".json", ".geojson")):
            doc = json.load(open(p))
            assert doc["service"]["cycle"] == cycle, f"{name} of cycle {doc['service']['cycle']} beside latest.json of {cycle}"
        elif name.endswith(".csv"):
            rows = list(csv.reader(open(p)))
            assert rows and rows[0][-1] == "data_state", name
        elif name.endswith(".xml"):
            ET.parse(p)
        elif name.endswith(".png"):
            b = open(p, "rb").read()
            assert b[:8] == b"\x89PNG\r\n\x1a\n" and b[-8:-4] == b"IEND", f"{name} not whole"
        elif name.endswith(".h5"):
            assert open(p, "rb").read(8) == b"\x89HDF\r\n\x1a\n", f"{name} not HDF5"
    return cycle

def at_rest(out, keep):
    folder = os.readlink(os.path.join(out, "current"))
    cycle = whole(out, folder)
    top = json.load(open(os.path.join(out, "latest.json")))
    assert top["service"]["cycle"] == cycle, "top-level latest.json is not current's"
    for name in top["files"]:
        assert os.readlink(os.path.join(out, name)) == "current/" + name, name
    cycles = [c for c in os.listdir(os.path.join(out, "cycles")) if not c.startswith(".")]
    # keep-cycles, plus the folders renamed into place by cycles a kill stopped before their
    # switch (the next switch prunes them; two such kills in a row are already rare)
    assert len(cycles) <= keep + 2, cycles
    return cycle

def reader(out, until_file, report):
    """Read the current cycle again and again until until_file exists."""
    reads = pruned = 0
    while not os.path.exists(until_file):
        try:
            folder = os.readlink(os.path.join(out, "current"))
        except FileNotFoundError:
            time.sleep(0.01); continue  # before the first cycle
        try:
            whole(out, folder); reads += 1
        except FileNotFoundError as e:
            # a file missing from a folder that is there under its cycle name, or a `current`
            # that names no folder, is a broken cycle; a folder gone (pruned to keep-cycles, it
            # is hidden first, then removed) while this reader was slow is read again
            if os.path.isdir(os.path.join(out, folder)) or os.readlink(os.path.join(out, "current")) == folder:
                open(report, "w").write(f"FAIL {folder}: {e!r}\n"); sys.exit(1)
            pruned += 1
        except Exception as e:
            open(report, "w").write(f"FAIL {folder}: {e!r}\n"); sys.exit(1)
        time.sleep(0.002)
    open(report, "w").write(f"{reads} {pruned}\n")

if sys.argv[1] == "rest": print(at_rest(sys.argv[2], int(sys.argv[3])))
else: reader(sys.argv[2], sys.argv[3], sys.argv[4])
PY
python3 "$tmp/check.py" read "$out" "$tmp/stop" "$tmp/reads" &
rpid=$!
ls "$d"/*.hdf > "$tmp/frames"
keep=3
last=0
round=0
while [ $round -lt 12 ]; do
  round=$((round + 1))
  "$sq25" serve --inbox "$in" --outbox "$out" --grid lonlat:6.0,50.1,6.25,50.2:250 \
    --targets tests/demo/targets.csv --levels 2,5,10 --keep-cycles $keep --poll-ms 50 \
    --settle-ms 0 --quiet 2>> "$tmp/err" &
  pid=$!
  for f in $(sed -n "$((2 * round - 1)),$((2 * round))p" "$tmp/frames"); do
    cp "$f" "$in/.tmp" && mv "$in/.tmp" "$in/$(basename "$f")"
  done
  sleep "$(python3 -c 'import random; print(round(random.uniform(0.1, 1.5), 2))')"
  kill -9 "$pid" 2>/dev/null || true
  rc=0; wait "$pid" 2>/dev/null || rc=$?; pid=""
  # 137: killed here; anything else is the service failing by itself (e.g. refusing to start
  # because a process it left behind holds the outbox lock)
  [ $rc -eq 137 ] || [ $rc -eq 0 ] || { echo "round $round: serve exited $rc"; cat "$tmp/err"; exit 1; }
  [ -L "$out/current" ] || continue # killed before its first cycle
  c=$(python3 "$tmp/check.py" rest "$out" $keep) || { echo "round $round: outbox not one whole cycle"; exit 1; }
  [ "$c" -ge "$last" ] || { echo "round $round: cycle went back from $last to $c"; exit 1; }
  last=$c
done
# one more start without a kill: it takes every frame left (the last is 18:25) and ends
# consistent, with no staging folder left
"$sq25" serve --inbox "$in" --outbox "$out" --grid lonlat:6.0,50.1,6.25,50.2:250 \
  --targets tests/demo/targets.csv --levels 2,5,10 --keep-cycles $keep --poll-ms 50 \
  --settle-ms 0 --quiet 2>> "$tmp/err" &
pid=$!
i=0
until grep -q '"issue_time":"2021-07-04T18:25:00Z"' "$out/latest.json" 2>/dev/null; do
  i=$((i + 1)); [ $i -le 600 ] || { echo "the 18:25 cycle never came"; cat "$tmp/err"; exit 1; }
  sleep 0.1
done
kill -TERM "$pid"; wait "$pid" || true; pid=""
c=$(python3 "$tmp/check.py" rest "$out" $keep)
[ "$c" -ge "$last" ] || { echo "cycle went back from $last to $c"; exit 1; }
[ ! -e "$out/.staging" ] || { echo "staging folder left after a clean stop"; exit 1; }
: > "$tmp/stop"; wait "$rpid" || { echo "reader: $(cat "$tmp/reads")"; exit 1; }; rpid=""
read -r reads pruned < "$tmp/reads"
[ "$reads" -ge 5 ] || { echo "the reader read only $reads whole cycles"; exit 1; }
echo "reader: $reads whole cycles read, $pruned folders pruned under it; last cycle $c"
exit 0
