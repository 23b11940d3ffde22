/* ensemble_write.c -- the ensemble result as a CF-1.8 netCDF-4 file, written to a temporary
 * name in the target's folder and renamed when complete.
 *
 * libnetcdf defines the file (dimensions, CF metadata, coordinates; every grid variable one
 * chunk per grid with shuffle + deflate) and is closed; the grids' chunks are then stored
 * with HDF5's H5Dwrite_chunk in exactly the form its shuffle and deflate filters give (the
 * float bytes shuffled, then one zlib stream), compressed on the ensemble's threads while
 * libnetcdf writes the metadata. The file is the one libnetcdf
 * would write, but for the compressed bytes of each chunk: every reader decodes it. */
#include "ensemble_prob.h"
#include "io_deflate.h"

#include <hdf5.h>
#include <libdeflate.h>
#include <limits.h>
#include <math.h>
#include <netcdf.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* deflate level of the grids (the level the variables declare): a real-time product. The
 * coder is the ODIM writer's level 1 (lib/io_deflate.c: zlib's run-length parse with its own
 * Huffman blocks); zlib's run-length strategy took 30 % less CPU than its default strategy on
 * the grids of a 20-member RMI run, libdeflate's level 1 as long as zlib's run-length, and
 * io_deflate.c about a third of either on the shuffled leads of the demo cycle. */
#define GRID_DEFLATE_LEVEL 1
/* threads compressing the grids at most (one grid each at a time) */
#define COMPRESS_MAX_THREADS 64

typedef struct {
    const sq25_ensemble *e;
    const char *path;
    int nc;
    int dim_time, dim_thr, dim_q, dim_y, dim_x, dim_member, dim_window, dim_athr;
    int v_prob, v_mean, v_quant, v_member, v_aprob, v_amean, v_aquant, v_amember, v_control;
    /* the grid's lon/lat transform (NULL: made when the file is defined), and the cells'
     * lat then lon made beforehand (NULL: made through it) */
    PJ *lonlat;
    const float *lonlat_grid;
} writer;

/* The grid variables, their netCDF (and HDF5 dataset) names. */
enum { SLOT_PROB, SLOT_MEAN, SLOT_QUANT, SLOT_MEMBER, SLOT_APROB, SLOT_AMEAN, SLOT_AQUANT,
       SLOT_AMEMBER, SLOT_CONTROL, SLOTS };
static const char *const slot_name[SLOTS] = {
    "exceedance_probability", "mean_rate", "rate_quantile", "rainfall_rate",
    "accumulation_probability", "accumulation_mean", "accumulation_quantile", "accumulation",
    "control_rate"};

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
    NC_TRY(w, nc_def_var_deflate(w->nc, *var, 1, 1, GRID_DEFLATE_LEVEL), "deflate");
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
    const double weight = w->e->opt.control_weight;
    NC_TRY(w, nc_put_att_double(w->nc, var, "control_weight", NC_DOUBLE, 1, &weight),
           "control weight attribute");
    /* the shrink of the high probabilities (0 per hour: none), so that a reader knows the
     * probabilities are no longer the pooled members' and control's */
    const double knee = w->e->opt.shrink_knee, rate = w->e->opt.shrink_rate_per_hour;
    NC_TRY(w, nc_put_att_double(w->nc, var, "probability_shrink_knee", NC_DOUBLE, 1, &knee),
           "shrink knee attribute");
    NC_TRY(w, nc_put_att_double(w->nc, var, "probability_shrink_rate_per_hour", NC_DOUBLE, 1,
                                &rate),
           "shrink rate attribute");
    return SQ25_OK;
}

/* The control member's rate per lead (kept with the members when its weight is > 0), so that
 * the distribution the probabilities describe can be rebuilt from the file. */
