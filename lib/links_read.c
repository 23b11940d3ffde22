/* links_read.c -- the microwave-link store and its reader for OpenSense CML netCDF-4 files
 * (through the HDF5 C API): end points, length, frequency, polarisation, raw TSL/RSL per
 * sub-link and processed path rain, with the variables' axes found from their sizes. */
#include "h5util.h"
#include "links.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LINKS 1000000
#define MAX_SAMPLES ((int64_t)400000000) /* links x samples */

/* ---- the store ------------------------------------------------------------------------ */

double sq25__haversine_m(double lon0, double lat0, double lon1, double lat1)
{
    const double rad = 3.14159265358979323846 / 180, earth_m = 6371000;
    double dlat = (lat1 - lat0) * rad, dlon = (lon1 - lon0) * rad;
    double a = sin(dlat / 2) * sin(dlat / 2) +
               cos(lat0 * rad) * cos(lat1 * rad) * sin(dlon / 2) * sin(dlon / 2);
    return 2 * earth_m * asin(fmin(1.0, sqrt(a)));
}

void sq25_links_destroy(sq25_links *l)
{
    if (!l) return;
    sq25_ctx *ctx = l->ctx;
    if (l->ids)
        for (int i = 0; i < l->n; i++) sq25__free(ctx, l->ids[i]);
    sq25__free(ctx, l->ids);
    double *arrays[] = {l->lon0, l->lat0, l->lon1, l->lat1, l->length_m, l->freq_ghz};
    for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; i++) sq25__free(ctx, arrays[i]);
    sq25__free(ctx, l->pol);
    sq25__free(ctx, l->tsl), sq25__free(ctx, l->rsl), sq25__free(ctx, l->rain);
    sq25__free(ctx, l);
}

static float *nan_array(sq25_ctx *ctx, size_t n)
{
    float *a = sq25__malloc(ctx, (n ? n : 1) * sizeof *a);
    for (size_t i = 0; a && i < n; i++) a[i] = NAN;
    return a;
}

static double *nan_doubles(sq25_ctx *ctx, size_t n)
{
    double *a = sq25__malloc(ctx, (n ? n : 1) * sizeof *a);
    for (size_t i = 0; a && i < n; i++) a[i] = NAN;
    return a;
}

int sq25_links_create(sq25_ctx *ctx, int n_links, int64_t n_steps, int64_t t0, int step_s,
                      int with_signal, int with_rain, sq25_links **out)
{
    if (!ctx) return SQ25_ERR_INVALID_ARG;
    if (!out || step_s <= 0 || (!with_signal && !with_rain))
        return sq25__fail(ctx, SQ25_ERR_INVALID_ARG, "sq25_links_create: bad argument");
    *out = NULL;
    if (n_links <= 0 || n_links > MAX_LINKS || n_steps <= 0 ||
        n_steps > MAX_SAMPLES / n_links)
        return sq25__fail(ctx, SQ25_ERR_SIZE_ABSURD, "links store of %d x %lld samples", n_links,
                          (long long)n_steps);
    sq25_links *l = sq25__calloc(ctx, 1, sizeof *l);
    if (!l) return SQ25_ERR_NOMEM;
    l->ctx = ctx, l->n = n_links, l->nt = n_steps, l->t0 = t0, l->step_s = step_s;
    size_t n = (size_t)n_links, cells = n * (size_t)n_steps;
    l->ids = sq25__calloc(ctx, n, sizeof *l->ids);
    l->lon0 = nan_doubles(ctx, n), l->lat0 = nan_doubles(ctx, n);
    l->lon1 = nan_doubles(ctx, n), l->lat1 = nan_doubles(ctx, n);
    l->length_m = nan_doubles(ctx, n), l->freq_ghz = nan_doubles(ctx, n);
    l->pol = sq25__calloc(ctx, n, sizeof *l->pol);
    bool ok = l->ids && l->lon0 && l->lat0 && l->lon1 && l->lat1 && l->length_m && l->freq_ghz &&
              l->pol;
    if (ok && with_signal) {
        l->tsl = nan_array(ctx, cells), l->rsl = nan_array(ctx, cells);
        ok = l->tsl && l->rsl;
    }
    if (ok && with_rain) ok = (l->rain = nan_array(ctx, cells)) != NULL;
    for (int i = 0; ok && i < n_links; i++) ok = (l->ids[i] = sq25__strdup(ctx, "")) != NULL;
    if (!ok) {
        sq25_links_destroy(l);
        return SQ25_ERR_NOMEM;
    }
    *out = l;
    return sq25__ok(ctx);
}

