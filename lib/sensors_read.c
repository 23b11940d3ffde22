/* sensors_read.c -- readers for rain-gauge series: OpenSense netCDF-4 (through the HDF5 C API)
 * and plain CSV "station_id,lon,lat,time_utc,mm". */
#include "io.h"
#include "io_cf.h"
#include "sensors.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- netCDF-4 ------------------------------------------------------------------------ */

typedef struct {
    hsize_t n_stations, n_times;
    char lat[64], lon[64], rain[256];
    bool rain_time_first; /* (time, station) instead of (station, time) */
} nc_layout;

static bool find_1d(hid_t f, const char *const *names, hsize_t *len, char *found, size_t cap)
{
    for (int i = 0; names[i]; i++) {
        int rank;
        hsize_t dims[4];
        if (sq25__h5_dataset_dims(f, names[i], &rank, dims) == 0 && rank == 1) {
            *len = dims[0];
            snprintf(found, cap, "%s", names[i]);
            return true;
        }
    }
    return false;
}

typedef struct {
    const nc_layout *layout;
    char best[256];
    int best_score;
} rain_search;

static bool name_is_rain(const char *name)
{
    static const char *const names[] = {"rainfall", "rain", "precipitation", "precip", "pr",
                                        "rainfall_amount", "precipitation_amount", NULL};
    for (int i = 0; names[i]; i++)
        if (strcmp(name, names[i]) == 0) return true;
    return false;
}

static bool units_are_rain(const char *units)
{
    return strcmp(units, "mm") == 0 || strncmp(units, "mm h", 4) == 0 ||
           strncmp(units, "mm/h", 4) == 0 || strcmp(units, "kg m-2") == 0;
}

/* Score a root dataset: it must be 2-D over (station, time); a rain name or rain units and a
 * numeric type make it the rain variable. */
static herr_t score_dataset(hid_t g, const char *name, const H5L_info_t *info, void *data)
{
    (void)info;
    rain_search *rs = data;
    int rank;
    hsize_t d[4];
    if (sq25__h5_dataset_dims(g, name, &rank, d) != 0 || rank != 2) return 0;
    const nc_layout *l = rs->layout;
    bool st = d[0] == l->n_stations && d[1] == l->n_times;
    bool ts = d[0] == l->n_times && d[1] == l->n_stations;
    if (!st && !ts) return 0;
    char units[64] = "";
    sq25__h5_attr_string(g, name, "units", units, sizeof units);
    int score = 1 + (name_is_rain(name) ? 4 : 0) + (units_are_rain(units) ? 2 : 0) + (st ? 1 : 0);
    if (score > rs->best_score && (name_is_rain(name) || units_are_rain(units))) {
        rs->best_score = score;
        snprintf(rs->best, sizeof rs->best, "%s", name);
    }
    return 0;
}

static int find_layout(sq25_ctx *ctx, const char *path, hid_t f, nc_layout *l)
{
    static const char *const lat_names[] = {"latitude", "lat", NULL};
    static const char *const lon_names[] = {"longitude", "lon", NULL};
    static const char *const time_names[] = {"time", NULL};
    hsize_t nlat = 0, nlon = 0;
    char tname[16];
    if (!find_1d(f, lat_names, &nlat, l->lat, sizeof l->lat) ||
        !find_1d(f, lon_names, &nlon, l->lon, sizeof l->lon))
        return sq25__fail(ctx, SQ25_ERR_MISSING_DATASET,
                          "%s: no 1-D latitude/lat and longitude/lon variables", path);
    if (!find_1d(f, time_names, &l->n_times, tname, sizeof tname))
        return sq25__fail(ctx, SQ25_ERR_MISSING_DATASET, "%s: no 1-D time variable", path);
    if (nlat != nlon || nlat == 0 || l->n_times == 0)
        return sq25__fail(ctx, SQ25_ERR_BAD_DIMENSIONS,
                          "%s: %llu latitudes, %llu longitudes, %llu times", path,
                          (unsigned long long)nlat, (unsigned long long)nlon,
                          (unsigned long long)l->n_times);
    l->n_stations = nlat;
    rain_search rs = {.layout = l};
    hsize_t idx = 0;
    H5Literate(f, H5_INDEX_NAME, H5_ITER_INC, &idx, score_dataset, &rs);
    if (!rs.best[0])
        return sq25__fail(ctx, SQ25_ERR_MISSING_DATASET,
                          "%s: no 2-D rain variable over (station=%llu, time=%llu) with a rain "
                          "name or units mm",
                          path, (unsigned long long)l->n_stations,
                          (unsigned long long)l->n_times);
    snprintf(l->rain, sizeof l->rain, "%s", rs.best);
    int rank;
    hsize_t d[4];
    sq25__h5_dataset_dims(f, l->rain, &rank, d);
    l->rain_time_first = !(d[0] == l->n_stations && d[1] == l->n_times);
    return SQ25_OK;
}