static int define_control(writer *w)
{
    int d3[3] = {w->dim_time, w->dim_y, w->dim_x};
    int rc = def_var(w, slot_name[SLOT_CONTROL], 3, d3, &w->v_control,
                     "rain rate of the control member", "mm h-1", "rainfall_rate");
    if (!rc)
        rc = put_text(w, w->v_control, "comment",
                      "the latest frame extrapolated along the unperturbed motion: the control "
                      "member mixed into the probabilities at weight control_weight "
                      "(lib/ensemble_prob.c)");
    return rc;
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
    rc = def_var(w, slot_name[SLOT_PROB], 4, d4, &w->v_prob, "probability that the rain rate exceeds the threshold", "1", NULL);
    if (!rc) rc = describe_probability(w, w->v_prob, "rate exceeds the threshold");
    if (!rc) rc = def_var(w, slot_name[SLOT_MEAN], 3, d3, &w->v_mean, "ensemble mean rain rate", "mm h-1", "rainfall_rate");
    if (!rc) rc = put_text(w, w->v_mean, "cell_methods", "realization: mean");
    if (!rc && o->n_quantiles) {
        int dq[4] = {w->dim_time, w->dim_q, w->dim_y, w->dim_x};
        rc = def_var(w, slot_name[SLOT_QUANT], 4, dq, &w->v_quant, "quantile of the ensemble rain rate", "mm h-1", "rainfall_rate");
    }
    if (!rc && o->keep) {
        int dm[4] = {w->dim_member, w->dim_time, w->dim_y, w->dim_x};
        rc = def_var(w, slot_name[SLOT_MEMBER], 4, dm, &w->v_member, "rain rate of each member", "mm h-1", "rainfall_rate");
    }
    if (!rc && o->n_accum) {
        int da[4] = {w->dim_window, w->dim_athr, w->dim_y, w->dim_x};
        int dw[3] = {w->dim_window, w->dim_y, w->dim_x};
        rc = def_var(w, slot_name[SLOT_APROB], 4, da, &w->v_aprob, "probability that the amount since issue reaches the threshold", "1", NULL);
        if (!rc) rc = describe_probability(w, w->v_aprob, "amount since issue reaches the threshold");
        if (!rc) rc = def_var(w, slot_name[SLOT_AMEAN], 3, dw, &w->v_amean, "ensemble mean rain amount since issue", "mm", "thickness_of_rainfall_amount");
        if (!rc && o->n_quantiles) {
            int dq[4] = {w->dim_window, w->dim_q, w->dim_y, w->dim_x};
            rc = def_var(w, slot_name[SLOT_AQUANT], 4, dq, &w->v_aquant, "quantile of the ensemble rain amount since issue", "mm", "thickness_of_rainfall_amount");
        }
        if (!rc && o->keep) {
            int dm[4] = {w->dim_member, w->dim_window, w->dim_y, w->dim_x};
            rc = def_var(w, slot_name[SLOT_AMEMBER], 4, dm, &w->v_amember, "rain amount since issue of each member", "mm", "thickness_of_rainfall_amount");
        }
    }
    if (!rc && e->control) rc = define_control(w);
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

/* lat and lon of the cell centres of row r through pj (xy: 2 x width doubles of scratch). */
static void lonlat_row(PJ *pj, const sq25_field *like, int r, double *xy, float *lat, float *lon)
{
    const int width = like->width;
    double *x = xy, *y = xy + width;
    for (int c = 0; c < width; c++) {
        x[c] = like->gt[0] + (c + 0.5) * like->gt[1] + (r + 0.5) * like->gt[2];
        y[c] = like->gt[3] + (c + 0.5) * like->gt[4] + (r + 0.5) * like->gt[5];
    }
    proj_trans_generic(pj, PJ_FWD, x, sizeof(double), (size_t)width, y, sizeof(double),
                       (size_t)width, NULL, 0, 0, NULL, 0, 0);
    for (int c = 0; c < width; c++) {
        lon[c] = (float)x[c];
        lat[c] = (float)y[c];
    }
}

/* lat/lon of every cell centre, one row at a time: from w->lonlat_grid when made beforehand,
 * else through PROJ (w->lonlat, or a transform made here). */
static int put_lonlat(writer *w, const coord_vars *cv, const sq25_field *like)
{
    sq25_ctx *ctx = w->e->ctx;
    const int width = like->width;
    const size_t cells = (size_t)width * (size_t)like->height;
    PJ *own = NULL, *pj = w->lonlat;
    if (!w->lonlat_grid && !pj && !(pj = own = sq25__proj_to_lonlat(ctx, like->projdef)))
        return sq25__fail(ctx, SQ25_ERR_PROJ, "%s: cannot transform %s to lon/lat", w->path, like->projdef);
    double *xy = w->lonlat_grid ? NULL : sq25__malloc(ctx, 2 * (size_t)width * sizeof(double));
    float *row = w->lonlat_grid ? NULL : sq25__malloc(ctx, 2 * (size_t)width * sizeof(float));
    int rc = w->lonlat_grid || (xy && row) ? SQ25_OK : SQ25_ERR_NOMEM;
    for (int r = 0; rc == SQ25_OK && r < like->height; r++) {
        const float *lat, *lon;
        if (w->lonlat_grid) {
            lat = w->lonlat_grid + (size_t)r * width;
            lon = lat + cells;
        } else {
            lonlat_row(pj, like, r, xy, row, row + width);
            lat = row;
            lon = row + width;
        }
        size_t start[2] = {(size_t)r, 0}, count[2] = {1, (size_t)width};
        int st = nc_put_vara_float(w->nc, cv->lat, start, count, lat);
        if (st == NC_NOERR) st = nc_put_vara_float(w->nc, cv->lon, start, count, lon);
        if (st != NC_NOERR) rc = nc_fail(w, st, "lat/lon");
    }
    proj_destroy(own);
    sq25__free(ctx, xy);
    sq25__free(ctx, row);
    return rc;
}

/* ---- the grids' chunks ------------------------------------------------------------------ */

/* One grid: its variable, its chunk's offset (i0, and i1 for 4-D variables), and whether
 * its compressed chunk (chunk_bytes, in its ring slot) is ready. */
typedef struct {
    int slot;
    size_t i0, i1;
    const sq25_field *f;
    size_t chunk_bytes; /* 0: the coder failed */
    bool done;          /* under the pipeline's mutex */
    sq25_field **owner; /* the result's pointer to f (the streamed file frees it once stored) */
} grid_job;

/* The grids compressed on threads into a ring of ring_size buffers and stored in order by the
 * calling thread (the only one calling HDF5): job j uses buffer j % ring_size once job
 * j - ring_size is stored, so the memory does not grow with the number of grids. */
typedef struct {
    grid_job *jobs;
    int n_jobs, ring_size;
    size_t cells, chunk_cap;
    unsigned char **ring;
    atomic_int next;                            /* next job to claim */
    int stored;                                 /* jobs stored (under mu) */
    bool stop;                                  /* the caller gave up (under mu) */
    pthread_mutex_t mu;
    pthread_cond_t changed;
    unsigned char **shuffled;                  /* per thread: 4 x cells bytes */
} compress_work;

typedef struct {
    compress_work *work;
    int thread;
} compress_arg;

/* The accumulation window ending at lead k (1-based), or -1. */
static int window_ending_at(const sq25_ensemble *e, int k)
{
    for (int a = 0; a < e->opt.n_accum; a++)
        if (e->opt.accum_minutes[a] * 60 == k * e->step_s) return a;
    return -1;
}

/* Every grid of the result in the order they become final: lead k's, then those of the
 * window ending at lead k (jobs NULL: only count them); lead_end[k] (k = 1..n_leads, when
 * not NULL): the jobs before it are final once lead k is. */
static int collect_grids(sq25_ensemble *e, grid_job *jobs, int *lead_end)
{
    const sq25_ensemble_options *o = &e->opt;
    int n = 0;
#define ADD(slot, i0, i1, f) \
    do { if (jobs) jobs[n] = (grid_job){slot, i0, i1, f, 0, false, &(f)}; n++; } while (0)
    for (int k = 0; k < e->n_leads; k++) {
        for (int j = 0; j < o->n_thresholds; j++)
            ADD(SLOT_PROB, (size_t)k, (size_t)j, e->probability[k * o->n_thresholds + j]);
        ADD(SLOT_MEAN, (size_t)k, 0, e->mean[k]);
        for (int q = 0; q < o->n_quantiles; q++)
            ADD(SLOT_QUANT, (size_t)k, (size_t)q, e->quantile[k * o->n_quantiles + q]);
        for (int m = 0; o->keep && m < o->members; m++)
            ADD(SLOT_MEMBER, (size_t)m, (size_t)k, e->member[(size_t)m * e->n_leads + k]);
        if (e->control) ADD(SLOT_CONTROL, (size_t)k, 0, e->control[k]);
        const int a = window_ending_at(e, k + 1);
        if (a >= 0) {
            for (int j = 0; j < o->n_accum_thresholds; j++)
                ADD(SLOT_APROB, (size_t)a, (size_t)j, e->acc_probability[a * o->n_accum_thresholds + j]);
            ADD(SLOT_AMEAN, (size_t)a, 0, e->acc_mean[a]);
            for (int q = 0; q < o->n_quantiles; q++)
                ADD(SLOT_AQUANT, (size_t)a, (size_t)q, e->acc_quantile[a * o->n_quantiles + q]);
            for (int m = 0; o->keep && m < o->members; m++)
                ADD(SLOT_AMEMBER, (size_t)m, (size_t)a, e->acc_member[(size_t)m * o->n_accum + a]);
        }
        if (lead_end) lead_end[k + 1] = n;
    }
#undef ADD
    return n;
}

/* HDF5's shuffle filter for 4-byte elements: byte k of every value, for k = 0..3 in turn
 * (the values' bytes in memory order: the dataset's little-endian float on a little-endian
 * host, checked before the chunks are stored). */
static void shuffle_floats(const float *in, size_t n, unsigned char *out)
{
    unsigned char *b0 = out, *b1 = out + n, *b2 = out + 2 * n, *b3 = out + 3 * n;
    size_t i = 0;
#ifdef __SSE2__
    /* 16 floats at a time: three rounds of byte interleaving of register pairs rotate the
     * byte's index bits (register 2 bits, float 2, byte 2) so that the byte number reaches
     * the 64-bit halves, then 64-bit unpacking puts each byte number in a register of its own */
    for (; i + 16 <= n; i += 16) {
        __m128i r[4], t[4];
        for (int k = 0; k < 4; k++) r[k] = _mm_loadu_si128((const __m128i *)(in + i + 4 * k));
        for (int round = 0; round < 3; round++) {
            t[0] = _mm_unpacklo_epi8(r[0], r[1]);
            t[1] = _mm_unpackhi_epi8(r[0], r[1]);
            t[2] = _mm_unpacklo_epi8(r[2], r[3]);
            t[3] = _mm_unpackhi_epi8(r[2], r[3]);
            memcpy(r, t, sizeof r);
        }
        _mm_storeu_si128((__m128i *)(b0 + i), _mm_unpacklo_epi64(r[0], r[2]));
        _mm_storeu_si128((__m128i *)(b1 + i), _mm_unpackhi_epi64(r[0], r[2]));
        _mm_storeu_si128((__m128i *)(b2 + i), _mm_unpacklo_epi64(r[1], r[3]));
        _mm_storeu_si128((__m128i *)(b3 + i), _mm_unpackhi_epi64(r[1], r[3]));
    }
#endif
    for (; i < n; i++) {
        uint32_t u;
        memcpy(&u, &in[i], sizeof u);
        b0[i] = (unsigned char)u;
        b1[i] = (unsigned char)(u >> 8);
        b2[i] = (unsigned char)(u >> 16);
        b3[i] = (unsigned char)(u >> 24);
    }
}

/* Shuffle and deflate job j into its ring buffer (one zlib stream: header, deflate data,
 * Adler-32, what HDF5's deflate filter reads). */
static size_t deflate_grid(unsigned char *shuffled, const float *grid, size_t cells,
                           unsigned char *out, size_t cap)
{
    const size_t bytes = cells * sizeof(float);
    shuffle_floats(grid, cells, shuffled);
    if (cap < 6) return 0;
    /* the zlib stream HDF5's deflate filter reads, made by hand around a raw deflate stream
     * (RFC 1950): header 78 01 (32 KiB window, the "fastest" level flags zlib itself writes
     * at level 1), the deflate data, the Adler-32 of the input big-endian, from libdeflate
     * (zlib's own took 10 % of the compression's instructions) */
    out[0] = 0x78;
    out[1] = 0x01;
    const size_t coded = sq25__deflate_rle(shuffled, bytes, true, out + 2, cap - 6);
    if (coded == 0) return 0;
    const size_t n = 2 + coded;
    const uint32_t adler = libdeflate_adler32(1, shuffled, bytes);
    for (int k = 0; k < 4; k++) out[n + (size_t)k] = (unsigned char)(adler >> (24 - 8 * k));
    return n + 4;
}

static void compress_job(compress_work *cw, int thread, int j)
{
    grid_job *g = &cw->jobs[j];
    const size_t bytes = deflate_grid(cw->shuffled[thread], g->f->data, cw->cells,
                                      cw->ring[j % cw->ring_size], cw->chunk_cap);
    pthread_mutex_lock(&cw->mu);
    g->chunk_bytes = bytes;
    g->done = true;
    pthread_cond_broadcast(&cw->changed);
    pthread_mutex_unlock(&cw->mu);
}

static void *compress_grids(void *p)
{
    const compress_arg *a = p;
    compress_work *cw = a->work;
    for (int j; (j = atomic_fetch_add(&cw->next, 1)) < cw->n_jobs;) {
        pthread_mutex_lock(&cw->mu); /* wait for the job's ring buffer */
        while (!cw->stop && cw->stored <= j - cw->ring_size) pthread_cond_wait(&cw->changed, &cw->mu);
        const bool stop = cw->stop;
        pthread_mutex_unlock(&cw->mu);
        if (stop) break;
        compress_job(cw, a->thread, j);
    }
    return NULL;
}

typedef struct {
    compress_work work;
    compress_arg arg[COMPRESS_MAX_THREADS];
    pthread_t tid[COMPRESS_MAX_THREADS];
    int threads, started;
    bool sync_ready;
} compression;

/* Stop the threads (when the caller gives up) and join them. */
static void compression_join(compression *z)
{
    compress_work *cw = &z->work;
    if (z->sync_ready) {
        pthread_mutex_lock(&cw->mu);
        cw->stop = true;
        pthread_cond_broadcast(&cw->changed);
        pthread_mutex_unlock(&cw->mu);
    }
    for (int t = 1; t <= z->started; t++) pthread_join(z->tid[t], NULL);
    z->started = 0;
}

static void compression_free(sq25_ctx *ctx, compression *z)
{
    compress_work *cw = &z->work;
    compression_join(z);
    for (int k = 0; cw->ring && k < cw->ring_size; k++) sq25__free(ctx, cw->ring[k]);
    for (int t = 0; t < z->threads; t++) {
        if (cw->shuffled) sq25__free(ctx, cw->shuffled[t]);
    }
    sq25__free(ctx, cw->ring);
    sq25__free(ctx, cw->shuffled);
    sq25__free(ctx, cw->jobs);
    if (z->sync_ready) {
        pthread_mutex_destroy(&cw->mu);
        pthread_cond_destroy(&cw->changed);
    }
}

/* Allocate, then start compressing on threads - 1 new threads (the caller joins in with
 * store_chunks once the file is defined). */
static int compression_start(const sq25_ensemble *e, compression *z)
{
    sq25_ctx *ctx = e->ctx;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int threads = e->opt.threads > 0 ? e->opt.threads : cpus < 1 ? 1 : (int)cpus;
    z->threads = threads < COMPRESS_MAX_THREADS ? threads : COMPRESS_MAX_THREADS;
    compress_work *cw = &z->work;
    cw->cells = (size_t)e->mean[0]->width * (size_t)e->mean[0]->height;
    /* the grids are only read here: the cast is for the owner pointers, unused */
    cw->n_jobs = collect_grids((sq25_ensemble *)e, NULL, NULL);
    cw->ring_size = 2 * z->threads;
    /* the coder's bound, the zlib header and the Adler-32 */
    cw->chunk_cap = sq25__deflate_bound(cw->cells * sizeof(float)) + 6;
    if (cw->chunk_cap > UINT32_MAX) return SQ25_ERR_WRITE; /* HDF5 sizes a chunk in 32 bits */
    cw->jobs = sq25__calloc(ctx, (size_t)cw->n_jobs, sizeof *cw->jobs);
    cw->ring = sq25__calloc(ctx, (size_t)cw->ring_size, sizeof *cw->ring);
    cw->shuffled = sq25__calloc(ctx, (size_t)z->threads, sizeof *cw->shuffled);
    if (!cw->jobs || !cw->ring || !cw->shuffled) return SQ25_ERR_NOMEM;
    collect_grids((sq25_ensemble *)e, cw->jobs, NULL);
    for (int k = 0; k < cw->ring_size; k++)
        if (!(cw->ring[k] = sq25__malloc(ctx, cw->chunk_cap))) return SQ25_ERR_NOMEM;
    for (int t = 0; t < z->threads; t++) {
        cw->shuffled[t] = sq25__malloc(ctx, cw->cells * sizeof(float));
        if (!cw->shuffled[t]) return SQ25_ERR_NOMEM;
    }
    if (pthread_mutex_init(&cw->mu, NULL) != 0) return SQ25_ERR_NOMEM;
    if (pthread_cond_init(&cw->changed, NULL) != 0) {
        pthread_mutex_destroy(&cw->mu);
        return SQ25_ERR_NOMEM;
    }
    z->sync_ready = true;
    atomic_store(&cw->next, 0);
    for (int t = 0; t < z->threads; t++) z->arg[t] = (compress_arg){cw, t};
    for (int t = 1; t < z->threads && t < cw->n_jobs; t++) {
        if (pthread_create(&z->tid[t], NULL, compress_grids, &z->arg[t]) != 0) break;
        z->started = t;
    }
    return SQ25_OK;
}

/* Whether dataset d stores little-endian float32 through shuffle then deflate, and the host
 * is little-endian: then a chunk compressed here is what HDF5 itself would store. */
bool sq25__ensemble_write_through_filters = false;

static bool chunk_form_matches(hid_t d)
{
    if (sq25__ensemble_write_through_filters) return false;
    const uint16_t probe = 1;
    unsigned char low;
    memcpy(&low, &probe, 1);
    hid_t type = H5Dget_type(d), dcpl = H5Dget_create_plist(d);
    bool ok = low == 1 && type >= 0 && dcpl >= 0 && H5Tequal(type, H5T_IEEE_F32LE) > 0 &&
              H5Pget_nfilters(dcpl) == 2;
    for (unsigned k = 0; ok && k < 2; k++) {
        unsigned flags = 0, cd[8];
        size_t n_cd = 8;
        char name[64];
        const H5Z_filter_t id = H5Pget_filter2(dcpl, k, &flags, &n_cd, cd, sizeof name, name, NULL);
        ok = id == (k == 0 ? H5Z_FILTER_SHUFFLE : H5Z_FILTER_DEFLATE);
    }
    if (type >= 0) H5Tclose(type);
    if (dcpl >= 0) H5Pclose(dcpl);
    return ok;
}

/* Grid g through HDF5's own filters (a dataset whose stored form differs from ours). */
static herr_t write_through_filters(hid_t d, const grid_job *g, int ndims)
{
    hsize_t start[4] = {g->i0, g->i1, 0, 0}, count[4] = {1, 1, 1, 1};
    if (ndims == 3) start[1] = 0;
    count[ndims - 2] = (hsize_t)g->f->height;
    count[ndims - 1] = (hsize_t)g->f->width;
    const hsize_t mem[2] = {(hsize_t)g->f->height, (hsize_t)g->f->width};
    hid_t fs = H5Dget_space(d), ms = H5Screate_simple(2, mem, NULL);
    herr_t st = fs >= 0 && ms >= 0 ? H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL) : -1;
    if (st >= 0) st = H5Dwrite(d, H5T_NATIVE_FLOAT, ms, fs, H5P_DEFAULT, g->f->data);
    if (fs >= 0) H5Sclose(fs);
    if (ms >= 0) H5Sclose(ms);
    return st;
}

