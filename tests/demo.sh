#!/bin/sh
# make demo: the whole chain on the bundled real data (RMI Belgian radar, 4 July 2021).
# Reads the last frames before 17:45 UTC, nowcasts 60 minutes, resamples onto a 100 m street
# grid around the storm (Luxembourg-Belgium border), warns three example targets, draws maps.
set -eu
sq25=${1:-build/sq25}
out=${SQ25_DEMO_OUT:-demo-out}
frames=$(ls data/radar/rmi_20210704/2021070417[2-4]*.hdf)
echo "25square demo: $(echo "$frames" | wc -l) radar frames from data/radar/rmi_20210704 (RMI, CC: non-commercial)"
echo "levels lowered to 5/10/15 mm in 60 min so this storm (whose largest hourly totals stay near 12 mm)"
echo "shows warnings;"
echo "the defaults are the DWD heavy-rain levels 15/25/40 mm (docs/warnings.md)"
start=$(date +%s%N)
# shellcheck disable=SC2086
"$sq25" run --radar $frames \
  --grid lonlat:5.8,49.95,6.4,50.35:100 \
  --targets tests/demo/targets.csv \
  --levels 5,10,15 \
  --tz Europe/Brussels \
  --credit "Radar data: RMI (Royal Meteorological Institute of Belgium), non-commercial use" \
  --out "$out"
end=$(date +%s%N)
echo
"$sq25" info "$out/forecast.h5" | sed -n '1,4p;9,14p'
echo
echo "target warnings ($out/targets.csv):"
awk -F, '{printf "  %-4s %-28s %-6s %-9s %-12s %-10s %s\n", $1, $2, $5, $7, $8, $10, $12}' "$out/targets.csv"
echo
elapsed=$(awk -v a="$start" -v b="$end" 'BEGIN {printf "%.1f", (b - a) / 1e9}')
echo "demo finished in $elapsed s. Everything is in $out/:"
echo "  maps      $out/observation.png $out/forecast_30.png $out/forecast_60.png $out/warning.png"
echo "  warnings  $out/warnings.geojson $out/targets.geojson $out/targets.csv $out/summary.json"
echo "  forecast  $out/forecast.h5 (ODIM_H5: 12 leads of RATE mm/h, then motion u, v)"
