/* io_cf.c -- reader for CF-1.x netCDF-4 rain grids (netCDF-4 files are HDF5 files), also the
 * OpenSense radar grids. The rain variable is the root variable with a grid_mapping attribute,
 * else the first 2-D or 3-D variable with rain units, else an OpenSense rainfall_amount; its
 * packing (scale_factor, add_offset, _FillValue, missing_value, valid_range/min/max,
 * _Unsigned, the netCDF default fill) on any integer or float type; amounts become mm/h with
 * their interval. Time: io_cf_time.c; georeference: io_cf_grid.c. Dimensions (time,) y, x. */
#include "io_cf.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CF_NETCDF_DIM_ONLY "This is a netCDF dimension but not a netCDF variable"

/* ---- small helpers shared with io_cf_time.c and io_cf_grid.c ---- */
void sq25__cf_list_root(hid_t fid, cf_var_list *list)
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

bool sq25__cf_is_dimension_only(hid_t fid, const char *name)
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

bool sq25__cf_attr_is(hid_t fid, const char *var, const char *attr, const char *value)
{
    char buf[64];
    return sq25__h5_attr_string(fid, var, attr, buf, sizeof buf) == 0 &&
           strcasecmp(buf, value) == 0;
}

void sq25__cf_normalise_units(const char *in, char *out, size_t cap)
{
    size_t k = 0;
    bool space = false;
    for (const char *c = in; *c && k + 1 < cap; c++) {
        if (*c == '*' || *c == '^' || *c == '(' || *c == ')') continue;
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

bool sq25__cf_in_list(const char *s, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(s, *list) == 0) return true;
    return false;
}

/* Seconds per duration word (s, min, h, d and their spellings); 0 if not one. */
static double word_seconds(const char *word, bool iso)
{
    if (iso) {
        char u = (char)toupper((unsigned char)word[0]);
        return u == 'H' ? 3600 : u == 'M' ? 60 : 1;
    }
    if (strncasecmp(word, "s", 1) == 0) return 1;
    if (strncasecmp(word, "mi", 2) == 0) return 60;
    if (strncasecmp(word, "h", 1) == 0) return 3600;
    if (strncasecmp(word, "d", 1) == 0) return 86400;
    return 0;
}

double sq25__cf_duration_s(const char *text)
{
    double n = 1;
    char word[32] = "";
    bool iso = sscanf(text, " PT%lf%1[HMShms]", &n, word) == 2;
    if (!iso && sscanf(text, " %lf %31[a-zA-Z]", &n, word) != 2) {
        n = 1; /* "per hour", "/min": one unit */
        if (sscanf(text, " %31[a-zA-Z]", word) != 1) return 0;
    }
    double s = n * word_seconds(word, iso);
    /* NaN, sub-second and absurd lengths give 0 */
    return s >= CF_MIN_INTERVAL_S && s <= CF_MAX_INTERVAL_S ? s : 0;
}

/* ---- units ---- */
/* Amount units with their window: "sum 5min" (OpenSense radar), "mm/5min", "mm per 5 min",
 * "kg m-2 per 15 minutes". Returns the window in seconds, 0 if not such units. */
static double amount_with_window(const char *u)
{
    static const char *const prefixes[] = {"sum ", "mm/", "mm per ", "kg m-2 per ",
                                           "kg m-2/", "kg/m2/", NULL};
    for (const char *const *p = prefixes; *p; p++)
        if (strncmp(u, *p, strlen(*p)) == 0) return sq25__cf_duration_s(u + strlen(*p));
    return 0;
}

/* Returns 0 and the unit class for rain units, -1 otherwise. */
static int rain_unit(const char *units, sq25__rain_unit *unit, double *window_s)
{
    static const char *const rate[] = {"mm/h", "mm h-1", "mm hr-1", "mm/hr", "mm hour-1",
                                       "mm/hour", "mm/1h", "kg m-2 h-1", NULL};
    static const char *const flux[] = {"kg m-2 s-1", "kg/m2/s", "kg m-2/s", "mm s-1", "mm/s",
                                       NULL};
    static const char *const amount[] = {"mm", "kg m-2", "kg/m2", "millimeter", "millimetre",
                                         "millimeters", "millimetres", NULL};
    static const char *const dbz[] = {"dbz", NULL};
    char u[64];
    sq25__cf_normalise_units(units, u, sizeof u);
    *window_s = 0;
    if (sq25__cf_in_list(u, rate)) *unit = SQ25__UNIT_RATE_MMH;
    else if (sq25__cf_in_list(u, flux)) *unit = SQ25__UNIT_FLUX_KGM2S;
    else if (sq25__cf_in_list(u, amount)) *unit = SQ25__UNIT_AMOUNT_MM;
    else if (sq25__cf_in_list(u, dbz)) *unit = SQ25__UNIT_DBZ;
    else if ((*window_s = amount_with_window(u)) > 0) {
        *unit = *window_s == 3600 ? SQ25__UNIT_RATE_MMH : SQ25__UNIT_AMOUNT_MM;
        if (*unit == SQ25__UNIT_RATE_MMH) *window_s = 0;
    } else return -1;
    return 0;
}

/* ---- choosing the rain variable ---- */
/* OpenSense names of a rain amount per interval; without units they are mm (the OpenSense
 * data-format default). */
static bool is_opensense_amount(const char *name)
{
    static const char *const names[] = {"rainfall_amount", "precipitation_amount", NULL};
    return sq25__cf_in_list(name, names);
}

static bool fill_candidate(hid_t fid, const char *name, cf_rain_var *v)
{
    memset(v, 0, sizeof *v);
    if (is_dimension_scale(fid, name)) return false;
    if (sq25__h5_dataset_dims(fid, name, &v->rank, v->dims) != 0) return false;
    if (v->rank != 2 && v->rank != 3) return false;
    snprintf(v->name, sizeof v->name, "%s", name);
    if (sq25__h5_attr_string(fid, name, "units", v->units, sizeof v->units)) v->units[0] = '\0';
    return true;
}

/* Units of a candidate: rain units, or none on an OpenSense amount. */
static bool candidate_is_rain(cf_rain_var *v)
{
    if (rain_unit(v->units, &v->unit, &v->units_window_s) == 0) return true;
    if (!v->units[0] && is_opensense_amount(v->name)) {
        v->unit = SQ25__UNIT_AMOUNT_MM;
        v->units_defaulted = true;
        return true;
    }
    return false;
}

static int choose_rain_var(sq25_ctx *ctx, const char *path, hid_t fid, const cf_var_list *vars,
                           cf_rain_var *out)
{
    cf_rain_var v;
    for (int i = 0; i < vars->count; i++) { /* 1st choice: a variable with a grid_mapping */
        if (!sq25__h5_attr_exists(fid, vars->names[i], "grid_mapping")) continue;
        if (!fill_candidate(fid, vars->names[i], &v)) continue;
        if (!candidate_is_rain(&v))
            return sq25__fail(ctx, SQ25_ERR_BAD_QUANTITY,
                              "%s: variable %s has units \"%s\", not a rain rate or amount "
                              "(mm/h, mm h-1, kg m-2 s-1, mm, kg m-2, sum 5min, dBZ)",
                              path, v.name, v.units);
        *out = v;
        return SQ25_OK;
    }
    for (int i = 0; i < vars->count; i++) /* else: 2-D/3-D with rain units or OpenSense */
        if (fill_candidate(fid, vars->names[i], &v) && candidate_is_rain(&v)) {
            *out = v;
            return SQ25_OK;
        }
    if (sq25__h5_exists(fid, "cml_id"))
        return sq25__fail(ctx, SQ25_ERR_UNSUPPORTED,
                          "%s: a commercial microwave link (CML) file (cml_id), not a grid or "
                          "a gauge series: links are read by the links module",
                          path);
    return sq25__fail(ctx, SQ25_ERR_MISSING_DATASET,
                      "%s: no gridded rain variable (none with grid_mapping, none 2-D/3-D "
                      "with rain units, no OpenSense rainfall_amount)",
                      path);
}

/* True when v is a (station, time) or (time, station) series: a 1-D time variable matches one
 * of its two dimensions. */
static bool is_station_series(hid_t fid, const cf_var_list *vars, const cf_rain_var *v)
{
    if (v->rank != 2) return false;
    for (int i = 0; i < vars->count; i++) {
        int rank;
        hsize_t dims[4];
        char units[96];
        if (sq25__h5_dataset_dims(fid, vars->names[i], &rank, dims) == 0 && rank == 1 &&
            (dims[0] == v->dims[0] || dims[0] == v->dims[1]) &&
            sq25__h5_attr_string(fid, vars->names[i], "units", units, sizeof units) == 0 &&
            strstr(units, " since ") != NULL)
            return true;
    }
    return false;
}

/* ---- accumulation window of an amount ---- */
/* cell_methods "interval: N unit", the window in the units ("sum 5min"), time bounds or a
 * start-time pair, an accumulation attribute (seconds, "N unit" or "PTnM"), else the spacing
 * of the time axis. */
static int amount_window(sq25_ctx *ctx, const char *path, hid_t fid, const cf_rain_var *v,
                         const cf_time_info *t, double *window_s, const char **how)
{
    static const char *const attrs[] = {"accumulation_period", "accumulation",
                                        "accumulation_interval", NULL};
    char text[256];
    const char *iv;
    *window_s = 0;
    *how = "cell_methods interval";
    if (sq25__h5_attr_string(fid, v->name, "cell_methods", text, sizeof text) == 0 &&
        (iv = strstr(text, "interval:")) != NULL)
        *window_s = sq25__cf_duration_s(iv + 9);
    if (*window_s <= 0 && v->units_window_s > 0) {
        *window_s = v->units_window_s;
        *how = "units";
    }
    if (*window_s <= 0 && t->window_s > 0) {
        *window_s = t->window_s;
        *how = "time bounds";
    }
    for (const char *const *a = attrs; *window_s <= 0 && *a; a++) {
        double seconds;
        *how = *a;
        if (sq25__h5_attr_string(fid, v->name, *a, text, sizeof text) == 0)
            *window_s = sq25__cf_duration_s(text);
        else if (sq25__h5_attr_double(fid, v->name, *a, &seconds) == 0)
            *window_s = seconds;
    }
    if (*window_s <= 0 && t->step_s != 0) {
        *window_s = t->step_s;
        *how = "time step";
    }
    if (*window_s >= CF_MIN_INTERVAL_S && *window_s <= CF_MAX_INTERVAL_S) return SQ25_OK;
    if (*window_s != 0)
        return sq25__fail(ctx, SQ25_ERR_BAD_TIME,
                          "%s: %s: accumulation interval %g s (from %s) is not between 1 s and "
                          "one year",
                          path, v->name, *window_s, *how);
    return sq25__fail(ctx, SQ25_ERR_BAD_QUANTITY,
                      "%s: %s is an amount (\"%s\") but its accumulation interval cannot be "
                      "found (no cell_methods interval, no time bounds, no accumulation "
                      "attribute, fewer than 2 time steps)",
                      path, v->name, v->units);
}

/* ---- packing ---- */
/* netCDF's default fill value of the stored type, used when _FillValue is absent. */
static bool default_fill(hid_t type, double *fill)
{
    H5T_class_t cls = H5Tget_class(type);
    size_t size = H5Tget_size(type);
    if (cls == H5T_FLOAT) {
        *fill = 9.9692099683868690e+36;
        return true;
    }
    if (cls != H5T_INTEGER) return false;
    bool is_signed = H5Tget_sign(type) == H5T_SGN_2;
    switch (size) {
    case 1: *fill = is_signed ? -127.0 : 255.0; return true;
    case 2: *fill = is_signed ? -32767.0 : 65535.0; return true;
    case 4: *fill = is_signed ? -2147483647.0 : 4294967295.0; return true;
    case 8: *fill = is_signed ? -9223372036854775806.0 : 18446744073709551614.0; return true;
    default: return false;
    }
}

static void cf_decoding(hid_t fid, const cf_rain_var *v, sq25__decoding *dec)
{
    memset(dec, 0, sizeof *dec);
    if (sq25__h5_attr_double(fid, v->name, "scale_factor", &dec->gain)) dec->gain = 1.0;
    if (sq25__h5_attr_double(fid, v->name, "add_offset", &dec->offset)) dec->offset = 0.0;
    dec->has_nodata = sq25__h5_attr_double(fid, v->name, "_FillValue", &dec->nodata) == 0;
    dec->has_nodata2 = sq25__h5_attr_double(fid, v->name, "missing_value", &dec->nodata2) == 0;
    double range[2];
    size_t n = 0;
    if (sq25__h5_attr_doubles(fid, v->name, "valid_range", range, 2, &n) == 0 && n == 2) {
        dec->has_valid_min = dec->has_valid_max = true;
        dec->valid_min = range[0];
        dec->valid_max = range[1];
    }
    if (!dec->has_valid_min)
        dec->has_valid_min = sq25__h5_attr_double(fid, v->name, "valid_min", &dec->valid_min) == 0;
    if (!dec->has_valid_max)
        dec->has_valid_max = sq25__h5_attr_double(fid, v->name, "valid_max", &dec->valid_max) == 0;
    hid_t d = H5Dopen2(fid, v->name, H5P_DEFAULT);
    hid_t t = d >= 0 ? H5Dget_type(d) : -1;
    if (t >= 0) {
        if (!dec->has_nodata) dec->has_nodata = default_fill(t, &dec->nodata);
        if (H5Tget_class(t) == H5T_INTEGER && H5Tget_sign(t) == H5T_SGN_2 &&
            sq25__cf_attr_is(fid, v->name, "_Unsigned", "true"))
            dec->unsigned_bits = (int)(8 * H5Tget_size(t));
        H5Tclose(t);
    }
    if (d >= 0) H5Dclose(d);
    dec->unit = v->unit;
}

/* ---- metadata ---- */
static void append_text(char *buf, size_t cap, const char *text)
{
    size_t used = strlen(buf);
    if (used + 1 < cap) snprintf(buf + used, cap - used, "%s", text);
}

static int cf_meta(sq25_field *f, hid_t fid, const char *path, const cf_rain_var *v,
                   const sq25__decoding *dec, const cf_time_info *t, const char *window_how,
                   const char *note)
{
    char format[64] = "netCDF-4", producer[256] = "", quantity[160], std[96] = "",
         conversion[768], line[256];
    if (sq25__h5_attr_string(fid, "/", "Conventions", format, sizeof format) || !format[0])
        snprintf(format, sizeof format, "netCDF-4");
    if (sq25__h5_attr_string(fid, "/", "institution", producer, sizeof producer))
        sq25__h5_attr_string(fid, "/", "source", producer, sizeof producer);
    sq25__h5_attr_string(fid, v->name, "standard_name", std, sizeof std);
    snprintf(quantity, sizeof quantity, "%s%s%s", v->name, std[0] ? " " : "", std);
    const char *how = dec->unit == SQ25__UNIT_RATE_MMH     ? "as mm/h"
                      : dec->unit == SQ25__UNIT_FLUX_KGM2S ? "times 3600 (per second to per hour)"
                      : dec->unit == SQ25__UNIT_DBZ        ? "dBZ to mm/h by the context's Z-R"
                                                           : "per window times 3600/window_s";
    snprintf(conversion, sizeof conversion,
             "scale_factor %g, add_offset %g, _FillValue/missing_value%s -> NaN; units \"%s\"%s "
             "%s",
             dec->gain, dec->offset,
             dec->has_valid_min || dec->has_valid_max ? "/outside valid_range" : "",
             v->units_defaulted ? "mm" : v->units,
             v->units_defaulted ? " (no units attribute: OpenSense default)" : "", how);
    if (dec->unit == SQ25__UNIT_DBZ) {
        char zr[96];
        sq25__ctx_zr_text(f->ctx, zr, sizeof zr);
        snprintf(line, sizeof line, " (%s)", zr);
        append_text(conversion, sizeof conversion, line);
    }
    if (dec->unit == SQ25__UNIT_AMOUNT_MM) {
        snprintf(line, sizeof line, " (window %.0f s from %s)", dec->window_s, window_how);
        append_text(conversion, sizeof conversion, line);
    }
    snprintf(line, sizeof line, "; time from %s", t->source);
    append_text(conversion, sizeof conversion, line);
    if (note[0]) {
        append_text(conversion, sizeof conversion, "; ");
        append_text(conversion, sizeof conversion, note);
    }
    return sq25__set_read_meta(f, format, producer, quantity, conversion, path);
}

/* ---- entry points ---- */
int sq25__cf_frame_count(sq25_ctx *ctx, const char *path, hid_t fid, int *count)
{
    cf_var_list *vars = sq25__malloc(ctx, sizeof *vars);
    if (!vars) return SQ25_ERR_NOMEM;
    sq25__cf_list_root(fid, vars);
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

static int georeference(sq25_ctx *ctx, const char *path, hid_t fid, const cf_var_list *vars,
                        const cf_rain_var *v, double gt[6], bool *flip, char *projdef,
                        size_t proj_cap, char *note, size_t note_cap)
{
    int rc = sq25__cf_georeference(ctx, path, fid, vars, v, gt, flip, projdef, proj_cap, note,
                                   note_cap);
    if (rc == SQ25_ERR_MISSING_DATASET && is_station_series(fid, vars, v))
        return sq25__fail(ctx, SQ25_ERR_UNSUPPORTED,
                          "%s: %s is a station time series (%llu x %llu), not a grid: read it "
                          "as sensors (sq25_series_read_netcdf; sq25 qc/interpolate --sensors)",
                          path, v->name, (unsigned long long)v->dims[0],
                          (unsigned long long)v->dims[1]);
    return rc;
}

/* The field's accumulation in whole seconds. The window was range-checked where it was found;
 * it is checked again here, next to the int conversion, which is undefined out of range. */
static int set_accumulation(sq25_ctx *ctx, const char *path, const char *var, double window_s,
                            sq25_field *f)
{
    if (!(window_s >= CF_MIN_INTERVAL_S && window_s <= CF_MAX_INTERVAL_S))
        return sq25__fail(ctx, SQ25_ERR_BAD_TIME,
                          "%s: %s: accumulation interval %g s is not between 1 s and one year",
                          path, var, window_s);
    sq25_field_set_accumulation_s(f, (int)lround(window_s));
    return SQ25_OK;
}

static int cf_read_with_vars(sq25_ctx *ctx, const char *path, hid_t fid,
                             const cf_var_list *vars, int index, sq25_field **out)
{
    cf_rain_var v;
    sq25__decoding dec;
    cf_time_info t;
    double gt[6];
    bool flip = false;
    char projdef[4096], note[512] = "";
    const char *window_how = "";
    int rc = choose_rain_var(ctx, path, fid, vars, &v);
    if (rc) return rc;
    hsize_t frames = v.rank == 3 ? v.dims[0] : 1;
    if ((hsize_t)index >= frames)
        return sq25__fail(ctx, SQ25_ERR_RANGE, "%s: frame %d requested, %s holds %llu", path,
                          index, v.name, (unsigned long long)frames);
    if (v.units_defaulted)
        sq25__log(ctx, SQ25_LOG_INFO,
                  "%s: %s has no units attribute; taken as mm per interval (the OpenSense "
                  "default)",
                  path, v.name);
    cf_decoding(fid, &v, &dec);
    rc = georeference(ctx, path, fid, vars, &v, gt, &flip, projdef, sizeof projdef, note,
                      sizeof note);
    if (!rc) rc = sq25__cf_time(ctx, path, fid, vars, &v, index, &t);
    if (!rc && dec.unit == SQ25__UNIT_AMOUNT_MM)
        rc = amount_window(ctx, path, fid, &v, &t, &dec.window_s, &window_how);
    if (!rc && !t.found && ctx->has_assumed_time) {
        t.found = true;
        t.valid = ctx->assumed_time;
        snprintf(t.source, sizeof t.source, "none in the file: time assumed by the caller");
    }
    if (!rc && !t.found)
        rc = sq25__fail(ctx, SQ25_ERR_BAD_TIME,
                        "%s: %s has no time (no time coordinate, no scalar time coordinate "
                        "through \"coordinates\" or standard_name time)",
                        path, v.name);
    if (!rc)
        rc = sq25__read_decoded_field(ctx, path, fid, v.name, v.rank == 3 ? index : -1,
                                      (size_t)v.dims[v.rank - 2], (size_t)v.dims[v.rank - 1],
                                      &dec, flip, projdef, gt, t.valid, out);
    if (!rc && dec.unit == SQ25__UNIT_AMOUNT_MM)
        rc = set_accumulation(ctx, path, v.name, dec.window_s, *out);
    else if (!rc && t.window_s != 0)
        rc = set_accumulation(ctx, path, v.name, t.window_s, *out);
    if (rc) return rc;
    return cf_meta(*out, fid, path, &v, &dec, &t, window_how, note);
}

int sq25__cf_read(sq25_ctx *ctx, const char *path, hid_t fid, int index, sq25_field **out)
{
    *out = NULL;
    cf_var_list *vars = sq25__malloc(ctx, sizeof *vars);
    if (!vars) return SQ25_ERR_NOMEM;
    sq25__cf_list_root(fid, vars);
    int rc = cf_read_with_vars(ctx, path, fid, vars, index, out);
    sq25__free(ctx, vars);
    return rc;
}
