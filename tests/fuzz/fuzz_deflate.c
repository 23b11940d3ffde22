/* fuzz_deflate.c -- the ODIM writer's level-1 deflate encoder (lib/io_deflate.c): any bytes,
 * cut into pieces of a size the first two bytes choose, encoded piece by piece (run-length
 * or stored, the third byte's low bit), must inflate with zlib to the very same bytes as one
 * stream. Not a parser, but the writer's every output goes through it. */
#include "fuzz_common.h"

#include "io_deflate.h"

#include <zlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3 || size > (1u << 20)) return 0;
    const size_t piece = 1 + ((size_t)data[0] << 8 | data[1]) * 8;
    const bool stored = data[2] & 1;
    const uint8_t *in = data + 3;
    const size_t len = size - 3;
    const size_t cap = (len / piece + 1) * sq25__deflate_bound(piece);
    unsigned char *out = malloc(cap), *back = malloc(len + 1);
    if (!out || !back) abort();
    size_t at = 0, used = 0;
    do {
        const size_t n = len - at < piece ? len - at : piece;
        const bool final = at + n == len;
        const size_t w = stored ? sq25__deflate_stored(in + at, n, final, out + used, cap - used)
                                : sq25__deflate_rle(in + at, n, final, out + used, cap - used);
        if (w == 0 || w > sq25__deflate_bound(n)) abort();
        used += w;
        at += n;
    } while (at < len);
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, -15) != Z_OK) abort();
    z.next_in = out;
    z.avail_in = (uInt)used;
    z.next_out = back;
    z.avail_out = (uInt)(len + 1);
    if (inflate(&z, Z_FINISH) != Z_STREAM_END || z.avail_in != 0 || z.total_out != len ||
        (len && memcmp(back, in, len) != 0))
        abort();
    inflateEnd(&z);
    free(out);
    free(back);
    return 0;
}