/* Seconds per unit of "<unit> since <any date and time>" (OpenSense files use any epoch) and
 * the origin in UTC seconds; 0 if not understood or not whole seconds per unit. */
static int64_t time_unit_seconds(const char *units, int64_t *origin)
{
    double unit_s, origin_s;
    if (sq25__cf_parse_time_units(units, &unit_s, &origin_s) != 0 || unit_s < 1 ||
        unit_s != floor(unit_s) || origin_s != floor(origin_s))
        return 0;
    *origin = (int64_t)origin_s;
    return (int64_t)unit_s;
}

/* Times of the file in UTC seconds, each checked for overflow and against the accepted
 * range, with a regular step. */
static int read_times(sq25_ctx *ctx, const char *path, hid_t f, hsize_t n, int64_t *t0,
                      int *step_s)
{
    char units[128] = "";
    sq25__h5_attr_string(f, "time", "units", units, sizeof units);
    int64_t origin = 0, mult = time_unit_seconds(units, &origin);
    if (!mult)
        return sq25__fail(ctx, SQ25_ERR_BAD_METADATA,
                          "%s: time units \"%s\" (expected <seconds|minutes|hours|days> since "
                          "<date>[ <time>])",
                          path, units);
    int rc = sq25__h5_check_storage(ctx, path, f, "time");
    if (rc) return rc;
    int64_t *t = sq25__calloc(ctx, (size_t)n, sizeof *t);
    double *raw = t ? sq25__calloc(ctx, (size_t)n, sizeof *raw) : NULL;
    if (!raw) {
        sq25__free(ctx, t);
        return SQ25_ERR_NOMEM;
    }
    /* Read as doubles (HDF5 would clip a float time of 1e300, or cut 2.5 minutes, silently to an
     * int64); every in-range integer time is exact in a double. */
    hid_t d = H5Dopen2(f, "time", H5P_DEFAULT);
    herr_t st = d >= 0 ? H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, raw) : -1;
    if (d >= 0) H5Dclose(d);
    if (st < 0) rc = sq25__fail(ctx, SQ25_ERR_READ, "%s: cannot read time", path);
    for (hsize_t i = 0; !rc && i < n; i++) {
        double utc = raw[i] * (double)mult + (double)origin;
        if (!(utc >= (double)SQ25__TIME_MIN && utc <= (double)SQ25__TIME_MAX))
            rc = sq25__fail(ctx, SQ25_ERR_RANGE,
                            "%s: time[%llu] = %.17g %s is outside the years 1000-9999", path,
                            (unsigned long long)i, raw[i], units);
        else if (fabs(utc - round(utc)) > 1e-3) /* fractional days (1/288) are not exact */
            rc = sq25__fail(ctx, SQ25_ERR_BAD_TIME,
                            "%s: time[%llu] = %.17g %s is not a whole second", path,
                            (unsigned long long)i, raw[i], units);
        else t[i] = (int64_t)llround(utc);
    }
    sq25__free(ctx, raw);
    int64_t step = !rc && n > 1 ? t[1] - t[0] : 300;
    for (hsize_t i = 1; !rc && i < n; i++)
        if (t[i] - t[i - 1] != step)
            rc = sq25__fail(ctx, SQ25_ERR_TIME_GAP,
                            "%s: time step %lld s at index %llu differs from %lld s", path,
                            (long long)(t[i] - t[i - 1]), (unsigned long long)i,
                            (long long)step);
    if (!rc && (step <= 0 || step > 86400 * 366))
        rc = sq25__fail(ctx, SQ25_ERR_TIME_ORDER, "%s: time step %lld s", path, (long long)step);
    if (!rc) {
        *t0 = t[0];
        *step_s = (int)step;
    }
    sq25__free(ctx, t);
    return rc;
}

