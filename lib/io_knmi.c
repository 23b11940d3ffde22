/* io_knmi.c -- reader for KNMI's HDF5 radar products (hdftag_version_number 3.x):
 * /image1/image_data with a linear calibration formula, /geographic georeference (possibly in
 * km, normalised here to metres), /overview product start/end times. */
#include "io.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KNMI_IMAGE "image1/image_data"
#define KNMI_CAL "image1/calibration"
#define KNMI_GEO "geographic"
#define KNMI_CORNER_TOLERANCE_DEG 0.01
#define KNMI_MAX_WINDOW_S (366LL * 86400)

/* One term of a linear formula: a number, "PV", "number*PV" or "PV*number". Adds it to
 * *slope or *intercept. Returns 0 or -1. */
static int add_linear_term(const char *term, double sign, double *slope, double *intercept)
{
    char *end;
    if (strcmp(term, "PV") == 0) {
        *slope += sign;
        return 0;
    }
    if (strncmp(term, "PV*", 3) == 0) {
        double a = strtod(term + 3, &end);
        if (end == term + 3 || *end) return -1;
        *slope += sign * a;
        return 0;
    }
    double a = strtod(term, &end);
    if (end == term) return -1;
    if (*end == '\0') *intercept += sign * a;
    else if (strcmp(end, "*PV") == 0) *slope += sign * a;
    else return -1;
    return 0;
}

/* Parse "GEO=a*PV+b" (spaces, term order, signs and exponents free). Returns 0 or -1. */
static int parse_linear_formula(const char *formula, double *slope, double *intercept)
{
    char s[128];
    size_t k = 0;
    for (const char *c = formula; *c && k + 1 < sizeof s; c++)
        if (!isspace((unsigned char)*c)) s[k++] = (char)toupper((unsigned char)*c);
    s[k] = '\0';
    const char *eq = strchr(s, '=');
    const char *rhs = eq ? eq + 1 : s;
    *slope = 0;
    *intercept = 0;
    double sign = 1;
    char term[64];
    size_t t = 0;
    for (const char *c = rhs;; c++) {
        bool is_exponent_sign = (*c == '+' || *c == '-') && t > 0 && term[t - 1] == 'E' &&
                                t > 1 && isdigit((unsigned char)term[t - 2]);
        if (*c == '\0' || ((*c == '+' || *c == '-') && !is_exponent_sign)) {
            term[t] = '\0';
            if (t > 0 && add_linear_term(term, sign, slope, intercept)) return -1;
            if (t == 0 && *c == '\0') return c == rhs ? -1 : 0;
            if (*c == '\0') return 0;
            sign = *c == '-' ? -1 : 1;
            t = 0;
            continue;
        }
        if (t + 1 >= sizeof term) return -1;
        term[t++] = *c;
    }
}

static int calibration(sq25_ctx *ctx, const char *path, hid_t fid, sq25__decoding *dec,
                       char *formula, size_t cap)
{
    if (sq25__h5_attr_string(fid, KNMI_CAL, "calibration_formulas", formula, cap))
        return sq25__fail(ctx, SQ25_ERR_MISSING_ATTRIBUTE,
                          "%s: %s/calibration_formulas is missing", path, KNMI_CAL);
    if (parse_linear_formula(formula, &dec->gain, &dec->offset) || dec->gain == 0)
        return sq25__fail(ctx, SQ25_ERR_UNSUPPORTED,
                          "%s: calibration formula \"%s\" is not linear (a*PV+b)", path, formula);
    dec->has_nodata =
        sq25__h5_attr_double(fid, KNMI_CAL, "calibration_missing_data", &dec->nodata) == 0;
    dec->has_nodata2 =
        sq25__h5_attr_double(fid, KNMI_CAL, "calibration_out_of_image", &dec->nodata2) == 0;
    return SQ25_OK;
}

