/* io_cf.c -- reader for CF-1.x netCDF-4 rain grids (netCDF-4 files are HDF5 files).
 * The rain variable is the root variable with a grid_mapping attribute, else the first 2-D or
 * 3-D variable with rain units. Its x/y coordinates are 1-D variables recognised by axis,
 * standard_name or name; time by "<unit> since <date>". Dimension order (time,) y, x. */
#include "io.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CF_MAX_VARS 256
#define CF_NAME_CAP 64
#define CF_MAX_TIMES 10000000
#define CF_NETCDF_DIM_ONLY "This is a netCDF dimension but not a netCDF variable"

typedef struct {
    char names[CF_MAX_VARS][CF_NAME_CAP];
    int count;
} cf_var_list;

/* The chosen rain variable and what it implies. */
typedef struct {
    char name[CF_NAME_CAP];
    int rank;
    hsize_t dims[4];
    char units[64];
    sq25__rain_unit unit;
} cf_rain_var;

/* ---- variables at the root ---- */
/* Names of the datasets directly below the root (portable across HDF5 1.10 and 1.12+). */
static void list_root_datasets(hid_t fid, cf_var_list *list)
{
    list->count = 0;
    H5G_info_t info;
    if (H5Gget_info(fid, &info) < 0) return;
    for (hsize_t i = 0; i < info.nlinks && list->count < CF_MAX_VARS; i++) {
        char name[CF_NAME_CAP];
        ssize_t len = H5Lget_name_by_idx(fid, ".", H5_INDEX_NAME, H5_ITER_INC, i, name,
                                         sizeof name, H5P_DEFAULT);
        if (len <= 0 || (size_t)len >= sizeof name) continue;
        hid_t obj = H5Oopen(fid, name, H5P_DEFAULT);
        if (obj < 0) continue;
        if (H5Iget_type(obj) == H5I_DATASET)
            snprintf(list->names[list->count++], CF_NAME_CAP, "%s", name);
        H5Oclose(obj);
    }
}

static bool is_dimension_only(hid_t fid, const char *name)
{
    char text[96];
    return sq25__h5_attr_string(fid, name, "NAME", text, sizeof text) == 0 &&
           strncmp(text, CF_NETCDF_DIM_ONLY, strlen(CF_NETCDF_DIM_ONLY)) == 0;
}

static bool is_dimension_scale(hid_t fid, const char *name)
{
    char cls[32];
    return sq25__h5_attr_string(fid, name, "CLASS", cls, sizeof cls) == 0 &&
           strcmp(cls, "DIMENSION_SCALE") == 0;
}

/* ---- units ---- */
/* Lower case, runs of spaces and dots as one space, "**" and "^" dropped. */
static void normalise_units(const char *in, char *out, size_t cap)
{
    size_t k = 0;
    bool space = false;
    for (const char *c = in; *c && k + 1 < cap; c++) {
        if (*c == '*' || *c == '^') continue;
        if (isspace((unsigned char)*c) || *c == '.') {
            space = k > 0;
            continue;
        }
        if (space && k + 2 < cap) out[k++] = ' ';
        space = false;
        out[k++] = (char)tolower((unsigned char)*c);
    }
    out[k] = '\0';
}

static bool in_list(const char *s, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(s, *list) == 0) return true;
    return false;
}

/* Returns 0 and the unit class for rain units, -1 otherwise. */
static int rain_unit(const char *units, sq25__rain_unit *unit)
{
    static const char *const rate[] = {"mm/h", "mm h-1", "mm hr-1", "mm/hr", "mm hour-1",
                                       "mm/hour", NULL};
    static const char *const flux[] = {"kg m-2 s-1", "kg/m2/s", "kg m-2/s", "mm s-1", "mm/s",
                                       NULL};
    static const char *const amount[] = {"mm", "kg m-2", "kg/m2", NULL};
    char u[64];
    normalise_units(units, u, sizeof u);
    if (in_list(u, rate)) *unit = SQ25__UNIT_RATE_MMH;
    else if (in_list(u, flux)) *unit = SQ25__UNIT_FLUX_KGM2S;
    else if (in_list(u, amount)) *unit = SQ25__UNIT_AMOUNT_MM;
    else return -1;
    return 0;
}

