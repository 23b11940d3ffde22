/* ensemble_write.c -- the ensemble result as a CF-1.8 netCDF-4 file, written with libnetcdf
 * to a temporary name in the target's folder and renamed when complete. */
#include "ensemble_prob.h"

#include <math.h>
#include <netcdf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    const sq25_ensemble *e;
    const char *path;
    int nc;
    int dim_time, dim_thr, dim_q, dim_y, dim_x, dim_member, dim_window, dim_athr;
    int v_prob, v_mean, v_quant, v_member, v_aprob, v_amean, v_aquant, v_amember;
} writer;

static int nc_fail(writer *w, int status, const char *what)
{
    return sq25__fail(w->e->ctx, SQ25_ERR_WRITE, "%s: netCDF %s: %s", w->path, what,
                      nc_strerror(status));
}

#define NC_TRY(w, call, what)                                      \
    do {                                                           \
        int nc_status_ = (call);                                   \
        if (nc_status_ != NC_NOERR) return nc_fail(w, nc_status_, what); \
    } while (0)

static int put_text(writer *w, int var, const char *name, const char *text)
{
    NC_TRY(w, nc_put_att_text(w->nc, var, name, strlen(text), text), name);
    return SQ25_OK;
}

static int put_double(writer *w, int var, const char *name, double value)
{
    NC_TRY(w, nc_put_att_double(w->nc, var, name, NC_DOUBLE, 1, &value), name);
    return SQ25_OK;
}

/* ---- grid mapping --------------------------------------------------------------------------- */

/* Value of "+key=" in a proj-string, or NAN. */
static double proj_param(const char *def, const char *key)
{
    char pattern[32];
    snprintf(pattern, sizeof pattern, "+%s=", key);
    const char *p = strstr(def, pattern);
    return p ? strtod(p + strlen(pattern), NULL) : NAN;
}

static bool proj_is(const char *def, const char *name)
{
    char pattern[32];
    snprintf(pattern, sizeof pattern, "+proj=%s", name);
    const size_t len = strlen(pattern);
    for (const char *p = strstr(def, pattern); p; p = strstr(p + 1, pattern))
        if (p[len] == ' ' || p[len] == '\0') return true;
    return false;
}

static int put_if(writer *w, int var, const char *name, double value)
{
    return isnan(value) ? SQ25_OK : put_double(w, var, name, value);
}

/* CF grid_mapping_name and parameters for the common radar projections of proj-strings;
 * crs_wkt (from PROJ) is always written and is authoritative. */
static int grid_mapping_params(writer *w, int var, const char *def)
{
    int rc = SQ25_OK;
    const double lat0 = proj_param(def, "lat_0"), lon0 = proj_param(def, "lon_0");
    if (proj_is(def, "lcc")) {
        double par[2] = {proj_param(def, "lat_1"), proj_param(def, "lat_2")};
        rc = put_text(w, var, "grid_mapping_name", "lambert_conformal_conic");
        if (!rc && !isnan(par[0])) {
            int count = isnan(par[1]) ? 1 : 2;
            int st = nc_put_att_double(w->nc, var, "standard_parallel", NC_DOUBLE, (size_t)count, par);
            if (st != NC_NOERR) return nc_fail(w, st, "standard_parallel");
        }
        if (!rc) rc = put_if(w, var, "longitude_of_central_meridian", lon0);
        if (!rc) rc = put_if(w, var, "latitude_of_projection_origin", lat0);
    } else if (proj_is(def, "laea")) {
        rc = put_text(w, var, "grid_mapping_name", "lambert_azimuthal_equal_area");
        if (!rc) rc = put_if(w, var, "longitude_of_projection_origin", lon0);
        if (!rc) rc = put_if(w, var, "latitude_of_projection_origin", lat0);
    } else if (proj_is(def, "stere") && fabs(fabs(lat0) - 90) < 1e-9) {
        rc = put_text(w, var, "grid_mapping_name", "polar_stereographic");
        if (!rc) rc = put_if(w, var, "straight_vertical_longitude_from_pole", lon0);
        if (!rc) rc = put_if(w, var, "latitude_of_projection_origin", lat0);
        if (!rc) rc = put_if(w, var, "standard_parallel", proj_param(def, "lat_ts"));
    } else return SQ25_OK;
    if (!rc) rc = put_if(w, var, "false_easting", proj_param(def, "x_0"));
    if (!rc) rc = put_if(w, var, "false_northing", proj_param(def, "y_0"));
    return rc;
}

