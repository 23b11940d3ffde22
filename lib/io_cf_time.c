/* io_cf_time.c -- time of a CF-1.x frame (CF conventions 1.11, sections 4.4, 5.7, 7.1, 7.4):
 * a 1-D time coordinate, or a scalar coordinate variable named by the data variable's
 * "coordinates" attribute or by standard_name "time"; units "<unit> since <date and time
 * [time zone offset]>" in the standard, gregorian or proleptic_gregorian calendar; the
 * interval from a "bounds" variable or from a start-time variable paired with the time. */
#include "io_cf.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* UTC seconds of 0001-01-01T00:00:00 and 9999-12-31T23:59:59: the range of valid times. */
#define CF_TIME_MIN (-62135596800.0)
#define CF_TIME_MAX (253402300799.0)

/* A time variable decoded: seconds per unit and the origin in UTC seconds. */
typedef struct {
    char name[CF_NAME_CAP];
    double unit_s;
    double origin;
} cf_time_var;

static double unit_seconds(const char *word)
{
    static const struct {
        const char *name;
        double seconds;
    } units[] = {{"seconds", 1},     {"second", 1},     {"secs", 1},        {"sec", 1},
                 {"s", 1},           {"milliseconds", 1e-3}, {"millisecond", 1e-3},
                 {"msec", 1e-3},     {"ms", 1e-3},      {"minutes", 60},    {"minute", 60},
                 {"mins", 60},       {"min", 60},       {"hours", 3600},    {"hour", 3600},
                 {"hrs", 3600},      {"hr", 3600},      {"h", 3600},        {"days", 86400},
                 {"day", 86400},     {"d", 86400}};
    char w[32];
    size_t k = 0;
    for (; word[k] && k + 1 < sizeof w; k++) w[k] = (char)tolower((unsigned char)word[k]);
    w[k] = '\0';
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strcmp(w, units[i].name) == 0) return units[i].seconds;
    return 0;
}

/* Time-zone suffix after the clock: "", "Z", "UTC", "GMT", "+HH", "+HH:MM", "+HHMM" (and
 * "-"). Sets the offset east of UTC in seconds; -1 on anything else. */
static int zone_offset_s(const char *z, double *offset)
{
    *offset = 0;
    while (*z == ' ') z++;
    if (*z == '\0' || strcmp(z, "Z") == 0 || strcasecmp(z, "UTC") == 0 ||
        strcasecmp(z, "GMT") == 0)
        return 0;
    if (*z != '+' && *z != '-') return -1;
    int sign = *z == '-' ? -1 : 1, hh = 0, mm = 0, n = 0;
    const char *d = z + 1;
    if (sscanf(d, "%2d:%2d%n", &hh, &mm, &n) == 2 && d[n] == '\0') {
    } else if (strlen(d) == 4 && sscanf(d, "%2d%2d%n", &hh, &mm, &n) == 2 && d[n] == '\0') {
    } else if (sscanf(d, "%2d%n", &hh, &n) == 1 && d[n] == '\0') {
        mm = 0;
    } else {
        return -1;
    }
    if (hh > 14 || mm > 59) return -1;
    *offset = sign * (hh * 3600.0 + mm * 60.0);
    return 0;
}

static bool leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int sq25__cf_parse_time_units(const char *units, double *unit_s, double *origin)
{
    char word[32];
    int y, mo, d, n = 0;
    if (sscanf(units, " %31s since %d-%d-%d%n", word, &y, &mo, &d, &n) != 4) return -1;
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
        (mo == 2 && d == 29 && !leap(y)))
        return -1;
    const char *rest = units + n;
    int h = 0, mi = 0, k = 0;
    double s = 0;
    if (*rest == 'T' || (*rest == ' ' && isdigit((unsigned char)rest[1]))) {
        rest++;
        if (sscanf(rest, "%2d:%2d:%lf%n", &h, &mi, &s, &k) == 3 ||
            sscanf(rest, "%2d:%2d%n", &h, &mi, &k) == 2 || sscanf(rest, "%2d%n", &h, &k) == 1)
            rest += k;
        else return -1;
    }
    double zone;
    if (h < 0 || h > 24 || mi < 0 || mi > 59 || !(s >= 0 && s < 61) ||
        zone_offset_s(rest, &zone) != 0)
        return -1;
    *unit_s = unit_seconds(word);
    if (*unit_s == 0) return -1;
    *origin = (double)sq25__utc_seconds(y, mo, d, h, mi, 0) + s - zone;
    return 0;
}