/* ---- choosing the rain variable ---- */
static bool fill_candidate(hid_t fid, const char *name, cf_rain_var *v)
{
    if (is_dimension_scale(fid, name)) return false;
    if (sq25__h5_dataset_dims(fid, name, &v->rank, v->dims) != 0) return false;
    if (v->rank != 2 && v->rank != 3) return false;
    snprintf(v->name, sizeof v->name, "%s", name);
    if (sq25__h5_attr_string(fid, name, "units", v->units, sizeof v->units)) v->units[0] = '\0';
    return true;
}

static int choose_rain_var(sq25_ctx *ctx, const char *path, hid_t fid, const cf_var_list *vars,
                           cf_rain_var *out)
{
    cf_rain_var v;
    for (int i = 0; i < vars->count; i++) { /* 1st choice: a variable with a grid_mapping */
        if (!sq25__h5_attr_exists(fid, vars->names[i], "grid_mapping")) continue;
        if (!fill_candidate(fid, vars->names[i], &v)) continue;
        if (rain_unit(v.units, &v.unit) != 0)
            return sq25__fail(ctx, SQ25_ERR_BAD_QUANTITY,
                              "%s: variable %s has units \"%s\", not a rain rate or amount "
                              "(mm/h, mm h-1, kg m-2 s-1, mm, kg m-2)",
                              path, v.name, v.units);
        *out = v;
        return SQ25_OK;
    }
    for (int i = 0; i < vars->count; i++) { /* else: 2-D/3-D with rain units */
        if (fill_candidate(fid, vars->names[i], &v) && rain_unit(v.units, &v.unit) == 0) {
            *out = v;
            return SQ25_OK;
        }
    }
    return sq25__fail(ctx, SQ25_ERR_MISSING_DATASET,
                      "%s: no gridded rain variable (none with grid_mapping, none 2-D/3-D "
                      "with rain units)",
                      path);
}

/* ---- coordinates ---- */
static bool attr_is(hid_t fid, const char *var, const char *attr, const char *value)
{
    char buf[64];
    return sq25__h5_attr_string(fid, var, attr, buf, sizeof buf) == 0 &&
           strcasecmp(buf, value) == 0;
}

/* A 1-D coordinate variable of length n for axis 'X', 'Y' or 'T'. */
static int find_axis_var(hid_t fid, const cf_var_list *vars, char axis, hsize_t n, char *name)
{
    static const char *const x_std[] = {"projection_x_coordinate", "longitude",
                                        "grid_longitude", NULL};
    static const char *const y_std[] = {"projection_y_coordinate", "latitude", "grid_latitude",
                                        NULL};
    static const char *const x_names[] = {"x", "lon", "longitude", NULL};
    static const char *const y_names[] = {"y", "lat", "latitude", NULL};
    static const char *const t_names[] = {"time", "t", NULL};
    const char *const *stds = axis == 'X' ? x_std : axis == 'Y' ? y_std : NULL;
    const char *const *names = axis == 'X' ? x_names : axis == 'Y' ? y_names : t_names;
    char axis_text[2] = {axis, '\0'};
    for (int pass = 0; pass < 3; pass++) {
        for (int i = 0; i < vars->count; i++) {
            const char *v = vars->names[i];
            int rank;
            hsize_t dims[4];
            if (sq25__h5_dataset_dims(fid, v, &rank, dims) || rank != 1 || dims[0] != n ||
                is_dimension_only(fid, v))
                continue;
            char std[64] = "";
            sq25__h5_attr_string(fid, v, "standard_name", std, sizeof std);
            bool hit = pass == 0   ? attr_is(fid, v, "axis", axis_text)
                       : pass == 1 ? (stds ? in_list(std, stds) : strcmp(std, "time") == 0)
                                   : in_list(v, names);
            if (hit) {
                snprintf(name, CF_NAME_CAP, "%s", v);
                return 0;
            }
        }
    }
    return -1;
}