static int write_crs(writer *w, const sq25_field *like, int *var)
{
    NC_TRY(w, nc_def_var(w->nc, "crs", NC_INT, 0, NULL, var), "crs");
    PJ *crs = sq25__proj_crs(w->e->ctx, like->projdef);
    if (!crs) return sq25__fail(w->e->ctx, SQ25_ERR_PROJ, "%s: cannot read the CRS %s", w->path, like->projdef);
    const char *wkt = proj_as_wkt(w->e->ctx->pj_ctx, crs, PJ_WKT2_2019, NULL);
    int rc = wkt ? put_text(w, *var, "crs_wkt", wkt) : SQ25_OK;
    if (!rc && wkt) rc = put_text(w, *var, "spatial_ref", wkt);
    proj_destroy(crs);
    if (!rc) rc = put_text(w, *var, "proj4_params", like->projdef);
    if (!rc) rc = grid_mapping_params(w, *var, like->projdef);
    return rc;
}

/* ---- definitions ---------------------------------------------------------------------------- */

static int def_var(writer *w, const char *name, int ndims, const int *dims, int *var,
                   const char *long_name, const char *units, const char *standard_name)
{
    NC_TRY(w, nc_def_var(w->nc, name, NC_FLOAT, ndims, dims, var), name);
    size_t chunk[4] = {1, 1, 1, 1};
    for (int k = 0; k < ndims; k++) chunk[k] = 1;
    size_t height = 0, width = 0;
    nc_inq_dimlen(w->nc, w->dim_y, &height);
    nc_inq_dimlen(w->nc, w->dim_x, &width);
    chunk[ndims - 2] = height;
    chunk[ndims - 1] = width;
    NC_TRY(w, nc_def_var_chunking(w->nc, *var, NC_CHUNKED, chunk), "chunking");
    NC_TRY(w, nc_def_var_deflate(w->nc, *var, 1, 1, 1), "deflate");
    /* grids are written whole, one chunk each: a cache of one chunk is enough */
    NC_TRY(w, nc_set_var_chunk_cache(w->nc, *var, height * width * sizeof(float) + 4096, 3, 1.0f),
           "chunk cache");
    const float fill = NAN;
    NC_TRY(w, nc_put_att_float(w->nc, *var, "_FillValue", NC_FLOAT, 1, &fill), "_FillValue");
    int rc = put_text(w, *var, "long_name", long_name);
    if (!rc) rc = put_text(w, *var, "units", units);
    if (!rc && standard_name) rc = put_text(w, *var, "standard_name", standard_name);
    if (!rc) rc = put_text(w, *var, "grid_mapping", "crs");
    if (!rc) rc = put_text(w, *var, "coordinates", "lat lon");
    return rc;
}

static int def_coord(writer *w, const char *name, int dim, nc_type type, int *var,
                     const char *long_name, const char *units)
{
    NC_TRY(w, nc_def_var(w->nc, name, type, 1, &dim, var), name);
    int rc = put_text(w, *var, "long_name", long_name);
    if (!rc && units) rc = put_text(w, *var, "units", units);
    return rc;
}

/* Which probability a variable holds (lib/ensemble_prob.c): the members' fraction at the
 * cell or the blend over a window growing with lead, in words (comment) and as the window's
 * growth in cells per lead step (0: none). */