int sq25_links_count(const sq25_links *l) { return l ? l->n : 0; }
int64_t sq25_links_step_count(const sq25_links *l) { return l ? l->nt : 0; }
int sq25_links_step_s(const sq25_links *l) { return l ? l->step_s : 0; }

int64_t sq25_links_time(const sq25_links *l, int64_t step)
{
    return l ? l->t0 + step * (int64_t)l->step_s : 0;
}

const char *sq25_links_id(const sq25_links *l, int i)
{
    return l && i >= 0 && i < l->n && l->ids[i] ? l->ids[i] : "";
}

int sq25_links_geometry(const sq25_links *l, int i, double *lon0, double *lat0, double *lon1,
                        double *lat1, double *length_m, double *frequency_ghz, int *polarization)
{
    if (!l || i < 0 || i >= l->n) return SQ25_ERR_RANGE;
    if (lon0) *lon0 = l->lon0[i];
    if (lat0) *lat0 = l->lat0[i];
    if (lon1) *lon1 = l->lon1[i];
    if (lat1) *lat1 = l->lat1[i];
    if (length_m) *length_m = l->length_m[i];
    if (frequency_ghz) *frequency_ghz = l->freq_ghz[i];
    if (polarization) *polarization = l->pol[i];
    return SQ25_OK;
}

int sq25_links_set_link(sq25_links *l, int i, const char *id, double lon0, double lat0,
                        double lon1, double lat1, double length_m, double frequency_ghz,
                        int polarization)
{
    if (!l) return SQ25_ERR_INVALID_ARG;
    if (i < 0 || i >= l->n) return sq25__fail(l->ctx, SQ25_ERR_RANGE, "link %d of %d", i, l->n);
    if (!id || polarization < SQ25_POL_UNKNOWN || polarization > SQ25_POL_VERTICAL)
        return sq25__fail(l->ctx, SQ25_ERR_INVALID_ARG, "sq25_links_set_link: bad argument");
    char *copy = sq25__strdup(l->ctx, id);
    if (!copy) return SQ25_ERR_NOMEM;
    sq25__free(l->ctx, l->ids[i]);
    l->ids[i] = copy;
    l->lon0[i] = lon0, l->lat0[i] = lat0, l->lon1[i] = lon1, l->lat1[i] = lat1;
    l->length_m[i] = isfinite(length_m) ? length_m : sq25__haversine_m(lon0, lat0, lon1, lat1);
    l->freq_ghz[i] = frequency_ghz;
    l->pol[i] = polarization;
    return SQ25_OK;
}

float *sq25_links_tsl(sq25_links *l) { return l ? l->tsl : NULL; }
float *sq25_links_rsl(sq25_links *l) { return l ? l->rsl : NULL; }
float *sq25_links_rain(sq25_links *l) { return l ? l->rain : NULL; }

/* ---- reading: axes ------------------------------------------------------------------- */

enum { AX_CML = 0, AX_SUB = 1, AX_TIME = 2 };

typedef struct {
    const char *path; /* the file, for messages */
    hid_t f;
    hsize_t nc, ns, nt; /* cml_id, sublink_id, time */
} cml_file;

/* Strides (in elements) of the roles cml, sub and time of a variable whose axes hold `roles`
 * (rank axes); a missing role gets stride 0 (broadcast). */
static void role_strides(int rank, const hsize_t *dims, const int *roles, size_t stride[3])
{
    stride[0] = stride[1] = stride[2] = 0;
    size_t s = 1;
    for (int a = rank - 1; a >= 0; a--) {
        stride[roles[a]] = s;
        s *= (size_t)dims[a];
    }
}

/* Find which axis of a rank-1..3 variable is cml, sub-link or time from the sizes; the
 * OpenSense order (cml_id, sublink_id, time) is tried first. `want_time` says whether time
 * must be an axis. A sub-link axis may be absent only with one sub-link. */