/* Read a 1-D variable of exactly n values (out holds n doubles). */
static int read_1d(sq25_ctx *ctx, const char *path, hid_t fid, const char *name, size_t n,
                   double *out)
{
    int rank;
    hsize_t dims[4];
    if (sq25__h5_dataset_dims(fid, name, &rank, dims) || rank != 1 || dims[0] != n)
        return sq25__fail(ctx, SQ25_ERR_BAD_DIMENSIONS, "%s: %s is not 1-D of length %zu", path,
                          name, n);
    hid_t d = H5Dopen2(fid, name, H5P_DEFAULT);
    herr_t st = d >= 0 ? H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) : -1;
    if (d >= 0) H5Dclose(d);
    if (st < 0)
        return sq25__fail(ctx, SQ25_ERR_FILE_TRUNCATED, "%s: coordinate %s cannot be read", path,
                          name);
    return SQ25_OK;
}

/* Metres per coordinate unit: 1 for m, 1000 for km, 1 for degrees (geographic); -1 if unknown. */
static double coordinate_scale(const char *units, bool *degrees)
{
    static const char *const metres[] = {"m", "meter", "meters", "metre", "metres", NULL};
    static const char *const km[] = {"km", "kilometer", "kilometers", "kilometre", "kilometres",
                                     NULL};
    char u[64];
    normalise_units(units, u, sizeof u);
    *degrees = strncmp(u, "degree", 6) == 0;
    if (*degrees || in_list(u, metres)) return 1.0;
    if (in_list(u, km)) return 1000.0;
    return -1.0;
}

/* One axis: first value and spacing in metres (or degrees), checked to be regular. */
static int axis_spacing(sq25_ctx *ctx, const char *path, hid_t fid, const char *name, size_t n,
                        double *first, double *last, double *step, bool *degrees, double *to_m)
{
    char units[64] = "";
    sq25__h5_attr_string(fid, name, "units", units, sizeof units);
    *to_m = coordinate_scale(units, degrees);
    if (*to_m < 0)
        return sq25__fail(ctx, SQ25_ERR_UNSUPPORTED,
                          "%s: coordinate %s has units \"%s\" (expected m, km or degrees)", path,
                          name, units);
    if (n < 2)
        return sq25__fail(ctx, SQ25_ERR_BAD_DIMENSIONS,
                          "%s: coordinate %s has %zu value(s); 2 or more needed for a spacing",
                          path, name, n);
    double *v = sq25__malloc(ctx, n * sizeof *v);
    if (!v) return SQ25_ERR_NOMEM;
    int rc = read_1d(ctx, path, fid, name, n, v);
    double d = rc ? 0 : (v[n - 1] - v[0]) / (double)(n - 1);
    for (size_t i = 1; rc == SQ25_OK && i < n; i++)
        if (!(fabs(v[i] - v[i - 1] - d) <= 1e-3 * fabs(d)) || d == 0)
            rc = sq25__fail(ctx, SQ25_ERR_UNSUPPORTED,
                            "%s: coordinate %s is not regularly spaced (step %g at %zu, mean %g)",
                            path, name, v[i] - v[i - 1], i, d);
    if (rc == SQ25_OK) {
        *first = v[0] * *to_m;
        *last = v[n - 1] * *to_m;
        *step = d * *to_m;
    }
    sq25__free(ctx, v);
    return rc;
}