static int product_times(sq25_ctx *ctx, const char *path, hid_t fid, int64_t *start,
                         int64_t *end)
{
    char s[64] = "", e[64] = "";
    if (sq25__h5_attr_string(fid, "overview", "product_datetime_end", e, sizeof e))
        return sq25__fail(ctx, SQ25_ERR_MISSING_ATTRIBUTE,
                          "%s: /overview/product_datetime_end is missing", path);
    if (sq25__parse_knmi_datetime(e, end))
        return sq25__fail(ctx, SQ25_ERR_BAD_METADATA,
                          "%s: product_datetime_end \"%s\" is not DD-MON-YYYY;HH:MM:SS", path, e);
    *start = *end;
    if (sq25__h5_attr_string(fid, "overview", "product_datetime_start", s, sizeof s) == 0 &&
        sq25__parse_knmi_datetime(s, start))
        return sq25__fail(ctx, SQ25_ERR_BAD_METADATA,
                          "%s: product_datetime_start \"%s\" is not DD-MON-YYYY;HH:MM:SS", path,
                          s);
    /* The span becomes the accumulation window (an int of seconds): 0 to 366 days, as ODIM. */
    if (*end - *start < 0 || *end - *start > KNMI_MAX_WINDOW_S)
        return sq25__fail(ctx, SQ25_ERR_BAD_METADATA,
                          "%s: product_datetime_start \"%s\" to product_datetime_end \"%s\" is "
                          "%lld s, not 0 s to 366 days",
                          path, s, e, (long long)(*end - *start));
    return SQ25_OK;
}

/* The quantity from image_geo_parameter, and the unit conversion it implies. */
static int quantity(sq25_ctx *ctx, const char *path, hid_t fid, int64_t window_s,
                    sq25__decoding *dec, char *param, size_t cap)
{
    if (sq25__h5_attr_string(fid, "image1", "image_geo_parameter", param, cap))
        return sq25__fail(ctx, SQ25_ERR_MISSING_ATTRIBUTE,
                          "%s: image1/image_geo_parameter is missing", path);
    if (strstr(param, "PRECIPITATION") && strstr(param, "[MM]")) {
        if (window_s <= 0)
            return sq25__fail(ctx, SQ25_ERR_BAD_QUANTITY,
                              "%s: %s needs an accumulation window, but product_datetime_start "
                              "is not before product_datetime_end",
                              path, param);
        dec->unit = SQ25__UNIT_AMOUNT_MM;
        dec->window_s = (double)window_s;
    } else if (strstr(param, "REFLECTIVITY") && strstr(param, "[DBZ]")) {
        dec->unit = SQ25__UNIT_DBZ;
    } else if (strstr(param, "[MM/H]")) {
        dec->unit = SQ25__UNIT_RATE_MMH;
    } else {
        return sq25__fail(ctx, SQ25_ERR_BAD_QUANTITY,
                          "%s: image_geo_parameter \"%s\" is not a supported rain quantity", path,
                          param);
    }
    return SQ25_OK;
}

/* Copy a proj4 string, multiplying the length parameters +a +b +x_0 +y_0 +R by factor
 * (1000 for definitions in km). */
static int scale_proj_lengths(const char *src, double factor, char *dst, size_t cap)
{
    static const char *keys[] = {"+a=", "+b=", "+x_0=", "+y_0=", "+R="};
    char copy[1024];
    snprintf(copy, sizeof copy, "%s", src);
    size_t used = 0;
    dst[0] = '\0';
    for (char *save = NULL, *tok = strtok_r(copy, " ", &save); tok;
         tok = strtok_r(NULL, " ", &save)) {
        int n = -1;
        for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
            size_t kl = strlen(keys[k]);
            if (strncmp(tok, keys[k], kl) == 0) {
                char *end;
                double v = strtod(tok + kl, &end);
                if (end == tok + kl || *end) return -1;
                n = snprintf(dst + used, cap - used, "%s%.*s%.10g", used ? " " : "", (int)kl, tok,
                             v * factor);
            }
        }
        if (n < 0) n = snprintf(dst + used, cap - used, "%s%s", used ? " " : "", tok);
        if (n < 0 || (size_t)n >= cap - used) return -1;
        used += (size_t)n;
    }
    return 0;
}

static int geo_double(sq25_ctx *ctx, const char *path, hid_t fid, const char *name, double *v)
{
    if (sq25__h5_attr_double(fid, KNMI_GEO, name, v) == 0 && isfinite(*v)) return SQ25_OK;
    return sq25__fail(ctx, SQ25_ERR_MISSING_ATTRIBUTE, "%s: geographic/%s is missing", path,
                      name);
}