static int read_coords(sq25_ctx *ctx, const char *path, hid_t f, const char *name, double *out)
{
    int rc = sq25__h5_check_storage(ctx, path, f, name);
    if (rc) return rc;
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    herr_t st = d >= 0 ? H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) : -1;
    if (d >= 0) H5Dclose(d);
    return st < 0 ? sq25__fail(ctx, SQ25_ERR_READ, "%s: cannot read %s", path, name) : SQ25_OK;
}

/* The station-id variable of an OpenSense file: "id" (PWS, gauges) or "station_id". */
static const char *station_id_var(hid_t f)
{
    static const char *const names[] = {"id", "station_id", NULL};
    for (const char *const *n = names; *n; n++)
        if (sq25__h5_exists(f, *n)) return *n;
    return NULL;
}

/* Integer station ids (OpenMRG city gauges: int64 station_id) as decimal text; 0 if the id
 * variable is not an integer one of n values. */
static int read_integer_ids(sq25_series *s, hid_t f, const char *name, bool *done)
{
    *done = false;
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    hid_t t = d >= 0 ? H5Dget_type(d) : -1;
    hid_t sp = d >= 0 ? H5Dget_space(d) : -1;
    int rc = SQ25_OK;
    if (t >= 0 && H5Tget_class(t) == H5T_INTEGER && sp >= 0 &&
        H5Sget_simple_extent_npoints(sp) == (hssize_t)s->n_stations) {
        long long *ids = sq25__calloc(s->ctx, (size_t)s->n_stations, sizeof *ids);
        if (!ids) rc = SQ25_ERR_NOMEM;
        else if (H5Dread(d, H5T_NATIVE_LLONG, H5S_ALL, H5S_ALL, H5P_DEFAULT, ids) >= 0) {
            for (int i = 0; i < s->n_stations && !rc; i++) {
                char text[32];
                snprintf(text, sizeof text, "%lld", ids[i]);
                rc = sq25_series_set_station(s, i, text, s->lon[i], s->lat[i]);
            }
            *done = rc == SQ25_OK;
        }
        sq25__free(s->ctx, ids);
    }
    if (sp >= 0) H5Sclose(sp);
    if (t >= 0) H5Tclose(t);
    if (d >= 0) H5Dclose(d);
    return rc;
}

/* Station ids from a 1-D string variable "id" or "station_id" (variable or fixed length), or
 * an integer one; else "station<i>". */
static int read_ids(sq25_series *s, hid_t f)
{
    int n = s->n_stations;
    char **vals = NULL;
    const char *idv = station_id_var(f);
    bool done = false;
    if (idv) {
        int irc = read_integer_ids(s, f, idv, &done);
        if (irc || done) return irc;
    }
    int rank = 0;
    hsize_t dims[4] = {0};
    /* Only an id of exactly one entry per station is read (H5S_ALL reads all of it). */
    bool usable = idv && sq25__h5_dataset_dims(f, idv, &rank, dims) == 0 && rank == 1 &&
                  dims[0] == (hsize_t)n;
    hid_t d = usable ? H5Dopen2(f, idv, H5P_DEFAULT) : -1;
    hid_t ft = d >= 0 ? H5Dget_type(d) : -1;
    hid_t mt = -1;
    if (ft >= 0 && H5Tget_class(ft) == H5T_STRING && H5Tis_variable_str(ft) > 0) {
        vals = sq25__calloc(s->ctx, (size_t)n, sizeof *vals);
        mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, H5T_VARIABLE);
        H5Tset_cset(mt, H5Tget_cset(ft)); /* netCDF-4 writes UTF-8 strings */
        if (vals && H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, vals) < 0) {
            sq25__free(s->ctx, vals);
            vals = NULL;
        }
    }
    int rc = SQ25_OK;
    for (int i = 0; i < n && !rc; i++) {
        char fallback[32];
        snprintf(fallback, sizeof fallback, "station%d", i + 1);
        rc = sq25_series_set_station(s, i, vals && vals[i] ? vals[i] : fallback, s->lon[i],
                                     s->lat[i]);
    }
    if (vals) {
        hid_t sp = H5Dget_space(d);
        H5Dvlen_reclaim(mt, sp, H5P_DEFAULT, vals);
        H5Sclose(sp);
        sq25__free(s->ctx, vals);
    }
    if (mt >= 0) H5Tclose(mt);
    if (ft >= 0) H5Tclose(ft);
    if (d >= 0) H5Dclose(d);
    return rc;
}