/* Geotransform from x/y; *flip_rows when y increases (row 0 must be the north). */
static int cf_geotransform(sq25_ctx *ctx, const char *path, hid_t fid, const cf_var_list *vars,
                           const cf_rain_var *v, double gt[6], bool *flip_rows, bool *degrees,
                           double *to_m)
{
    hsize_t nx = v->dims[v->rank - 1], ny = v->dims[v->rank - 2];
    int rc = sq25__check_grid_size(ctx, (int64_t)nx, (int64_t)ny, path);
    if (rc) return rc;
    char xname[CF_NAME_CAP], yname[CF_NAME_CAP];
    if (find_axis_var(fid, vars, 'X', nx, xname) || find_axis_var(fid, vars, 'Y', ny, yname))
        return sq25__fail(ctx, SQ25_ERR_MISSING_DATASET,
                          "%s: %s: no 1-D x/y coordinate variables of lengths %llu/%llu (axis "
                          "X/Y, projection_x/y_coordinate, longitude/latitude or named x/y): "
                          "not a grid",
                          path, v->name, (unsigned long long)nx, (unsigned long long)ny);
    double x0, x1, dx, y0, y1, dy, ydeg_scale;
    bool ydeg;
    rc = axis_spacing(ctx, path, fid, xname, nx, &x0, &x1, &dx, degrees, to_m);
    if (!rc) rc = axis_spacing(ctx, path, fid, yname, ny, &y0, &y1, &dy, &ydeg, &ydeg_scale);
    if (rc) return rc;
    if (dx < 0)
        return sq25__fail(ctx, SQ25_ERR_UNSUPPORTED,
                          "%s: coordinate %s decreases (east-to-west columns)", path, xname);
    *flip_rows = dy > 0;
    double top = dy > 0 ? y1 : y0;
    const double g[6] = {x0 - dx / 2, dx, 0, top + fabs(dy) / 2, 0, -fabs(dy)};
    memcpy(gt, g, sizeof g);
    return SQ25_OK;
}

/* ---- projection ---- */
static void append(char *buf, size_t cap, const char *fmt, double value)
{
    size_t used = strlen(buf);
    if (used < cap) snprintf(buf + used, cap - used, fmt, value);
}

static void append_param(hid_t fid, const char *gm, const char *attr, const char *key,
                         double scale, char *buf, size_t cap)
{
    double v;
    if (sq25__h5_attr_double(fid, gm, attr, &v) == 0) {
        char fmt[32];
        snprintf(fmt, sizeof fmt, " %s=%%.12g", key);
        append(buf, cap, fmt, v * scale);
    }
}

static void append_ellipsoid(hid_t fid, const char *gm, char *buf, size_t cap)
{
    double a, b, rf, r;
    if (sq25__h5_attr_double(fid, gm, "earth_radius", &r) == 0) append(buf, cap, " +R=%.12g", r);
    else if (sq25__h5_attr_double(fid, gm, "semi_major_axis", &a) == 0) {
        append(buf, cap, " +a=%.12g", a);
        if (sq25__h5_attr_double(fid, gm, "semi_minor_axis", &b) == 0)
            append(buf, cap, " +b=%.12g", b);
        else if (sq25__h5_attr_double(fid, gm, "inverse_flattening", &rf) == 0 && rf > 0)
            append(buf, cap, " +rf=%.12g", rf);
        else append(buf, cap, " +b=%.12g", a);
    } else {
        size_t used = strlen(buf); /* WGS84 when the mapping gives no figure of the earth */
        if (used < cap) snprintf(buf + used, cap - used, " +ellps=WGS84");
    }
}

static void append_standard_parallels(hid_t fid, const char *gm, char *buf, size_t cap)
{
    double sp[2];
    size_t n = 0;
    if (sq25__h5_attr_doubles(fid, gm, "standard_parallel", sp, 2, &n) != 0 || n == 0) return;
    append(buf, cap, " +lat_1=%.12g", sp[0]);
    append(buf, cap, " +lat_2=%.12g", n == 2 ? sp[1] : sp[0]);
}

