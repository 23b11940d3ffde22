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

double sq25__mmh_from_dbz(double dbz) { return sq25__mmh_from_dbz_zr(dbz, 200.0, 1.6); }

double sq25__mmh_from_dbz_zr(double dbz, double a, double b)
{
    /* Z [mm^6/m^3] = 10^(dBZ/10) = a R^b  =>  R [mm/h] = (Z / a)^(1/b) */
    double z = pow(10.0, dbz / 10.0);
    return pow(z / a, 1.0 / b);
}

void sq25__ctx_zr(const sq25_ctx *ctx, double *a, double *b)
{
    bool set = ctx && ctx->zr_a > 0 && ctx->zr_b > 0;
    *a = set ? ctx->zr_a : 200.0;
    *b = set ? ctx->zr_b : 1.6;
}

double sq25__ctx_mmh_from_dbz(const sq25_ctx *ctx, double dbz)
{
    double a, b;
    sq25__ctx_zr(ctx, &a, &b);
    return sq25__mmh_from_dbz_zr(dbz, a, b);
}

void sq25__ctx_zr_text(const sq25_ctx *ctx, char *buf, size_t cap)
{
    double a, b;
    sq25__ctx_zr(ctx, &a, &b);
    bool mp = a == 200.0 && b == 1.6;
    snprintf(buf, cap, "Z = %g R^%g (%s)", a, b, mp ? "Marshall-Palmer" : "set by the caller");
}

int sq25__apply_ceiling(sq25_ctx *ctx, sq25_field *f)
{
    if (!(ctx->ceiling_mmh > 0)) return SQ25_OK;
    float *d = sq25_field_data(f), ceiling = (float)ctx->ceiling_mmh;
    size_t n = (size_t)sq25_field_width(f) * (size_t)sq25_field_height(f), hits = 0;
    bool clip = ctx->ceiling_mode == SQ25_CEILING_CLIP;
    for (size_t i = 0; i < n; i++)
        if (d[i] > ceiling) {
            d[i] = clip ? ceiling : NAN;
            hits++;
        }
    char text[SQ25_ERRMSG_CAP + 128];
    snprintf(text, sizeof text, "%s; ceiling %g mm/h: %zu cell(s) %s",
             sq25_field_meta(f, SQ25_META_CONVERSION), ctx->ceiling_mmh, hits,
             clip ? "clipped to it" : "above it set to no data");
    if (hits)
        sq25__log(ctx, SQ25_LOG_WARNING, "%s: %zu cell(s) above the %g mm/h ceiling %s",
                  sq25_field_meta(f, SQ25_META_PATH), hits, ctx->ceiling_mmh,
                  clip ? "clipped" : "set to no data");
    return sq25_field_set_meta(f, SQ25_META_CONVERSION, text);
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
    case SQ25__UNIT_DBZ:
        return dec->zr_a > 0 && dec->zr_b > 0 ? sq25__mmh_from_dbz_zr(physical, dec->zr_a, dec->zr_b)
                                              : sq25__mmh_from_dbz(physical);
    case SQ25__UNIT_FLUX_KGM2S: return physical * 3600.0;
    }
    return NAN;
}

static bool is_code(const sq25__decoding *dec, double raw)
{
    return (dec->has_nodata && same_code(raw, dec->nodata)) ||
           (dec->has_nodata2 && same_code(raw, dec->nodata2));
}

static float decode_one(const sq25__decoding *dec, double raw)
{
    if (!isfinite(raw) || is_code(dec, raw)) return NAN;
    /* _Unsigned: the fill codes are stated in the stored (signed) type or unsigned, so both
     * forms are checked; valid_range then applies to the unsigned value. */
    if (dec->unsigned_bits > 0 && raw < 0) raw += ldexp(1.0, dec->unsigned_bits);
    if (is_code(dec, raw)) return NAN;
    if ((dec->has_valid_min && raw < dec->valid_min) ||
        (dec->has_valid_max && raw > dec->valid_max))
        return NAN;
    if (dec->has_undetect && same_code(raw, dec->undetect)) return 0.0f;
    double mmh = physical_to_mmh(dec, dec->gain * raw + dec->offset);
    return sq25__float_or_nan(mmh);
}