static bool match_axes(const cml_file *cf, int rank, const hsize_t *dims, bool want_time,
                       int *roles)
{
    static const int perm3[6][3] = {{0, 1, 2}, {2, 0, 1}, {1, 0, 2}, {0, 2, 1}, {2, 1, 0}, {1, 2, 0}};
    static const int perm2t[2][2] = {{0, 2}, {2, 0}}, perm2m[2][2] = {{0, 1}, {1, 0}};
    hsize_t size[3] = {cf->nc, cf->ns, cf->nt};
    if (rank == 3 && want_time) {
        for (int p = 0; p < 6; p++) {
            bool ok = true;
            for (int a = 0; a < 3; a++) ok = ok && dims[a] == size[perm3[p][a]];
            if (ok) return memcpy(roles, perm3[p], 3 * sizeof(int)), true;
        }
        return false;
    }
    if (rank == 2) {
        const int(*perm)[2] = want_time ? perm2t : perm2m;
        if (want_time && cf->ns != 1) return false;
        for (int p = 0; p < 2; p++)
            if (dims[0] == size[perm[p][0]] && dims[1] == size[perm[p][1]])
                return memcpy(roles, perm[p], 2 * sizeof(int)), true;
        return false;
    }
    if (rank == 1 && !want_time && dims[0] == cf->nc) return roles[0] = AX_CML, true;
    return false;
}

/* Read a numeric variable over (cml[, sub][, time]) into out[(c * ns + s) * n_time + k]
 * (n_time = nt, or 1 without time), with scale, offset and fill applied. Returns SQ25_OK,
 * or SQ25_ERR_MISSING_DATASET when absent (quietly if `optional`), or an error. */
static int read_by_link(sq25_ctx *ctx, const cml_file *cf, const char *name, bool with_time,
                        double *out)
{
    int rank;
    hsize_t dims[4];
    if (sq25__h5_dataset_dims(cf->f, name, &rank, dims) != 0) return SQ25_ERR_MISSING_DATASET;
    int roles[3];
    if (rank < 1 || rank > 3 || !match_axes(cf, rank, dims, with_time, roles))
        return sq25__fail(ctx, SQ25_ERR_BAD_DIMENSIONS,
                          "%s: %s has rank %d and sizes that match neither cml_id=%llu, "
                          "sublink_id=%llu nor time=%llu",
                          cf->path, name, rank, (unsigned long long)cf->nc,
                          (unsigned long long)cf->ns, (unsigned long long)cf->nt);
    size_t total = 1, stride[3];
    for (int a = 0; a < rank; a++) total *= (size_t)dims[a];
    role_strides(rank, dims, roles, stride);
    double *raw = sq25__malloc(ctx, total * sizeof *raw);
    if (!raw) return SQ25_ERR_NOMEM;
    hid_t d = H5Dopen2(cf->f, name, H5P_DEFAULT);
    herr_t st = d >= 0 ? H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, raw) : -1;
    if (d >= 0) H5Dclose(d);
    if (st < 0) {
        sq25__free(ctx, raw);
        return sq25__fail(ctx, SQ25_ERR_READ, "%s: cannot read %s", cf->path, name);
    }
    double scale = 1, offset = 0, fill = NAN, missing = NAN;
    sq25__h5_attr_double(cf->f, name, "scale_factor", &scale);
    sq25__h5_attr_double(cf->f, name, "add_offset", &offset);
    sq25__h5_attr_double(cf->f, name, "_FillValue", &fill);
    sq25__h5_attr_double(cf->f, name, "missing_value", &missing);
    size_t ntime = with_time ? (size_t)cf->nt : 1;
    for (size_t c = 0; c < cf->nc; c++)
        for (size_t s = 0; s < cf->ns; s++)
            for (size_t k = 0; k < ntime; k++) {
                double v = raw[c * stride[AX_CML] + s * stride[AX_SUB] + k * stride[AX_TIME]];
                bool bad = !isfinite(v) || v == fill || v == missing;
                out[(c * cf->ns + s) * ntime + k] = bad ? NAN : v * scale + offset;
            }
    sq25__free(ctx, raw);
    return SQ25_OK;
}

/* ---- reading: strings ------------------------------------------------------------------ */

/* Strings of a 0-, 1- or 2-D dataset (variable or fixed length, or integers printed), count
 * values expected in C order; vals[i] receive copies (NULL where absent). Returns true when
 * the dataset was read. */