/* A PROJ string from grid_mapping_name and the CF parameters; false easting/northing are in
 * the units of the x/y coordinates, hence to_m. Returns 0 or -1 (unknown mapping). */
static int proj_from_cf_parameters(hid_t fid, const char *gm, const char *mapping, double to_m,
                                   char *buf, size_t cap)
{
    static const struct {
        const char *cf, *proj;
    } mappings[] = {{"lambert_conformal_conic", "lcc"},       {"polar_stereographic", "stere"},
                    {"lambert_azimuthal_equal_area", "laea"}, {"transverse_mercator", "tmerc"},
                    {"stereographic", "stere"},               {"albers_conical_equal_area", "aea"},
                    {"latitude_longitude", "longlat"},        {"mercator", "merc"}};
    const char *proj = NULL;
    for (size_t k = 0; k < sizeof mappings / sizeof mappings[0]; k++)
        if (strcmp(mapping, mappings[k].cf) == 0) proj = mappings[k].proj;
    if (!proj) return -1;
    snprintf(buf, cap, "+proj=%s", proj);
    if (strcmp(mapping, "lambert_conformal_conic") == 0 ||
        strcmp(mapping, "albers_conical_equal_area") == 0)
        append_standard_parallels(fid, gm, buf, cap);
    else if (strcmp(mapping, "polar_stereographic") == 0 || strcmp(mapping, "mercator") == 0)
        append_param(fid, gm, "standard_parallel", "+lat_ts", 1, buf, cap);
    append_param(fid, gm, "latitude_of_projection_origin", "+lat_0", 1, buf, cap);
    append_param(fid, gm, "longitude_of_central_meridian", "+lon_0", 1, buf, cap);
    append_param(fid, gm, "longitude_of_projection_origin", "+lon_0", 1, buf, cap);
    append_param(fid, gm, "straight_vertical_longitude_from_pole", "+lon_0", 1, buf, cap);
    append_param(fid, gm, "scale_factor_at_central_meridian", "+k_0", 1, buf, cap);
    append_param(fid, gm, "scale_factor_at_projection_origin", "+k_0", 1, buf, cap);
    append_param(fid, gm, "false_easting", "+x_0", to_m, buf, cap);
    append_param(fid, gm, "false_northing", "+y_0", to_m, buf, cap);
    append_ellipsoid(fid, gm, buf, cap);
    return 0;
}

static int cf_projection(sq25_ctx *ctx, const char *path, hid_t fid, const cf_rain_var *v,
                         bool degrees, double to_m, char *buf, size_t cap)
{
    static const char *const direct[] = {"crs_wkt", "spatial_ref", "proj4", "proj4text",
                                         "proj4_params", NULL};
    char gm[CF_NAME_CAP], mapping[64];
    if (sq25__h5_attr_string(fid, v->name, "grid_mapping", gm, sizeof gm) != 0) {
        if (!degrees)
            return sq25__fail(ctx, SQ25_ERR_MISSING_ATTRIBUTE,
                              "%s: %s has projected x/y but no grid_mapping", path, v->name);
        snprintf(buf, cap, "+proj=longlat +datum=WGS84");
        return SQ25_OK;
    }
    if (!sq25__h5_exists(fid, gm))
        return sq25__fail(ctx, SQ25_ERR_MISSING_DATASET,
                          "%s: grid_mapping variable \"%s\" of %s is missing", path, gm, v->name);
    for (const char *const *a = direct; *a; a++)
        if (sq25__h5_attr_string(fid, gm, *a, buf, cap) == 0 && buf[0]) return SQ25_OK;
    if (sq25__h5_attr_string(fid, gm, "grid_mapping_name", mapping, sizeof mapping) != 0)
        return sq25__fail(ctx, SQ25_ERR_MISSING_ATTRIBUTE,
                          "%s: grid_mapping %s has no grid_mapping_name, crs_wkt or proj4", path,
                          gm);
    if (proj_from_cf_parameters(fid, gm, mapping, to_m, buf, cap) != 0)
        return sq25__fail(ctx, SQ25_ERR_UNSUPPORTED, "%s: grid_mapping_name \"%s\"", path,
                          mapping);
    return SQ25_OK;
}

