/* io_radolan.c -- DWD RADOLAN / RADVOR binary composites and DWD's ESRI ASCII grids.
 *
 * Format: DWD, "RADOLAN/RADVOR-OP Kompositformat" (version 2.x; the RADOLAN products RW, RY,
 * RX, SF, YW ...) and DWD's format description of the RADVOR RV product on the DE1200 grid
 * (formatbeschreibung_rv.pdf); see docs/readers.md. A product is an ASCII header of fixed
 * fields -- product code (2 characters), time DDhhmm, station id (5), MMYY, then BY (product
 * length in bytes), VS (format version), SW, PR (precision E-nn), INT (interval in minutes,
 * or days with U1), GP (rows x columns), VV (lead in minutes, RADVOR), MF, QN, MS/ST/RM
 * (length-prefixed texts) -- ended by ETX (0x03), then rows x columns pixels starting at the
 * south-west corner, row by row northwards. Two-byte pixels (little endian): 12 value bits,
 * bit 13 (0x1000) secondary/interpolated (kept), bit 14 (0x2000) no data, bit 15 (0x4000)
 * negative, bit 16 (0x8000) clutter (both read as no data). One-byte pixels (RX, WX, EX):
 * reflectivity in 0.5 dBZ steps from -32.5 dBZ, 249 clutter and 250 no data.
 *
 * Grid: polar stereographic, true at 60 N, central meridian 10 E; format versions below 5
 * on a sphere of radius 6370.04 km, version 5 on WGS84. Each grid is placed by where the
 * reference point 9 E 51 N falls in it (the centre of the 900 x 900 grid; the 1100 x 900,
 * 1500 x 1400 and DE1200 1200 x 1100 grids offset from it as the descriptions state). */
#include "io_archive.h"
#include "io.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RADOLAN_MAX_HEADER 4096
#define RADOLAN_ETX 0x03

typedef struct {
    char product[3];
    int64_t time;        /* UTC seconds of the header's DDhhmm MMYY */
    int version;         /* VS */
    int precision_exp;   /* PR E-nn: value * 10^exp */
    bool has_precision;
    double interval_s;   /* INT (minutes, or days with U1) */
    int rows, cols;      /* GP rows x cols */
    int lead_min;        /* VV, 0 if absent */
    long long product_len; /* BY */
    size_t header_len;   /* bytes up to and including ETX */
    char radars[160];    /* MS text */
} radolan_header;

/* ---- header ---- */
static bool digits(const unsigned char *p, int n)
{
    for (int i = 0; i < n; i++)
        if (!isdigit(p[i])) return false;
    return true;
}

/* Integer of a fixed-width field (spaces allowed before the digits). */
static bool field_int(const unsigned char *p, int n, long long *v)
{
    char buf[24];
    if (n >= (int)sizeof buf) return false;
    memcpy(buf, p, (size_t)n);
    buf[n] = '\0';
    char *end;
    long long x = strtoll(buf, &end, 10);
    while (*end == ' ') end++;
    if (end == buf || *end) return false;
    *v = x;
    return true;
}

bool sq25__radolan_looks_like(const unsigned char *b, size_t n)
{
    return n >= 20 && (isupper(b[0]) || b[0] == '%') && (isupper(b[1]) || isdigit(b[1])) &&
           digits(b + 2, 6) && digits(b + 13, 4) && b[17] == 'B' && b[18] == 'Y';
}

static int bad_header(sq25_ctx *ctx, const char *name, size_t at, const char *what)
{
    return sq25__fail(ctx, SQ25_ERR_BAD_METADATA, "%s: RADOLAN header field at byte %zu: %s",
                      name, at, what);
}

static int header_time(sq25_ctx *ctx, const char *name, const unsigned char *b, int64_t *t)
{
    int dd = (b[2] - '0') * 10 + (b[3] - '0'), hh = (b[4] - '0') * 10 + (b[5] - '0');
    int mi = (b[6] - '0') * 10 + (b[7] - '0'), mo = (b[13] - '0') * 10 + (b[14] - '0');
    int yy = (b[15] - '0') * 10 + (b[16] - '0');
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (mo < 1 || mo > 12 || dd < 1 || dd > mdays[mo - 1] || hh > 23 || mi > 59)
        return sq25__fail(ctx, SQ25_ERR_BAD_TIME,
                          "%s: RADOLAN time %.6s %.4s is not DDhhmm MMYY", name,
                          (const char *)b + 2, (const char *)b + 13);
    *t = sq25__utc_seconds(yy < 90 ? 2000 + yy : 1900 + yy, mo, dd, hh, mi, 0);
    return SQ25_OK;
}