/* Projection (metres) and geotransform (metres) from /geographic. */
static int georeference(sq25_ctx *ctx, const char *path, hid_t fid, char *projdef, size_t cap,
                        double gt[6])
{
    char proj4[1024], dim_pixel[32] = "", pixel_def[16] = "LU";
    if (sq25__h5_attr_string(fid, KNMI_GEO "/map_projection", "projection_proj4_params", proj4,
                             sizeof proj4))
        return sq25__fail(ctx, SQ25_ERR_MISSING_ATTRIBUTE,
                          "%s: geographic/map_projection/projection_proj4_params is missing",
                          path);
    sq25__h5_attr_string(fid, KNMI_GEO, "geo_dim_pixel", dim_pixel, sizeof dim_pixel);
    sq25__h5_attr_string(fid, KNMI_GEO, "geo_pixel_def", pixel_def, sizeof pixel_def);
    if (strcmp(pixel_def, "LU") != 0)
        return sq25__fail(ctx, SQ25_ERR_UNSUPPORTED,
                          "%s: geo_pixel_def \"%s\" (only LU, upper-left origin, is supported)",
                          path, pixel_def);
    double to_m = strcmp(dim_pixel, "KM,KM") == 0 ? 1000.0 : 1.0;
    if (to_m == 1.0 && dim_pixel[0] && strcmp(dim_pixel, "M,M") != 0)
        return sq25__fail(ctx, SQ25_ERR_UNSUPPORTED, "%s: geo_dim_pixel \"%s\"", path,
                          dim_pixel);
    if (scale_proj_lengths(proj4, to_m, projdef, cap))
        return sq25__fail(ctx, SQ25_ERR_BAD_METADATA, "%s: cannot rescale proj4 \"%s\" to m",
                          path, proj4);
    double col_off, row_off, psx, psy;
    int rc = geo_double(ctx, path, fid, "geo_column_offset", &col_off);
    if (!rc) rc = geo_double(ctx, path, fid, "geo_row_offset", &row_off);
    if (!rc) rc = geo_double(ctx, path, fid, "geo_pixel_size_x", &psx);
    if (!rc) rc = geo_double(ctx, path, fid, "geo_pixel_size_y", &psy);
    if (rc) return rc;
    if (psx <= 0 || psy == 0)
        return sq25__fail(ctx, SQ25_ERR_BAD_METADATA,
                          "%s: geo_pixel_size_x=%g geo_pixel_size_y=%g", path, psx, psy);
    const double g[6] = {col_off * psx * to_m, psx * to_m, 0,
                         -row_off * fabs(psy) * to_m, 0, -fabs(psy) * to_m};
    memcpy(gt, g, sizeof g);
    return SQ25_OK;
}

static int grid_size(sq25_ctx *ctx, const char *path, hid_t fid, size_t *nx, size_t *ny)
{
    double cols, rows;
    int rc = geo_double(ctx, path, fid, "geo_number_columns", &cols);
    if (!rc) rc = geo_double(ctx, path, fid, "geo_number_rows", &rows);
    /* Range-check as doubles first: converting 1e30 to an integer is undefined. */
    if (!rc && !(cols == floor(cols) && rows == floor(rows) && cols >= 1 && rows >= 1 &&
                 cols <= SQ25_MAX_GRID_SIDE && rows <= SQ25_MAX_GRID_SIDE))
        rc = sq25__fail(ctx, SQ25_ERR_BAD_METADATA,
                        "%s: geographic/geo_number_columns=%g geo_number_rows=%g: not whole "
                        "numbers from 1 to %d",
                        path, cols, rows, SQ25_MAX_GRID_SIDE);
    if (!rc) rc = sq25__check_grid_size(ctx, (int64_t)cols, (int64_t)rows, path);
    int rank;
    hsize_t dims[4];
    if (!rc) rc = sq25__dataset_shape(ctx, path, fid, KNMI_IMAGE, false, &rank, dims);
    if (rc) return rc;
    if (dims[0] != (hsize_t)rows || dims[1] != (hsize_t)cols)
        return sq25__fail(ctx, SQ25_ERR_BAD_DIMENSIONS,
                          "%s: %s: %.0fx%.0f (columns x rows) expected from geographic, found "
                          "%llux%llu",
                          path, KNMI_IMAGE, cols, rows, (unsigned long long)dims[1],
                          (unsigned long long)dims[0]);
    *nx = (size_t)cols;
    *ny = (size_t)rows;
    return SQ25_OK;
}