/* The HDF5 datasets of the grid variables, opened as their first grid comes. */
typedef struct {
    hid_t file, dset[SLOTS];
    int ndims[SLOTS];
    bool ours[SLOTS]; /* chunk_form_matches */
} grid_file;

/* Store grid g, compressed (chunk_bytes of chunk); the name of its variable when it fails. */
static const char *store_grid(grid_file *gf, const grid_job *g, const unsigned char *chunk)
{
    const int s = g->slot;
    if (gf->dset[s] < 0) {
        gf->dset[s] = H5Dopen2(gf->file, slot_name[s], H5P_DEFAULT);
        hid_t space = gf->dset[s] >= 0 ? H5Dget_space(gf->dset[s]) : -1;
        gf->ndims[s] = space >= 0 ? H5Sget_simple_extent_ndims(space) : -1;
        if (space >= 0) H5Sclose(space);
        if (gf->ndims[s] != 3 && gf->ndims[s] != 4) return slot_name[s];
        gf->ours[s] = chunk_form_matches(gf->dset[s]);
    }
    herr_t st;
    if (gf->ours[s]) {
        if (g->chunk_bytes == 0) return slot_name[s];
        const hsize_t offset[4] = {g->i0, gf->ndims[s] == 4 ? g->i1 : 0, 0, 0};
        st = H5Dwrite_chunk(gf->dset[s], H5P_DEFAULT, 0, offset, g->chunk_bytes, chunk);
    } else st = write_through_filters(gf->dset[s], g, gf->ndims[s]);
    return st < 0 ? slot_name[s] : NULL;
}