void sq25__decode_grid(const sq25__decoding *dec, const double *raw, size_t ny, size_t nx,
                       bool flip_rows, float *out_mmh)
{
    /* Radar grids are mostly runs of one code (no data, undetect, 0): a raw value with the
     * bits of the one before it takes that one's result (decode_one is a function of the
     * value; bits, not ==, so that -0 and +0 stay apart) */
    uint64_t last_bits = 0;
    float last = decode_one(dec, 0.0);
    for (size_t r = 0; r < ny; r++) {
        const double *src = raw + (flip_rows ? ny - 1 - r : r) * nx;
        float *dst = out_mmh + r * nx;
        for (size_t c = 0; c < nx; c++) {
            uint64_t bits;
            memcpy(&bits, &src[c], sizeof bits);
            if (bits != last_bits) {
                last_bits = bits;
                last = decode_one(dec, src[c]);
            }
            dst[c] = last;
        }
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
    if (!op) /* out of memory stays out of memory; anything else is the projection's fault */
        return sq25__fail_in_file(ctx, sq25_errcode(ctx) == SQ25_ERR_NOMEM ? SQ25_ERR_NOMEM : SQ25_ERR_PROJ,
                                  file);
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
    if (!rc) rc = sq25__h5_check_storage(ctx, file, fid, path);
    if (rc) return rc;
    double *raw = sq25__malloc(ctx, ny * nx * sizeof *raw);
    if (!raw) return SQ25_ERR_NOMEM;
    rc = sq25__h5_read_2d_double(ctx, file, fid, path, index, ny, nx, raw);
    sq25_field *f = NULL;
    if (rc == SQ25_OK) {
        rc = sq25_field_create(ctx, (int)nx, (int)ny, projdef, gt, valid_time, &f);
        if (rc == SQ25_ERR_PROJ) rc = sq25__fail_in_file(ctx, SQ25_ERR_PROJ, file);
    }
    if (rc == SQ25_OK) {
        sq25__decoding with_zr = *dec; /* the context's Z-R for reflectivity */
        sq25__ctx_zr(ctx, &with_zr.zr_a, &with_zr.zr_b);
        sq25__decode_grid(&with_zr, raw, ny, nx, flip_rows, sq25_field_data(f));
    }
    sq25__free(ctx, raw);
    /* HDF5 keeps the read's conversion buffer (1 MiB) on its free lists for the life of the
     * process; hand it back now, or it stays resident through every later stage */
    H5garbage_collect();
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

int sq25_ctx_set_zr(sq25_ctx *ctx, double a, double b)
{
    if (!ctx) return SQ25_ERR_INVALID_ARG;
    if (!(a > 0 && a <= 1e5 && b >= 0.5 && b <= 5))
        return sq25__fail(ctx, SQ25_ERR_RANGE,
                          "sq25_ctx_set_zr: a=%g b=%g (need 0 < a <= 1e5, 0.5 <= b <= 5)", a, b);
    ctx->zr_a = a;
    ctx->zr_b = b;
    return sq25__ok(ctx);
}

void sq25_ctx_get_zr(const sq25_ctx *ctx, double *a, double *b)
{
    double ta, tb;
    sq25__ctx_zr(ctx, &ta, &tb);
    if (a) *a = ta;
    if (b) *b = tb;
}

int sq25_ctx_set_rain_ceiling(sq25_ctx *ctx, double mmh, int mode)
{
    if (!ctx) return SQ25_ERR_INVALID_ARG;
    if (!(mmh >= 0 && isfinite(mmh)) || (mode != SQ25_CEILING_CLIP && mode != SQ25_CEILING_NODATA))
        return sq25__fail(ctx, SQ25_ERR_RANGE,
                          "sq25_ctx_set_rain_ceiling: %g mm/h, mode %d (need >= 0 and mode "
                          "SQ25_CEILING_CLIP or SQ25_CEILING_NODATA)",
                          mmh, mode);
    ctx->ceiling_mmh = mmh;
    ctx->ceiling_mode = mode;
    return sq25__ok(ctx);
}

void sq25_ctx_set_assumed_time(sq25_ctx *ctx, int enabled, int64_t utc_seconds)
{
    if (!ctx) return;
    ctx->has_assumed_time = enabled != 0;
    ctx->assumed_time = utc_seconds;
}