/* Length-prefixed text (MS, ST, RM): 3 characters of length, then the text. */
static int skip_text(sq25_ctx *ctx, const char *name, const unsigned char *b, size_t end,
                     size_t *pos, char *copy, size_t cap)
{
    long long len;
    if (*pos + 3 > end || !field_int(b + *pos, 3, &len) || len < 0 ||
        (size_t)len > end - *pos - 3)
        return bad_header(ctx, name, *pos, "text length");
    if (copy) {
        snprintf(copy, cap, "%.*s", (int)len, (const char *)b + *pos + 3);
        for (size_t k = strlen(copy); k > 0 && copy[k - 1] == ' '; k--) copy[k - 1] = '\0';
    }
    *pos += 3 + (size_t)len;
    return SQ25_OK;
}

static int parse_fields(sq25_ctx *ctx, const char *name, const unsigned char *b, size_t end,
                        radolan_header *h)
{
    size_t pos = 17;
    bool days = false, has_gp = false;
    long long v;
    while (pos < end) {
        const unsigned char *k = b + pos;
        size_t left = end - pos;
        if (left >= 2 && k[0] == 'B' && k[1] == 'Y') {
            pos += 2;
            while (pos < end && b[pos] == ' ') pos++;
            size_t d = pos;
            while (pos < end && isdigit(b[pos]) && pos - d < 12) pos++;
            if (pos == d || !field_int(b + d, (int)(pos - d), &h->product_len))
                return bad_header(ctx, name, d, "BY (product length)");
        } else if (left >= 5 && k[0] == 'V' && k[1] == 'S' && field_int(k + 2, 2, &v)) {
            h->version = (int)v;
            pos += 4;
        } else if (left >= 11 && k[0] == 'S' && k[1] == 'W') {
            pos += 11;
        } else if (left >= 7 && k[0] == 'P' && k[1] == 'R') {
            char e[6];
            memcpy(e, k + 2, 5);
            e[5] = '\0';
            int exp;
            if (sscanf(e, " E%d", &exp) != 1 || exp < -9 || exp > 9)
                return bad_header(ctx, name, pos, "PR (precision) is not E-nn");
            h->precision_exp = exp;
            h->has_precision = true;
            pos += 7;
        } else if (left >= 7 && memcmp(k, "INT", 3) == 0 && field_int(k + 3, 4, &v)) {
            h->interval_s = (double)v;
            pos += 7;
        } else if (left >= 2 && k[0] == 'U' && isdigit(k[1])) {
            days = k[1] == '1';
            pos += 2;
        } else if (left >= 11 && k[0] == 'G' && k[1] == 'P') {
            long long r, c;
            if (k[6] != 'x' || !field_int(k + 2, 4, &r) || !field_int(k + 7, 4, &c))
                return bad_header(ctx, name, pos, "GP (rows x columns)");
            h->rows = (int)r;
            h->cols = (int)c;
            has_gp = true;
            pos += 11;
        } else if (left >= 6 && k[0] == 'V' && k[1] == 'V' && field_int(k + 2, 4, &v)) {
            h->lead_min = (int)v;
            pos += 6;
        } else if (left >= 11 && k[0] == 'M' && k[1] == 'F') {
            pos += 11;
        } else if (left >= 6 && k[0] == 'Q' && k[1] == 'N') {
            pos += 6;
        } else if (left >= 2 && k[0] == 'M' && k[1] == 'S') {
            pos += 2;
            int rc = skip_text(ctx, name, b, end, &pos, h->radars, sizeof h->radars);
            if (rc) return rc;
        } else if (left >= 2 && ((k[0] == 'S' && k[1] == 'T') || (k[0] == 'R' && k[1] == 'M'))) {
            pos += 2;
            int rc = skip_text(ctx, name, b, end, &pos, NULL, 0);
            if (rc) return rc;
        } else if (left >= 2 && ((k[0] == 'L' && k[1] == 'V') || (k[0] == 'C' && k[1] == 'S'))) {
            return sq25__fail(ctx, SQ25_ERR_UNSUPPORTED,
                              "%s: RADOLAN product %s is a run-length coded picture product "
                              "(LV/CS fields); only pixel composites are read",
                              name, h->product);
        } else {
            char what[64], field[5] = "";
            size_t len = left < 4 ? left : 4; /* the header is not NUL-terminated */
            memcpy(field, k, len);
            field[len] = '\0';
            snprintf(what, sizeof what, "unknown field \"%s\"", field);
            return bad_header(ctx, name, pos, what);
        }
    }
    if (days) h->interval_s *= 86400;
    else h->interval_s *= 60;
    if (!has_gp) return bad_header(ctx, name, end, "GP (grid size) missing");
    return SQ25_OK;
}

