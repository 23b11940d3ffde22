#!/bin/sh
# bare-debian.sh -- the set-up as a newcomer meets it: a minimal Debian 12 (debootstrap
# --variant=minbase) with only git and make added, a clone of this repository, then
# `make demo` and `make check` as root inside the chroot, each timed. CI does not run it (it
# downloads a Debian base system and about 400 MB of packages, and takes 10 to 30 minutes);
# anyone with root, debootstrap and a network can.
#
#   sudo tests/bare-debian.sh [MIRROR]        MIRROR defaults to http://deb.debian.org/debian
#
# Environment: SQ25_BARE_ROOT=DIR builds the chroot there (default: a new folder under
# ${TMPDIR:-/tmp}); SQ25_BARE_KEEP=1 keeps it afterwards; SQ25_BARE_TARGETS="demo check" (the
# default) picks the make targets, in order. The clone is of the committed HEAD
# (a git bundle), so uncommitted changes are not tested.
#
# Run on 2026-12-01 (branch trust, on a 2-core machine shared with other jobs, load ~12):
# debootstrap 400 s; make demo 166 s (apt-get of every package incl. build-essential, build,
# demo); then make check 184 s, all layers passed (the C++ header check with the g++ that
# build-essential brought).
set -eu
mirror=${1:-http://deb.debian.org/debian}
repo=$(cd "$(dirname "$0")/.." && pwd)
[ "$(id -u)" = 0 ] || { echo "bare-debian.sh: needs root (debootstrap, chroot)"; exit 2; }
command -v debootstrap >/dev/null || { echo "bare-debian.sh: apt-get install debootstrap"; exit 2; }
root=${SQ25_BARE_ROOT:-$(mktemp -d "${TMPDIR:-/tmp}/sq25-bare.XXXXXX")}
log=$root.log
cleanup() {
  for m in dev/pts dev proc sys; do umount "$root/$m" 2>/dev/null || true; done
  [ "${SQ25_BARE_KEEP:-0}" = 1 ] || rm -rf "$root"
}
trap cleanup EXIT
seconds() { date +%s; }

t0=$(seconds)
echo "bare-debian: debootstrap --variant=minbase bookworm $root ($mirror); log in $log"
debootstrap --variant=minbase bookworm "$root" "$mirror" > "$log" 2>&1 ||
  { echo "debootstrap failed, see $log"; tail -5 "$log"; exit 1; }
t1=$(seconds)
mount -t proc proc "$root/proc"
mount --bind /sys "$root/sys"
mount --bind /dev "$root/dev"
mount --bind /dev/pts "$root/dev/pts"
cp /etc/resolv.conf "$root/etc/resolv.conf"
in_root() { chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"; }

echo "bare-debian: base system in $((t1 - t0)) s; adding git and make only"
in_root apt-get update -qq >> "$log" 2>&1
in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  git make ca-certificates >> "$log" 2>&1
# what a newcomer lacks: no compiler, no pkg-config
for tool in cc gcc g++ pkg-config; do
  in_root sh -c "command -v $tool" >/dev/null 2>&1 && echo "bare-debian: note: $tool is present"
done

git -C "$repo" bundle create "$root/root/sq25.bundle" HEAD >> "$log" 2>&1
in_root git clone -q /root/sq25.bundle /root/25square >> "$log" 2>&1

run_timed() {
  name=$1
  s=$(seconds)
  if in_root sh -c "cd /root/25square && make $name" > "$root.$name.log" 2>&1; then
    echo "bare-debian: make $name passed in $(( $(seconds) - s )) s (log $root.$name.log)"
  else
    echo "bare-debian: make $name FAILED after $(( $(seconds) - s )) s; last lines of $root.$name.log:"
    tail -20 "$root.$name.log"
    return 1
  fi
}
status=0
for target in ${SQ25_BARE_TARGETS:-demo check}; do run_timed "$target" || status=1; done
echo "bare-debian: total $(( $(seconds) - t0 )) s"
exit $status