/* Calendars whose dates map to UTC as the proleptic Gregorian calendar does (standard and
 * gregorian only from 1582-10-15 on, where they are Gregorian). */
static int check_calendar(sq25_ctx *ctx, const char *path, hid_t fid, const cf_time_var *tv)
{
    char cal[48] = "";
    if (sq25__h5_attr_string(fid, tv->name, "calendar", cal, sizeof cal) != 0 || !cal[0])
        return SQ25_OK;
    for (char *c = cal; *c; c++) *c = (char)tolower((unsigned char)*c);
    if (strcmp(cal, "proleptic_gregorian") == 0) return SQ25_OK;
    if (strcmp(cal, "standard") == 0 || strcmp(cal, "gregorian") == 0) {
        if (tv->origin >= -12219292800.0) return SQ25_OK; /* 1582-10-15T00:00:00Z */
        return sq25__fail(ctx, SQ25_ERR_BAD_TIME,
                          "%s: %s: calendar \"%s\" with an origin before 1582-10-15 (mixed "
                          "Julian/Gregorian dates) is not supported",
                          path, tv->name, cal);
    }
    return sq25__fail(ctx, SQ25_ERR_BAD_TIME,
                      "%s: %s: calendar \"%s\" is not supported (standard, gregorian, "
                      "proleptic_gregorian)",
                      path, tv->name, cal);
}

static int open_time_var(sq25_ctx *ctx, const char *path, hid_t fid, const char *name,
                         cf_time_var *tv)
{
    char units[128] = "";
    snprintf(tv->name, sizeof tv->name, "%s", name);
    if (sq25__h5_attr_string(fid, name, "units", units, sizeof units) != 0 ||
        sq25__cf_parse_time_units(units, &tv->unit_s, &tv->origin) != 0)
        return sq25__fail(ctx, SQ25_ERR_BAD_TIME,
                          "%s: time variable %s has units \"%s\", not \"<unit> since "
                          "YYYY-MM-DD[ hh:mm:ss][zone]\"",
                          path, name, units);
    return check_calendar(ctx, path, fid, tv);
}

/* UTC seconds of value v of tv, range-checked. */
static int time_value(sq25_ctx *ctx, const char *path, const cf_time_var *tv, double v,
                      double *utc)
{
    double t = tv->origin + v * tv->unit_s;
    if (!isfinite(v) || !(t >= CF_TIME_MIN && t <= CF_TIME_MAX))
        return sq25__fail(ctx, SQ25_ERR_BAD_TIME,
                          "%s: time value %g in %s is out of range (not a date between the "
                          "years 1 and 9999)",
                          path, v, tv->name);
    *utc = t;
    return SQ25_OK;
}

/* Number of elements of a rank-0..2 dataset; -1 if not a dataset or of higher rank. */
static long long element_count(hid_t fid, const char *name, int *rank, hsize_t dims[4])
{
    if (sq25__h5_dataset_dims(fid, name, rank, dims) != 0 || *rank > 2) return -1;
    long long n = 1;
    for (int k = 0; k < *rank; k++) n *= (long long)dims[k];
    return n;
}

/* Read n values of a numeric dataset as doubles. */
static int read_values(sq25_ctx *ctx, const char *path, hid_t fid, const char *name, size_t n,
                       double *out)
{
    hid_t d = H5Dopen2(fid, name, H5P_DEFAULT);
    hid_t t = d >= 0 ? H5Dget_type(d) : -1;
    H5T_class_t cls = t >= 0 ? H5Tget_class(t) : H5T_NO_CLASS;
    herr_t st = -1;
    if (cls == H5T_INTEGER || cls == H5T_FLOAT)
        st = H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, out);
    if (t >= 0) H5Tclose(t);
    if (d >= 0) H5Dclose(d);
    (void)n;
    if (st < 0)
        return sq25__fail(ctx, SQ25_ERR_READ, "%s: time variable %s cannot be read as numbers",
                          path, name);
    return SQ25_OK;
}

/* Value `index` of a time variable with n elements (n == 1: the scalar one), and the spacing
 * to its neighbour when n > 1. */