static int parse_header(sq25_ctx *ctx, const char *name, const unsigned char *b,
                        size_t n, radolan_header *h)
{
    memset(h, 0, sizeof *h);
    if (!sq25__radolan_looks_like(b, n))
        return sq25__fail(ctx, SQ25_ERR_FORMAT_UNKNOWN,
                          "%s: not a RADOLAN product (no \"XXDDhhmm...MMYYBY\" header)", name);
    size_t lim = n < RADOLAN_MAX_HEADER ? n : RADOLAN_MAX_HEADER, etx = 0;
    while (etx < lim && b[etx] != RADOLAN_ETX) etx++;
    if (etx == lim)
        return sq25__fail(ctx, SQ25_ERR_FILE_TRUNCATED,
                          "%s: RADOLAN header has no end mark (ETX) in its first %zu bytes",
                          name, lim);
    memcpy(h->product, b, 2);
    h->header_len = etx + 1;
    int rc = header_time(ctx, name, b, &h->time);
    if (!rc) rc = parse_fields(ctx, name, b, etx, h);
    return rc;
}

/* ---- grid ---- */
/* Where the reference point 9 E 51 N lies, in km from the grid's left and top edges. */
static int reference_offsets(int rows, int cols, double *left_km, double *top_km)
{
    static const struct {
        int rows, cols;
        double left_km, top_km;
    } grids[] = {
        {900, 900, 450, 450},    /* national: 9 E 51 N is the centre */
        {1100, 900, 370, 550},   /* extended national: lower left 80 km east, 100 km south */
        {1500, 1400, 600, 700},  /* middle-European: lower left 150 km west, 350 km south */
        {1200, 1100, 470, 600},  /* DE1200 (RADVOR RV) */
        {460, 460, 230, 230},    /* 2 km national, centred */
    };
    for (size_t k = 0; k < sizeof grids / sizeof grids[0]; k++)
        if (grids[k].rows == rows && grids[k].cols == cols) {
            *left_km = grids[k].left_km;
            *top_km = grids[k].top_km;
            return 0;
        }
    return -1;
}

int sq25__radolan_grid(sq25_ctx *ctx, const char *name, int rows, int cols, int version,
                       char *projdef, size_t cap, double gt[6])
{
    double left_km, top_km;
    if (reference_offsets(rows, cols, &left_km, &top_km) != 0)
        return sq25__fail(ctx, SQ25_ERR_UNSUPPORTED,
                          "%s: RADOLAN grid %d x %d (rows x columns) is not one of 900x900, "
                          "1100x900, 1500x1400, 1200x1100, 460x460",
                          name, rows, cols);
    double cell_m = rows == 460 ? 2000 : 1000;
    snprintf(projdef, cap, "+proj=stere +lat_0=90 +lat_ts=60 +lon_0=10 %s +x_0=0 +y_0=0 "
                           "+units=m +no_defs",
             version >= 5 ? "+ellps=WGS84" : "+a=6370040 +b=6370040");
    double cx, cy;
    int rc = sq25__project_lonlat(ctx, name, projdef, 9.0, 51.0, &cx, &cy);
    if (rc) return rc;
    const double g[6] = {cx - left_km * cell_m, cell_m, 0, cy + top_km * cell_m, 0, -cell_m};
    memcpy(gt, g, sizeof g);
    return SQ25_OK;
}

/* ---- pixels ---- */
static bool is_rain_amount_product(const char *p)
{
    static const char *const amounts[] = {"RW", "RY", "RV", "RE", "RQ", "SF", "SH", "SQ", "YW",
                                          "W1", "W2", "W3", "W4", "RB", "RH", "RL", "RU", "RZ",
                                          "EB", "EH", "EW", "EY", "EZ", "RA", "RR", NULL};
    for (const char *const *a = amounts; *a; a++)
        if (strcmp(p, *a) == 0) return true;
    return false;
}

/* Two-byte pixel to a signed value in precision units; false for no data and clutter. */
static bool pixel16(const unsigned char *p, double *v)
{
    unsigned raw = (unsigned)p[0] | ((unsigned)p[1] << 8);
    if (raw & 0x2000 || raw & 0x8000) return false;
    double x = (double)(raw & 0x0fff);
    *v = raw & 0x4000 ? -x : x;
    return true;
}

static void decode_amounts(const radolan_header *h, const unsigned char *px, float *out)
{
    double to_mmh = pow(10.0, h->precision_exp) * 3600.0 / h->interval_s;
    size_t rows = (size_t)h->rows, cols = (size_t)h->cols;
    for (size_t r = 0; r < rows; r++) { /* file row 0 is the south */
        const unsigned char *src = px + 2 * (rows - 1 - r) * cols;
        float *dst = out + r * cols;
        for (size_t c = 0; c < cols; c++) {
            double v;
            dst[c] = pixel16(src + 2 * c, &v) ? (float)(v * to_mmh) : NAN;
        }
    }
}

