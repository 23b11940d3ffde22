/* ensemble_read.c -- read back an ensemble file written by sq25_ensemble_write_netcdf (for
 * sq25 verify --ensemble and for callers that keep results on disk). Every size is checked
 * against the limits before anything is allocated; a file that lacks a variable or dimension
 * of the layout is rejected with its name. */
#include "ensemble_internal.h"
#include "h5util.h"

#include <math.h>
#include <netcdf.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

typedef struct {
    sq25_ctx *ctx;
    const char *path;
    int nc;
    long long file_bytes;
} reader;

static int bad(reader *r, int code, const char *what, int status)
{
    if (status != NC_NOERR)
        return sq25__fail(r->ctx, code, "%s: %s: %s", r->path, what, nc_strerror(status));
    return sq25__fail(r->ctx, code, "%s: %s", r->path, what);
}

/* Length of a dimension; 0 when absent and optional. */
static int dim_len(reader *r, const char *name, int required, size_t max, size_t *len)
{
    int id;
    *len = 0;
    int st = nc_inq_dimid(r->nc, name, &id);
    if (st != NC_NOERR)
        return required ? sq25__fail(r->ctx, SQ25_ERR_FORMAT_UNKNOWN,
                                     "%s: not an ensemble file (no dimension %s)", r->path, name)
                        : SQ25_OK;
    if ((st = nc_inq_dimlen(r->nc, id, len)) != NC_NOERR) return bad(r, SQ25_ERR_READ, name, st);
    if (*len > max || (required && *len == 0)) {
        return sq25__fail(r->ctx, SQ25_ERR_SIZE_ABSURD, "%s: dimension %s has length %zu (1..%zu)",
                          r->path, name, *len, max);
    }
    return SQ25_OK;
}

static int read_doubles(reader *r, const char *name, size_t count, double *out)
{
    int id, st = nc_inq_varid(r->nc, name, &id);
    if (st != NC_NOERR) return bad(r, SQ25_ERR_MISSING_DATASET, name, st);
    int ndims = 0;
    size_t len = 1;
    nc_inq_varndims(r->nc, id, &ndims);
    if (ndims == 1) {
        int dim;
        nc_inq_vardimid(r->nc, id, &dim);
        nc_inq_dimlen(r->nc, dim, &len);
    }
    if (ndims > 1 || len != count)
        return sq25__fail(r->ctx, SQ25_ERR_BAD_DIMENSIONS, "%s: %s does not have %zu values",
                          r->path, name, count);
    if ((st = nc_get_var_double(r->nc, id, out)) != NC_NOERR) return bad(r, SQ25_ERR_READ, name, st);
    for (size_t i = 0; i < count; i++)
        if (!isfinite(out[i]))
            return sq25__fail(r->ctx, SQ25_ERR_BAD_METADATA, "%s: %s[%zu] is not finite", r->path, name, i);
    return SQ25_OK;
}