/* The file's geo_product_corners (LL, UL, UR, LR lon/lat pairs) must match the corners of
 * the computed grid within KNMI_CORNER_TOLERANCE_DEG. */
static int check_corners(sq25_ctx *ctx, const char *path, hid_t fid, sq25_field *f)
{
    double file[8], grid[8];
    size_t n = 0;
    if (sq25__h5_attr_doubles(fid, KNMI_GEO, "geo_product_corners", file, 8, &n) || n != 8)
        return SQ25_OK; /* optional attribute */
    int rc = sq25_field_corners_lonlat(f, grid); /* UL, UR, LR, LL */
    if (rc) return sq25__fail_in_file(ctx, rc, path);
    static const int file_of_grid[4] = {1, 2, 3, 0}; /* grid corner k is file pair [k] */
    static const char *names[4] = {"UL", "UR", "LR", "LL"};
    for (int k = 0; k < 4; k++) {
        int j = file_of_grid[k];
        double dlon = fabs(grid[2 * k] - file[2 * j]);
        double dlat = fabs(grid[2 * k + 1] - file[2 * j + 1]);
        if (!(dlon <= KNMI_CORNER_TOLERANCE_DEG && dlat <= KNMI_CORNER_TOLERANCE_DEG))
            return sq25__fail(ctx, SQ25_ERR_BAD_METADATA,
                              "%s: %s corner computed at lon=%.4f lat=%.4f but "
                              "geo_product_corners says lon=%.4f lat=%.4f",
                              path, names[k], grid[2 * k], grid[2 * k + 1], file[2 * j],
                              file[2 * j + 1]);
    }
    return SQ25_OK;
}

static int finish_meta(sq25_field *f, hid_t fid, const char *path, const char *param,
                       const char *formula, const sq25__decoding *dec)
{
    char version[32] = "", format[64], producer[256] = "KNMI", name[64], conversion[256];
    sq25__h5_attr_string(fid, "overview", "hdftag_version_number", version, sizeof version);
    snprintf(format, sizeof format, "KNMI_HDF5/%s", version);
    if (sq25__h5_attr_string(fid, "overview", "product_group_name", name, sizeof name) == 0)
        snprintf(producer, sizeof producer, "KNMI %s", name);
    if (dec->unit == SQ25__UNIT_AMOUNT_MM)
        snprintf(conversion, sizeof conversion, "%s; mm per %.0f s times 3600/%.0f", formula,
                 dec->window_s, dec->window_s);
    else if (dec->unit == SQ25__UNIT_DBZ)
    {
        char zr[96];
        sq25__ctx_zr_text(f->ctx, zr, sizeof zr);
        snprintf(conversion, sizeof conversion, "%s; dBZ to mm/h by %s", formula, zr);
    }
    else
        snprintf(conversion, sizeof conversion, "%s; mm/h as stated", formula);
    return sq25__set_read_meta(f, format, producer, param, conversion, path);
}

int sq25__knmi_read(sq25_ctx *ctx, const char *path, hid_t fid, int index, sq25_field **out)
{
    *out = NULL;
    if (index != 0)
        return sq25__fail(ctx, SQ25_ERR_RANGE, "%s: frame %d requested, KNMI file holds 1", path,
                          index);
    sq25__decoding dec;
    memset(&dec, 0, sizeof dec);
    char formula[128], param[96], projdef[1024];
    double gt[6];
    size_t nx = 0, ny = 0;
    int64_t start = 0, end = 0;
    int rc = grid_size(ctx, path, fid, &nx, &ny);
    if (!rc) rc = calibration(ctx, path, fid, &dec, formula, sizeof formula);
    if (!rc) rc = product_times(ctx, path, fid, &start, &end);
    if (!rc) rc = quantity(ctx, path, fid, end - start, &dec, param, sizeof param);
    if (!rc) rc = georeference(ctx, path, fid, projdef, sizeof projdef, gt);
    if (!rc)
        rc = sq25__read_decoded_field(ctx, path, fid, KNMI_IMAGE, -1, ny, nx, &dec, false,
                                      projdef, gt, end, out);
    if (!rc) rc = check_corners(ctx, path, fid, *out);
    if (rc) return rc;
    sq25_field_set_accumulation_s(*out, (int)(end - start));
    return finish_meta(*out, fid, path, param, formula, &dec);
}
