# Tests and documented examples write only under their own temporary folders (mktemp -d,
# mkdtemp, tempfile.mkdtemp), never at a fixed path in /tmp that a second user on the same
# machine would collide with. The only /tmp allowed is the fallback base of mkdtemp when
# TMPDIR is unset (tests/unit/support.c, tests/bare-debian.sh).
set -eu
hits=$(grep -rn '/tmp/' tests docs README.md python bench 2>/dev/null |
       grep -v '^tests/cli/t_no_fixed_tmp.sh:' || true)
[ -z "$hits" ] || { echo "fixed /tmp paths:"; echo "$hits"; exit 1; }
