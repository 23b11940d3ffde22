# sq25 serve end to end: the bundled RMI frames (2021-07-04, 5-minute steps) are dropped into
# the inbox one by one; after each, the outbox must equal what `sq25 run` gives on the same
# frames (warnings, targets, summary, forecast), and a dropped frame, a corrupt file, a late and
# a duplicate frame, an outage (in the data and on the wall clock), SIGTERM, a restart, SIGHUP
# and a failed write must give the states docs/serve.md documents. The expected states come
# from the frame times chosen here (which frames are dropped), not from the code under test.
set -eu
sq25=$1
d=data/radar/rmi_20210704
[ -d "$d" ] || { echo "skip: $d not present"; exit 0; }
. "$(dirname "$0")/serve_common.sh"
grid=lonlat:6.0,50.1,6.25,50.2:100
targets=tests/demo/targets.csv
cat > "$tmp/serve.conf" <<EOF
# sq25 serve test configuration
grid = $grid
targets = $targets
levels = 2,5,10
outage-min = 12
hysteresis = 2
EOF
frame() { echo "$d/20210704${1}00.rad.best.comp.rate.qpe.hdf"; }
# drop a frame as a writer should: a hidden temporary name, then a rename
drop() { cp "$(frame "$1")" "$in/.tmp.$1" && mv "$in/.tmp.$1" "$in/$(basename "$(frame "$1")")"; }
start() {
  "$sq25" serve --config "$tmp/serve.conf" --inbox "$in" --outbox "$out" --poll-ms 100 \
    --settle-ms 0 "$@" >> "$tmp/log" 2>> "$tmp/err" &
  pid=$!
}
state() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["service"]["data_state"])' "$out/latest.json"; }
expect_state() { s=$(state); [ "$s" = "$1" ] || { echo "cycle $(cycle_no): state $s, expected $1"; cat "$out/latest.json"; exit 1; }; }
# compare the outbox with `sq25 run` on the given frames (run from the inbox so that both name
# the inputs by file name)
same_as_run() {
  nframes=$1; shift
  names=""
  for t in "$@"; do names="$names $(basename "$(frame "$t")")"; done
  rm -rf "$tmp/ref"
  # shellcheck disable=SC2086
  (cd "$in" && "$sq25" run --radar $names --grid "$grid" --targets "$OLDPWD/$targets" \
     --levels 2,5,10 --frames "$nframes" --out "$tmp/ref" --quiet > /dev/null)
  same_outputs_as_run "$tmp/ref"
  same_forecast_and_maps_as_run "$tmp/ref"
}
# every file latest.json names exists and parses; no staging folder is left
whole() {
  python3 - "$out" <<'PY'
import csv, json, os, sys
import xml.etree.ElementTree as ET
out = sys.argv[1]
latest = json.load(open(f"{out}/latest.json"))
for name in latest["files"]:
    p = f"{out}/{name}"
    assert os.path.isfile(p), f"latest.json names {name}, which is missing"
    if name.endswith((".json", ".geojson")): json.load(open(p))
    elif name.endswith(".xml"): ET.parse(p)
    elif name.endswith(".csv"): list(csv.reader(open(p)))
assert not os.path.exists(f"{out}/.staging"), "staging folder left behind"
PY
  for x in "$out"/*.cap.xml; do [ -e "$x" ] && xmllint --noout "$x"; done
  return 0
}
# CAP element order against the CAP 1.2 schema's sequences (OASIS CAP 1.2, section 3.4,
# written out here from the standard), plus the rules of 3.2: UTC as -00:00, references for
# Update and Cancel, a closed polygon ring
check_cap() {
  python3 - "$@" <<'PY'
import sys
import xml.etree.ElementTree as ET
NS = "{urn:oasis:names:tc:emergency:cap:1.2}"
ALERT = ["identifier", "sender", "sent", "status", "msgType", "source", "scope", "restriction",
         "addresses", "code", "note", "references", "incidents", "info"]
INFO = ["language", "category", "event", "responseType", "urgency", "severity", "certainty",
        "audience", "eventCode", "effective", "onset", "expires", "senderName", "headline",
        "description", "instruction", "web", "contact", "parameter", "resource", "area"]
AREA = ["areaDesc", "polygon", "circle", "geocode", "altitude", "ceiling"]
REQUIRED_ALERT = ["identifier", "sender", "sent", "status", "msgType", "scope"]
REQUIRED_INFO = ["category", "event", "urgency", "severity", "certainty"]
def in_order(el, order, what):
    names = [c.tag.replace(NS, "") for c in el]
    idx = [order.index(n) for n in names]  # ValueError: an element the schema does not allow
    assert idx == sorted(idx), f"{what}: elements out of schema order: {names}"
    return names
for path in sys.argv[1:]:
    root = ET.parse(path).getroot()
    assert root.tag == NS + "alert", path
    names = in_order(root, ALERT, path)
    for r in REQUIRED_ALERT: assert names.count(r) == 1, (path, r)
    for t in ("sent",):
        assert root.find(NS + t).text.endswith("-00:00"), path
    mt = root.find(NS + "msgType").text
    assert mt in ("Alert", "Update", "Cancel"), mt
    assert (root.find(NS + "references") is not None) == (mt != "Alert"), path
    infos = root.findall(NS + "info")
    assert [i.find(NS + "language").text for i in infos] == ["de-DE", "en-GB"], path
    for info in infos:
        n = in_order(info, INFO, path)
        for r in REQUIRED_INFO: assert r in n, (path, r)
        assert info.find(NS + "category").text == "Met"
        for area in info.findall(NS + "area"):
            in_order(area, AREA, path)
            for poly in area.findall(NS + "polygon"):
                pts = poly.text.split()
                assert len(pts) >= 4 and pts[0] == pts[-1], "polygon ring not closed"
            for c in area.findall(NS + "circle"):
                latlon, radius = c.text.split()
                lat, lon = map(float, latlon.split(","))
                assert 49 < lat < 51 and 5 < lon < 7, "circle not in lat,lon order"
PY
}
cap_field() { python3 -c 'import sys, xml.etree.ElementTree as ET
r = ET.parse(sys.argv[1]).getroot(); NS = "{urn:oasis:names:tc:emergency:cap:1.2}"
if sys.argv[2] == "param":
    print([p.find(NS+"value").text for p in r.find(NS+"info").findall(NS+"parameter") if p.find(NS+"valueName").text == sys.argv[3]][0])
else:
    e = r.find(NS + sys.argv[2]); print(e.text if e is not None else "")' "$@"; }
target_field() { python3 -c 'import json,sys
t = [t for t in json.load(open(sys.argv[1]))["targets"] if t["id"] == sys.argv[2]][0]; print(t[sys.argv[3]])' "$out/latest.json" "$@"; }

start
# 1: one frame: no forecast yet, every target explicitly without data
drop 1720; wait_cycle 1; expect_state no_data
python3 - "$out" <<'PY'
import csv, json, sys
out = sys.argv[1]
rows = list(csv.DictReader(open(f"{out}/targets.csv")))
assert len(rows) == 3 and all(r["data_state"] == r["state"] == "no_data" and r["level"] == "-1" for r in rows), rows
assert json.load(open(f"{out}/warnings.geojson"))["state"] == "no_data"
assert all(t["level"] == -1 and t["state"] == "no_data" for t in json.load(open(f"{out}/summary.json"))["targets"])
PY
# 2: two frames: still no forecast (the motion uses three, as `sq25 run`)
drop 1725; wait_cycle 2; expect_state no_data
# 3-5: full cycles equal `sq25 run` on the same frames
drop 1730; wait_cycle 3; expect_state ok; same_as_run 3 1720 1725 1730
drop 1735; wait_cycle 4; expect_state ok; same_as_run 3 1725 1730 1735
drop 1740; wait_cycle 5; expect_state ok; same_as_run 3 1730 1735 1740; whole
# low levels (2, 5, 10 mm in 60 min) so that this storm certainly warns: take a target whose
# warning is active at 17:40 and was not just held (so the hysteresis of 2 keeps it at 17:50)
w=$(python3 -c 'import json,sys
ts = [t for t in json.load(open(sys.argv[1]))["targets"] if t["warning_active"] and t["action"] != "hold"]
print(ts[0]["id"] if ts else "")' "$out/latest.json")
[ -n "$w" ] || { echo "no warning active at 17:40 with levels 2,5,10"; cat "$out/latest.json"; exit 1; }
capw=$out/cap_$w.cap.xml
[ -f "$capw" ] || { echo "no CAP file for the warned target $w"; exit 1; }
check_cap "$out"/*.cap.xml
# the Alert's identifier: this message's, or the first reference of an Update
if [ "$(cap_field "$capw" msgType)" = Alert ]; then alert_id=$(cap_field "$capw" identifier)
else alert_id=$(cap_field "$capw" references | cut -d' ' -f1 | cut -d, -f2); fi
[ -n "$alert_id" ] || { echo "no Alert identifier for $w"; exit 1; }
wid=$(target_field "$w" warning_id)
# 6: 17:45 is missing; the pipeline bridges the gap (motion from the frames at their real
# spacing), the cycle is degraded and still warns, as `sq25 run` on the same frames
drop 1750; wait_cycle 6; expect_state degraded; same_as_run 3 1720 1725 1730 1735 1740 1750
grep -q '"reason":"gap in the frames' "$out/latest.json" || { echo "degraded without the reason"; exit 1; }
python3 - "$out" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(f"{sys.argv[1]}/targets.csv")))
assert all(r["data_state"] == "degraded" for r in rows), [r["data_state"] for r in rows]
PY
# the warning keeps its identity: an Update referencing the Alert
[ "$(cap_field "$capw" msgType)" = Update ] || { echo "$w: $(cap_field "$capw" msgType) at 17:50, expected Update"; exit 1; }
cap_field "$capw" references | grep -q ",$alert_id," || { echo "Update does not reference $alert_id"; exit 1; }
[ "$(target_field "$w" warning_id)" = "$wid" ] || { echo "warning id changed"; exit 1; }
check_cap "$out"/*.cap.xml
sev=$(python3 -c 'import sys, xml.etree.ElementTree as ET
NS = "{urn:oasis:names:tc:emergency:cap:1.2}"
print(ET.parse(sys.argv[1]).getroot().find(NS+"info/"+NS+"severity").text)' "$capw")
# a corrupt file, the late 17:45 and a duplicate of 17:50: logged, no cycle, outputs unchanged
sum_before=$(cat "$out"/*.json "$out"/*.csv | md5sum)
head -c 3000 "$(frame 1755)" > "$in/.c" && mv "$in/.c" "$in/broken.hdf"
drop 1745
cp "$(frame 1750)" "$in/.d" && mv "$in/.d" "$in/copy-of-1750.hdf"
wait_log '"event":"refused","file":"broken.hdf"'
wait_log '"event":"late","file":"20210704174500'
wait_log '"event":"duplicate","file":"copy-of-1750.hdf"'
sleep 0.3
[ "$(cycle_no)" -eq 6 ] || { echo "a bad file made a cycle"; exit 1; }
[ "$(cat "$out"/*.json "$out"/*.csv | md5sum)" = "$sum_before" ] || { echo "a bad file changed the outbox"; exit 1; }
# 7: an outage in the data: 17:55 to 18:10 missing (20 min > outage-min 12): every target
# no-data in every output; the warning is not cancelled but marked without data
drop 1810; wait_cycle 7; expect_state no_data
grep -q '"reason":"radar outage' "$out/latest.json" || { echo "outage without the reason"; exit 1; }
python3 - "$out" <<'PY'
import csv, json, sys
out = sys.argv[1]
assert all(r["data_state"] == "no_data" for r in csv.DictReader(open(f"{out}/targets.csv")))
for name in ("warnings.geojson", "targets.geojson", "summary.json"):
    assert json.load(open(f"{out}/{name}"))["state"] == "no_data", name
    assert json.load(open(f"{out}/{name}"))["service"]["data_state"] == "no_data", name
latest = json.load(open(f"{out}/latest.json"))
assert all(t["data_state"] == "no_data" and t["level"] == -1 for t in latest["targets"])
assert "forecast.h5" not in latest["files"] and not __import__("os").path.exists(f"{out}/forecast.h5")
PY
# the warning was active at 17:50 (its Update above), so it gets a no-data Update now
[ -f "$capw" ] || { echo "the outage dropped the warning of $w"; exit 1; }
{
  [ "$(cap_field "$capw" param data_state)" = no_data ]
  python3 -c 'import sys, xml.etree.ElementTree as ET
r = ET.parse(sys.argv[1]).getroot(); NS = "{urn:oasis:names:tc:emergency:cap:1.2}"
assert r.find(NS+"msgType").text == "Update" and r.find(NS+"info/"+NS+"certainty").text == "Unknown"
# the level is kept without data, and so is its severity
assert r.find(NS+"info/"+NS+"severity").text == sys.argv[2], sys.argv[2]' "$capw" "$sev"
}
check_cap "$out"/*.cap.xml; whole
# 8: SIGTERM while a cycle runs: the cycle finishes, the outbox is whole, exit status 0
drop 1815; sleep 0.2; kill -TERM "$pid"; wait "$pid"; rc=$?; pid=""
[ $rc -eq 0 ] || { echo "serve exited $rc on SIGTERM"; exit 1; }
grep -q '"event":"stop","detail":"SIGTERM"' "$tmp/log" || { echo "no stop line"; exit 1; }
whole
n_before=$(cycle_no)
# 9: restart: the state file carries the cycle count and the warning identities; the held
# frames are refilled from the inbox, so 18:20 runs on 18:10, 18:15, 18:20 (18:15 is
# processed first if SIGTERM came before its cycle)
start
drop 1820; wait_cycle $((n_before + 1 + (n_before == 7)))
expect_state ok; same_as_run 3 1810 1815 1820; whole
# 10: SIGHUP re-reads the config file
printf 'hysteresis = 3\nretry-s = 1\n' >> "$tmp/serve.conf"
kill -HUP "$pid"; wait_log '"event":"reload"'
kill -TERM "$pid"; wait "$pid"; pid=""
# 11: a failed write (file-size limit: EFBIG, as a full disk gives ENOSPC) is reported, the
# cycle is not published and the previous outputs stay whole. The limit (15 KB) stops
# forecast.h5 (about 350 KB here), the first file the cycle writes that is that large.
sum_before=$(cat "$out"/*.json "$out"/*.csv | md5sum); n_before=$(cycle_no)
(ulimit -f 30; exec "$sq25" serve --config "$tmp/serve.conf" --inbox "$in" --outbox "$out" \
   --poll-ms 100 --settle-ms 0 --retry-s 60 >> "$tmp/log" 2>> "$tmp/err") &
pid=$!
drop 1825; wait_log '"published":false'
grep -q '"published":false,"error":"writing the outputs failed: File too large.*forecast.h5' "$tmp/log" ||
  { echo "the failed write does not name forecast.h5"; grep '"published":false' "$tmp/log"; exit 1; }
kill -TERM "$pid"; wait "$pid"; pid=""
[ "$(cycle_no)" -eq "$n_before" ] && [ "$(cat "$out"/*.json "$out"/*.csv | md5sum)" = "$sum_before" ] ||
  { echo "a failed cycle changed the outbox"; exit 1; }
whole
# ... and retried in the same process (retry-s 1 from the reloaded config) once the cause is
# gone: here a file where the staging folder must go blocks every publication
: > "$out/.staging"
start
i=0; while [ "$(grep -c '"published":false' "$tmp/log")" -lt 2 ]; do
  i=$((i + 1)); [ $i -le 300 ] || { echo "no second failed cycle"; exit 1; }; sleep 0.1; done
[ "$(cycle_no)" -eq "$n_before" ] || { echo "published through a blocked staging folder"; exit 1; }
rm -f "$out/.staging"
wait_cycle $((n_before + 1))
same_as_run 3 1810 1815 1820 1825; whole
kill -TERM "$pid"; wait "$pid"; pid=""
# 12: an outage on the wall clock: no frame for more than outage-min: every target no-data.
# The same inbox holds a frame over the size limit and more files than max-files (a flood).
rm -rf "$tmp/in2"; mkdir "$tmp/in2"
cp "$(frame 1800)" "$tmp/in2/"
for j in 1 2 3 4 5; do echo junk > "$tmp/in2/junk$j.txt"; touch -d '-1 hour' "$tmp/in2/junk$j.txt"; done
"$sq25" serve --inbox "$tmp/in2" --outbox "$tmp/out2" --targets "$targets" --outage-min 0.02 \
  --poll-ms 100 --watch poll --max-files 4 --max-file-mb 0.01 --settle-ms 0 > "$tmp/log2" &
pid=$!
i=0; while [ ! -f "$tmp/out2/latest.json" ]; do i=$((i + 1)); [ $i -le 100 ] || { echo "no wall-clock outage"; exit 1; }; sleep 0.1; done
sleep 0.5
kill -TERM "$pid"; wait "$pid" || true; pid=""
grep -q 'no new frame for more than' "$tmp/out2/latest.json" || { echo "wall-clock outage without reason"; exit 1; }
# 6 files, 4 remembered: a flood; the newest (the frame) still gets in, in place of refused junk
grep -q '"event":"flood".*"detail":"2 more files than max-files (4)' "$tmp/log2" || { echo "no flood line"; cat "$tmp/log2"; exit 1; }
grep -q '"event":"refused","file":"20210704180000.*over the limit of 0.01 MB' "$tmp/log2" ||
  { echo "no size refusal"; cat "$tmp/log2"; exit 1; }
[ "$(grep -c '"event":"refused","file":"junk' "$tmp/log2")" -ge 3 ] || { echo "junk not refused"; cat "$tmp/log2"; exit 1; }
python3 -c 'import json,sys; l = json.load(open(sys.argv[1])); assert all(t["data_state"] == "no_data" for t in l["targets"]) and len(l["targets"]) == 3' "$tmp/out2/latest.json"
# usage and configuration errors
set +e
"$sq25" serve --outbox "$tmp/x" 2>/dev/null; rc1=$?
"$sq25" serve --inbox "$in" --outbox "$tmp/x" --hysteresis 0 2>/dev/null; rc2=$?
printf 'levels 5\n' > "$tmp/bad.conf"
"$sq25" serve --config "$tmp/bad.conf" --inbox "$in" --outbox "$tmp/x" 2> "$tmp/bad.err"; rc3=$?
set -e
[ $rc1 -eq 2 ] || { echo "no --inbox: exit $rc1"; exit 1; }
[ $rc2 -eq 2 ] || { echo "--hysteresis 0: exit $rc2"; exit 1; }
[ $rc3 -eq 1 ] && grep -q "bad.conf:1" "$tmp/bad.err" || { echo "bad config: exit $rc3"; cat "$tmp/bad.err"; exit 1; }
exit 0