static bool read_strings(sq25_ctx *ctx, hid_t f, const char *name, size_t count, char **vals)
{
    if (!sq25__h5_exists(f, name)) return false;
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    hid_t ft = d >= 0 ? H5Dget_type(d) : -1, sp = d >= 0 ? H5Dget_space(d) : -1;
    hssize_t np = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
    bool ok = false;
    if (ft >= 0 && np >= 1 && (size_t)np <= count) {
        size_t n = (size_t)np;
        if (H5Tget_class(ft) == H5T_STRING && H5Tis_variable_str(ft) > 0) {
            char **tmp = sq25__calloc(ctx, n, sizeof *tmp);
            hid_t mt = H5Tcopy(H5T_C_S1);
            H5Tset_size(mt, H5T_VARIABLE);
            H5Tset_cset(mt, H5Tget_cset(ft));
            if (tmp && H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, tmp) >= 0) {
                for (size_t i = 0; i < n; i++) vals[i] = tmp[i] ? sq25__strdup(ctx, tmp[i]) : NULL;
                H5Dvlen_reclaim(mt, sp, H5P_DEFAULT, tmp);
                ok = true;
            }
            H5Tclose(mt);
            sq25__free(ctx, tmp);
        } else if (H5Tget_class(ft) == H5T_STRING) {
            size_t sz = H5Tget_size(ft);
            char *tmp = sz > 0 && sz < 4096 ? sq25__malloc(ctx, n * sz + 1) : NULL;
            hid_t mt = H5Tcopy(H5T_C_S1);
            H5Tset_size(mt, sz ? sz : 1);
            H5Tset_strpad(mt, H5T_STR_NULLPAD);
            if (tmp && H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, tmp) >= 0) {
                char one[4097];
                for (size_t i = 0; i < n; i++) {
                    memcpy(one, tmp + i * sz, sz);
                    one[sz] = '\0';
                    vals[i] = sq25__strdup(ctx, one);
                }
                ok = true;
            }
            H5Tclose(mt);
            sq25__free(ctx, tmp);
        } else if (H5Tget_class(ft) == H5T_INTEGER || H5Tget_class(ft) == H5T_FLOAT) {
            double *tmp = sq25__malloc(ctx, n * sizeof *tmp);
            if (tmp && H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, tmp) >= 0) {
                for (size_t i = 0; i < n; i++) {
                    char num[64];
                    snprintf(num, sizeof num, "%.15g", tmp[i]);
                    vals[i] = sq25__strdup(ctx, num);
                }
                ok = true;
            }
            sq25__free(ctx, tmp);
        }
    }
    if (sp >= 0) H5Sclose(sp);
    if (ft >= 0) H5Tclose(ft);
    if (d >= 0) H5Dclose(d);
    return ok;
}

static void free_strings(sq25_ctx *ctx, char **vals, size_t n)
{
    if (!vals) return;
    for (size_t i = 0; i < n; i++) sq25__free(ctx, vals[i]);
    sq25__free(ctx, vals);
}

/* ---- reading: time ------------------------------------------------------------------- */

/* "<unit> since YYYY-MM-DD[ T]hh:mm[:ss]" into seconds per unit and the epoch; false if not
 * understood. */