/* ---- time ---- */
/* Parse "<unit> since YYYY-MM-DD[ HH:MM[:SS]]" into seconds per unit and the origin. */
static int parse_time_units(const char *units, double *unit_s, int64_t *origin)
{
    char word[32];
    int y, mo, d, h = 0, mi = 0, n = 0;
    double s = 0;
    if (sscanf(units, "%31s since %d-%d-%d%n", word, &y, &mo, &d, &n) != 4) return -1;
    const char *rest = units + n;
    if (*rest == 'T' || *rest == ' ') sscanf(rest + 1, "%d:%d:%lf", &h, &mi, &s);
    for (char *c = word; *c; c++) *c = (char)tolower((unsigned char)*c);
    static const struct {
        const char *name;
        double seconds;
    } units_s[] = {{"seconds", 1},   {"second", 1},   {"secs", 1},      {"sec", 1},
                   {"s", 1},         {"minutes", 60}, {"minute", 60},   {"mins", 60},
                   {"min", 60},      {"hours", 3600}, {"hour", 3600},   {"hrs", 3600},
                   {"hr", 3600},     {"h", 3600},     {"days", 86400},  {"day", 86400},
                   {"d", 86400}};
    *unit_s = 0;
    for (size_t k = 0; k < sizeof units_s / sizeof units_s[0]; k++)
        if (strcmp(word, units_s[k].name) == 0) *unit_s = units_s[k].seconds;
    if (*unit_s == 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 24 || mi < 0 ||
        mi > 59 || s < 0 || s >= 61)
        return -1;
    *origin = sq25__utc_seconds(y, mo, d, h, mi, 0) + (int64_t)floor(s);
    return 0;
}

/* Time coordinate: valid time of frame index, and the step to the previous frame (0 if
 * unknown). 2-D variables without a time variable get valid time 0. */
static int cf_time(sq25_ctx *ctx, const char *path, hid_t fid, const cf_var_list *vars,
                   const cf_rain_var *v, int index, int64_t *valid, double *step_s)
{
    char tname[CF_NAME_CAP], units[96];
    *valid = 0;
    *step_s = 0;
    hsize_t nt = v->rank == 3 ? v->dims[0] : 1;
    if (find_axis_var(fid, vars, 'T', nt, tname) != 0) {
        if (v->rank == 3)
            return sq25__fail(ctx, SQ25_ERR_MISSING_DATASET,
                              "%s: %s is 3-D but no time coordinate of length %llu exists", path,
                              v->name, (unsigned long long)nt);
        return SQ25_OK;
    }
    double unit_s;
    int64_t origin;
    if (sq25__h5_attr_string(fid, tname, "units", units, sizeof units) ||
        parse_time_units(units, &unit_s, &origin))
        return sq25__fail(ctx, SQ25_ERR_BAD_TIME,
                          "%s: time units \"%s\" are not \"<unit> since YYYY-MM-DD[ HH:MM:SS]\"",
                          path, units);
    if (nt > CF_MAX_TIMES)
        return sq25__fail(ctx, SQ25_ERR_SIZE_ABSURD, "%s: %llu time steps", path,
                          (unsigned long long)nt);
    double *t = sq25__malloc(ctx, (size_t)nt * sizeof *t);
    if (!t) return SQ25_ERR_NOMEM;
    int rc = read_1d(ctx, path, fid, tname, (size_t)nt, t);
    if (!rc) {
        *valid = origin + (int64_t)llround(t[index] * unit_s);
        if (nt >= 2) {
            size_t a = index > 0 ? (size_t)index - 1 : 0, b = a + 1;
            *step_s = (t[b] - t[a]) * unit_s;
        }
    }
    sq25__free(ctx, t);
    return rc;
}