/* The options implied by the file (the rest keep their defaults). */
static int read_options(reader *r, sq25_ensemble_options *o, size_t *n_leads, size_t *height,
                        size_t *width)
{
    size_t n_thr, n_q, n_member, n_win, n_athr;
    int rc = dim_len(r, "time", 1, 288, n_leads);
    if (!rc) rc = dim_len(r, "threshold", 1, SQ25_ENSEMBLE_MAX_THRESHOLDS, &n_thr);
    if (!rc) rc = dim_len(r, "quantile", 0, SQ25_ENSEMBLE_MAX_QUANTILES, &n_q);
    if (!rc) rc = dim_len(r, "y", 1, SQ25_MAX_GRID_SIDE, height);
    if (!rc) rc = dim_len(r, "x", 1, SQ25_MAX_GRID_SIDE, width);
    if (!rc) rc = dim_len(r, "member", 0, SQ25_ENSEMBLE_MAX_MEMBERS, &n_member);
    if (!rc) rc = dim_len(r, "window", 0, SQ25_ENSEMBLE_MAX_ACCUMULATIONS, &n_win);
    if (!rc && n_win) rc = dim_len(r, "accumulation_threshold", 1, SQ25_ENSEMBLE_MAX_THRESHOLDS, &n_athr);
    if (!rc) rc = sq25__check_grid_size(r->ctx, (int64_t)*width, (int64_t)*height, r->path);
    if (rc) return rc;
    o->n_thresholds = (int)n_thr;
    o->n_quantiles = (int)n_q;
    o->n_accum = (int)n_win;
    rc = read_doubles(r, "threshold", n_thr, o->thresholds);
    if (!rc && n_q) rc = read_doubles(r, "quantile", n_q, o->quantiles);
    if (!rc && n_win) {
        double s[SQ25_ENSEMBLE_MAX_ACCUMULATIONS];
        rc = read_doubles(r, "window", n_win, s);
        for (size_t k = 0; !rc && k < n_win; k++) {
            if (!(s[k] >= 60 && s[k] <= 86400))
                return sq25__fail(r->ctx, SQ25_ERR_BAD_METADATA, "%s: window %g s out of range", r->path, s[k]);
            o->accum_minutes[k] = (int)lround(s[k] / 60);
        }
        o->n_accum_thresholds = (int)n_athr;
        if (!rc) rc = read_doubles(r, "accumulation_threshold", n_athr, o->accum_thresholds);
    }
    int members = (int)n_member;
    if (!n_member && nc_get_att_int(r->nc, NC_GLOBAL, "ensemble_members", &members) != NC_NOERR)
        members = 0;
    if (!rc && (members < 1 || members > SQ25_ENSEMBLE_MAX_MEMBERS))
        return sq25__fail(r->ctx, SQ25_ERR_MISSING_ATTRIBUTE, "%s: no member count (dimension member or attribute ensemble_members)", r->path);
    o->members = members;
    o->keep = n_member > 0;
    int levels = 0;
    if (nc_get_att_int(r->nc, NC_GLOBAL, "cascade_levels", &levels) == NC_NOERR && levels >= 2 &&
        levels <= SQ25__ENS_MAX_LEVELS)
        o->levels = levels;
    return rc;
}

/* Projection from the crs variable: the proj-string we write, else its WKT. */
static int read_projdef(reader *r, char *buf, size_t cap)
{
    int id, st = nc_inq_varid(r->nc, "crs", &id);
    if (st != NC_NOERR) return bad(r, SQ25_ERR_MISSING_DATASET, "crs", st);
    const char *names[2] = {"proj4_params", "crs_wkt"};
    for (int k = 0; k < 2; k++) {
        size_t len = 0;
        if (nc_inq_attlen(r->nc, id, names[k], &len) != NC_NOERR || len == 0) continue;
        if (len >= cap) return sq25__fail(r->ctx, SQ25_ERR_BAD_METADATA, "%s: crs:%s too long", r->path, names[k]);
        if (nc_get_att_text(r->nc, id, names[k], buf) != NC_NOERR) continue;
        buf[len] = '\0';
        return SQ25_OK;
    }
    return sq25__fail(r->ctx, SQ25_ERR_MISSING_ATTRIBUTE, "%s: crs has neither proj4_params nor crs_wkt", r->path);
}

