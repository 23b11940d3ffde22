/* fuzz_dwd.c -- libFuzzer harness for the DWD readers: the packing layers (gzip, bzip2, tar;
 * lib/io_archive.c), the RADOLAN/RADVOR header and pixel decoder (lib/io_radolan.c) and the
 * ESRI ASCII grid parser (lib/io_esri.c), on bytes in memory. Seeds: tests/fuzz/corpus/dwd/
 * (small RADOLAN and ESRI products, some packed). */
#include "io.h"
#include "io_archive.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sq25_ctx *ctx = sq25_ctx_create();
    if (!ctx) return 0;
    sq25__unpacked *u = NULL;
    if (sq25__unpack_memory(ctx, "fuzz", data, size, &u) == SQ25_OK) {
        for (int i = 0; i < u->count && i < 8; i++) {
            sq25_field *f = NULL;
            if (sq25__dwd_read_member(ctx, u->members[i].name, u->data + u->members[i].offset,
                                      u->members[i].size, u->layers, &f) == SQ25_OK)
                sq25_field_destroy(f);
        }
        sq25__unpacked_free(ctx, u);
    }
    sq25_ctx_destroy(ctx);
    return 0;
}