/* Seconds from "N unit" text (e.g. "5 minutes", "1 hour") or ISO "PT5M"/"PT1H". */
static double duration_s(const char *text)
{
    double n;
    char word[32] = "";
    if (sscanf(text, " PT%lf%1[HMShms]", &n, word) == 2) {
        char u = (char)toupper((unsigned char)word[0]);
        return n * (u == 'H' ? 3600 : u == 'M' ? 60 : 1);
    }
    if (sscanf(text, " %lf %31[a-zA-Z]", &n, word) != 2) return 0;
    if (strncasecmp(word, "s", 1) == 0) return n;
    if (strncasecmp(word, "mi", 2) == 0) return n * 60;
    if (strncasecmp(word, "h", 1) == 0) return n * 3600;
    if (strncasecmp(word, "d", 1) == 0) return n * 86400;
    return 0;
}

/* Accumulation window of an amount: cell_methods "interval: N unit", else an accumulation
 * attribute (seconds, "N unit" or "PTnM"), else the spacing of the time axis. */
static int amount_window(sq25_ctx *ctx, const char *path, hid_t fid, const cf_rain_var *v,
                         double time_step_s, double *window_s)
{
    static const char *const attrs[] = {"accumulation_period", "accumulation",
                                        "accumulation_interval", NULL};
    char text[256];
    const char *iv;
    *window_s = 0;
    if (sq25__h5_attr_string(fid, v->name, "cell_methods", text, sizeof text) == 0 &&
        (iv = strstr(text, "interval:")) != NULL)
        *window_s = duration_s(iv + 9);
    for (const char *const *a = attrs; *window_s <= 0 && *a; a++) {
        double seconds;
        if (sq25__h5_attr_string(fid, v->name, *a, text, sizeof text) == 0)
            *window_s = duration_s(text);
        else if (sq25__h5_attr_double(fid, v->name, *a, &seconds) == 0)
            *window_s = seconds;
    }
    if (*window_s <= 0) *window_s = time_step_s;
    if (*window_s > 0) return SQ25_OK;
    return sq25__fail(ctx, SQ25_ERR_BAD_QUANTITY,
                      "%s: %s is an amount (\"%s\") but its accumulation interval cannot be "
                      "found (no cell_methods interval, no accumulation attribute, fewer than "
                      "2 time steps)",
                      path, v->name, v->units);
}

static void cf_decoding(hid_t fid, const cf_rain_var *v, sq25__decoding *dec)
{
    memset(dec, 0, sizeof *dec);
    if (sq25__h5_attr_double(fid, v->name, "scale_factor", &dec->gain)) dec->gain = 1.0;
    if (sq25__h5_attr_double(fid, v->name, "add_offset", &dec->offset)) dec->offset = 0.0;
    dec->has_nodata = sq25__h5_attr_double(fid, v->name, "_FillValue", &dec->nodata) == 0;
    dec->has_nodata2 = sq25__h5_attr_double(fid, v->name, "missing_value", &dec->nodata2) == 0;
    dec->unit = v->unit;
}

static int cf_meta(sq25_field *f, hid_t fid, const char *path, const cf_rain_var *v,
                   const sq25__decoding *dec)
{
    char format[64] = "netCDF-4", producer[256] = "", quantity[160], std[96] = "",
         conversion[256];
    sq25__h5_attr_string(fid, "/", "Conventions", format, sizeof format);
    if (sq25__h5_attr_string(fid, "/", "institution", producer, sizeof producer))
        sq25__h5_attr_string(fid, "/", "source", producer, sizeof producer);
    sq25__h5_attr_string(fid, v->name, "standard_name", std, sizeof std);
    snprintf(quantity, sizeof quantity, "%s%s%s", v->name, std[0] ? " " : "", std);
    const char *how = dec->unit == SQ25__UNIT_RATE_MMH    ? "as mm/h"
                      : dec->unit == SQ25__UNIT_FLUX_KGM2S ? "times 3600 (per second to per hour)"
                                                           : "per window times 3600/window_s";
    snprintf(conversion, sizeof conversion,
             "scale_factor %g, add_offset %g, _FillValue/missing_value -> NaN; units \"%s\" %s",
             dec->gain, dec->offset, v->units, how);
    if (dec->unit == SQ25__UNIT_AMOUNT_MM) {
        size_t used = strlen(conversion);
        snprintf(conversion + used, sizeof conversion - used, " (window %.0f s)", dec->window_s);
    }
    return sq25__set_read_meta(f, format, producer, quantity, conversion, path);
}

