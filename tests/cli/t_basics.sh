# sq25 --version, help, and usage errors.
set -eu
sq25=$1
v=$(sed -n 's/^#define SQ25_VERSION_\(MAJOR\|MINOR\|PATCH\) \([0-9]*\).*/\2/p' include/sq25.h | paste -sd.)
[ "$($sq25 --version)" = "sq25 $v" ] || { echo "--version: expected sq25 $v"; exit 1; }
$sq25 help | grep -q '^  info ' || { echo "help lacks info"; exit 1; }
$sq25 help info | grep -q 'usage: sq25 info' || { echo "help info lacks usage"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
set +e
$sq25 frobnicate 2>"$tmp/err"; rc=$?
set -e
[ $rc -eq 2 ] || { echo "unknown command: exit $rc, expected 2"; exit 1; }
[ "$(wc -l < "$tmp/err")" -eq 1 ] || { echo "unknown command: not one line"; exit 1; }
