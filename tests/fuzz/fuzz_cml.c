/* fuzz_cml.c -- the OpenSense CML netCDF-4 reader (sq25_links_read_netcdf) and the processing
 * chain on whatever it accepts. Seeds in tests/fuzz/corpus/cml/: a small raw-signal file (two
 * links, two sub-links, a time gap, fill values) and a small processed-rain file (OpenMRG
 * layout), both written with ncgen -k nc4. The input is written to a file in a private
 * temporary folder, because the reader takes a path. */
#include <hdf5.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_file("links.nc", data, size);
    if (!path) return 0;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_links *l = NULL;
    if (sq25_links_read_netcdf(ctx, path, &l) == SQ25_OK) {
        int64_t t0 = sq25_links_time(l, 0);
        int step = sq25_links_step_s(l);
        sq25_series *rain = NULL, *flagged = NULL;
        /* the first day, in intervals of 15 samples */
        if (step > 0 && step <= 86400)
            sq25_links_process(l, NULL, t0, t0 + 86400, 15 * step, &rain, &flagged);
        sq25_series_destroy(rain), sq25_series_destroy(flagged);
    }
    sq25_links_destroy(l);
    sq25_ctx_destroy(ctx);
    /* every error path closes what it opened */
    if (H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL) != 0) abort();
    return 0;
}
