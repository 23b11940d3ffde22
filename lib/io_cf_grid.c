/* io_cf_grid.c -- georeference of a CF-1.x grid (CF conventions 1.11, sections 4.1-4.2, 5.6
 * and appendix F): the grid-mapping variable named by the data variable's grid_mapping
 * attribute (short "crs" or extended "crs: x y" form), else a root variable carrying
 * grid-mapping attributes, else a file-level PROJ string; its crs_wkt / spatial_ref WKT or
 * proj4 text, else a PROJ string built from grid_mapping_name and the CF parameters; cells
 * from 1-D x/y coordinates (m, km, or no units when the grid mapping fixes them) or a GDAL
 * GeoTransform; 2-D latitude/longitude only as a check. */
#include "io_cf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char gm[CF_NAME_CAP]; /* grid-mapping variable, "" if none */
    bool geographic;      /* latitude_longitude mapping or degree coordinates */
    double to_m;          /* metres per x/y unit: false easting/northing are in those units */
} cf_mapping;

static void add_note(char *note, size_t cap, const char *text)
{
    size_t used = strlen(note);
    if (used + 3 < cap) snprintf(note + used, cap - used, "%s%s", used ? "; " : "", text);
}

/* ---- coordinates ---- */
/* A 1-D coordinate variable of length n for axis 'X' or 'Y'. */
static int find_axis_var(hid_t fid, const cf_var_list *vars, char axis, hsize_t n, char *name)
{
    static const char *const x_std[] = {"projection_x_coordinate", "longitude",
                                        "grid_longitude", NULL};
    static const char *const y_std[] = {"projection_y_coordinate", "latitude", "grid_latitude",
                                        NULL};
    static const char *const x_names[] = {"x", "lon", "longitude", "easting", NULL};
    static const char *const y_names[] = {"y", "lat", "latitude", "northing", NULL};
    const char *const *stds = axis == 'X' ? x_std : y_std;
    const char *const *names = axis == 'X' ? x_names : y_names;
    char axis_text[2] = {axis, '\0'};
    for (int pass = 0; pass < 3; pass++) {
        for (int i = 0; i < vars->count; i++) {
            const char *v = vars->names[i];
            int rank;
            hsize_t dims[4];
            if (sq25__h5_dataset_dims(fid, v, &rank, dims) || rank != 1 || dims[0] != n ||
                sq25__cf_is_dimension_only(fid, v))
                continue;
            char std[64] = "";
            sq25__h5_attr_string(fid, v, "standard_name", std, sizeof std);
            bool hit = pass == 0   ? sq25__cf_attr_is(fid, v, "axis", axis_text)
                       : pass == 1 ? sq25__cf_in_list(std, stds)
                                   : sq25__cf_in_list(v, names);
            if (hit) {
                snprintf(name, CF_NAME_CAP, "%s", v);
                return 0;
            }
        }
    }
    return -1;
}

static int read_1d(sq25_ctx *ctx, const char *path, hid_t fid, const char *name, size_t n,
                   double *out)
{
    hid_t d = H5Dopen2(fid, name, H5P_DEFAULT);
    herr_t st = d >= 0 ? H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) : -1;
    if (d >= 0) H5Dclose(d);
    (void)n;
    if (st < 0)
        return sq25__fail(ctx, SQ25_ERR_FILE_TRUNCATED, "%s: coordinate %s cannot be read", path,
                          name);
    return SQ25_OK;
}

/* Metres per coordinate unit (1 for m and for degrees, 1000 for km); 0 when the attribute is
 * missing; -1 for units that are not lengths or degrees. */
static double coordinate_scale(const char *units, bool *degrees)
{
    static const char *const metres[] = {"m", "meter", "meters", "metre", "metres", "1", NULL};
    static const char *const km[] = {"km", "kilometer", "kilometers", "kilometre", "kilometres",
                                     NULL};
    char u[64];
    sq25__cf_normalise_units(units, u, sizeof u);
    *degrees = strncmp(u, "degree", 6) == 0;
    if (!u[0]) return 0;
    if (*degrees || sq25__cf_in_list(u, metres)) return 1.0;
    if (sq25__cf_in_list(u, km)) return 1000.0;
    return -1.0;
}