static int frame_value(sq25_ctx *ctx, const char *path, hid_t fid, const cf_time_var *tv,
                       size_t n, size_t index, double *utc, double *step_s)
{
    /* declared against stored bytes before the allocation (1e7 times declared in a 5 KB file
     * cost 176 MB) */
    int src = sq25__h5_check_storage(ctx, path, fid, tv->name);
    if (src) return src;
    double *v = sq25__malloc(ctx, n * sizeof *v);
    if (!v) return SQ25_ERR_NOMEM;
    int rc = read_values(ctx, path, fid, tv->name, n, v);
    size_t i = n == 1 ? 0 : index;
    if (!rc) rc = time_value(ctx, path, tv, v[i], utc);
    *step_s = 0;
    if (!rc && n > 1) {
        size_t a = i > 0 ? i - 1 : 0;
        double ta = 0, tb = 0;
        rc = time_value(ctx, path, tv, v[a], &ta);
        if (!rc) rc = time_value(ctx, path, tv, v[a + 1], &tb);
        if (!rc) *step_s = tb - ta;
    }
    sq25__free(ctx, v);
    return rc;
}

static int check_interval(sq25_ctx *ctx, const char *path, const char *what, double w)
{
    if (w >= CF_MIN_INTERVAL_S && w <= CF_MAX_INTERVAL_S) return SQ25_OK;
    return sq25__fail(ctx, SQ25_ERR_BAD_TIME,
                      "%s: interval from %s is %g s (must be between 1 s and one year)",
                      path, what, w);
}

/* Bounds (CF 7.1): the "bounds" variable of the time coordinate, n x 2 in its units. */
static int time_bounds(sq25_ctx *ctx, const char *path, hid_t fid, const cf_time_var *tv,
                       size_t n, size_t index, cf_time_info *t)
{
    char bname[CF_NAME_CAP];
    if (sq25__h5_attr_string(fid, tv->name, "bounds", bname, sizeof bname) != 0 || !bname[0])
        return SQ25_OK;
    int rank;
    hsize_t dims[4];
    long long count = element_count(fid, bname, &rank, dims);
    if (count != (long long)(2 * n) || dims[rank - 1] != 2)
        return sq25__fail(ctx, SQ25_ERR_BAD_DIMENSIONS,
                          "%s: time bounds %s of %s are not %zu x 2", path, bname, tv->name, n);
    int src = sq25__h5_check_storage(ctx, path, fid, bname);
    if (src) return src;
    double *b = sq25__malloc(ctx, 2 * n * sizeof *b);
    if (!b) return SQ25_ERR_NOMEM;
    int rc = read_values(ctx, path, fid, bname, 2 * n, b);
    size_t i = n == 1 ? 0 : index;
    double lo = 0, hi = 0;
    if (!rc) rc = time_value(ctx, path, tv, b[2 * i], &lo);
    if (!rc) rc = time_value(ctx, path, tv, b[2 * i + 1], &hi);
    sq25__free(ctx, b);
    if (!rc) rc = check_interval(ctx, path, bname, hi - lo);
    if (rc) return rc;
    t->valid = (int64_t)llround(hi);
    t->window_s = hi - lo;
    size_t used = strlen(t->source);
    snprintf(t->source + used, sizeof t->source - used, ", bounds %s (valid = upper bound)",
             bname);
    return SQ25_OK;
}

/* A start-time variable beside the time (start_time, time_start, starttime, start_date) of
 * the same length, its own time units: the interval is time - start. */
static int start_time_pair(sq25_ctx *ctx, const char *path, hid_t fid, size_t n, size_t index,
                           cf_time_info *t)
{
    static const char *const names[] = {"start_time", "time_start", "starttime", "start_date",
                                        NULL};
    for (const char *const *s = names; *s; s++) {
        int rank;
        hsize_t dims[4];
        long long count = element_count(fid, *s, &rank, dims);
        if (count != (long long)n && count != 1) continue;
        cf_time_var sv;
        double start, unused;
        int rc = open_time_var(ctx, path, fid, *s, &sv);
        if (!rc) rc = frame_value(ctx, path, fid, &sv, (size_t)count, index, &start, &unused);
        if (!rc) rc = check_interval(ctx, path, *s, (double)t->valid - start);
        if (rc) return rc;
        t->window_s = (double)t->valid - start;
        size_t used = strlen(t->source);
        snprintf(t->source + used, sizeof t->source - used, ", start %s", *s);
        return SQ25_OK;
    }
    return SQ25_OK;
}

