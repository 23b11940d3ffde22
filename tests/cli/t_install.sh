# make install into a staging DESTDIR, then build a tiny consumer through pkg-config sq25
# against the installed header and shared library, and run it.
set -eu
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
make --no-print-directory -s install DESTDIR="$stage" PREFIX=/opt/sq25 >/dev/null
lib="$stage/opt/sq25/lib"
[ -L "$lib/libsq25.so" ] && [ -L "$lib/libsq25.so.1" ] || { echo "install: symlinks missing"; exit 1; }
readelf -d "$lib/libsq25.so.1" | grep -q 'SONAME.*libsq25.so.1' || { echo "soname is not libsq25.so.1"; exit 1; }
[ -x "$stage/opt/sq25/bin/sq25" ] || { echo "install: CLI missing"; exit 1; }
cat > "$stage/consumer.c" <<'C'
#include <sq25.h>
#include <stdio.h>
int main(void) {
    sq25_ctx *ctx = sq25_ctx_create();
    if (!ctx) return 1;
    printf("%s %s\n", sq25_version_string(), sq25_strerror(SQ25_ERR_NOT_HDF5));
    sq25_ctx_destroy(ctx);
    return 0;
}
C
export PKG_CONFIG_SYSROOT_DIR="$stage" PKG_CONFIG_PATH="$lib/pkgconfig"
cc -o "$stage/consumer" "$stage/consumer.c" $(pkg-config --cflags --libs sq25)
out=$(LD_LIBRARY_PATH="$lib" "$stage/consumer")
[ "$out" = "$(./build/sq25 --version | cut -d' ' -f2) not an HDF5 file" ] || { echo "consumer printed: $out"; exit 1; }