/* One axis: first and last value and spacing in metres (or degrees), checked regular. */
typedef struct {
    double first, last, step, to_m;
    bool degrees, units_missing;
} cf_axis;

static int axis_spacing(sq25_ctx *ctx, const char *path, hid_t fid, const char *name, size_t n,
                        const cf_mapping *m, cf_axis *a)
{
    char units[64] = "";
    sq25__h5_attr_string(fid, name, "units", units, sizeof units);
    a->to_m = coordinate_scale(units, &a->degrees);
    a->units_missing = a->to_m == 0;
    if (a->units_missing) { /* the grid mapping fixes them: metres, or degrees if geographic */
        if (!m->gm[0])
            return sq25__fail(ctx, SQ25_ERR_MISSING_ATTRIBUTE,
                              "%s: coordinate %s has no units and no grid mapping fixes them",
                              path, name);
        a->to_m = 1.0;
        a->degrees = m->geographic;
    }
    if (a->to_m < 0)
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
    if (!rc && !(isfinite(d) && d != 0))
        rc = sq25__fail(ctx, SQ25_ERR_BAD_METADATA, "%s: coordinate %s has no finite spacing",
                        path, name);
    for (size_t i = 1; rc == SQ25_OK && i < n; i++)
        if (!(fabs(v[i] - v[i - 1] - d) <= 1e-3 * fabs(d)))
            rc = sq25__fail(ctx, SQ25_ERR_UNSUPPORTED,
                            "%s: coordinate %s is not regularly spaced (step %g at %zu, mean %g)",
                            path, name, v[i] - v[i - 1], i, d);
    if (rc == SQ25_OK) {
        a->first = v[0] * a->to_m;
        a->last = v[n - 1] * a->to_m;
        a->step = d * a->to_m;
    }
    sq25__free(ctx, v);
    return rc;
}

/* A GDAL GeoTransform attribute (6 numbers, as numbers or as one text) on the mapping. */
static int read_geotransform(hid_t fid, const char *gm, double g[6])
{
    size_t n = 0;
    if (sq25__h5_attr_doubles(fid, gm, "GeoTransform", g, 6, &n) == 0 && n == 6) return 0;
    char text[512];
    if (sq25__h5_attr_string(fid, gm, "GeoTransform", text, sizeof text) != 0) return -1;
    return sscanf(text, "%lf %lf %lf %lf %lf %lf", &g[0], &g[1], &g[2], &g[3], &g[4], &g[5]) ==
                   6
               ? 0
               : -1;
}

/* Geotransform from a GDAL GeoTransform alone; a south-up one (g[5] > 0) is turned north-up
 * by flipping rows. Rotated ones are refused. */
static int geotransform_from_gdal(sq25_ctx *ctx, const char *path, const double g[6],
                                  size_t ny, double gt[6], bool *flip_rows)
{
    if (g[2] != 0 || g[4] != 0 || !(g[1] > 0) || g[5] == 0 || !isfinite(g[0]) ||
        !isfinite(g[3]) || !isfinite(g[5]))
        return sq25__fail(ctx, SQ25_ERR_UNSUPPORTED,
                          "%s: GeoTransform %g %g %g %g %g %g is rotated, empty or east-to-west",
                          path, g[0], g[1], g[2], g[3], g[4], g[5]);
    *flip_rows = g[5] > 0;
    double top = g[5] > 0 ? g[3] + (double)ny * g[5] : g[3];
    const double out[6] = {g[0], g[1], 0, top, 0, -fabs(g[5])};
    memcpy(gt, out, sizeof out);
    return SQ25_OK;
}

/* Compare the coordinates' grid with a GeoTransform, orientation-free: left and top edges
 * and cell sizes within 1 % of a cell. */
static bool geotransforms_agree(const double a[6], const double g[6], size_t ny)
{
    double top = g[5] > 0 ? g[3] + (double)ny * g[5] : g[3];
    double tol = 0.01 * fabs(a[1]);
    return fabs(a[0] - g[0]) <= tol && fabs(a[3] - top) <= tol && fabs(a[1] - g[1]) <= tol &&
           fabs(fabs(a[5]) - fabs(g[5])) <= tol;
}

