/* merge.c -- radar-anchored merging: radar resampled onto the street grid as background, plus
 * kriging of the sensor-minus-radar residuals; radar-only and sensor-only fallbacks. */
#include "interp_internal.h"
#include "spatial.h"

#include <math.h>
#include <string.h>

/* Radar (mm/h) at n lon/lat points, bilinear; NaN outside or on nodata. */
static int radar_at_points(sq25_ctx *ctx, const sq25_field *radar, size_t n, const double *lon,
                           size_t lon_stride, const double *lat, size_t lat_stride, double *out)
{
    PJ *op = sq25__lonlat_op(ctx, radar->projdef);
    if (!op) return sq25_errcode(ctx);
    const double *g = radar->gt;
    double det = g[1] * g[5] - g[2] * g[4];
    for (size_t i = 0; i < n; i++) {
        PJ_COORD c = proj_trans(op, PJ_FWD, proj_coord(SQ25__AT(lon, lon_stride, i),
                                                       SQ25__AT(lat, lat_stride, i), 0, 0));
        out[i] = NAN;
        if (!isfinite(c.xy.x) || !isfinite(c.xy.y) || c.xy.x == HUGE_VAL) continue;
        double dx = c.xy.x - g[0], dy = c.xy.y - g[3];
        double col = (g[5] * dx - g[2] * dy) / det, row = (-g[4] * dx + g[1] * dy) / det;
        out[i] = sq25__sample_bilinear(radar, col, row);
    }
    proj_errno_reset(op);
    return SQ25_OK;
}

/* Krige the residuals onto a scratch field on the grid and add the background. */
static int add_kriged_residuals(sq25_ctx *ctx, const sq25_interp_options *o, size_t n,
                                const double *lon, size_t lon_stride, const double *lat,
                                size_t lat_stride, const double *resid, sq25_field *grid,
                                sq25_field *variance)
{
    sq25_field *r = NULL;
    int rc = sq25_field_clone(grid, &r);
    if (!rc) rc = sq25_interp_grid(ctx, o, SQ25_INTERP_KRIGING, n, lon, lon_stride, lat,
                                   lat_stride, resid, sizeof(double), r, variance);
    if (!rc) {
        for (size_t i = 0, m = (size_t)grid->width * (size_t)grid->height; i < m; i++) {
            float v = grid->data[i] + (isnan(r->data[i]) ? 0.0f : r->data[i]);
            grid->data[i] = isnan(v) ? NAN : (v < 0 ? 0.0f : v);
        }
    }
    sq25_field_destroy(r);
    return rc;
}

int sq25_interp_merge(sq25_ctx *ctx, const sq25_interp_options *o, const sq25_field *radar,
                      size_t n, const double *lon, size_t lon_stride, const double *lat,
                      size_t lat_stride, const double *value, size_t value_stride,
                      sq25_field *grid, sq25_field *variance)
{
    if (!ctx) return SQ25_ERR_INVALID_ARG;
    if (!grid || (n && (!lon || !lat || !value)))
        return sq25__fail(ctx, SQ25_ERR_INVALID_ARG, "sq25_interp_merge: NULL argument");
    if (!radar)
        return sq25_interp_grid(ctx, o, SQ25_INTERP_KRIGING, n, lon, lon_stride, lat, lat_stride,
                                value, value_stride, grid, variance);
    if (variance) {
        for (size_t i = 0, m = (size_t)variance->width * (size_t)variance->height; i < m; i++)
            variance->data[i] = NAN;
    }
    int64_t valid_time = grid->valid_time; /* the sensors' time, not the radar's */
    int rc = sq25_resample(radar, grid, SQ25_RESAMPLE_BILINEAR);
    grid->valid_time = valid_time;
    if (rc) return rc;
    double *resid = sq25__malloc(ctx, (n + 1) * sizeof(double));
    if (!resid) return SQ25_ERR_NOMEM;
    rc = radar_at_points(ctx, radar, n, lon, lon_stride, lat, lat_stride, resid);
    size_t valid = 0;
    for (size_t i = 0; !rc && i < n; i++) {
        double z = SQ25__AT(value, value_stride, i);
        resid[i] = (isfinite(z) && isfinite(resid[i])) ? z - resid[i] : NAN;
        valid += isfinite(resid[i]);
    }
    double min_sensors = o ? sq25_interp_options_get(o, SQ25_INTERP_MIN_SENSORS) : 5;
    if (!rc && valid >= (size_t)min_sensors)
        rc = add_kriged_residuals(ctx, o, n, lon, lon_stride, lat, lat_stride, resid, grid,
                                  variance);
    else if (!rc)
        sq25__log(ctx, SQ25_LOG_INFO, "merge: %zu sensors with radar values, radar only", valid);
    sq25__free(ctx, resid);
    return rc ? rc : sq25__ok(ctx);
}