static bool parse_time_units(const char *units, int64_t *mult, int64_t *epoch)
{
    static const struct { const char *word; int64_t s; } u[] = {
        {"seconds", 1}, {"second", 1}, {"s", 1}, {"minutes", 60}, {"minute", 60}, {"min", 60},
        {"hours", 3600}, {"hour", 3600}, {"h", 3600}, {"days", 86400}, {"day", 86400}};
    char word[16] = "";
    int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0, used = 0;
    if (sscanf(units, " %15s since %d-%d-%d%n", word, &y, &mo, &d, &used) != 4) return false;
    const char *rest = units + used;
    if (*rest == 'T' || *rest == ' ') {
        int got = sscanf(rest + 1, "%d:%d:%d", &h, &mi, &s);
        if (got < 2) h = mi = s = 0;
    }
    if (y < 1 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 24 ||
        mi < 0 || mi > 59 || s < 0 || s > 60)
        return false;
    *mult = 0;
    for (size_t i = 0; i < sizeof u / sizeof u[0]; i++)
        if (strcmp(word, u[i].word) == 0) *mult = u[i].s;
    *epoch = sq25__utc_seconds(y, mo, d, h, mi, s);
    return *mult > 0;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The most frequent positive difference of the sorted times t (n > 1). */
static int64_t modal_step(sq25_ctx *ctx, const int64_t *t, size_t n)
{
    int64_t *d = sq25__malloc(ctx, (n - 1) * sizeof *d);
    if (!d) return -1;
    for (size_t i = 1; i < n; i++) d[i - 1] = t[i] - t[i - 1];
    qsort(d, n - 1, sizeof *d, cmp_i64);
    int64_t best = d[n - 2], run = 0, best_run = 0;
    for (size_t i = 0; i < n - 1; i++) {
        run = i > 0 && d[i] == d[i - 1] ? run + 1 : 1;
        if (run > best_run) best_run = run, best = d[i];
    }
    sq25__free(ctx, d);
    return best;
}

/* Times in "<unit> since <date>", strictly increasing. The store's step is the most frequent
 * difference; each sample goes to the slot (t - t0) / step rounded, so gaps become NaN
 * samples (the step of the file may be any). slot[i] receives the store index of sample i. */
static int read_time_axis(sq25_ctx *ctx, const cml_file *cf, int64_t *t0, int *step_s,
                          int64_t *n_slots, int64_t *slot)
{
    char units[128] = "";
    sq25__h5_attr_string(cf->f, "time", "units", units, sizeof units);
    int64_t mult, epoch;
    if (!parse_time_units(units, &mult, &epoch))
        return sq25__fail(ctx, SQ25_ERR_BAD_METADATA,
                          "%s: time units \"%s\" (expected <unit> since <date>)", cf->path, units);
    size_t n = (size_t)cf->nt;
    double *t = sq25__malloc(ctx, n * sizeof *t);
    if (!t) return SQ25_ERR_NOMEM;
    hid_t d = H5Dopen2(cf->f, "time", H5P_DEFAULT);
    herr_t st = d >= 0 ? H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, t) : -1;
    if (d >= 0) H5Dclose(d);
    int rc = st < 0 ? sq25__fail(ctx, SQ25_ERR_READ, "%s: cannot read time", cf->path) : SQ25_OK;
    for (size_t i = 0; !rc && i < n; i++) {
        if (!(fabs(t[i]) * (double)mult < 1e13))
            rc = sq25__fail(ctx, SQ25_ERR_BAD_METADATA, "%s: time value %g at index %zu",
                            cf->path, t[i], i);
        else slot[i] = epoch + llround(t[i] * (double)mult); /* UTC s for now */
        if (!rc && !sq25__time_in_range(slot[i]))
            rc = sq25__fail(ctx, SQ25_ERR_BAD_TIME,
                            "%s: time value %g %s at index %zu is outside the years 1000-9999",
                            cf->path, t[i], units, i);
        if (!rc && i > 0 && slot[i] <= slot[i - 1])
            rc = sq25__fail(ctx, SQ25_ERR_TIME_ORDER, "%s: time not increasing at index %zu",
                            cf->path, i);
    }
    sq25__free(ctx, t);
    if (rc) return rc;
    int64_t step = n > 1 ? modal_step(ctx, slot, n) : 60;
    if (step < 0) return SQ25_ERR_NOMEM;
    if (step <= 0 || step > 86400)
        return sq25__fail(ctx, SQ25_ERR_TIME_GAP, "%s: time step %lld s", cf->path,
                          (long long)step);
    int64_t span = (slot[n - 1] - slot[0]) / step + 1;
    if (span > (int64_t)(n * 16 + 1024) || span > MAX_SAMPLES / (int64_t)(cf->nc * cf->ns))
        return sq25__fail(ctx, SQ25_ERR_SIZE_ABSURD,
                          "%s: %zu samples spread over %lld steps of %lld s", cf->path, n,
                          (long long)span, (long long)step);
    *t0 = slot[0];
    *step_s = (int)step;
    for (size_t i = 0; i < n; i++) slot[i] = (slot[i] - *t0 + step / 2) / step;
    *n_slots = slot[n - 1] + 1;
    return SQ25_OK;
}

/* ---- reading: the whole file ---------------------------------------------------------- */

