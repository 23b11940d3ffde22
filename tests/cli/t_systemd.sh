# docs/sq25-serve.service passes `systemd-analyze verify` (with ExecStart pointing at the
# built sq25, since verify checks that the command exists), without any complaint about it,
# and stops and reloads the service the way sq25 serve expects (SIGTERM, SIGHUP).
set -eu
sq25=$1
unit=docs/sq25-serve.service
command -v systemd-analyze >/dev/null 2>&1 || { echo "skip: systemd-analyze not available (package systemd)"; exit 0; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed "s|/usr/local/bin/sq25|$sq25|" "$unit" > "$tmp/sq25-serve.service"
set +e
out=$(systemd-analyze verify "$tmp/sq25-serve.service" 2>&1); rc=$?
set -e
if [ $rc -ne 0 ] || echo "$out" | grep -q "sq25-serve.service"; then
  echo "systemd-analyze verify $unit: exit $rc"; echo "$out"; exit 1
fi
grep -q '^ExecStart=/usr/local/bin/sq25 serve --config ' "$unit"
grep -q '^ExecReload=/bin/kill -HUP \$MAINPID' "$unit"
grep -q '^KillSignal=SIGTERM' "$unit"
exit 0