static int cells_from_coordinates(sq25_ctx *ctx, const char *path, hid_t fid,
                                  const cf_var_list *vars, const cf_rain_var *v,
                                  cf_mapping *m, double gt[6], bool *flip_rows, char *note,
                                  size_t note_cap, bool *found)
{
    hsize_t nx = v->dims[v->rank - 1], ny = v->dims[v->rank - 2];
    char xname[CF_NAME_CAP], yname[CF_NAME_CAP];
    *found = find_axis_var(fid, vars, 'X', nx, xname) == 0 &&
             find_axis_var(fid, vars, 'Y', ny, yname) == 0;
    if (!*found) return SQ25_OK;
    cf_axis ax, ay;
    int rc = axis_spacing(ctx, path, fid, xname, (size_t)nx, m, &ax);
    if (!rc) rc = axis_spacing(ctx, path, fid, yname, (size_t)ny, m, &ay);
    if (rc) return rc;
    if (ax.step < 0)
        return sq25__fail(ctx, SQ25_ERR_UNSUPPORTED,
                          "%s: coordinate %s decreases (east-to-west columns)", path, xname);
    if (ax.degrees) m->geographic = true;
    m->to_m = ax.to_m;
    if (ax.units_missing || ay.units_missing)
        add_note(note, note_cap, m->geographic ? "x/y without units: degrees (geographic mapping)"
                                               : "x/y without units: metres (projected mapping)");
    *flip_rows = ay.step > 0;
    double top = ay.step > 0 ? ay.last : ay.first;
    const double g[6] = {ax.first - ax.step / 2, ax.step, 0, top + fabs(ay.step) / 2, 0,
                         -fabs(ay.step)};
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
    if (sq25__h5_attr_double(fid, gm, attr, &v) == 0 && isfinite(v)) {
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

/* A PROJ string from grid_mapping_name and the CF parameters of appendix F; false easting
 * and northing are in the units of the x/y coordinates, hence to_m. Returns 0 or -1 (mapping
 * not known here). */
static int proj_from_cf_parameters(hid_t fid, const char *gm, const char *mapping, double to_m,
                                   char *buf, size_t cap)
{
    static const struct {
        const char *cf, *proj;
    } mappings[] = {{"lambert_conformal_conic", "lcc"},       {"polar_stereographic", "stere"},
                    {"lambert_azimuthal_equal_area", "laea"}, {"transverse_mercator", "tmerc"},
                    {"stereographic", "stere"},               {"albers_conical_equal_area", "aea"},
                    {"latitude_longitude", "longlat"},        {"mercator", "merc"},
                    {"oblique_stereographic", "sterea"},      {"orthographic", "ortho"},
                    {"lambert_cylindrical_equal_area", "cea"}, {"sinusoidal", "sinu"}};
    const char *proj = NULL;
    for (size_t k = 0; k < sizeof mappings / sizeof mappings[0]; k++)
        if (strcmp(mapping, mappings[k].cf) == 0) proj = mappings[k].proj;
    if (!proj) return -1;
    snprintf(buf, cap, "+proj=%s", proj);
    if (strcmp(mapping, "lambert_conformal_conic") == 0 ||
        strcmp(mapping, "albers_conical_equal_area") == 0)
        append_standard_parallels(fid, gm, buf, cap);
    else if (strcmp(mapping, "polar_stereographic") == 0 || strcmp(mapping, "mercator") == 0 ||
             strcmp(mapping, "lambert_cylindrical_equal_area") == 0)
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

static bool has_mapping_attributes(hid_t fid, const char *name)
{
    return sq25__h5_attr_exists(fid, name, "grid_mapping_name") ||
           sq25__h5_attr_exists(fid, name, "crs_wkt") ||
           sq25__h5_attr_exists(fid, name, "spatial_ref");
}

/* The grid-mapping variable: the grid_mapping attribute (first name of the extended form),
 * else the one root variable of at most one element carrying mapping attributes. */
static int find_mapping(sq25_ctx *ctx, const char *path, hid_t fid, const cf_var_list *vars,
                        const cf_rain_var *v, cf_mapping *m, char *note, size_t note_cap)
{
    char text[256];
    m->gm[0] = '\0';
    m->to_m = 1.0;
    if (sq25__h5_attr_string(fid, v->name, "grid_mapping", text, sizeof text) == 0 && text[0]) {
        size_t len = strcspn(text, ": ");
        if (len == 0 || len >= CF_NAME_CAP || !sq25__h5_exists(fid, (text[len] = '\0', text)))
            return sq25__fail(ctx, SQ25_ERR_MISSING_DATASET,
                              "%s: grid_mapping variable \"%s\" of %s is missing", path, text,
                              v->name);
        memcpy(m->gm, text, len + 1);
    } else {
        for (int i = 0; i < vars->count && !m->gm[0]; i++) {
            int rank;
            hsize_t dims[4];
            if (sq25__h5_dataset_dims(fid, vars->names[i], &rank, dims) == 0 &&
                (rank == 0 || (rank == 1 && dims[0] == 1)) &&
                has_mapping_attributes(fid, vars->names[i])) {
                snprintf(m->gm, sizeof m->gm, "%s", vars->names[i]);
                char line[256];
                snprintf(line, sizeof line, "grid mapping %s found by its attributes (%s has "
                                            "no grid_mapping attribute)",
                         m->gm, v->name);
                add_note(note, note_cap, line);
            }
        }
    }
    m->geographic = m->gm[0] && sq25__cf_attr_is(fid, m->gm, "grid_mapping_name",
                                                 "latitude_longitude");
    return SQ25_OK;
}

/* A file-level PROJ definition (OpenSense proj_string, and the usual other names). */
static bool global_projdef(hid_t fid, char *buf, size_t cap)
{
    static const char *const names[] = {"proj_string", "proj4", "proj4_string", "projdef",
                                        "crs_wkt", "spatial_ref", NULL};
    for (const char *const *a = names; *a; a++)
        if (sq25__h5_attr_string(fid, "/", *a, buf, cap) == 0 && buf[0]) return true;
    return false;
}

static int projection_text(sq25_ctx *ctx, const char *path, hid_t fid, const cf_mapping *m,
                           bool degrees, char *buf, size_t cap)
{
    static const char *const direct[] = {"crs_wkt", "spatial_ref", "proj4", "proj4text",
                                         "proj4_params", "proj_string", NULL};
    char mapping[64];
    if (m->gm[0]) {
        for (const char *const *a = direct; *a; a++)
            if (sq25__h5_attr_string(fid, m->gm, *a, buf, cap) == 0 && buf[0]) return SQ25_OK;
        if (sq25__h5_attr_string(fid, m->gm, "grid_mapping_name", mapping, sizeof mapping) == 0) {
            if (proj_from_cf_parameters(fid, m->gm, mapping, m->to_m, buf, cap) == 0) return SQ25_OK;
            if (!global_projdef(fid, buf, cap))
                return sq25__fail(ctx, SQ25_ERR_UNSUPPORTED,
                                  "%s: grid_mapping_name \"%s\" is not supported", path,
                                  mapping);
            return SQ25_OK;
        }
    }
    if (global_projdef(fid, buf, cap)) return SQ25_OK;
    if (degrees) {
        snprintf(buf, cap, "+proj=longlat +datum=WGS84");
        return SQ25_OK;
    }
    return sq25__fail(ctx, SQ25_ERR_MISSING_ATTRIBUTE,
                      "%s: projected x/y but no grid mapping (no grid_mapping attribute, no "
                      "variable with grid_mapping_name/crs_wkt/spatial_ref, no global "
                      "proj_string/proj4/crs_wkt)",
                      path);
}

/* ---- 2-D latitude/longitude: a check of the georeference, never its only source ---- */
static bool find_2d(hid_t fid, const cf_var_list *vars, const char *std,
                    const char *const *names, hsize_t ny, hsize_t nx, char *out)
{
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < vars->count; i++) {
            const char *v = vars->names[i];
            int rank;
            hsize_t dims[4];
            if (sq25__h5_dataset_dims(fid, v, &rank, dims) || rank != 2 || dims[0] != ny ||
                dims[1] != nx)
                continue;
            bool hit = pass == 0 ? sq25__cf_attr_is(fid, v, "standard_name", std)
                                 : sq25__cf_in_list(v, names);
            if (hit) {
                snprintf(out, CF_NAME_CAP, "%s", v);
                return true;
            }
        }
    return false;
}

static bool has_2d_latlon(hid_t fid, const cf_var_list *vars, hsize_t ny, hsize_t nx,
                          char *lat, char *lon)
{
    static const char *const lat_names[] = {"lat", "latitude", "latitudes", "lats", NULL};
    static const char *const lon_names[] = {"lon", "longitude", "longitudes", "lons", NULL};
    return find_2d(fid, vars, "latitude", lat_names, ny, nx, lat) &&
           find_2d(fid, vars, "longitude", lon_names, ny, nx, lon);
}

/* Largest distances (in cells) along the rows (y) and the columns (x) between the four
 * corner cells' centres as the grid places them and as the 2-D lat/lon place them,
 * projected with projdef. */
typedef struct {
    double rows, cols;
} latlon_mismatch;

static int latlon_mismatch_cells(sq25_ctx *ctx, const char *path, hid_t fid, const char *lat,
                                 const char *lon, size_t ny, size_t nx, const double gt[6],
                                 bool flip_rows, const char *projdef, latlon_mismatch *worst)
{
    size_t n = ny * nx;
    double *la = sq25__malloc(ctx, n * sizeof *la), *lo = sq25__malloc(ctx, n * sizeof *lo);
    int rc = la && lo ? SQ25_OK : SQ25_ERR_NOMEM;
    if (!rc) rc = read_1d(ctx, path, fid, lat, n, la);
    if (!rc) rc = read_1d(ctx, path, fid, lon, n, lo);
    worst->rows = worst->cols = 0;
    const size_t rows[4] = {0, 0, ny - 1, ny - 1}, cols[4] = {0, nx - 1, 0, nx - 1};
    for (int k = 0; !rc && k < 4; k++) {
        size_t j = rows[k], i = cols[k];
        double x, y;
        rc = sq25__project_lonlat(ctx, path, projdef, lo[j * nx + i], la[j * nx + i], &x, &y);
        if (rc) break;
        double r = (double)(flip_rows ? ny - 1 - j : j) + 0.5;
        double ex = gt[0] + ((double)i + 0.5) * gt[1], ey = gt[3] + r * gt[5];
        double dx = fabs(x - ex) / fabs(gt[1]), dy = fabs(y - ey) / fabs(gt[5]);
        if (!(dx <= worst->cols)) worst->cols = dx; /* NaN stays the worst */
        if (!(dy <= worst->rows)) worst->rows = dy;
    }
    sq25__free(ctx, la);
    sq25__free(ctx, lo);
    return rc;
}

/* The 2-D latitude/longitude are a check of the placement by x/y, the GeoTransform and the
 * grid mapping. One disagreement is corrected: when they agree with the rows taken in the
 * opposite order (a producer writing y, or its GeoTransform, north-first over rows stored
 * south-first, as OpenMRG's radar file does), the rows follow the 2-D coordinates, which name
 * every cell's own position; gauges confirm such a case (docs/readers.md). Only the row order
 * is decided so: a rows-reversed placement within half a row at every corner, where the file
 * order is more than a row off. Any other disagreement is reported and x/y are kept. */
static int check_latlon(sq25_ctx *ctx, const char *path, hid_t fid, const cf_var_list *vars,
                        const cf_rain_var *v, const double gt[6], bool *flip_rows,
                        const char *projdef, char *note, size_t note_cap)
{
    hsize_t nx = v->dims[v->rank - 1], ny = v->dims[v->rank - 2];
    char lat[CF_NAME_CAP], lon[CF_NAME_CAP];
    if (!has_2d_latlon(fid, vars, ny, nx, lat, lon)) return SQ25_OK;
    latlon_mismatch as_read, reversed = {INFINITY, INFINITY};
    int rc = latlon_mismatch_cells(ctx, path, fid, lat, lon, (size_t)ny, (size_t)nx, gt,
                                   *flip_rows, projdef, &as_read);
    if (!rc && as_read.rows > 1)
        rc = latlon_mismatch_cells(ctx, path, fid, lat, lon, (size_t)ny, (size_t)nx, gt,
                                   !*flip_rows, projdef, &reversed);
    if (rc) { /* a check that cannot be made is said, not fatal */
        sq25__log(ctx, SQ25_LOG_WARNING, "%s: 2-D %s/%s not checked: %s", path, lat, lon,
                  sq25_errmsg(ctx));
        return SQ25_OK;
    }
    char line[640];
    double worst = fmax(as_read.rows, as_read.cols);
    if (worst <= 0.5) {
        snprintf(line, sizeof line, "2-D %s/%s agree (corner cells within %.2f cell)", lat, lon,
                 worst);
    } else if (reversed.rows <= 0.5) {
        /* the row order alone is decided here; a column offset is reported, not corrected */
        *flip_rows = !*flip_rows;
        snprintf(line, sizeof line,
                 "2-D %s/%s DISAGREE with the y axis by %.1f rows and agree (within %.2f row, "
                 "%.1f columns) with the rows in the opposite order: rows follow the 2-D lat/lon",
                 lat, lon, as_read.rows, reversed.rows, reversed.cols);
        sq25__log(ctx, SQ25_LOG_WARNING, "%s: %s", path, line);
    } else {
        snprintf(line, sizeof line,
                 "2-D %s/%s DISAGREE with the grid mapping by %.1f cells at a corner; x/y and "
                 "the grid mapping used",
                 lat, lon, worst);
        sq25__log(ctx, SQ25_LOG_WARNING, "%s: %s", path, line);
    }
    add_note(note, note_cap, line);
    return SQ25_OK;
}

int sq25__cf_georeference(sq25_ctx *ctx, const char *path, hid_t fid, const cf_var_list *vars,
                          const cf_rain_var *v, double gt[6], bool *flip_rows, char *projdef,
                          size_t proj_cap, char *note, size_t note_cap)
{
    hsize_t nx = v->dims[v->rank - 1], ny = v->dims[v->rank - 2];
    int rc = sq25__check_grid_size(ctx, (int64_t)nx, (int64_t)ny, path);
    if (rc) return rc;
    cf_mapping m;
    rc = find_mapping(ctx, path, fid, vars, v, &m, note, note_cap);
    if (rc) return rc;
    bool found = false, has_gdal;
    double g[6];
    rc = cells_from_coordinates(ctx, path, fid, vars, v, &m, gt, flip_rows, note, note_cap,
                                &found);
    if (rc) return rc;
    has_gdal = m.gm[0] && read_geotransform(fid, m.gm, g) == 0;
    if (!found && has_gdal) {
        rc = geotransform_from_gdal(ctx, path, g, (size_t)ny, gt, flip_rows);
        if (rc) return rc;
        add_note(note, note_cap, "cells from the GDAL GeoTransform");
    } else if (found && has_gdal && !geotransforms_agree(gt, g, (size_t)ny)) {
        add_note(note, note_cap, "GeoTransform disagrees with x/y; x/y used");
        sq25__log(ctx, SQ25_LOG_WARNING, "%s: GeoTransform of %s disagrees with x/y; x/y used",
                  path, m.gm);
    } else if (!found) {
        char lat[CF_NAME_CAP], lon[CF_NAME_CAP];
        if (has_2d_latlon(fid, vars, ny, nx, lat, lon))
            return sq25__fail(ctx, SQ25_ERR_UNSUPPORTED,
                              "%s: %s is placed only by 2-D %s/%s (a curvilinear grid): not "
                              "read; 1-D x/y coordinates or a GeoTransform are needed",
                              path, v->name, lat, lon);
        return sq25__fail(ctx, SQ25_ERR_MISSING_DATASET,
                          "%s: %s: no 1-D x/y coordinate variables of lengths %llu/%llu (axis "
                          "X/Y, projection_x/y_coordinate, longitude/latitude or named x/y) and "
                          "no GeoTransform: not a grid",
                          path, v->name, (unsigned long long)nx, (unsigned long long)ny);
    }
    bool degrees = m.geographic;
    rc = projection_text(ctx, path, fid, &m, degrees, projdef, proj_cap);
    if (rc) return rc;
    return check_latlon(ctx, path, fid, vars, v, gt, flip_rows, projdef, note, note_cap);
}