static int find_sizes(sq25_ctx *ctx, cml_file *cf)
{
    int rank;
    hsize_t dims[4];
    if (sq25__h5_dataset_dims(cf->f, "site_0_lat", &rank, dims) != 0 || rank != 1)
        return sq25__fail(ctx, SQ25_ERR_MISSING_DATASET,
                          "%s: no 1-D site_0_lat (not an OpenSense CML file)", cf->path);
    cf->nc = dims[0];
    cf->ns = 1;
    if (sq25__h5_dataset_dims(cf->f, "sublink_id", &rank, dims) == 0 && rank == 1)
        cf->ns = dims[0];
    if (sq25__h5_dataset_dims(cf->f, "time", &rank, dims) != 0 || rank != 1)
        return sq25__fail(ctx, SQ25_ERR_MISSING_DATASET, "%s: no 1-D time variable", cf->path);
    cf->nt = dims[0];
    /* Each count bounded before the product: 2^32 links x 2^32 sub-links wrapped to 0 and
     * divided by zero below. */
    if (cf->nc == 0 || cf->ns == 0 || cf->nt == 0 || cf->nc > MAX_LINKS || cf->ns > MAX_LINKS ||
        cf->nc * cf->ns > MAX_LINKS ||
        cf->nt > (hsize_t)(MAX_SAMPLES / (int64_t)(cf->nc * cf->ns)))
        return sq25__fail(ctx, SQ25_ERR_SIZE_ABSURD, "%s: %llu links x %llu sub-links x %llu times",
                          cf->path, (unsigned long long)cf->nc, (unsigned long long)cf->ns,
                          (unsigned long long)cf->nt);
    return SQ25_OK;
}

static int polarization_of(const char *s)
{
    if (!s) return SQ25_POL_UNKNOWN;
    while (isspace((unsigned char)*s)) s++;
    int c = tolower((unsigned char)*s);
    return c == 'v' ? SQ25_POL_VERTICAL : c == 'h' ? SQ25_POL_HORIZONTAL : SQ25_POL_UNKNOWN;
}

/* Frequency in GHz from the file's units; values above 300 without units are MHz (links run
 * at 1..100 GHz, so a bare 24556 can only be MHz). */
static double frequency_ghz(double v, const char *units)
{
    if (strcmp(units, "MHz") == 0) return v / 1e3;
    if (strcmp(units, "GHz") == 0) return v;
    if (strcmp(units, "Hz") == 0) return v / 1e9;
    if (strcmp(units, "kHz") == 0) return v / 1e6;
    return v > 300 ? v / 1e3 : v;
}

/* Ids "cml/sublink", polarisation per sub-link. */
static int read_names(sq25_ctx *ctx, const cml_file *cf, sq25_links *l)
{
    size_t nc = (size_t)cf->nc, ns = (size_t)cf->ns, n = nc * ns;
    char **cml = sq25__calloc(ctx, nc, sizeof *cml), **sub = sq25__calloc(ctx, ns, sizeof *sub);
    char **pol = sq25__calloc(ctx, n, sizeof *pol);
    int rc = cml && sub && pol ? SQ25_OK : SQ25_ERR_NOMEM;
    if (!rc) {
        read_strings(ctx, cf->f, "cml_id", nc, cml);
        read_strings(ctx, cf->f, "sublink_id", ns, sub);
        read_strings(ctx, cf->f, "polarization", n, pol);
    }
    /* polarization may be per cml only: then pol[c] holds cml c's */
    int prank = 0;
    hsize_t pd[4] = {0};
    bool per_cml = sq25__h5_dataset_dims(cf->f, "polarization", &prank, pd) == 0 && prank == 1 &&
                   ns > 1;
    for (size_t c = 0; !rc && c < nc; c++)
        for (size_t s = 0; !rc && s < ns; s++) {
            char id[160], cdef[32], sdef[32];
            snprintf(cdef, sizeof cdef, "cml%zu", c + 1);
            snprintf(sdef, sizeof sdef, "sublink%zu", s + 1);
            snprintf(id, sizeof id, "%.70s/%.70s", cml[c] ? cml[c] : cdef, sub[s] ? sub[s] : sdef);
            size_t i = c * ns + s;
            sq25__free(ctx, l->ids[i]);
            if (!(l->ids[i] = sq25__strdup(ctx, id))) rc = SQ25_ERR_NOMEM;
            l->pol[i] = polarization_of(per_cml ? pol[c] : pol[i]);
        }
    free_strings(ctx, cml, nc), free_strings(ctx, sub, ns), free_strings(ctx, pol, n);
    return rc;
}