/* The template field: grid from x/y (cell centres, metres), projection, issue time. */
static int read_grid(reader *r, size_t width, size_t height, int64_t *issue, int *step_s,
                     size_t n_leads, sq25_field **like)
{
    double x[2], y[2], ref;
    double *xs = sq25__malloc(r->ctx, (width + height + n_leads) * sizeof(double));
    if (!xs) return SQ25_ERR_NOMEM;
    int rc = read_doubles(r, "x", width, xs);
    if (!rc) rc = read_doubles(r, "y", height, xs + width);
    if (!rc) rc = read_doubles(r, "time", n_leads, xs + width + height);
    if (!rc) rc = read_doubles(r, "forecast_reference_time", 1, &ref);
    x[0] = xs[0], x[1] = width > 1 ? xs[1] : xs[0] + 1;
    y[0] = xs[width], y[1] = height > 1 ? xs[width + 1] : xs[width] - 1;
    const double t0 = xs[width + height];
    sq25__free(r->ctx, xs);
    if (rc) return rc;
    const double dx = x[1] - x[0], dy = y[1] - y[0], step = t0 - ref;
    /* Range-checked as doubles before they become integers (out of range, the conversion
     * gives no usable value). */
    if (!(ref >= (double)SQ25__TIME_MIN && ref <= (double)SQ25__TIME_MAX))
        return sq25__fail(r->ctx, SQ25_ERR_BAD_TIME,
                          "%s: forecast_reference_time %g s is not a time between the years 1000 "
                          "and 9999", r->path, ref);
    if (!(step >= 0.5 && step <= 86400))
        return sq25__fail(r->ctx, SQ25_ERR_BAD_METADATA,
                          "%s: first lead time - forecast_reference_time = %g s, not 1 s to one day",
                          r->path, step);
    *issue = (int64_t)llround(ref);
    *step_s = (int)llround(step);
    if (!(fabs(dx) > 0) || !(fabs(dy) > 0))
        return sq25__fail(r->ctx, SQ25_ERR_BAD_METADATA, "%s: x/y spacing cannot be used", r->path);
    char projdef[8192];
    if ((rc = read_projdef(r, projdef, sizeof projdef))) return rc;
    const double gt[6] = {x[0] - dx / 2, dx, 0, y[0] - dy / 2, 0, dy};
    return sq25_field_create(r->ctx, (int)width, (int)height, projdef, gt, *issue, like);
}

/* One grid of a variable: start = {i0, i1, 0, 0} (4-D) or {i0, 0, 0} (3-D). */
static int read_grid_slice(reader *r, const char *name, int i0, int i1, sq25_field *f)
{
    int id, st = nc_inq_varid(r->nc, name, &id), ndims = 0;
    if (st != NC_NOERR) return bad(r, SQ25_ERR_MISSING_DATASET, name, st);
    nc_inq_varndims(r->nc, id, &ndims);
    if (ndims != 3 && ndims != 4)
        return sq25__fail(r->ctx, SQ25_ERR_BAD_DIMENSIONS, "%s: %s is not 3-D or 4-D", r->path, name);
    size_t start[4] = {(size_t)i0, (size_t)i1, 0, 0}, count[4] = {1, 1, 1, 1};
    if (ndims == 3) start[1] = 0;
    count[ndims - 2] = (size_t)f->height;
    count[ndims - 1] = (size_t)f->width;
    if ((st = nc_get_vara_float(r->nc, id, start, count, f->data)) != NC_NOERR)
        return bad(r, SQ25_ERR_READ, name, st);
    /* Cells never written read as the variable's fill (netCDF's default 9.97e36 when the file
     * states none): nodata, not a value. */
    int no_fill = 1;
    float fill = NAN;
    if (nc_inq_var_fill(r->nc, id, &no_fill, &fill) == NC_NOERR && !no_fill && !isnan(fill))
        for (size_t i = 0; i < count[ndims - 2] * count[ndims - 1]; i++)
            if (f->data[i] == fill) f->data[i] = NAN;
    return SQ25_OK;
}

static int read_grids(reader *r, sq25_ensemble *e)
{
    const sq25_ensemble_options *o = &e->opt;
    int rc = SQ25_OK;
    for (int k = 0; !rc && k < e->n_leads; k++) {
        for (int j = 0; !rc && j < o->n_thresholds; j++)
            rc = read_grid_slice(r, "exceedance_probability", k, j, e->probability[k * o->n_thresholds + j]);
        if (!rc) rc = read_grid_slice(r, "mean_rate", k, 0, e->mean[k]);
        for (int q = 0; !rc && q < o->n_quantiles; q++)
            rc = read_grid_slice(r, "rate_quantile", k, q, e->quantile[k * o->n_quantiles + q]);
        for (int m = 0; !rc && o->keep && m < o->members; m++)
            rc = read_grid_slice(r, "rainfall_rate", m, k, e->member[(size_t)m * e->n_leads + k]);
    }
    for (int a = 0; !rc && a < o->n_accum; a++) {
        for (int j = 0; !rc && j < o->n_accum_thresholds; j++)
            rc = read_grid_slice(r, "accumulation_probability", a, j, e->acc_probability[a * o->n_accum_thresholds + j]);
        if (!rc) rc = read_grid_slice(r, "accumulation_mean", a, 0, e->acc_mean[a]);
        for (int q = 0; !rc && q < o->n_quantiles; q++)
            rc = read_grid_slice(r, "accumulation_quantile", a, q, e->acc_quantile[a * o->n_quantiles + q]);
        for (int m = 0; !rc && o->keep && m < o->members; m++)
            rc = read_grid_slice(r, "accumulation", m, a, e->acc_member[(size_t)m * o->n_accum + a]);
    }
    return rc;
}