/* OpenSense: a rain amount without a units attribute is mm per time step (the convention's
 * default); say so in the log rather than assume silently. */
static void opensense_default_units(sq25_ctx *ctx, const char *path, const char *var,
                                    const char *units)
{
    if (units[0]) return;
    sq25__log(ctx, SQ25_LOG_INFO,
              "%s: %s has no units attribute; taken as mm per time step (the OpenSense "
              "default)",
              path, var);
}

/* Scale, fill and units of the rain variable, applied from raw doubles. */
static int read_rain(sq25_ctx *ctx, const char *path, hid_t f, const nc_layout *l,
                     sq25_series *s)
{
    size_t ns = (size_t)l->n_stations, nt = (size_t)l->n_times;
    int rc = sq25__h5_check_storage(ctx, path, f, l->rain);
    if (rc) return rc;
    double *raw = sq25__calloc(ctx, ns * nt, sizeof *raw); /* ns * nt is bounded by the limits */
    if (!raw) return SQ25_ERR_NOMEM;
    rc = sq25__h5_read_2d_double(ctx, path, f, l->rain, -1, l->rain_time_first ? nt : ns,
                                     l->rain_time_first ? ns : nt, raw);
    double scale = 1, offset = 0, fill = NAN;
    sq25__h5_attr_double(f, l->rain, "scale_factor", &scale);
    sq25__h5_attr_double(f, l->rain, "add_offset", &offset);
    if (sq25__h5_attr_double(f, l->rain, "_FillValue", &fill) != 0)
        sq25__h5_attr_double(f, l->rain, "missing_value", &fill);
    char units[64] = "";
    sq25__h5_attr_string(f, l->rain, "units", units, sizeof units);
    opensense_default_units(ctx, path, l->rain, units);
    /* A rate in mm/h becomes mm per step. */
    double to_step = (strstr(units, "h-1") || strstr(units, "/h")) ? s->step_s / 3600.0 : 1.0;
    for (size_t i = 0; !rc && i < ns; i++)
        for (size_t k = 0; k < nt; k++) {
            double v = l->rain_time_first ? raw[k * ns + i] : raw[i * nt + k];
            bool missing = isnan(v) || v == fill;
            s->values[i * nt + k] =
                missing ? NAN : sq25__float_or_nan((v * scale + offset) * to_step);
        }
    sq25__free(ctx, raw);
    return rc;
}

static int read_netcdf_locked(sq25_ctx *ctx, const char *path, hid_t f, sq25_series **out)
{
    nc_layout l;
    memset(&l, 0, sizeof l);
    int rc = find_layout(ctx, path, f, &l);
    if (rc) return rc;
    /* The declared sizes against the limits before anything is allocated for them. */
    uint64_t values = 0;
    if (l.n_stations > (hsize_t)sq25__limit(ctx, SQ25_LIMIT_STATIONS) ||
        l.n_times > (hsize_t)sq25__limit(ctx, SQ25_LIMIT_SERIES_STEPS) ||
        !sq25__mul_ok((uint64_t)l.n_stations, (uint64_t)l.n_times, &values) ||
        values > (uint64_t)sq25__limit(ctx, SQ25_LIMIT_SERIES_VALUES))
        return sq25__fail(ctx, SQ25_ERR_SIZE_ABSURD,
                          "%s: %llu stations x %llu times is above the context's limits (%lld "
                          "stations, %lld steps, %lld values)",
                          path, (unsigned long long)l.n_stations, (unsigned long long)l.n_times,
                          (long long)sq25__limit(ctx, SQ25_LIMIT_STATIONS),
                          (long long)sq25__limit(ctx, SQ25_LIMIT_SERIES_STEPS),
                          (long long)sq25__limit(ctx, SQ25_LIMIT_SERIES_VALUES));
    int64_t t0 = 0;
    int step_s = 0;
    rc = read_times(ctx, path, f, l.n_times, &t0, &step_s);
    if (rc) return rc;
    sq25_series *s = NULL;
    rc = sq25_series_create(ctx, (int)l.n_stations, (int64_t)l.n_times, t0, step_s, &s);
    if (!rc) rc = read_coords(ctx, path, f, l.lat, s->lat);
    if (!rc) rc = read_coords(ctx, path, f, l.lon, s->lon);
    if (!rc) rc = read_ids(s, f);
    if (rc == SQ25_ERR_RANGE) rc = sq25__fail_in_file(ctx, rc, path);
    if (!rc) rc = read_rain(ctx, path, f, &l, s);
    if (rc) {
        sq25_series_destroy(s);
        return rc;
    }
    *out = s;
    return sq25__ok(ctx);
}