/* One value per cml (broadcast to its sub-links) or per sub-link. */
static int read_link_metadata(sq25_ctx *ctx, const cml_file *cf, sq25_links *l)
{
    size_t nc = (size_t)cf->nc, ns = (size_t)cf->ns, n = nc * ns;
    double *buf = sq25__malloc(ctx, n * sizeof *buf);
    if (!buf) return SQ25_ERR_NOMEM;
    static const char *const coords[4] = {"site_0_lon", "site_0_lat", "site_1_lon", "site_1_lat"};
    double *dest[4] = {l->lon0, l->lat0, l->lon1, l->lat1};
    int rc = SQ25_OK;
    for (int v = 0; v < 4 && !rc; v++) {
        rc = read_by_link(ctx, cf, coords[v], false, buf);
        if (rc == SQ25_ERR_MISSING_DATASET)
            rc = sq25__fail(ctx, rc, "%s: no %s variable", cf->path, coords[v]);
        for (size_t i = 0; !rc && i < n; i++) dest[v][i] = buf[i];
    }
    for (size_t i = 0; !rc && i < n; i++)
        if (!(fabs(l->lon0[i]) <= 180 && fabs(l->lat0[i]) <= 90 && fabs(l->lon1[i]) <= 180 &&
              fabs(l->lat1[i]) <= 90))
            l->lon0[i] = l->lat0[i] = l->lon1[i] = l->lat1[i] = NAN; /* unusable position */
    if (!rc) {
        int lr = read_by_link(ctx, cf, "length", false, buf);
        if (lr != SQ25_OK && lr != SQ25_ERR_MISSING_DATASET) rc = lr;
        char units[32] = "";
        sq25__h5_attr_string(cf->f, "length", "units", units, sizeof units);
        double to_m = strcmp(units, "km") == 0 ? 1000 : 1;
        for (size_t i = 0; !rc && i < n; i++) {
            double len = lr == SQ25_OK ? buf[i] * to_m : NAN;
            l->length_m[i] = isfinite(len) && len >= 0
                                 ? len
                                 : sq25__haversine_m(l->lon0[i], l->lat0[i], l->lon1[i], l->lat1[i]);
        }
    }
    if (!rc) {
        int fr = read_by_link(ctx, cf, "frequency", false, buf);
        if (fr != SQ25_OK && fr != SQ25_ERR_MISSING_DATASET) rc = fr;
        char units[32] = "";
        sq25__h5_attr_string(cf->f, "frequency", "units", units, sizeof units);
        for (size_t i = 0; !rc && i < n; i++)
            l->freq_ghz[i] = fr == SQ25_OK ? frequency_ghz(buf[i], units) : NAN;
    }
    sq25__free(ctx, buf);
    return rc;
}

static bool name_of_rain(hid_t f, char *name, size_t cap)
{
    static const char *const names[] = {"R", "rainfall_amount", "rain", "rainfall", "rain_rate",
                                        NULL};
    for (int i = 0; names[i]; i++)
        if (sq25__h5_exists(f, names[i])) return snprintf(name, cap, "%s", names[i]), true;
    return false;
}

/* File sample k of link i into store slot slot[k]; later samples win a shared slot. */
static void place(const cml_file *cf, const sq25_links *l, const int64_t *slot, const double *buf,
                  float *dest, double lo, double hi, double scale)
{
    size_t nt = (size_t)cf->nt;
    for (int i = 0; i < l->n; i++)
        for (size_t k = 0; k < nt; k++) {
            double v = buf[(size_t)i * nt + k];
            dest[(size_t)i * (size_t)l->nt + (size_t)slot[k]] =
                v >= lo && v <= hi ? sq25__float_or_nan(v * scale) : NAN;
        }
}

/* Signal levels and rain as floats of the store; the signal levels must be plausible dBm. */
static int read_samples(sq25_ctx *ctx, const cml_file *cf, sq25_links *l, const char *rain_name,
                        const int64_t *slot)
{
    size_t cells = (size_t)l->n * (size_t)cf->nt;
    double *buf = sq25__malloc(ctx, cells * sizeof *buf);
    if (!buf) return SQ25_ERR_NOMEM;
    int rc = SQ25_OK;
    float *dest[2] = {l->tsl, l->rsl};
    static const char *const names[2] = {"tsl", "rsl"};
    for (int v = 0; v < 2 && !rc && l->rsl; v++) {
        int r = read_by_link(ctx, cf, names[v], true, buf);
        if (r == SQ25_ERR_MISSING_DATASET && v == 0) continue; /* no TSL: constant power */
        if (r) {
            rc = r == SQ25_ERR_MISSING_DATASET ? sq25__fail(ctx, r, "%s: no rsl", cf->path) : r;
            break;
        }
        place(cf, l, slot, buf, dest[v], -200, 100, 1.0);
    }
    if (!rc && l->rain) {
        rc = read_by_link(ctx, cf, rain_name, true, buf);
        char units[32] = "";
        sq25__h5_attr_string(cf->f, rain_name, "units", units, sizeof units);
        double to_step = strstr(units, "h-1") || strstr(units, "/h") ? l->step_s / 3600.0 : 1.0;
        if (!rc) place(cf, l, slot, buf, l->rain, 0, 1e6, to_step);
    }
    sq25__free(ctx, buf);
    return rc;
}