static int describe_probability(writer *w, int var, const char *event)
{
    char text[512];
    if (sq25__ens_blend_describe(&w->e->opt, event, text, sizeof text) != SQ25_OK)
        return sq25__fail(w->e->ctx, SQ25_ERR_RANGE, "ensemble writer: probability comment too long");
    int rc = put_text(w, var, "comment", text);
    if (rc) return rc;
    const double c = w->e->opt.neighbourhood_cells_per_step;
    NC_TRY(w, nc_put_att_double(w->nc, var, "neighbourhood_cells_per_lead_step", NC_DOUBLE, 1, &c),
           "neighbourhood attribute");
    return SQ25_OK;
}

typedef struct {
    int time, ref, period, thr, q, x, y, lat, lon, member, window, wend, athr;
} coord_vars;

static int define(writer *w, const sq25_field *like, coord_vars *cv)
{
    const sq25_ensemble *e = w->e;
    const sq25_ensemble_options *o = &e->opt;
    int nc = w->nc, rc = SQ25_OK, crs = 0;
    NC_TRY(w, nc_def_dim(nc, "time", (size_t)e->n_leads, &w->dim_time), "time");
    NC_TRY(w, nc_def_dim(nc, "threshold", (size_t)o->n_thresholds, &w->dim_thr), "threshold");
    if (o->n_quantiles) NC_TRY(w, nc_def_dim(nc, "quantile", (size_t)o->n_quantiles, &w->dim_q), "quantile");
    NC_TRY(w, nc_def_dim(nc, "y", (size_t)like->height, &w->dim_y), "y");
    NC_TRY(w, nc_def_dim(nc, "x", (size_t)like->width, &w->dim_x), "x");
    if (o->keep) NC_TRY(w, nc_def_dim(nc, "member", (size_t)o->members, &w->dim_member), "member");
    if (o->n_accum) {
        NC_TRY(w, nc_def_dim(nc, "window", (size_t)o->n_accum, &w->dim_window), "window");
        NC_TRY(w, nc_def_dim(nc, "accumulation_threshold", (size_t)o->n_accum_thresholds, &w->dim_athr), "athr");
    }
    if ((rc = write_crs(w, like, &crs))) return rc;
    rc = def_coord(w, "time", w->dim_time, NC_DOUBLE, &cv->time, "valid time", "seconds since 1970-01-01 00:00:00");
    if (!rc) rc = put_text(w, cv->time, "standard_name", "time");
    if (!rc) rc = put_text(w, cv->time, "axis", "T");
    if (!rc) rc = put_text(w, cv->time, "calendar", "standard");
    if (rc) return rc;
    NC_TRY(w, nc_def_var(nc, "forecast_reference_time", NC_DOUBLE, 0, NULL, &cv->ref), "ref");
    rc = put_text(w, cv->ref, "standard_name", "forecast_reference_time");
    if (!rc) rc = put_text(w, cv->ref, "units", "seconds since 1970-01-01 00:00:00");
    if (!rc) rc = def_coord(w, "forecast_period", w->dim_time, NC_DOUBLE, &cv->period, "lead time", "s");
    if (!rc) rc = put_text(w, cv->period, "standard_name", "forecast_period");
    if (!rc) rc = def_coord(w, "threshold", w->dim_thr, NC_DOUBLE, &cv->thr, "rain rate threshold (event: rate > threshold)", "mm h-1");
    if (!rc && o->n_quantiles) rc = def_coord(w, "quantile", w->dim_q, NC_DOUBLE, &cv->q, "quantile probability", "1");
    if (!rc) rc = def_coord(w, "x", w->dim_x, NC_DOUBLE, &cv->x, "x coordinate of projection", "m");
    if (!rc) rc = put_text(w, cv->x, "standard_name", "projection_x_coordinate");
    if (!rc) rc = put_text(w, cv->x, "axis", "X");
    if (!rc) rc = def_coord(w, "y", w->dim_y, NC_DOUBLE, &cv->y, "y coordinate of projection", "m");
    if (!rc) rc = put_text(w, cv->y, "standard_name", "projection_y_coordinate");
    if (!rc) rc = put_text(w, cv->y, "axis", "Y");
    if (rc) return rc;
    int yx[2] = {w->dim_y, w->dim_x};
    NC_TRY(w, nc_def_var(nc, "lat", NC_FLOAT, 2, yx, &cv->lat), "lat");
    NC_TRY(w, nc_def_var(nc, "lon", NC_FLOAT, 2, yx, &cv->lon), "lon");
    NC_TRY(w, nc_def_var_deflate(nc, cv->lat, 1, 1, 1), "deflate");
    NC_TRY(w, nc_def_var_deflate(nc, cv->lon, 1, 1, 1), "deflate");
    rc = put_text(w, cv->lat, "standard_name", "latitude");
    if (!rc) rc = put_text(w, cv->lat, "units", "degrees_north");
    if (!rc) rc = put_text(w, cv->lon, "standard_name", "longitude");
    if (!rc) rc = put_text(w, cv->lon, "units", "degrees_east");
    if (!rc && o->keep) {
        NC_TRY(w, nc_def_var(nc, "member", NC_INT, 1, &w->dim_member, &cv->member), "member");
        rc = put_text(w, cv->member, "standard_name", "realization");
    }
    if (!rc && o->n_accum) {
        rc = def_coord(w, "window", w->dim_window, NC_DOUBLE, &cv->window, "accumulation period from the issue time", "s");
        if (!rc) rc = def_coord(w, "window_end_time", w->dim_window, NC_DOUBLE, &cv->wend, "end of the accumulation period", "seconds since 1970-01-01 00:00:00");
        if (!rc) rc = def_coord(w, "accumulation_threshold", w->dim_athr, NC_DOUBLE, &cv->athr, "rain amount threshold (event: amount >= threshold)", "mm");
    }
    if (rc) return rc;
    int d3[3] = {w->dim_time, w->dim_y, w->dim_x};
    int d4[4] = {w->dim_time, w->dim_thr, w->dim_y, w->dim_x};
    rc = def_var(w, "exceedance_probability", 4, d4, &w->v_prob, "probability that the rain rate exceeds the threshold", "1", NULL);
    if (!rc) rc = describe_probability(w, w->v_prob, "rate exceeds the threshold");
    if (!rc) rc = def_var(w, "mean_rate", 3, d3, &w->v_mean, "ensemble mean rain rate", "mm h-1", "rainfall_rate");
    if (!rc) rc = put_text(w, w->v_mean, "cell_methods", "realization: mean");
    if (!rc && o->n_quantiles) {
        int dq[4] = {w->dim_time, w->dim_q, w->dim_y, w->dim_x};
        rc = def_var(w, "rate_quantile", 4, dq, &w->v_quant, "quantile of the ensemble rain rate", "mm h-1", "rainfall_rate");
    }
    if (!rc && o->keep) {
        int dm[4] = {w->dim_member, w->dim_time, w->dim_y, w->dim_x};
        rc = def_var(w, "rainfall_rate", 4, dm, &w->v_member, "rain rate of each member", "mm h-1", "rainfall_rate");
    }
    if (!rc && o->n_accum) {
        int da[4] = {w->dim_window, w->dim_athr, w->dim_y, w->dim_x};
        int dw[3] = {w->dim_window, w->dim_y, w->dim_x};
        rc = def_var(w, "accumulation_probability", 4, da, &w->v_aprob, "probability that the amount since issue reaches the threshold", "1", NULL);
        if (!rc) rc = describe_probability(w, w->v_aprob, "amount since issue reaches the threshold");
        if (!rc) rc = def_var(w, "accumulation_mean", 3, dw, &w->v_amean, "ensemble mean rain amount since issue", "mm", "thickness_of_rainfall_amount");
        if (!rc && o->n_quantiles) {
            int dq[4] = {w->dim_window, w->dim_q, w->dim_y, w->dim_x};
            rc = def_var(w, "accumulation_quantile", 4, dq, &w->v_aquant, "quantile of the ensemble rain amount since issue", "mm", "thickness_of_rainfall_amount");
        }
        if (!rc && o->keep) {
            int dm[4] = {w->dim_member, w->dim_window, w->dim_y, w->dim_x};
            rc = def_var(w, "accumulation", 4, dm, &w->v_amember, "rain amount since issue of each member", "mm", "thickness_of_rainfall_amount");
        }
    }
    return rc;
}