int sq25_series_read_netcdf(sq25_ctx *ctx, const char *path, sq25_series **out)
{
    if (!ctx) return SQ25_ERR_INVALID_ARG;
    if (!path || !out) return sq25__fail(ctx, SQ25_ERR_INVALID_ARG, "sq25_series_read_netcdf: NULL");
    *out = NULL;
    sq25__h5_enter();
    hid_t f = sq25__h5_open_read(ctx, path);
    int rc = f < 0 ? sq25_errcode(ctx) : read_netcdf_locked(ctx, path, f, out);
    if (f >= 0) H5Fclose(f);
    sq25__h5_leave();
    return rc;
}

/* ---- CSV ---------------------------------------------------------------------------- */

typedef struct {
    int station;
    int64_t time;
    float mm;
    long line; /* for the message of a duplicate */
} csv_row;

typedef struct {
    sq25_ctx *ctx;
    csv_row *rows;
    size_t n_rows, cap_rows;
    char **ids;
    double *lon, *lat;
    int n_st, cap_st;
    int64_t bad;
    char *msgs[SQ25__BAD_ROW_MESSAGES];
} csv_state;

static bool grow(sq25_ctx *ctx, void **p, size_t elem, size_t *cap, size_t need)
{
    if (need <= *cap) return true;
    size_t ncap = *cap ? *cap * 2 : 256;
    while (ncap < need) ncap *= 2;
    void *q = sq25__malloc(ctx, ncap * elem);
    if (!q) return false;
    if (*p) memcpy(q, *p, *cap * elem);
    sq25__free(ctx, *p);
    *p = q;
    *cap = ncap;
    return true;
}

static void csv_bad(csv_state *cs, long line, const char *reason)
{
    if (cs->bad < SQ25__BAD_ROW_MESSAGES) {
        char buf[200];
        snprintf(buf, sizeof buf, "line %ld: %s", line, reason);
        cs->msgs[cs->bad] = sq25__strdup(cs->ctx, buf);
    }
    cs->bad++;
}

/* Index of the station, adding it; -2 if its coordinates differ from before, -1 on NOMEM. */
static int csv_station(csv_state *cs, const char *id, double lon, double lat)
{
    for (int i = cs->n_st - 1; i >= 0; i--)
        if (strcmp(cs->ids[i], id) == 0)
            return (fabs(cs->lon[i] - lon) < 1e-6 && fabs(cs->lat[i] - lat) < 1e-6) ? i : -2;
    size_t cap = (size_t)cs->cap_st, c2 = cap, c3 = cap;
    if (!grow(cs->ctx, (void **)&cs->ids, sizeof(char *), &cap, (size_t)cs->n_st + 1) ||
        !grow(cs->ctx, (void **)&cs->lon, sizeof(double), &c2, (size_t)cs->n_st + 1) ||
        !grow(cs->ctx, (void **)&cs->lat, sizeof(double), &c3, (size_t)cs->n_st + 1))
        return -1;
    cs->cap_st = (int)cap;
    cs->ids[cs->n_st] = sq25__strdup(cs->ctx, id);
    if (!cs->ids[cs->n_st]) return -1;
    cs->lon[cs->n_st] = lon;
    cs->lat[cs->n_st] = lat;
    return cs->n_st++;
}

