/* fuzz_targets.c -- the targets reader: CSV (id,lon,lat,name[,prob_threshold]) and GeoJSON
 * (Point and LineString features), chosen by the file's first byte. Seeds: tests/demo
 * targets and small GeoJSON files. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_file("targets.txt", data, size);
    if (!path) return 0;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_targets *t = NULL;
    if (sq25_targets_read(ctx, path, &t) == SQ25_OK) {
        for (size_t i = 0; i < sq25_targets_count(t); i++) {
            double lon, lat;
            size_t nv = sq25_targets_vertex_count(t, i);
            if (nv) sq25_targets_vertex(t, i, nv - 1, &lon, &lat);
        }
    }
    sq25_targets_destroy(t);
    sq25_ctx_destroy(ctx);
    return 0;
}