/* A variable that declares far more values than the file stores (a hostile or damaged
 * header) would make us allocate gigabytes before HDF5 finds the data missing: large
 * variables must store at least 1 byte per 1000 declared (zlib reaches about 1:16 on the
 * OpenRainER signal levels). A small or absent variable passes. */
static int storage_plausible(sq25_ctx *ctx, const char *path, hid_t f, const char *name)
{
    if (!name[0] || !sq25__h5_exists(f, name)) return SQ25_OK;
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    if (d < 0) return SQ25_OK; /* the read will report it */
    hid_t sp = H5Dget_space(d), t = H5Dget_type(d);
    hssize_t np = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : 0;
    double declared = (double)(np > 0 ? np : 0) * (double)(t >= 0 ? H5Tget_size(t) : 1);
    double stored = (double)H5Dget_storage_size(d);
    if (t >= 0) H5Tclose(t);
    if (sp >= 0) H5Sclose(sp);
    H5Dclose(d);
    if (declared > 1e7 && stored * 1000 < declared)
        return sq25__fail(ctx, SQ25_ERR_SIZE_ABSURD,
                          "%s: %s declares %.0f bytes of values but stores %.0f", path, name,
                          declared, stored);
    return SQ25_OK;
}

static int read_cml_locked(sq25_ctx *ctx, const char *path, hid_t f, sq25_links **out)
{
    cml_file cf = {path, f, 0, 0, 0};
    int rc = find_sizes(ctx, &cf);
    /* the time axis is read (8 + 8 bytes a sample) before the samples' own check below */
    if (!rc) rc = storage_plausible(ctx, path, f, "time");
    if (rc) return rc;
    int64_t t0 = 0, n_slots = 0;
    int step_s = 60;
    int64_t *slot = sq25__malloc(ctx, (size_t)cf.nt * sizeof *slot);
    if (!slot) return SQ25_ERR_NOMEM;
    rc = read_time_axis(ctx, &cf, &t0, &step_s, &n_slots, slot);
    if (rc) {
        sq25__free(ctx, slot);
        return rc;
    }
    char rain_name[32] = "";
    bool has_signal = sq25__h5_exists(f, "rsl"), has_rain = name_of_rain(f, rain_name, sizeof rain_name);
    sq25_links *l = NULL;
    static const char *const sample_vars[2] = {"rsl", "tsl"};
    for (int v = 0; v < 2 && !rc; v++) rc = storage_plausible(ctx, path, f, sample_vars[v]);
    if (!rc) rc = storage_plausible(ctx, path, f, rain_name);
    if (!rc && !has_signal && !has_rain)
        rc = sq25__fail(ctx, SQ25_ERR_MISSING_DATASET,
                        "%s: neither rsl (signal levels) nor R/rainfall_amount (rain)", path);
    if (!rc)
        rc = sq25_links_create(ctx, (int)(cf.nc * cf.ns), n_slots, t0, step_s, has_signal,
                               has_rain, &l);
    if (!rc) rc = read_names(ctx, &cf, l);
    if (!rc) rc = read_link_metadata(ctx, &cf, l);
    if (!rc) rc = read_samples(ctx, &cf, l, rain_name, slot);
    sq25__free(ctx, slot);
    if (rc) {
        sq25_links_destroy(l);
        return rc;
    }
    *out = l;
    return sq25__ok(ctx);
}

int sq25_links_read_netcdf(sq25_ctx *ctx, const char *path, sq25_links **out)
{
    if (!ctx) return SQ25_ERR_INVALID_ARG;
    if (!path || !out) return sq25__fail(ctx, SQ25_ERR_INVALID_ARG, "sq25_links_read_netcdf: NULL");
    *out = NULL;
    sq25__h5_enter();
    hid_t f = sq25__h5_open_read(ctx, path);
    int rc = f < 0 ? sq25_errcode(ctx) : read_cml_locked(ctx, path, f, out);
    if (f >= 0) H5Fclose(f);
    sq25__h5_leave();
    return rc;
}
