/* io_common.c -- helpers shared by the readers: decoding raw grids to mm/h, date parsing,
 * projecting corner coordinates, dataset shape checks. */
#include "io.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sq25__fail_in_file(sq25_ctx *ctx, int code, const char *file)
{
    char previous[SQ25_ERRMSG_CAP];
    snprintf(previous, sizeof previous, "%s", sq25_errmsg(ctx));
    return sq25__fail(ctx, code, "%s: %s", file, previous);
}

double sq25__mmh_from_dbz(double dbz)
{
    /* Z [mm^6/m^3] = 10^(dBZ/10) = 200 R^1.6  =>  R [mm/h] = (Z / 200)^(1/1.6) */
    double z = pow(10.0, dbz / 10.0);
    return pow(z / 200.0, 1.0 / 1.6);
}

/* Equality with a relative tolerance of 1e-6, so a float32 code stored in a float64
 * attribute (or the reverse) still matches. */
static bool same_code(double raw, double code)
{
    return raw == code || fabs(raw - code) <= 1e-6 * fabs(code);
}

static double physical_to_mmh(const sq25__decoding *dec, double physical)
{
    switch (dec->unit) {
    case SQ25__UNIT_RATE_MMH: return physical;
    case SQ25__UNIT_AMOUNT_MM: return physical * 3600.0 / dec->window_s;
    case SQ25__UNIT_DBZ: return sq25__mmh_from_dbz(physical);
    case SQ25__UNIT_FLUX_KGM2S: return physical * 3600.0;
    }
    return NAN;
}

static float decode_one(const sq25__decoding *dec, double raw)
{
    if (!isfinite(raw)) return NAN;
    if (dec->has_nodata && same_code(raw, dec->nodata)) return NAN;
    if (dec->has_nodata2 && same_code(raw, dec->nodata2)) return NAN;
    if (dec->has_undetect && same_code(raw, dec->undetect)) return 0.0f;
    double mmh = physical_to_mmh(dec, dec->gain * raw + dec->offset);
    return isfinite(mmh) ? (float)mmh : NAN;
}

void sq25__decode_grid(const sq25__decoding *dec, const double *raw, size_t ny, size_t nx,
                       bool flip_rows, float *out_mmh)
{
    for (size_t r = 0; r < ny; r++) {
        const double *src = raw + (flip_rows ? ny - 1 - r : r) * nx;
        float *dst = out_mmh + r * nx;
        for (size_t c = 0; c < nx; c++) dst[c] = decode_one(dec, src[c]);
    }
}

static bool all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i])) return false;
    return true;
}

static int valid_civil(int y, int mo, int d, int h, int mi, int s)
{
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1900 || y > 2200 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1]) return -1;
    if (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return -1;
    if (h < 0 || h > 24 || mi < 0 || mi > 59 || s < 0 || s > 60) return -1;
    return 0;
}

int sq25__parse_odim_datetime(const char *date, const char *time, int64_t *utc)
{
    size_t tl = strlen(time);
    if (strlen(date) != 8 || !all_digits(date, 8) || (tl != 6 && tl != 4) ||
        !all_digits(time, tl))
        return -1;
    int y, mo, d, h, mi, s = 0;
    sscanf(date, "%4d%2d%2d", &y, &mo, &d);
    if (tl == 6) sscanf(time, "%2d%2d%2d", &h, &mi, &s);
    else sscanf(time, "%2d%2d", &h, &mi);
    if (valid_civil(y, mo, d, h, mi, s)) return -1;
    *utc = sq25__utc_seconds(y, mo, d, h, mi, s);
    return 0;
}

int sq25__parse_knmi_datetime(const char *text, int64_t *utc)
{
    static const char *months[12] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                     "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
    int d, y, h, mi, s;
    char mon[4];
    if (sscanf(text, "%2d-%3[A-Za-z]-%4d;%2d:%2d:%2d", &d, mon, &y, &h, &mi, &s) != 6) return -1;
    int mo = 0;
    for (int k = 0; k < 12; k++)
        if (strncasecmp(mon, months[k], 3) == 0) mo = k + 1;
    if (mo == 0 || valid_civil(y, mo, d, h, mi, s)) return -1;
    *utc = sq25__utc_seconds(y, mo, d, h, mi, s);
    return 0;
}