static int global_attributes(writer *w)
{
    const sq25_ensemble *e = w->e;
    char issue[32], text[512];
    sq25__format_utc(e->issue_time, issue, sizeof issue);
    int rc = put_text(w, NC_GLOBAL, "Conventions", "CF-1.8");
    if (!rc) rc = put_text(w, NC_GLOBAL, "title", "25square ensemble rain nowcast");
    if (!rc) rc = put_text(w, NC_GLOBAL, "source", "libsq25 " SQ25_VERSION_STRING " STEPS-class ensemble");
    snprintf(text, sizeof text,
             "issue time %s; %d members, seed %llu, %d cascade levels, noise %s, motion "
             "perturbation %s, incremental mask %s, probability matching %s, noise gain %g, "
             "probabilities averaged over %g cells per lead step",
             issue, e->opt.members, (unsigned long long)e->opt.seed, e->levels,
             e->opt.noise == SQ25_ENSEMBLE_NOISE_POWERLAW ? "power law" : "nonparametric",
             e->opt.perturb_motion ? "on" : "off", e->opt.mask ? "on" : "off",
             e->opt.match_cdf ? "on" : "off", e->opt.noise_scale,
             e->opt.neighbourhood_cells_per_step);
    if (!rc) rc = put_text(w, NC_GLOBAL, "comment", text);
    if (!rc) rc = put_text(w, NC_GLOBAL, "issue_time", issue);
    /* what sq25_ensemble_read_netcdf needs beyond the dimensions, and the cascade's fit */
    const int ints[3] = {e->opt.members, e->levels, e->opt.keep};
    if (!rc) {
        int st = nc_put_att_int(w->nc, NC_GLOBAL, "ensemble_members", NC_INT, 1, &ints[0]);
        if (st == NC_NOERR) st = nc_put_att_int(w->nc, NC_GLOBAL, "cascade_levels", NC_INT, 1, &ints[1]);
        double v[5][SQ25__ENS_MAX_LEVELS];
        for (int k = 0; k < e->levels; k++) {
            v[0][k] = e->level[k].wavenumber;
            v[1][k] = e->level[k].gamma1;
            v[2][k] = e->level[k].gamma2;
            v[3][k] = e->level[k].phi1;
            v[4][k] = e->level[k].phi2;
        }
        static const char *names[5] = {"cascade_wavenumber", "cascade_gamma1", "cascade_gamma2",
                                       "cascade_phi1", "cascade_phi2"};
        for (int j = 0; j < 5 && st == NC_NOERR; j++)
            st = nc_put_att_double(w->nc, NC_GLOBAL, names[j], NC_DOUBLE, (size_t)e->levels, v[j]);
        if (st != NC_NOERR) rc = nc_fail(w, st, "global attributes");
    }
    return rc;
}