/* Store job j (compressed, in its ring buffer). */
static const char *store_job(grid_file *gf, const compress_work *cw, int j)
{
    return store_grid(gf, &cw->jobs[j], cw->ring[j % cw->ring_size]);
}

/* Store the jobs before `upto` in order, waiting for those still being compressed. */
static const char *store_until(grid_file *gf, compress_work *cw, int upto)
{
    for (;;) {
        pthread_mutex_lock(&cw->mu);
        const int j = cw->stored;
        while (j < upto && !cw->jobs[j].done) pthread_cond_wait(&cw->changed, &cw->mu);
        pthread_mutex_unlock(&cw->mu);
        if (j >= upto) return NULL;
        const char *failed = store_job(gf, cw, j);
        if (failed) return failed;
        pthread_mutex_lock(&cw->mu);
        cw->stored = j + 1; /* its ring buffer is free */
        pthread_cond_broadcast(&cw->changed);
        pthread_mutex_unlock(&cw->mu);
    }
}

/* Compress with the threads and store every grid in the closed netCDF file tmp (HDF5). */
static int store_chunks(writer *w, const char *tmp, compression *z)
{
    compress_work *cw = &z->work;
    grid_file gf;
    gf.file = H5Fopen(tmp, H5F_ACC_RDWR, H5P_DEFAULT);
    if (gf.file < 0) return sq25__fail(w->e->ctx, SQ25_ERR_WRITE, "%s: cannot reopen to store the grids", w->path);
    for (int s = 0; s < SLOTS; s++) gf.dset[s] = -1;
    const char *failed = NULL;
    for (int j; !failed && (j = atomic_fetch_add(&cw->next, 1)) < cw->n_jobs;) {
        failed = store_until(&gf, cw, j - cw->ring_size + 1); /* job j's buffer */
        if (!failed) compress_job(cw, 0, j);
    }
    if (!failed) failed = store_until(&gf, cw, cw->n_jobs);
    compression_join(z);
    for (int s = 0; s < SLOTS; s++)
        if (gf.dset[s] >= 0) H5Dclose(gf.dset[s]);
    const bool closed = H5Fclose(gf.file) >= 0;
    if (failed) return sq25__fail(w->e->ctx, SQ25_ERR_WRITE, "%s: cannot store the grids of %s", w->path, failed);
    if (!closed) return sq25__fail(w->e->ctx, SQ25_ERR_WRITE, "%s: HDF5 close failed", w->path);
    return SQ25_OK;
}

/* The file tmp defined by libnetcdf (dimensions, attributes, coordinates, lat/lon; the grid
 * variables declared, none of their chunks written) and closed. Inside sq25__h5_enter. */