int sq25__project_lonlat(sq25_ctx *ctx, const char *file, const char *projdef, double lon,
                         double lat, double *x, double *y)
{
    /* Corner lon/lat of radar files are WGS84 like every lon/lat of the library (the ODIM
     * MeteoSwiss composite lands 183 m off when they are taken on the grid's own datum). */
    PJ *op = sq25__lonlat_op(ctx, projdef);
    if (!op) return sq25__fail_in_file(ctx, SQ25_ERR_PROJ, file);
    PJ_COORD p = proj_trans(op, PJ_FWD, proj_coord(lon, lat, 0, 0));
    if (!isfinite(p.xy.x) || !isfinite(p.xy.y) || p.xy.x == HUGE_VAL)
        return sq25__fail(ctx, SQ25_ERR_PROJ,
                          "%s: corner lon=%.6f lat=%.6f cannot be projected with \"%.200s\"",
                          file, lon, lat, projdef);
    *x = p.xy.x;
    *y = p.xy.y;
    return SQ25_OK;
}

int sq25__dataset_shape(sq25_ctx *ctx, const char *file, hid_t fid, const char *path,
                        bool allow_3d, int *rank, hsize_t dims[4])
{
    if (!sq25__h5_exists(fid, path))
        return sq25__fail(ctx, SQ25_ERR_MISSING_DATASET, "%s: dataset %s is missing", file, path);
    if (sq25__h5_dataset_dims(fid, path, rank, dims) != 0)
        return sq25__fail(ctx, SQ25_ERR_READ, "%s: %s is not a readable dataset", file, path);
    if (!(*rank == 2 || (allow_3d && *rank == 3)))
        return sq25__fail(ctx, SQ25_ERR_BAD_DIMENSIONS, "%s: %s has %d dimensions, expected %s",
                          file, path, *rank, allow_3d ? "2 or 3" : "2");
    hid_t d = H5Dopen2(fid, path, H5P_DEFAULT);
    hid_t t = d >= 0 ? H5Dget_type(d) : -1;
    H5T_class_t cls = t >= 0 ? H5Tget_class(t) : H5T_NO_CLASS;
    if (t >= 0) H5Tclose(t);
    if (d >= 0) H5Dclose(d);
    if (cls != H5T_INTEGER && cls != H5T_FLOAT)
        return sq25__fail(ctx, SQ25_ERR_UNSUPPORTED, "%s: %s is not a numeric array", file, path);
    return SQ25_OK;
}

int sq25__read_decoded_field(sq25_ctx *ctx, const char *file, hid_t fid, const char *path,
                             long index, size_t ny, size_t nx, const sq25__decoding *dec,
                             bool flip_rows, const char *projdef, const double gt[6],
                             int64_t valid_time, sq25_field **out)
{
    int rc = sq25__check_grid_size(ctx, (int64_t)nx, (int64_t)ny, file);
    if (rc) return rc;
    double *raw = sq25__malloc(ctx, ny * nx * sizeof *raw);
    if (!raw) return SQ25_ERR_NOMEM;
    rc = sq25__h5_read_2d_double(ctx, file, fid, path, index, ny, nx, raw);
    sq25_field *f = NULL;
    if (rc == SQ25_OK) {
        rc = sq25_field_create(ctx, (int)nx, (int)ny, projdef, gt, valid_time, &f);
        if (rc == SQ25_ERR_PROJ) rc = sq25__fail_in_file(ctx, SQ25_ERR_PROJ, file);
    }
    if (rc == SQ25_OK) sq25__decode_grid(dec, raw, ny, nx, flip_rows, sq25_field_data(f));
    sq25__free(ctx, raw);
    *out = f;
    return rc;
}

int sq25__set_read_meta(sq25_field *f, const char *format, const char *producer,
                        const char *quantity, const char *conversion, const char *path)
{
    const char *values[SQ25_META_COUNT] = {format, producer, quantity, conversion, path};
    for (int k = 0; k < SQ25_META_COUNT; k++) {
        int rc = sq25_field_set_meta(f, k, values[k] ? values[k] : "");
        if (rc) return rc;
    }
    return SQ25_OK;
}