static bool parse_double_field(const char *text, double *v)
{
    char *end;
    errno = 0;
    *v = strtod(text, &end);
    while (isspace((unsigned char)*end)) end++;
    return end != text && *end == '\0' && errno == 0 && isfinite(*v);
}

/* Split line in place at commas into exactly 5 fields. */
static int split5(char *line, char *fields[5])
{
    int n = 0;
    char *p = line;
    while (n < 5) {
        fields[n++] = p;
        char *c = strchr(p, ',');
        if (!c) break;
        *c = '\0';
        p = c + 1;
        if (n == 5) return 6; /* a sixth field */
    }
    return n;
}

/* Parse one data line; returns a reason for a bad row, NULL when added (or -1 NOMEM). */
static const char *csv_line(csv_state *cs, char *line, long lineno, int step_s, int *nomem)
{
    char *f[5];
    int nf = split5(line, f);
    if (nf != 5) return "expected 5 comma-separated fields";
    double lon, lat, mm;
    int64_t t;
    if (!f[0][0]) return "empty station_id";
    if (!parse_double_field(f[1], &lon) || lon < -180 || lon > 180) return "bad lon";
    if (!parse_double_field(f[2], &lat) || lat < -90 || lat > 90) return "bad lat";
    if (sq25_time_parse(f[3], &t) != SQ25_OK) return "bad time_utc";
    if (!parse_double_field(f[4], &mm)) return "bad mm value";
    if (mm < 0) return "negative mm value";
    if (mm > FLT_MAX) return "mm value beyond the float range";
    int st = csv_station(cs, f[0], lon, lat);
    if (st == -2) return "station coordinates differ from its earlier rows";
    if (st < 0 || !grow(cs->ctx, (void **)&cs->rows, sizeof(csv_row), &cs->cap_rows,
                        cs->n_rows + 1)) {
        *nomem = 1;
        return "out of memory";
    }
    /* Round to the nearest step end in integers: t is inside the accepted time range
     * (sq25_time_parse checks it), so 2 t + step_s cannot overflow. */
    int64_t twice = 2 * (int64_t)step_s;
    int64_t num = 2 * t + step_s;
    int64_t steps = num / twice - (num % twice < 0);
    cs->rows[cs->n_rows++] = (csv_row){st, steps * step_s, (float)mm, lineno};
    return NULL;
}

static int csv_build(csv_state *cs, const char *path, int step_s, sq25_series **out)
{
    if (cs->n_rows == 0)
        return sq25__fail(cs->ctx, SQ25_ERR_NO_DATA, "%s: no valid data row (%lld bad rows)",
                          path, (long long)cs->bad);
    int64_t tmin = cs->rows[0].time, tmax = tmin;
    for (size_t i = 1; i < cs->n_rows; i++) {
        if (cs->rows[i].time < tmin) tmin = cs->rows[i].time;
        if (cs->rows[i].time > tmax) tmax = cs->rows[i].time;
    }
    /* Row times are in the accepted range, so the span cannot overflow; the step count is
     * checked against the context's limits before the store is allocated. */
    int64_t n_steps = (tmax - tmin) / step_s + 1;
    int64_t values = 0;
    if (cs->n_st > sq25__limit(cs->ctx, SQ25_LIMIT_STATIONS) ||
        n_steps > sq25__limit(cs->ctx, SQ25_LIMIT_SERIES_STEPS) ||
        !sq25__mul_ok((int64_t)cs->n_st, n_steps, &values) ||
        values > sq25__limit(cs->ctx, SQ25_LIMIT_SERIES_VALUES)) {
        char a[24], b[24];
        sq25__format_utc(tmin, a, sizeof a);
        sq25__format_utc(tmax, b, sizeof b);
        return sq25__fail(cs->ctx, SQ25_ERR_SIZE_ABSURD,
                          "%s: rows from %s to %s make %d stations x %lld steps of %d s, above "
                          "the context's limits (%lld steps, %lld values)",
                          path, a, b, cs->n_st, (long long)n_steps, step_s,
                          (long long)sq25__limit(cs->ctx, SQ25_LIMIT_SERIES_STEPS),
                          (long long)sq25__limit(cs->ctx, SQ25_LIMIT_SERIES_VALUES));
    }
    sq25_series *s = NULL;
    int rc = sq25_series_create(cs->ctx, cs->n_st, n_steps, tmin, step_s, &s);
    for (int i = 0; !rc && i < cs->n_st; i++)
        rc = sq25_series_set_station(s, i, cs->ids[i], cs->lon[i], cs->lat[i]);
    if (rc) {
        sq25_series_destroy(s);
        return rc;
    }
    for (size_t i = 0; i < cs->n_rows; i++) {
        const csv_row *r = &cs->rows[i];
        float *cell =
            &s->values[(size_t)r->station * (size_t)s->n_steps + (size_t)((r->time - tmin) / step_s)];
        if (isnan(*cell)) *cell = r->mm;
        else csv_bad(cs, r->line, "second value for the same station and step (first kept)");
    }
    s->bad_rows = cs->bad;
    for (int i = 0; i < SQ25__BAD_ROW_MESSAGES; i++) {
        s->bad_msg[i] = cs->msgs[i];
        cs->msgs[i] = NULL;
    }
    *out = s;
    return SQ25_OK;
}