static bool has_since_units(hid_t fid, const char *name)
{
    char units[128];
    return sq25__h5_attr_string(fid, name, "units", units, sizeof units) == 0 &&
           strstr(units, " since ") != NULL;
}

/* A variable of one element that is a time: rank 0, or 1-D of length 1. */
static bool is_single_time(hid_t fid, const char *name)
{
    int rank;
    hsize_t dims[4];
    return element_count(fid, name, &rank, dims) == 1 && rank <= 1 && has_since_units(fid, name);
}

/* The scalar time of a 2-D variable: through its "coordinates" attribute (CF 5.7), else a
 * root variable with standard_name time or axis T, else one named time. */
static bool find_scalar_time(hid_t fid, const cf_var_list *vars, const char *var, char *name,
                             char *how, size_t how_cap)
{
    char coords[512];
    if (sq25__h5_attr_string(fid, var, "coordinates", coords, sizeof coords) == 0) {
        char *save = NULL;
        for (char *tok = strtok_r(coords, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
            if (strlen(tok) < CF_NAME_CAP && sq25__h5_exists(fid, tok) &&
                is_single_time(fid, tok)) {
                snprintf(name, CF_NAME_CAP, "%s", tok);
                snprintf(how, how_cap, "scalar coordinate %s (coordinates attribute)", tok);
                return true;
            }
    }
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < vars->count; i++) {
            const char *v = vars->names[i];
            bool hit = pass == 0 ? sq25__cf_attr_is(fid, v, "standard_name", "time") ||
                                       sq25__cf_attr_is(fid, v, "axis", "T")
                                 : strcmp(v, "time") == 0;
            if (hit && is_single_time(fid, v)) {
                snprintf(name, CF_NAME_CAP, "%s", v);
                snprintf(how, how_cap, "scalar time %s", v);
                return true;
            }
        }
    return false;
}

/* The 1-D time coordinate of length nt: axis T, standard_name time, or a name in the list. */
static bool find_time_axis(hid_t fid, const cf_var_list *vars, hsize_t nt, char *name)
{
    static const char *const names[] = {"time", "t", "valid_time", "end_time", "time_end",
                                        NULL};
    for (int pass = 0; pass < 3; pass++)
        for (int i = 0; i < vars->count; i++) {
            const char *v = vars->names[i];
            int rank;
            hsize_t dims[4];
            if (sq25__h5_dataset_dims(fid, v, &rank, dims) || rank != 1 || dims[0] != nt ||
                sq25__cf_is_dimension_only(fid, v))
                continue;
            bool hit = pass == 0   ? sq25__cf_attr_is(fid, v, "axis", "T")
                       : pass == 1 ? sq25__cf_attr_is(fid, v, "standard_name", "time")
                                   : sq25__cf_in_list(v, names);
            if (hit) {
                snprintf(name, CF_NAME_CAP, "%s", v);
                return true;
            }
        }
    return false;
}

int sq25__cf_time(sq25_ctx *ctx, const char *path, hid_t fid, const cf_var_list *vars,
                  const cf_rain_var *v, int index, cf_time_info *t)
{
    memset(t, 0, sizeof *t);
    char tname[CF_NAME_CAP];
    size_t n = 1;
    if (v->rank == 3) {
        n = (size_t)v->dims[0];
        if (n > CF_MAX_TIMES)
            return sq25__fail(ctx, SQ25_ERR_SIZE_ABSURD, "%s: %zu time steps", path, n);
        if (!find_time_axis(fid, vars, v->dims[0], tname))
            return sq25__fail(ctx, SQ25_ERR_MISSING_DATASET,
                              "%s: %s is 3-D but no time coordinate of length %zu exists", path,
                              v->name, n);
        snprintf(t->source, sizeof t->source, "time coordinate %s", tname);
    } else if (!find_scalar_time(fid, vars, v->name, tname, t->source, sizeof t->source)) {
        return SQ25_OK; /* no time at all: the caller decides */
    }
    cf_time_var tv;
    double valid;
    int rc = open_time_var(ctx, path, fid, tname, &tv);
    if (!rc) rc = frame_value(ctx, path, fid, &tv, n, (size_t)index, &valid, &t->step_s);
    if (rc) return rc;
    t->found = true;
    t->valid = (int64_t)llround(valid);
    rc = time_bounds(ctx, path, fid, &tv, n, (size_t)index, t);
    if (!rc && t->window_s == 0) rc = start_time_pair(ctx, path, fid, n, (size_t)index, t);
    return rc;
}