static int define_file(writer *w, const char *tmp)
{
    const sq25_field *like = w->e->mean[0];
    coord_vars cv;
    memset(&cv, 0, sizeof cv);
    int rc = SQ25_OK, st = nc_create(tmp, NC_NETCDF4 | NC_CLOBBER, &w->nc);
    const bool open = st == NC_NOERR;
    if (!open) rc = nc_fail(w, st, "create");
    if (!rc) rc = define(w, like, &cv);
    if (!rc) rc = global_attributes(w);
    if (!rc && (st = nc_enddef(w->nc)) != NC_NOERR) rc = nc_fail(w, st, "enddef");
    if (!rc) rc = put_coords(w, &cv, like);
    if (!rc) rc = put_lonlat(w, &cv, like);
    if (open) {
        st = nc_close(w->nc);
        if (!rc && st != NC_NOERR) rc = nc_fail(w, st, "close");
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
    /* the grids are compressed on threads while libnetcdf writes the rest */
    compression z;
    memset(&z, 0, sizeof z);
    int rc = compression_start(e, &z);
    if (rc) {
        compression_free(e->ctx, &z);
        sq25__output_abort(e->ctx, &out);
        return sq25__fail(e->ctx, rc, rc == SQ25_ERR_NOMEM ? "%s: out of memory for the writer"
                                                           : "%s: grids too large for one chunk",
                          path);
    }
    sq25__h5_enter(); /* libnetcdf calls HDF5, which is not thread-safe */
    rc = define_file(&w, out.tmp);
    if (!rc) rc = store_chunks(&w, out.tmp, &z);
    sq25__h5_leave();
    compression_free(e->ctx, &z);
    if (!rc) rc = sq25__output_commit(e->ctx, &out);
    else sq25__output_abort(e->ctx, &out); /* a previous file at path stays whole */
    return rc ? rc : sq25__ok(e->ctx);
}

/* ---- the streamed file: each lead blended, compressed and stored as it ends ----------------
 *
 * sq25_ensemble_run_netcdf runs the members through sq25__ensemble_run_hooked. Once the set-up
 * is done the file is defined (calling thread), then a writer thread takes the leads in
 * order as their statistics end: it blends the lead (and the accumulation window ending
 * there) with the control member, shuffles and deflates the lead's grids and stores them
 * with H5Dwrite_chunk, while the members of the next leads are computed. The calling thread
 * extrapolates the control member lead by lead between the leads, its rates and every
 * window's amount in one pass (sq25__accumulator; it uses the context's pool
 * and allocator). The context is used by one thread at a time: the writer thread touches it
 * only while defining the file (the calling thread meanwhile computes the members of lead 1
 * and waits for the definition before its next context call); the writer's other memory is
 * made beforehand. After the last lead the calling thread compresses beside the writer
 * thread. With one thread (sq25_ensemble_options_set_threads 1) the writer's work runs inline
 * after each lead. */

/* Control inputs are made for lead k in slot k % STREAM_SLOTS, the writer being at most
 * STREAM_SLOTS - 1 leads behind (else the calling thread waits for it). */
#define STREAM_SLOTS 2
/* Compressing threads at most: the writer thread and, after the last lead, the caller. */
#define STREAM_PACKERS 2

typedef struct {
    unsigned char *shuffled, *packed; /* 4 x cells bytes; chunk_cap bytes */
} packer;

typedef struct {
    sq25_ensemble *e;
    const char *path;
    sq25__output out;
    bool output_begun;
    writer w;
    grid_file gf;
    bool gf_open;
    size_t cells, chunk_cap;
    /* the grids in the order they become final: lead k's, then those of the window ending
     * at lead k; jobs [0, lead_end[k]) are final once lead k is blended */
    grid_job *jobs;
    int n_jobs, *lead_end;
    /* control member (weight > 0) */
    bool control;
    const sq25_field *latest;
    const float *u, *v;
    sq25_extrapolator *ex;  /* the rates, when the accumulator cannot give them */
    sq25__accumulator *acc; /* the amounts (and the rates with 2 sub-steps) in one pass */
    float *control_rate[STREAM_SLOTS], *control_amount[STREAM_SLOTS];
    void *blend_scratch;
    packer pack[STREAM_PACKERS];
    /* progress, under mu */
    pthread_mutex_t mu;
    pthread_cond_t changed;
    bool sync_ready, thread_started, stop, defined;
    bool begun; /* the set-up done: the writer thread may define the file (under mu) */
    /* the last lead: its window's blend goes to the calling thread when it claims it before
     * the writer thread is done with the lead's (stream_end), so that the two run side by
     * side; the lead's grids, then the window's, become ready as each blend ends (under mu) */
    int tail_window_owner; /* 0: not claimed, 1: the writer thread, 2: the calling thread */
    bool tail_lead_blended, tail_window_blended;
    int tail_window_first; /* the first job of that window (lead_end[n_leads] without one) */
    void *tail_scratch;    /* the calling thread's blend scratch */
    /* the grid's lon/lat transform (from prepare), and the cells' lat then lon, made by the
     * writer thread beside the set-up (lonlat_ready: made; the writer thread's alone) */
    PJ *lonlat_op;
    float *lonlat_grid;
    double *lonlat_xy;
    bool lonlat_ready;
    int define_rc;
    pthread_t thread;
    int leads_given, leads_blended, jobs_ready, jobs_claimed, jobs_stored;
    int controls_done; /* control steps done (one thread at a time: the run's items, then
                        * the calling thread, in turn) */
    const char *failed_var; /* a grid that could not be compressed or stored */
    bool release;           /* no result wanted: grids freed once stored (calling thread) */
    int jobs_released;      /* jobs before it released or still to be checked */
    int next_cold;          /* the first job not yet given a stored grid's buffer */
} stream;

static void stream_signal(stream *st)
{
    pthread_cond_broadcast(&st->changed);
    pthread_mutex_unlock(&st->mu);
}

/* Compress and store the final grids not yet claimed, as packer p; returns when none is
 * left to claim (all_jobs: wait for the rest to become final, until every job is claimed). */
static void stream_pack(stream *st, int p, bool all_jobs)
{
    packer *pk = &st->pack[p];
    for (;;) {
        pthread_mutex_lock(&st->mu);
        while (all_jobs && !st->stop && st->jobs_claimed < st->n_jobs &&
               st->jobs_claimed >= st->jobs_ready)
            pthread_cond_wait(&st->changed, &st->mu);
        if (st->stop || st->jobs_claimed >= st->jobs_ready) {
            pthread_mutex_unlock(&st->mu);
            return;
        }
        const int j = st->jobs_claimed++;
        grid_job *g = &st->jobs[j];
        pthread_mutex_unlock(&st->mu);
        g->chunk_bytes = deflate_grid(pk->shuffled, g->f->data, st->cells, pk->packed,
                                      st->chunk_cap);
        /* stored in job order, so the file's bytes do not depend on the threads */
        pthread_mutex_lock(&st->mu);
        while (!st->stop && st->jobs_stored != j) pthread_cond_wait(&st->changed, &st->mu);
        const bool stop = st->stop;
        pthread_mutex_unlock(&st->mu);
        if (stop) return;
        sq25__h5_enter();
        const char *failed = store_grid(&st->gf, g, pk->packed);
        sq25__h5_leave();
        pthread_mutex_lock(&st->mu);
        st->jobs_stored++;
        if (failed && !st->failed_var) {
            st->failed_var = failed;
            st->stop = true;
        }
        stream_signal(st);
    }
}

/* Under mu: the last lead's grids that are final, from the blends done so far. */
static void tail_publish(stream *st)
{
    if (!st->tail_lead_blended) return;
    const int ready = st->tail_window_blended ? st->lead_end[st->e->n_leads] : st->tail_window_first;
    if (ready > st->jobs_ready) st->jobs_ready = ready;
}

/* The blend of the window ending at lead k (w) into its grids. */
static void blend_window(stream *st, void *scratch, int k, int w)
{
    sq25__ens_blend_one(st->e, scratch, st->e->n_leads + w,
                        st->control ? st->control_amount[k % STREAM_SLOTS] : NULL);
}

/* The last lead: the lead's blend, the window's unless the calling thread has claimed it,
 * and the grids compressed as they become final until none is left. */
static void stream_last_lead(stream *st, int k, int w)
{
    if (w >= 0) {
        pthread_mutex_lock(&st->mu);
        st->tail_lead_blended = true;
        const bool mine = st->tail_window_owner == 0;
        if (mine) st->tail_window_owner = 1;
        tail_publish(st);
        stream_signal(st);
        if (mine) blend_window(st, st->blend_scratch, k, w);
        pthread_mutex_lock(&st->mu);
        if (mine) st->tail_window_blended = true;
        tail_publish(st);
    } else {
        pthread_mutex_lock(&st->mu);
        st->jobs_ready = st->lead_end[k];
    }
    st->leads_blended = k;
    stream_signal(st);
    stream_pack(st, 0, true);
}

/* The writer's work for lead k (1-based): the blend, then the grids that became final. */
static void stream_lead(stream *st, int k)
{
    const int slot = k % STREAM_SLOTS;
    const bool blend = sq25__ens_blend_active(&st->e->opt);
    const int w = window_ending_at(st->e, k);
    if (blend)
        sq25__ens_blend_one(st->e, st->blend_scratch, k - 1,
                            st->control ? st->control_rate[slot] : NULL);
    if (k == st->e->n_leads) {
        stream_last_lead(st, k, blend ? w : -1);
        return;
    }
    if (blend && w >= 0) blend_window(st, st->blend_scratch, k, w);
    pthread_mutex_lock(&st->mu);
    st->leads_blended = k;
    st->jobs_ready = st->lead_end[k];
    stream_signal(st);
    stream_pack(st, 0, false);
    /* the lead's chunks to disk now, beside the next leads: the commit's fsync of the whole
     * file (30 MB for 20 members x 12 leads on 700 x 700) took 40-50 ms after the last one */
    sq25__output_writeback(&st->out);
}

/* The last lead given (writer thread running): the calling thread blends the last lead's
 * window itself if the writer thread has not begun it (the two blends were one after the
 * other on the writer thread, with this thread waiting). */
static void stream_tail_window(stream *st)
{
    const int k = st->e->n_leads, w = window_ending_at(st->e, k);
    if (w < 0 || !st->tail_scratch) return;
    pthread_mutex_lock(&st->mu);
    const bool mine = st->tail_window_owner == 0;
    if (mine) st->tail_window_owner = 2;
    pthread_mutex_unlock(&st->mu);
    if (!mine) return;
    blend_window(st, st->tail_scratch, k, w);
    pthread_mutex_lock(&st->mu);
    st->tail_window_blended = true;
    tail_publish(st);
    stream_signal(st);
}

/* The file defined and reopened for the chunks (SQ25_OK or the error, set on the context). */
static int stream_define(stream *st)
{
    st->w.lonlat = st->lonlat_op;
    st->w.lonlat_grid = st->lonlat_ready ? st->lonlat_grid : NULL;
    sq25__h5_enter();
    int rc = define_file(&st->w, st->out.tmp);
    if (!rc) {
        st->gf.file = H5Fopen(st->out.tmp, H5F_ACC_RDWR, H5P_DEFAULT);
        st->gf_open = st->gf.file >= 0;
        if (!st->gf_open)
            rc = sq25__fail(st->e->ctx, SQ25_ERR_WRITE, "%s: cannot reopen to store the grids",
                            st->path);
    }
    sq25__h5_leave();
    return rc;
}

/* The cells' lat/lon for the file, on the writer thread while the calling thread does the
 * set-up (PROJ's 0.13 s for 700 x 700, which left a core idle when made in the file's
 * definition): the transform moves to a PROJ context of this thread's own (the library
 * context is the calling thread's) and back when done. Without that context the definition
 * makes them as before. */
static void stream_lonlat(stream *st)
{
    if (!st->lonlat_grid || !st->lonlat_op) return;
    PJ_CONTEXT *own = proj_context_create();
    if (!own) return;
    proj_log_level(own, PJ_LOG_NONE); /* PROJ prints nothing itself (lib/core.c) */
    proj_assign_context(st->lonlat_op, own);
    const sq25_field *like = st->latest; /* the result's grids have its shape */
    const size_t cells = (size_t)like->width * (size_t)like->height;
    for (int r = 0; r < like->height; r++) {
        float *lat = st->lonlat_grid + (size_t)r * (size_t)like->width;
        lonlat_row(st->lonlat_op, like, r, st->lonlat_xy, lat, lat + cells);
    }
    proj_assign_context(st->lonlat_op, st->e->ctx->pj_ctx);
    proj_context_destroy(own);
    st->lonlat_ready = true;
}

/* The writer thread: the cells' lat/lon beside the set-up, then (once begun) the file's
 * definition, while the members of lead 1 compute (the calling thread then makes no context
 * call: it waits for `defined` before its own), then the leads in order. */
static void *stream_thread(void *arg)
{
    stream *st = arg;
    stream_lonlat(st);
    pthread_mutex_lock(&st->mu);
    while (!st->begun && !st->stop) pthread_cond_wait(&st->changed, &st->mu);
    const bool go = !st->stop;
    pthread_mutex_unlock(&st->mu);
    if (!go) return NULL;
    const int rc = stream_define(st);
    pthread_mutex_lock(&st->mu);
    st->define_rc = rc;
    st->defined = true;
    if (rc) st->stop = true;
    stream_signal(st);
    for (int k = 1; rc == SQ25_OK && k <= st->e->n_leads; k++) {
        pthread_mutex_lock(&st->mu);
        while (!st->stop && st->leads_given < k) pthread_cond_wait(&st->changed, &st->mu);
        const bool stop = st->stop;
        pthread_mutex_unlock(&st->mu);
        if (stop) break;
        stream_lead(st, k);
    }
    return NULL;
}

static int packer_make(sq25_ctx *ctx, stream *st, packer *pk)
{
    pk->shuffled = sq25__malloc(ctx, st->cells * sizeof(float));
    pk->packed = sq25__malloc(ctx, st->chunk_cap);
    if (!pk->shuffled || !pk->packed) return SQ25_ERR_NOMEM;
    return SQ25_OK;
}

static void packer_free(sq25_ctx *ctx, packer *pk)
{
    sq25__free(ctx, pk->shuffled);
    sq25__free(ctx, pk->packed);
    memset(pk, 0, sizeof *pk);
}

static int writer_threads(const sq25_ensemble *e)
{
    return e->opt.threads > 0 ? e->opt.threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
}

/* Everything the writer thread needs, made on the calling thread. */
static int stream_alloc(stream *st)
{
    sq25_ensemble *e = st->e;
    sq25_ctx *ctx = e->ctx;
    const sq25_ensemble_options *o = &e->opt;
    st->cells = (size_t)e->mean[0]->width * (size_t)e->mean[0]->height;
    const size_t in_bytes = st->cells * sizeof(float);
    st->chunk_cap = sq25__deflate_bound(in_bytes) + 6; /* as compression_start */
    if (st->chunk_cap > UINT32_MAX) return SQ25_ERR_WRITE;
    st->lead_end = sq25__calloc(ctx, (size_t)e->n_leads + 1, sizeof(int));
    if (!st->lead_end) return SQ25_ERR_NOMEM;
    /* with the members kept, the control member's rates too (as sq25__ens_blend_probabilities
     * keeps them), filled lead by lead in stream_lead_done */
    if (o->keep && o->control_weight > 0 && !e->control && sq25__ensemble_alloc_control(e))
        return SQ25_ERR_NOMEM;
    st->n_jobs = collect_grids(e, NULL, NULL);
    if (!(st->jobs = sq25__calloc(ctx, (size_t)st->n_jobs, sizeof *st->jobs))) return SQ25_ERR_NOMEM;
    collect_grids(e, st->jobs, st->lead_end);
    st->tail_window_first = st->lead_end[e->n_leads];
    for (int j = st->lead_end[e->n_leads - 1]; j < st->lead_end[e->n_leads]; j++) {
        const int slot = st->jobs[j].slot;
        if (slot == SLOT_APROB || slot == SLOT_AMEAN || slot == SLOT_AQUANT || slot == SLOT_AMEMBER) {
            st->tail_window_first = j;
            break;
        }
    }
    int rc = packer_make(ctx, st, &st->pack[0]);
    if (!rc && sq25__ens_blend_active(o)) rc = sq25__ens_blend_scratch_make(ctx, e, &st->blend_scratch);
    /* (its pages are touched only when used, at the end) */
    if (!rc && sq25__ens_blend_active(o) && window_ending_at(e, e->n_leads) >= 0 &&
        writer_threads(e) > 1)
        rc = sq25__ens_blend_scratch_make(ctx, e, &st->tail_scratch);
    st->control = o->control_weight > 0;
    for (int k = 0; !rc && st->control && k < STREAM_SLOTS; k++) {
        if (!(st->control_rate[k] = sq25__malloc(ctx, in_bytes))) rc = SQ25_ERR_NOMEM;
        if (!rc && o->n_accum && !(st->control_amount[k] = sq25__malloc(ctx, in_bytes)))
            rc = SQ25_ERR_NOMEM;
    }
    /* the rates are extrapolated with 2 sub-steps (as sq25__ens_blend_probabilities) */
    if (!rc && st->control && o->n_accum)
        rc = sq25__accumulator_create(ctx, st->latest, st->u, st->v, e->step_s, o->substeps, &st->acc);
    if (!rc && st->control && (!o->n_accum || o->substeps != 2))
        rc = sq25_extrapolator_create(ctx, st->latest, st->u, st->v, 2, &st->ex);
    return rc;
}

/* Before the set-up: the writer thread starts on the cells' lat/lon (with more than one
 * thread; else the definition uses the transform). */
static int stream_prepare(void *arg, sq25_ensemble *e, const sq25_field *latest, PJ *lonlat)
{
    stream *st = arg;
    st->e = e;
    st->latest = latest;
    st->lonlat_op = lonlat;
    for (int s = 0; s < SLOTS; s++) st->gf.dset[s] = -1;
    if (pthread_mutex_init(&st->mu, NULL) != 0) return SQ25_ERR_NOMEM;
    if (pthread_cond_init(&st->changed, NULL) != 0) {
        pthread_mutex_destroy(&st->mu);
        return SQ25_ERR_NOMEM;
    }
    st->sync_ready = true;
    if (writer_threads(e) < 2) return SQ25_OK;
    const size_t cells = (size_t)latest->width * (size_t)latest->height;
    st->lonlat_grid = sq25__malloc(e->ctx, 2 * cells * sizeof(float));
    st->lonlat_xy = sq25__malloc(e->ctx, 2 * (size_t)latest->width * sizeof(double));
    if (!st->lonlat_grid || !st->lonlat_xy)
        return sq25__fail(e->ctx, SQ25_ERR_NOMEM, "%s: out of memory for the writer", st->path);
    if (pthread_create(&st->thread, NULL, stream_thread, st) == 0) st->thread_started = true;
    return SQ25_OK;
}

static int stream_begin(void *arg, sq25_ensemble *e, const sq25_field *latest, const float *u,
                        const float *v)
{
    stream *st = arg;
    (void)latest; /* as given to prepare */
    st->u = u;
    st->v = v;
    st->w = (writer){.e = e, .path = st->path};
    int rc = stream_alloc(st);
    if (rc == SQ25_ERR_NOMEM) return sq25__fail(e->ctx, rc, "%s: out of memory for the writer", st->path);
    if (rc) return sq25__fail(e->ctx, rc, "%s: grids too large for one chunk", st->path);
    if ((rc = sq25__output_begin(e->ctx, st->path, &st->out))) return rc;
    st->output_begun = true;
    pthread_mutex_lock(&st->mu);
    st->begun = true;
    stream_signal(st);
    if (!st->thread_started && writer_threads(e) > 1 &&
        pthread_create(&st->thread, NULL, stream_thread, st) == 0)
        st->thread_started = true;
    if (!st->thread_started) rc = stream_define(st); /* inline */
    return rc;
}

/* Without a result wanted, the grids stored so far are freed (the calling thread owns the
 * allocator): the file, not the result, then holds them, and the memory does not grow with
 * the leads. Called once lead k is done: a stored grid's buffer first goes to a grid of lead
 * k + 1 (same shape, not computed yet, filled whole), whose own buffer, never written, is freed
 * instead; so the pages of the few leads in flight are touched once, not again every lead
 * (the kernel's page faults and page clearing). */
static void stream_release(stream *st, int k)
{
    pthread_mutex_lock(&st->mu);
    const int upto = st->jobs_stored;
    pthread_mutex_unlock(&st->mu);
    const int next_end = k < st->e->n_leads ? st->lead_end[k + 1] : 0;
    if (st->next_cold < st->lead_end[k]) st->next_cold = st->lead_end[k];
    for (int j = st->jobs_released; j < upto; j++) {
        sq25_field *stored = *st->jobs[j].owner;
        if (st->next_cold < next_end) {
            sq25_field *next = *st->jobs[st->next_cold++].owner;
            float *warm = stored->data;
            stored->data = next->data;
            next->data = warm;
        }
        sq25_field_destroy(stored);
        *st->jobs[j].owner = NULL;
        st->jobs[j].f = NULL;
    }
    st->jobs_released = upto;
}

/* The control member's rate (and amount) for lead k, into its slot (controls_done = k). */
static int control_step(stream *st, int k)
{
    const int slot = k % STREAM_SLOTS;
    pthread_mutex_lock(&st->mu); /* the file defined, the slot's previous lead blended */
    while (st->thread_started && !st->stop &&
           (!st->defined || st->leads_blended < k - STREAM_SLOTS))
        pthread_cond_wait(&st->changed, &st->mu);
    const bool stop = st->stop;
    const int define_rc = st->define_rc;
    pthread_mutex_unlock(&st->mu);
    if (define_rc) return define_rc;
    if (stop) return SQ25_ERR_WRITE;
    sq25_ensemble *e = st->e;
    int rc = SQ25_OK;
    if (st->ex) rc = sq25_extrapolator_next(st->ex, st->control_rate[slot]);
    if (!rc && st->acc)
        rc = sq25__accumulator_next(st->acc, st->ex ? NULL : st->control_rate[slot],
                                    window_ending_at(e, k) >= 0 ? st->control_amount[slot] : NULL);
    if (!rc && e->control)
        memcpy(e->control[k - 1]->data, st->control_rate[slot], st->cells * sizeof(float));
    if (!rc) st->controls_done = k;
    return rc;
}

/* Whether the writer thread is still defining the file: the run's threads may then make no
 * context call. */
static bool stream_defining(stream *st)
{
    pthread_mutex_lock(&st->mu);
    const bool defining = st->thread_started && !st->defined && !st->stop;
    pthread_mutex_unlock(&st->mu);
    return defining;
}

/* The control steps up to lead k not yet done. */
static int controls_until(stream *st, int k)
{
    int rc = SQ25_OK;
    for (int j = st->controls_done + 1; rc == SQ25_OK && j <= k; j++) rc = control_step(st, j);
    return rc;
}

/* The control steps up to lead k whose slot's previous lead has been given to the writer
 * (its wait for that lead's blend then ends without this thread's help). */
static int controls_given_slots(stream *st, int k)
{
    const int last = st->leads_given + STREAM_SLOTS < k ? st->leads_given + STREAM_SLOTS : k;
    return controls_until(st, last);
}

/* Beside lead k's members, as one more item of theirs on whichever of the run's threads
 * takes it (the last one: it fills the time one thread waits for the other's last member):
 * the control member's step of lead k, which needs none of them (it ran on the calling
 * thread between the leads, one core idle but for the writer). Skipped while the file is
 * being defined, and when the step would wait for a lead not yet given to the writer (the
 * calling thread gives them after this lead); stream_lead_done then catches up. */
static int stream_lead_side(void *arg, int k)
{
    stream *st = arg;
    return stream_defining(st) ? SQ25_OK : controls_given_slots(st, k);
}

/* Lead k's statistics are done: the control steps not yet done, then the leads not yet given
 * to the writer. While the writer thread still defines the file (the coordinates of every
 * cell, the HDF5 metadata) the calling thread may make no context call, so instead of
 * waiting (both cores but the writer's idle) it returns at once and the next lead's members
 * compute beside the definition; the next call catches up (the last lead always waits). The
 * leads are given to the writer in order whatever the timing, so the file does not change. */
static int stream_lead_done(void *arg, int k)
{
    stream *st = arg;
    if (k < st->e->n_leads && stream_defining(st)) return SQ25_OK;
    int rc = SQ25_OK;
    /* leads_given is written only by this thread */
    for (int j = st->leads_given + 1; rc == SQ25_OK && j <= k; j++) {
        if ((rc = controls_until(st, j))) break;
        pthread_mutex_lock(&st->mu);
        st->leads_given = j;
        stream_signal(st);
        if (!st->thread_started) stream_lead(st, j);
    }
    if (rc == SQ25_OK && st->release) stream_release(st, k);
    /* before the members' state is freed: the unmapping then runs beside the compression,
     * not beside the writer thread's blend, whose fresh pages it would slow */
    if (rc == SQ25_OK && k == st->e->n_leads && st->thread_started) stream_tail_window(st);
    return rc;
}

static void stream_free(stream *st)
{
    sq25_ctx *ctx = st->e ? st->e->ctx : NULL;
    if (!ctx) return;
    for (int p = 0; p < STREAM_PACKERS; p++) packer_free(ctx, &st->pack[p]);
    sq25__ens_blend_scratch_free(ctx, st->blend_scratch);
    sq25__ens_blend_scratch_free(ctx, st->tail_scratch);
    for (int k = 0; k < STREAM_SLOTS; k++) {
        sq25__free(ctx, st->control_rate[k]);
        sq25__free(ctx, st->control_amount[k]);
    }
    sq25_extrapolator_destroy(st->ex);
    sq25__accumulator_destroy(st->acc);
    proj_destroy(st->lonlat_op);
    sq25__free(ctx, st->lonlat_grid);
    sq25__free(ctx, st->lonlat_xy);
    sq25__free(ctx, st->jobs);
    sq25__free(ctx, st->lead_end);
    if (st->sync_ready) {
        pthread_mutex_destroy(&st->mu);
        pthread_cond_destroy(&st->changed);
    }
}

/* After the members: the caller compresses beside the writer thread, then the file is
 * closed and renamed (or removed when anything failed). */
static int stream_end(void *arg, int rc)
{
    stream *st = arg;
    sq25_ctx *ctx = st->e->ctx;
    if (rc == SQ25_OK && st->thread_started && packer_make(ctx, st, &st->pack[1]) == SQ25_OK)
        stream_pack(st, 1, true);
    if (st->sync_ready && rc != SQ25_OK) {
        pthread_mutex_lock(&st->mu);
        st->stop = true;
        stream_signal(st);
    }
    if (st->thread_started) pthread_join(st->thread, NULL);
    sq25__h5_enter();
    for (int s = 0; s < SLOTS; s++)
        if (st->gf.dset[s] >= 0) H5Dclose(st->gf.dset[s]);
    const bool closed = !st->gf_open || H5Fclose(st->gf.file) >= 0;
    sq25__h5_leave();
    if ((rc == SQ25_OK || rc == SQ25_ERR_WRITE) && st->failed_var) /* from the writer */
        rc = sq25__fail(ctx, SQ25_ERR_WRITE, "%s: cannot store the grids of %s", st->path, st->failed_var);
    else if (rc == SQ25_OK && st->jobs_stored != st->n_jobs)
        rc = sq25__fail(ctx, SQ25_ERR_WRITE, "%s: %d of %d grids stored", st->path, st->jobs_stored, st->n_jobs);
    else if (rc == SQ25_OK && !closed)
        rc = sq25__fail(ctx, SQ25_ERR_WRITE, "%s: HDF5 close failed", st->path);
    stream_free(st);
    if (st->output_begun) {
        if (rc == SQ25_OK) rc = sq25__output_commit(ctx, &st->out);
        else sq25__output_abort(ctx, &st->out);
    }
    return rc;
}

int sq25_ensemble_run_netcdf(sq25_ctx *ctx, const sq25_ensemble_options *opt,
                             const sq25_field *const *frames, int n_frames, const float *u,
                             const float *v, int n_leads, const char *path, sq25_ensemble **out)
{
    if (!ctx) return SQ25_ERR_INVALID_ARG;
    if (out) *out = NULL;
    if (!path) return sq25__fail(ctx, SQ25_ERR_INVALID_ARG, "sq25_ensemble_run_netcdf: NULL path");
    stream st;
    memset(&st, 0, sizeof st);
    st.path = path;
    st.gf.file = -1;
    st.release = out == NULL;
    const sq25__ens_hook hook = {&st, stream_prepare, stream_begin, stream_lead_side,
                                 stream_lead_done, stream_end};
    sq25_ensemble *e = NULL;
    const int rc = sq25__ensemble_run_hooked(ctx, opt, frames, n_frames, u, v, n_leads, &hook, &e);
    if (rc == SQ25_OK && out) *out = e;
    else sq25_ensemble_destroy(e);
    return rc;
}
