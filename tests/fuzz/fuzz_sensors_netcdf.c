/* fuzz_sensors_netcdf.c -- the OpenSense netCDF-4 sensor reader. Seeds: a small OpenSense
 * file cut from data/gauges, the hostile declared-size files of tests/hostile/. */
#include "fuzz_common.h"

#include <hdf5.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_file("sensors.nc", data, size);
    if (!path) return 0;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_ctx_set_limit(ctx, SQ25_LIMIT_SERIES_VALUES, 1 << 22);
    sq25_series *s = NULL;
    sq25_series_read_netcdf(ctx, path, &s);
    sq25_series_destroy(s);
    sq25_ctx_destroy(ctx);
    /* Every error path closes what it opened: no HDF5 file, group, dataset, type, space or
     * attribute of the library may remain open. */
    if (H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL) != 0) abort();
    return 0;
}