static void csv_free(csv_state *cs)
{
    for (int i = 0; i < cs->n_st; i++) sq25__free(cs->ctx, cs->ids[i]);
    for (int i = 0; i < SQ25__BAD_ROW_MESSAGES; i++) sq25__free(cs->ctx, cs->msgs[i]);
    sq25__free(cs->ctx, cs->ids);
    sq25__free(cs->ctx, cs->lon);
    sq25__free(cs->ctx, cs->lat);
    sq25__free(cs->ctx, cs->rows);
}

static void strip_eol(char *line)
{
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = '\0';
}

int sq25_series_read_csv(sq25_ctx *ctx, const char *path, int step_s, sq25_series **out)
{
    if (!ctx) return SQ25_ERR_INVALID_ARG;
    if (!path || !out || step_s <= 0 || step_s > 86400 * 366)
        return sq25__fail(ctx, SQ25_ERR_INVALID_ARG,
                          "sq25_series_read_csv: bad argument (step %d s: 1 s to 366 days)",
                          step_s);
    *out = NULL;
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return sq25__fail(ctx, SQ25_ERR_READ, "%s: is a directory, not a CSV file", path);
    FILE *fp = fopen(path, "r");
    if (!fp)
        return sq25__fail(ctx, errno == EACCES   ? SQ25_ERR_PERMISSION
                               : errno == ENOENT ? SQ25_ERR_FILE_NOT_FOUND
                                                 : SQ25_ERR_READ,
                          "%s: %s", path, strerror(errno));
    csv_state cs;
    memset(&cs, 0, sizeof cs);
    cs.ctx = ctx;
    char *line = NULL;
    size_t cap = 0;
    long lineno = 0;
    int rc = SQ25_OK, nomem = 0;
    if (getline(&line, &cap, fp) < 0) {
        rc = sq25__fail(ctx, SQ25_ERR_FILE_EMPTY, "%s: empty file", path);
    } else {
        lineno = 1;
        strip_eol(line);
        if (strcmp(line, "station_id,lon,lat,time_utc,mm") != 0)
            rc = sq25__fail(ctx, SQ25_ERR_PARSE,
                            "%s: line 1: header \"%.80s\" (expected station_id,lon,lat,time_utc,mm)",
                            path, line);
    }
    while (!rc && getline(&line, &cap, fp) >= 0) {
        lineno++;
        strip_eol(line);
        if (!line[0]) continue;
        const char *reason = csv_line(&cs, line, lineno, step_s, &nomem);
        if (nomem) rc = sq25__fail(ctx, SQ25_ERR_NOMEM, "%s: out of memory", path);
        else if (reason) csv_bad(&cs, lineno, reason);
    }
    if (!rc && ferror(fp))
        rc = sq25__fail(ctx, SQ25_ERR_READ, "%s: read error after line %ld: %s", path, lineno,
                        strerror(errno));
    free(line);
    fclose(fp);
    if (!rc) rc = csv_build(&cs, path, step_s, out);
    csv_free(&cs);
    if (!rc && cs.bad)
        sq25__log(ctx, SQ25_LOG_WARNING, "%s: %lld bad rows skipped", path, (long long)cs.bad);
    return rc ? rc : sq25__ok(ctx);
}
