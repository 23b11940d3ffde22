/* fuzz_ensemble_netcdf.c -- the ensemble netCDF-4 reader (sq25_ensemble_read_netcdf). The
 * input is written to a file in a private temporary folder (the reader takes a path). Seed: a
 * 16x16, 2-member, 2-lead file written by sq25_ensemble_write_netcdf. Build:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude tests/fuzz/fuzz_ensemble_netcdf.c \
 *     <libsq25 built with -fsanitize=address,undefined> <its pkg-config libs> */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_file("ensemble.nc", data, size);
    if (!path) return 0;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_ensemble *e = NULL;
    if (sq25_ensemble_read_netcdf(ctx, path, &e) == SQ25_OK) {
        /* touch every grid the reader filled */
        for (int k = 0; k < sq25_ensemble_lead_count(e); k++) {
            double max = 0;
            sq25_field_stats(sq25_ensemble_mean(e, k), 0.1, &max, NULL, NULL, NULL);
        }
    }
    sq25_ensemble_destroy(e);
    sq25_ctx_destroy(ctx);
    return 0;
}