static void decode_reflectivity(sq25_ctx *ctx, const radolan_header *h, const unsigned char *px,
                                float *out)
{
    size_t rows = (size_t)h->rows, cols = (size_t)h->cols;
    for (size_t r = 0; r < rows; r++) {
        const unsigned char *src = px + (rows - 1 - r) * cols;
        float *dst = out + r * cols;
        for (size_t c = 0; c < cols; c++) {
            unsigned v = src[c];
            dst[c] = v >= 249 ? NAN : (float)sq25__ctx_mmh_from_dbz(ctx, v * 0.5 - 32.5);
        }
    }
}

static int product_meta(sq25_ctx *ctx, sq25_field *f, const char *name, const radolan_header *h,
                        bool reflectivity, const char *layers)
{
    char format[32], producer[200], quantity[64], conversion[400], zr[96];
    snprintf(format, sizeof format, "RADOLAN/VS%d", h->version);
    snprintf(producer, sizeof producer, "DWD composite, radars %s", h->radars);
    snprintf(quantity, sizeof quantity, "%s%s", h->product, h->lead_min ? " forecast" : "");
    if (reflectivity) {
        sq25__ctx_zr_text(ctx, zr, sizeof zr);
        snprintf(conversion, sizeof conversion,
                 "1-byte pixels: dBZ = value/2 - 32.5, 249 clutter and 250 no data -> NaN; %s",
                 zr);
    } else {
        snprintf(conversion, sizeof conversion,
                 "12-bit values x 1e%d mm per %.0f s, times 3600/%.0f to mm/h; flags: no data "
                 "and clutter -> NaN, secondary kept, negative sign applied; lead %d min",
                 h->precision_exp, h->interval_s, h->interval_s, h->lead_min);
    }
    if (layers && layers[0]) {
        size_t used = strlen(conversion);
        snprintf(conversion + used, sizeof conversion - used, "; unpacked %s", layers);
    }
    return sq25__set_read_meta(f, format, producer, quantity, conversion, name);
}

int sq25__radolan_decode(sq25_ctx *ctx, const char *name, const unsigned char *b, size_t n,
                         const char *layers, sq25_field **out)
{
    *out = NULL;
    radolan_header h;
    int rc = parse_header(ctx, name, b, n, &h);
    if (rc) return rc;
    rc = sq25__check_grid_size(ctx, h.cols, h.rows, name);
    char projdef[200];
    double gt[6];
    if (!rc)
        rc = sq25__radolan_grid(ctx, name, h.rows, h.cols, h.version, projdef, sizeof projdef, gt);
    if (rc) return rc;
    size_t cells = (size_t)h.rows * (size_t)h.cols, data = n - h.header_len;
    if (h.product_len > 0 && (unsigned long long)h.product_len < n) {
        sq25__log(ctx, SQ25_LOG_INFO, "%s: %zu bytes after the %lld stated by BY are ignored",
                  name, n - (size_t)h.product_len, h.product_len);
        data = (size_t)h.product_len > h.header_len ? (size_t)h.product_len - h.header_len : 0;
    }
    int bpp = data >= 2 * cells ? 2 : data >= cells ? 1 : 0;
    if (bpp == 0 || (h.product_len > 0 && (unsigned long long)h.product_len > n))
        return sq25__fail(ctx, SQ25_ERR_FILE_TRUNCATED,
                          "%s: RADOLAN %s holds %zu data bytes for %d x %d pixels (BY states "
                          "%lld bytes, %zu present): truncated",
                          name, h.product, data, h.rows, h.cols, h.product_len, n);
    bool reflectivity = bpp == 1;
    if (!reflectivity && !is_rain_amount_product(h.product))
        return sq25__fail(ctx, SQ25_ERR_BAD_QUANTITY,
                          "%s: RADOLAN product \"%s\" is not a rain amount or reflectivity "
                          "(read: RW RY RV RE RQ SF SH SQ YW W1-W4 RB RH RL RU RZ EB EH EW EY EZ, "
                          "and 1-byte RX WX EX)",
                          name, h.product);
    if (!reflectivity && !(h.interval_s > 0))
        return sq25__fail(ctx, SQ25_ERR_BAD_METADATA, "%s: RADOLAN %s has no INT interval",
                          name, h.product);
    sq25_field *f = NULL;
    rc = sq25_field_create(ctx, h.cols, h.rows, projdef, gt,
                               h.time + (int64_t)h.lead_min * 60, &f);
    if (rc) return rc;
    const unsigned char *px = b + h.header_len;
    if (reflectivity) decode_reflectivity(ctx, &h, px, sq25_field_data(f));
    else {
        decode_amounts(&h, px, sq25_field_data(f));
        sq25_field_set_accumulation_s(f, (int)h.interval_s);
    }
    rc = product_meta(ctx, f, name, &h, reflectivity, layers);
    if (rc) {
        sq25_field_destroy(f);
        return rc;
    }
    *out = f;
    return SQ25_OK;
}