static void read_levels(reader *r, sq25_ensemble *e)
{
    static const char *names[5] = {"cascade_wavenumber", "cascade_gamma1", "cascade_gamma2",
                                   "cascade_phi1", "cascade_phi2"};
    double v[5][SQ25__ENS_MAX_LEVELS];
    for (int j = 0; j < 5; j++) {
        size_t len = 0;
        if (nc_inq_attlen(r->nc, NC_GLOBAL, names[j], &len) != NC_NOERR || len != (size_t)e->levels ||
            nc_get_att_double(r->nc, NC_GLOBAL, names[j], v[j]) != NC_NOERR)
            return;
    }
    for (int k = 0; k < e->levels; k++)
        e->level[k] = (sq25__ens_level){v[0][k], v[1][k], v[2][k], v[3][k], v[4][k], NAN};
}

/* How the file's probabilities were made (attributes of exceedance_probability): the window's
 * growth in cells per lead step and the control member's weight; NaN when the file does not
 * say (files before 1.4 have no control_weight); the shrink's knee and rate (files before 1.5
 * have none, and there was no shrink before 1.5: 0). */
static int read_probability_options(reader *r, sq25_ensemble_options *o)
{
    int id;
    o->neighbourhood_cells_per_step = NAN;
    o->control_weight = NAN;
    if (nc_inq_varid(r->nc, "exceedance_probability", &id) != NC_NOERR) return SQ25_OK;
    const char *names[2] = {"neighbourhood_cells_per_lead_step", "control_weight"};
    double *dest[2] = {&o->neighbourhood_cells_per_step, &o->control_weight};
    for (int k = 0; k < 2; k++) {
        size_t len = 0;
        double v = NAN;
        if (nc_inq_attlen(r->nc, id, names[k], &len) != NC_NOERR || len != 1 ||
            nc_get_att_double(r->nc, id, names[k], &v) != NC_NOERR || isnan(v))
            continue; /* NaN: a file that did not know it (written from such a file) */
        if (!(v >= 0 && v <= (k == 0 ? SQ25_MAX_GRID_SIDE : 1)))
            return sq25__fail(r->ctx, SQ25_ERR_BAD_METADATA, "%s: exceedance_probability:%s = %g "
                              "is out of range", r->path, names[k], v);
        *dest[k] = v;
    }
    const char *shrink_names[2] = {"probability_shrink_knee", "probability_shrink_rate_per_hour"};
    double shrink[2] = {0, 0};
    for (int k = 0; k < 2; k++) {
        size_t len = 0;
        if (nc_inq_attlen(r->nc, id, shrink_names[k], &len) != NC_NOERR) continue;
        if (len != 1 || nc_get_att_double(r->nc, id, shrink_names[k], &shrink[k]) != NC_NOERR ||
            !(shrink[k] >= 0 && shrink[k] <= (k == 0 ? 1 : 10)))
            return sq25__fail(r->ctx, SQ25_ERR_BAD_METADATA, "%s: exceedance_probability:%s is "
                              "not one value in range", r->path, shrink_names[k]);
    }
    o->shrink_knee = shrink[0];
    o->shrink_rate_per_hour = shrink[1];
    return SQ25_OK;
}

/* The control member's rates (control_rate, time x y x x) when the file has them. */
static int read_control(reader *r, sq25_ensemble *e)
{
    int id;
    if (nc_inq_varid(r->nc, "control_rate", &id) != NC_NOERR) return SQ25_OK;
    int rc = sq25__ensemble_alloc_control(e);
    for (int k = 0; !rc && k < e->n_leads; k++) rc = read_grid_slice(r, "control_rate", k, 0, e->control[k]);
    return rc;
}