int sq25__cf_frame_count(sq25_ctx *ctx, const char *path, hid_t fid, int *count)
{
    cf_var_list *vars = sq25__malloc(ctx, sizeof *vars);
    if (!vars) return SQ25_ERR_NOMEM;
    list_root_datasets(fid, vars);
    cf_rain_var v;
    int rc = choose_rain_var(ctx, path, fid, vars, &v);
    sq25__free(ctx, vars);
    if (rc) return rc;
    if (v.rank == 3 && v.dims[0] > (hsize_t)CF_MAX_TIMES)
        return sq25__fail(ctx, SQ25_ERR_SIZE_ABSURD, "%s: %llu time steps", path,
                          (unsigned long long)v.dims[0]);
    *count = v.rank == 3 ? (int)v.dims[0] : 1;
    return SQ25_OK;
}

static int cf_read_with_vars(sq25_ctx *ctx, const char *path, hid_t fid,
                             const cf_var_list *vars, int index, sq25_field **out)
{
    cf_rain_var v;
    sq25__decoding dec;
    double gt[6], step_s = 0, to_m = 1;
    bool flip = false, degrees = false;
    int64_t valid = 0;
    char projdef[2048];
    int rc = choose_rain_var(ctx, path, fid, vars, &v);
    if (rc) return rc;
    hsize_t frames = v.rank == 3 ? v.dims[0] : 1;
    if ((hsize_t)index >= frames)
        return sq25__fail(ctx, SQ25_ERR_RANGE, "%s: frame %d requested, %s holds %llu", path,
                          index, v.name, (unsigned long long)frames);
    cf_decoding(fid, &v, &dec);
    rc = cf_geotransform(ctx, path, fid, vars, &v, gt, &flip, &degrees, &to_m);
    if (!rc) rc = cf_projection(ctx, path, fid, &v, degrees, to_m, projdef, sizeof projdef);
    if (!rc) rc = cf_time(ctx, path, fid, vars, &v, index, &valid, &step_s);
    if (!rc && dec.unit == SQ25__UNIT_AMOUNT_MM)
        rc = amount_window(ctx, path, fid, &v, step_s, &dec.window_s);
    if (!rc)
        rc = sq25__read_decoded_field(ctx, path, fid, v.name, v.rank == 3 ? index : -1,
                                      (size_t)v.dims[v.rank - 2], (size_t)v.dims[v.rank - 1],
                                      &dec, flip, projdef, gt, valid, out);
    if (rc) return rc;
    if (dec.unit == SQ25__UNIT_AMOUNT_MM) sq25_field_set_accumulation_s(*out, (int)dec.window_s);
    return cf_meta(*out, fid, path, &v, &dec);
}

int sq25__cf_read(sq25_ctx *ctx, const char *path, hid_t fid, int index, sq25_field **out)
{
    *out = NULL;
    cf_var_list *vars = sq25__malloc(ctx, sizeof *vars);
    if (!vars) return SQ25_ERR_NOMEM;
    list_root_datasets(fid, vars);
    int rc = cf_read_with_vars(ctx, path, fid, vars, index, out);
    sq25__free(ctx, vars);
    return rc;
}