/* ---- data ------------------------------------------------------------------------------------ */

static int put_grid(writer *w, int var, int ndims, size_t i0, size_t i1, const sq25_field *f)
{
    size_t start[4] = {0, 0, 0, 0}, count[4] = {1, 1, 1, 1};
    start[0] = i0;
    if (ndims == 4) start[1] = i1;
    count[ndims - 2] = (size_t)f->height;
    count[ndims - 1] = (size_t)f->width;
    NC_TRY(w, nc_put_vara_float(w->nc, var, start, count, f->data), "data");
    return SQ25_OK;
}

static int put_coords(writer *w, const coord_vars *cv, const sq25_field *like)
{
    const sq25_ensemble *e = w->e;
    const sq25_ensemble_options *o = &e->opt;
    sq25_ctx *ctx = e->ctx;
    const int width = like->width, height = like->height;
    double *buf = sq25__malloc(ctx, (size_t)(width > height ? width : height) * sizeof(double) +
                                        (size_t)(e->n_leads + 16) * sizeof(double));
    if (!buf) return SQ25_ERR_NOMEM;
    int rc = SQ25_OK;
#define PUT_D(var, values) \
    do { int st_ = nc_put_var_double(w->nc, var, values); if (st_ != NC_NOERR && !rc) rc = nc_fail(w, st_, #var); } while (0)
    for (int c = 0; c < width; c++) buf[c] = like->gt[0] + (c + 0.5) * like->gt[1];
    PUT_D(cv->x, buf);
    for (int r = 0; r < height; r++) buf[r] = like->gt[3] + (r + 0.5) * like->gt[5];
    PUT_D(cv->y, buf);
    for (int k = 0; k < e->n_leads; k++) buf[k] = (double)(e->issue_time + (int64_t)(k + 1) * e->step_s);
    PUT_D(cv->time, buf);
    for (int k = 0; k < e->n_leads; k++) buf[k] = (double)(k + 1) * e->step_s;
    PUT_D(cv->period, buf);
    double ref = (double)e->issue_time;
    PUT_D(cv->ref, &ref);
    PUT_D(cv->thr, o->thresholds);
    if (o->n_quantiles) PUT_D(cv->q, o->quantiles);
    if (o->n_accum) {
        for (int k = 0; k < o->n_accum; k++) buf[k] = o->accum_minutes[k] * 60.0;
        PUT_D(cv->window, buf);
        for (int k = 0; k < o->n_accum; k++) buf[k] = (double)e->issue_time + o->accum_minutes[k] * 60.0;
        PUT_D(cv->wend, buf);
        PUT_D(cv->athr, o->accum_thresholds);
    }
#undef PUT_D
    if (!rc && o->keep) {
        int *ids = sq25__malloc(ctx, (size_t)o->members * sizeof(int));
        if (!ids) rc = SQ25_ERR_NOMEM;
        for (int m = 0; ids && m < o->members; m++) ids[m] = m;
        int st = ids ? nc_put_var_int(w->nc, cv->member, ids) : NC_NOERR;
        if (st != NC_NOERR) rc = nc_fail(w, st, "member");
        sq25__free(ctx, ids);
    }
    sq25__free(ctx, buf);
    return rc;
}

/* lat/lon of every cell centre through PROJ, one row at a time. */
static int put_lonlat(writer *w, const coord_vars *cv, const sq25_field *like)
{
    sq25_ctx *ctx = w->e->ctx;
    PJ *pj = sq25__proj_to_lonlat(ctx, like->projdef);
    if (!pj) return sq25__fail(ctx, SQ25_ERR_PROJ, "%s: cannot transform %s to lon/lat", w->path, like->projdef);
    const int width = like->width;
    double *x = sq25__malloc(ctx, 2 * (size_t)width * sizeof(double));
    float *lat = sq25__malloc(ctx, 2 * (size_t)width * sizeof(float));
    int rc = x && lat ? SQ25_OK : SQ25_ERR_NOMEM;
    for (int r = 0; rc == SQ25_OK && r < like->height; r++) {
        double *y = x + width;
        for (int c = 0; c < width; c++) {
            x[c] = like->gt[0] + (c + 0.5) * like->gt[1] + (r + 0.5) * like->gt[2];
            y[c] = like->gt[3] + (c + 0.5) * like->gt[4] + (r + 0.5) * like->gt[5];
        }
        proj_trans_generic(pj, PJ_FWD, x, sizeof(double), (size_t)width, y, sizeof(double),
                           (size_t)width, NULL, 0, 0, NULL, 0, 0);
        float *lon = lat + width;
        for (int c = 0; c < width; c++) {
            lon[c] = (float)x[c];
            lat[c] = (float)y[c];
        }
        size_t start[2] = {(size_t)r, 0}, count[2] = {1, (size_t)width};
        int st = nc_put_vara_float(w->nc, cv->lat, start, count, lat);
        if (st == NC_NOERR) st = nc_put_vara_float(w->nc, cv->lon, start, count, lon);
        if (st != NC_NOERR) rc = nc_fail(w, st, "lat/lon");
    }
    proj_destroy(pj);
    sq25__free(ctx, x);
    sq25__free(ctx, lat);
    return rc;
}

static int put_statistics(writer *w)
{
    const sq25_ensemble *e = w->e;
    const sq25_ensemble_options *o = &e->opt;
    int rc = SQ25_OK;
    for (int k = 0; !rc && k < e->n_leads; k++) {
        for (int j = 0; !rc && j < o->n_thresholds; j++)
            rc = put_grid(w, w->v_prob, 4, (size_t)k, (size_t)j, e->probability[k * o->n_thresholds + j]);
        if (!rc) rc = put_grid(w, w->v_mean, 3, (size_t)k, 0, e->mean[k]);
        for (int q = 0; !rc && q < o->n_quantiles; q++)
            rc = put_grid(w, w->v_quant, 4, (size_t)k, (size_t)q, e->quantile[k * o->n_quantiles + q]);
        for (int m = 0; !rc && o->keep && m < o->members; m++)
            rc = put_grid(w, w->v_member, 4, (size_t)m, (size_t)k, e->member[(size_t)m * e->n_leads + k]);
    }
    for (int a = 0; !rc && a < o->n_accum; a++) {
        for (int j = 0; !rc && j < o->n_accum_thresholds; j++)
            rc = put_grid(w, w->v_aprob, 4, (size_t)a, (size_t)j, e->acc_probability[a * o->n_accum_thresholds + j]);
        if (!rc) rc = put_grid(w, w->v_amean, 3, (size_t)a, 0, e->acc_mean[a]);
        for (int q = 0; !rc && q < o->n_quantiles; q++)
            rc = put_grid(w, w->v_aquant, 4, (size_t)a, (size_t)q, e->acc_quantile[a * o->n_quantiles + q]);
        for (int m = 0; !rc && o->keep && m < o->members; m++)
            rc = put_grid(w, w->v_amember, 4, (size_t)m, (size_t)a, e->acc_member[(size_t)m * o->n_accum + a]);
    }
    return rc;
}

int sq25_ensemble_write_netcdf(const sq25_ensemble *e, const char *path)
{
    if (!e) return SQ25_ERR_INVALID_ARG;
    if (!path) return sq25__fail(e->ctx, SQ25_ERR_INVALID_ARG, "sq25_ensemble_write_netcdf: NULL path");
    const sq25_field *like = e->mean[0];
    if (like->gt[2] != 0 || like->gt[4] != 0)
        return sq25__fail(e->ctx, SQ25_ERR_UNSUPPORTED, "%s: rotated grids cannot be written", path);
    sq25__output out; /* whole output: a temporary beside path, fsynced and renamed over it */
    int orc = sq25__output_begin(e->ctx, path, &out);
    if (orc) return orc;
    writer w = {.e = e, .path = path};
    coord_vars cv;
    memset(&cv, 0, sizeof cv);
    sq25__h5_enter(); /* libnetcdf calls HDF5, which is not thread-safe */
    int st = nc_create(out.tmp, NC_NETCDF4 | NC_CLOBBER, &w.nc);
    const bool open = st == NC_NOERR;
    int rc = open ? SQ25_OK : nc_fail(&w, st, "create");
    if (!rc) rc = define(&w, like, &cv);
    if (!rc) rc = global_attributes(&w);
    if (!rc && (st = nc_enddef(w.nc)) != NC_NOERR) rc = nc_fail(&w, st, "enddef");
    if (!rc) rc = put_coords(&w, &cv, like);
    if (!rc) rc = put_lonlat(&w, &cv, like);
    if (!rc) rc = put_statistics(&w);
    if (open) {
        st = nc_close(w.nc);
        if (!rc && st != NC_NOERR) rc = nc_fail(&w, st, "close");
    }
    sq25__h5_leave();
    if (!rc) rc = sq25__output_commit(e->ctx, &out);
    else sq25__output_abort(e->ctx, &out); /* a previous file at path stays whole */
    return rc ? rc : sq25__ok(e->ctx);
}