/* The grids the file declares must fit in it: deflate expands at most about 1032 times, so a
 * file of B bytes holds at most SQ25__H5_MAX_EXPANSION * B bytes of grids. Checked before
 * anything is allocated for them (a 29 KB file declaring 288 leads of 1000 x 1000 cells and
 * no stored chunk cost 2.3 GB). */
static int check_declared_bytes(reader *r, const sq25_ensemble_options *o, size_t n_leads,
                                size_t cells)
{
    const double members = o->keep ? o->members : 0;
    const double per_lead = o->n_thresholds + 1.0 + o->n_quantiles + members;
    const double per_window = o->n_accum_thresholds + 1.0 + o->n_quantiles + members;
    const int control = nc_inq_varid(r->nc, "control_rate", &(int){0}) == NC_NOERR;
    const double grids = (double)n_leads * (per_lead + control) + o->n_accum * per_window;
    const double declared = grids * (double)cells * sizeof(float);
    if (declared <= (double)r->file_bytes * SQ25__H5_MAX_EXPANSION) return SQ25_OK;
    return sq25__fail(r->ctx, SQ25_ERR_SIZE_ABSURD,
                      "%s: declares %.0f grids of %zu cells (%.0f bytes) in a file of %lld bytes "
                      "(damaged or never written)",
                      r->path, grids, cells, declared, r->file_bytes);
}

static int read_file(reader *r, sq25_ensemble **out)
{
    sq25_ensemble_options *o = NULL;
    int rc = sq25_ensemble_options_create(r->ctx, &o);
    size_t n_leads = 0, height = 0, width = 0;
    if (!rc) rc = read_options(r, o, &n_leads, &height, &width);
    if (!rc) rc = read_probability_options(r, o);
    if (!rc) rc = check_declared_bytes(r, o, n_leads, height * width);
    sq25_field *like = NULL;
    int64_t issue = 0;
    int step_s = 0;
    if (!rc) rc = read_grid(r, width, height, &issue, &step_s, n_leads, &like);
    sq25_ensemble *e = NULL;
    if (!rc) rc = sq25__ensemble_alloc(r->ctx, o, like, (int)n_leads, step_s, &e);
    if (!rc) {
        for (int k = 0; k < e->levels; k++) e->level[k] = (sq25__ens_level){NAN, NAN, NAN, NAN, NAN, NAN};
        read_levels(r, e);
        rc = read_grids(r, e);
        if (!rc) rc = read_control(r, e);
    }
    sq25_field_destroy(like);
    sq25_ensemble_options_destroy(o);
    if (rc) {
        sq25_ensemble_destroy(e);
        return rc;
    }
    *out = e;
    return SQ25_OK;
}

int sq25_ensemble_read_netcdf(sq25_ctx *ctx, const char *path, sq25_ensemble **out)
{
    if (!ctx) return SQ25_ERR_INVALID_ARG;
    if (!path || !out) return sq25__fail(ctx, SQ25_ERR_INVALID_ARG, "sq25_ensemble_read_netcdf: NULL");
    *out = NULL;
    struct stat st;
    if (stat(path, &st) != 0) return sq25__fail(ctx, SQ25_ERR_FILE_NOT_FOUND, "%s: no such file", path);
    if (st.st_size == 0) return sq25__fail(ctx, SQ25_ERR_FILE_EMPTY, "%s: empty file", path);
    reader r = {ctx, path, 0, (long long)st.st_size};
    sq25__h5_enter(); /* libnetcdf calls HDF5, which is not thread-safe */
    int status = nc_open(path, NC_NOWRITE, &r.nc);
    int rc = status == NC_NOERR ? read_file(&r, out)
                                : bad(&r, SQ25_ERR_FORMAT_UNKNOWN, "not a netCDF file", status);
    if (status == NC_NOERR) nc_close(r.nc);
    sq25__h5_leave();
    return rc ? rc : sq25__ok(ctx);
}
