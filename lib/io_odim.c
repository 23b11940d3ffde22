/* io_odim.c -- reader for ODIM_H5 Cartesian products (object COMP or IMAGE).
 * Driven by the conventions: the quantity is searched in dataset1..N/data1..M, the "what"
 * attributes are inherited (datasetN/dataM/what, then datasetN/what, then /what), the "where"
 * attributes are looked up in datasetN/where, then /where. */
#include "io.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define ODIM_PATH_CAP 96
#define ODIM_MAX_DATASETS 1000

/* The chosen grid: dataset and data indices, quantity and its preference rank. */
typedef struct {
    int dataset, data;
    int rank; /* 3 RATE, 2 ACRR, 1 reflectivity, 0 none */
    char quantity[32];
} odim_choice;

static int quantity_rank(const char *q)
{
    if (strcmp(q, "RATE") == 0) return 3;
    if (strcmp(q, "ACRR") == 0) return 2;
    if (strcmp(q, "DBZH") == 0 || strcmp(q, "DBZ") == 0 || strcmp(q, "TH") == 0) return 1;
    return 0;
}

/* Paths of the three "what" groups in inheritance order (most specific first). */
static void what_paths(int n, int m, char paths[3][ODIM_PATH_CAP])
{
    snprintf(paths[0], ODIM_PATH_CAP, "dataset%d/data%d/what", n, m);
    snprintf(paths[1], ODIM_PATH_CAP, "dataset%d/what", n);
    snprintf(paths[2], ODIM_PATH_CAP, "what");
}

static int what_string(hid_t fid, int n, int m, const char *name, char *buf, size_t cap)
{
    char paths[3][ODIM_PATH_CAP];
    what_paths(n, m, paths);
    for (int k = 0; k < 3; k++)
        if (sq25__h5_attr_string(fid, paths[k], name, buf, cap) == 0) return 0;
    return -1;
}

static int what_double(hid_t fid, int n, int m, const char *name, double *out)
{
    char paths[3][ODIM_PATH_CAP];
    what_paths(n, m, paths);
    for (int k = 0; k < 3; k++)
        if (sq25__h5_attr_double(fid, paths[k], name, out) == 0) return 0;
    return -1;
}

static int where_double(hid_t fid, int n, const char *name, double *out)
{
    char path[ODIM_PATH_CAP];
    snprintf(path, sizeof path, "dataset%d/where", n);
    if (sq25__h5_attr_double(fid, path, name, out) == 0) return 0;
    return sq25__h5_attr_double(fid, "where", name, out);
}

static int where_string(hid_t fid, int n, const char *name, char *buf, size_t cap)
{
    char path[ODIM_PATH_CAP];
    snprintf(path, sizeof path, "dataset%d/where", n);
    if (sq25__h5_attr_string(fid, path, name, buf, cap) == 0) return 0;
    return sq25__h5_attr_string(fid, "where", name, buf, cap);
}

static bool group_exists(hid_t fid, const char *fmt, int n, int m)
{
    char path[ODIM_PATH_CAP];
    snprintf(path, sizeof path, fmt, n, m);
    return sq25__h5_exists(fid, path);
}

/* Walk dataset1..N/data1..M and keep the best supported quantity (first one on ties).
 * `seen` collects the quantities met, for the error message. */
static void choose_quantity(hid_t fid, odim_choice *best, char *seen, size_t seen_cap)
{
    memset(best, 0, sizeof *best);
    seen[0] = '\0';
    for (int n = 1; n <= ODIM_MAX_DATASETS && group_exists(fid, "dataset%d", n, 0); n++) {
        for (int m = 1; group_exists(fid, "dataset%d/data%d/data", n, m); m++) {
            char q[32];
            if (what_string(fid, n, m, "quantity", q, sizeof q) != 0) continue;
            size_t used = strlen(seen);
            snprintf(seen + used, seen_cap - used, "%s%s", used ? "," : "", q);
            int r = quantity_rank(q);
            if (r > best->rank) {
                best->dataset = n;
                best->data = m;
                best->rank = r;
                snprintf(best->quantity, sizeof best->quantity, "%s", q);
            }
        }
    }
}

/* The frames of a file are the datasets that hold the preferred quantity, in dataset order
 * (the first matching data group of each dataset): one for most products, one per lead time for
 * a forecast file. Returns how many there are and, when index is below that, sets *pick. */
static int collect_frames(hid_t fid, const odim_choice *best, int index, odim_choice *pick)
{
    int count = 0;
    for (int n = 1; n <= ODIM_MAX_DATASETS && group_exists(fid, "dataset%d", n, 0); n++) {
        for (int m = 1; group_exists(fid, "dataset%d/data%d/data", n, m); m++) {
            char q[32];
            if (what_string(fid, n, m, "quantity", q, sizeof q) != 0 ||
                strcmp(q, best->quantity) != 0)
                continue;
            if (count == index) {
                *pick = *best;
                pick->dataset = n;
                pick->data = m;
            }
            count++;
            break;
        }
    }
    return count;
}

/* Accumulation window of dataset n from its start/end date+time, in seconds. */
static int accumulation_window_s(hid_t fid, int n, int m, double *window_s)
{
    char sd[16], st[16], ed[16], et[16];
    int64_t t0, t1;
    if (what_string(fid, n, m, "startdate", sd, sizeof sd) ||
        what_string(fid, n, m, "starttime", st, sizeof st) ||
        what_string(fid, n, m, "enddate", ed, sizeof ed) ||
        what_string(fid, n, m, "endtime", et, sizeof et) ||
        sq25__parse_odim_datetime(sd, st, &t0) || sq25__parse_odim_datetime(ed, et, &t1) ||
        t1 <= t0)
        return -1;
    *window_s = (double)(t1 - t0);
    return 0;
}

/* An accumulation window the field can carry (int seconds) and that means rain: up to a
 * (leap) year. */
#define ODIM_MAX_WINDOW_S (366.0 * 86400.0)

static int build_decoding(sq25_ctx *ctx, const char *path, hid_t fid, const odim_choice *c,
                          sq25__decoding *dec, char *conversion, size_t conv_cap)
{
    memset(dec, 0, sizeof *dec);
    int n = c->dataset, m = c->data;
    bool has_gain = what_double(fid, n, m, "gain", &dec->gain) == 0;
    if (!has_gain) dec->gain = 1.0;
    if (what_double(fid, n, m, "offset", &dec->offset) != 0) dec->offset = 0.0;
    dec->has_nodata = what_double(fid, n, m, "nodata", &dec->nodata) == 0;
    dec->has_undetect = what_double(fid, n, m, "undetect", &dec->undetect) == 0;
    const char *coding =
        has_gain ? "gain*x+offset" : "physical values (no gain/offset), NaN = nodata";
    if (c->rank == 3) {
        dec->unit = SQ25__UNIT_RATE_MMH;
        snprintf(conversion, conv_cap, "RATE in mm/h as stored; %s", coding);
    } else if (c->rank == 2) {
        dec->unit = SQ25__UNIT_AMOUNT_MM;
        if (accumulation_window_s(fid, n, m, &dec->window_s) != 0)
            return sq25__fail(ctx, SQ25_ERR_BAD_QUANTITY,
                              "%s: dataset%d ACRR: accumulation window cannot be found "
                              "(startdate/starttime/enddate/endtime missing or not increasing)",
                              path, n);
        if (dec->window_s > ODIM_MAX_WINDOW_S)
            return sq25__fail(ctx, SQ25_ERR_BAD_METADATA,
                              "%s: dataset%d ACRR: accumulation window of %.0f s from "
                              "startdate/starttime to enddate/endtime is longer than 366 days",
                              path, n, dec->window_s);
        snprintf(conversion, conv_cap, "ACRR mm over %.0f s times 3600/%.0f; %s",
                 dec->window_s, dec->window_s, coding);
    } else {
        dec->unit = SQ25__UNIT_DBZ;
        char zr[96];
        sq25__ctx_zr_text(ctx, zr, sizeof zr);
        snprintf(conversion, conv_cap, "%s dBZ to mm/h by %s; %s", c->quantity, zr, coding);
    }
    return SQ25_OK;
}

/* Grid size from the attributes, checked for sanity and against the data array. */
static int grid_size(sq25_ctx *ctx, const char *path, hid_t fid, int n, const char *data_path,
                     size_t *nx, size_t *ny)
{
    double xsize, ysize;
    if (where_double(fid, n, "xsize", &xsize) || where_double(fid, n, "ysize", &ysize))
        return sq25__fail(ctx, SQ25_ERR_MISSING_ATTRIBUTE,
                          "%s: xsize/ysize missing in dataset%d/where and /where", path, n);
    if (!(xsize == floor(xsize) && ysize == floor(ysize)) || xsize > 1e15 || ysize > 1e15 ||
        xsize < -1e15 || ysize < -1e15)
        return sq25__fail(ctx, SQ25_ERR_BAD_METADATA, "%s: xsize=%g ysize=%g are not integers",
                          path, xsize, ysize);
    int rc = sq25__check_grid_size(ctx, (int64_t)xsize, (int64_t)ysize, path);
    if (rc) return rc;
    int rank;
    hsize_t dims[4];
    rc = sq25__dataset_shape(ctx, path, fid, data_path, false, &rank, dims);
    if (rc) return rc;
    if (dims[0] != (hsize_t)ysize || dims[1] != (hsize_t)xsize)
        return sq25__fail(ctx, SQ25_ERR_BAD_DIMENSIONS,
                          "%s: %s: %.0fx%.0f (xsize x ysize) expected from where, found "
                          "%llux%llu",
                          path, data_path, xsize, ysize, (unsigned long long)dims[1],
                          (unsigned long long)dims[0]);
    *nx = (size_t)xsize;
    *ny = (size_t)ysize;
    return SQ25_OK;
}

/* Upper-left outer corner in projected metres: UL_x/UL_y when the file gives them (RMI
 * does), else the projection of UL_lon/UL_lat (ODIM corners are outer pixel corners). */
static int upper_left_xy(sq25_ctx *ctx, const char *path, hid_t fid, int n,
                         const char *projdef, double *x, double *y)
{
    if (where_double(fid, n, "UL_x", x) == 0 && where_double(fid, n, "UL_y", y) == 0)
        return SQ25_OK;
    double lon, lat;
    if (where_double(fid, n, "UL_lon", &lon) || where_double(fid, n, "UL_lat", &lat))
        return sq25__fail(ctx, SQ25_ERR_MISSING_ATTRIBUTE,
                          "%s: no upper-left corner (UL_lon/UL_lat or UL_x/UL_y) in where",
                          path);
    return sq25__project_lonlat(ctx, path, projdef, lon, lat, x, y);
}

static int georeference(sq25_ctx *ctx, const char *path, hid_t fid, int n, char *projdef,
                        size_t proj_cap, double gt[6])
{
    if (where_string(fid, n, "projdef", projdef, proj_cap) != 0 || !projdef[0])
        return sq25__fail(ctx, SQ25_ERR_MISSING_ATTRIBUTE, "%s: /where/projdef is missing",
                          path);
    double xscale, yscale, ulx, uly;
    if (where_double(fid, n, "xscale", &xscale) || where_double(fid, n, "yscale", &yscale))
        return sq25__fail(ctx, SQ25_ERR_MISSING_ATTRIBUTE, "%s: xscale/yscale missing in where",
                          path);
    if (!(xscale > 0 && yscale > 0 && isfinite(xscale) && isfinite(yscale)))
        return sq25__fail(ctx, SQ25_ERR_BAD_METADATA, "%s: xscale=%g yscale=%g must be > 0",
                          path, xscale, yscale);
    int rc = upper_left_xy(ctx, path, fid, n, projdef, &ulx, &uly);
    if (rc) return rc;
    const double g[6] = {ulx, xscale, 0, uly, 0, -yscale};
    memcpy(gt, g, sizeof g);
    return SQ25_OK;
}

/* Valid time of one frame of a multi-frame file: the end of its dataset's interval. */
static int frame_end_time(sq25_ctx *ctx, const char *path, hid_t fid, const odim_choice *c,
                          int64_t *t)
{
    char date[16], time[16];
    if (what_string(fid, c->dataset, c->data, "enddate", date, sizeof date) ||
        what_string(fid, c->dataset, c->data, "endtime", time, sizeof time) ||
        sq25__parse_odim_datetime(date, time, t))
        return sq25__fail(ctx, SQ25_ERR_MISSING_ATTRIBUTE,
                          "%s: dataset%d/what enddate/endtime missing or not YYYYMMDD HHMMSS "
                          "(needed for the valid time of each frame)",
                          path, c->dataset);
    return SQ25_OK;
}

static int nominal_time(sq25_ctx *ctx, const char *path, hid_t fid, int64_t *t)
{
    char date[16], time[16];
    if (sq25__h5_attr_string(fid, "what", "date", date, sizeof date) ||
        sq25__h5_attr_string(fid, "what", "time", time, sizeof time))
        return sq25__fail(ctx, SQ25_ERR_MISSING_ATTRIBUTE, "%s: /what/date or /what/time missing",
                          path);
    if (sq25__parse_odim_datetime(date, time, t))
        return sq25__fail(ctx, SQ25_ERR_BAD_METADATA,
                          "%s: /what date=\"%s\" time=\"%s\" is not YYYYMMDD HHMMSS", path, date,
                          time);
    return SQ25_OK;
}

static int check_object(sq25_ctx *ctx, const char *path, hid_t fid)
{
    char object[32];
    if (sq25__h5_attr_string(fid, "what", "object", object, sizeof object) != 0)
        return sq25__fail(ctx, SQ25_ERR_MISSING_ATTRIBUTE, "%s: /what/object is missing", path);
    if (strcmp(object, "COMP") != 0 && strcmp(object, "IMAGE") != 0)
        return sq25__fail(ctx, SQ25_ERR_UNSUPPORTED,
                          "%s: ODIM object \"%s\" is not a Cartesian product (COMP or IMAGE)",
                          path, object);
    return SQ25_OK;
}

static int find_grid(sq25_ctx *ctx, const char *path, hid_t fid, odim_choice *c)
{
    char seen[256];
    choose_quantity(fid, c, seen, sizeof seen);
    if (c->rank > 0) return SQ25_OK;
    if (!sq25__h5_exists(fid, "dataset1/data1/data"))
        return sq25__fail(ctx, SQ25_ERR_MISSING_DATASET, "%s: dataset1/data1/data is missing",
                          path);
    return sq25__fail(ctx, SQ25_ERR_BAD_QUANTITY,
                      "%s: no supported quantity (RATE, ACRR, DBZH, DBZ, TH); found: %s", path,
                      seen[0] ? seen : "none");
}

static int finish_meta(sq25_field *f, hid_t fid, const char *path, const char *quantity,
                       const char *conversion)
{
    char format[64], producer[256];
    if (sq25__h5_attr_string(fid, "/", "Conventions", format, sizeof format)) format[0] = '\0';
    if (sq25__h5_attr_string(fid, "what", "source", producer, sizeof producer)) producer[0] = '\0';
    return sq25__set_read_meta(f, format, producer, quantity, conversion, path);
}

int sq25__odim_frame_count(sq25_ctx *ctx, const char *path, hid_t fid, int *count)
{
    odim_choice best, pick;
    int rc = check_object(ctx, path, fid);
    if (!rc) rc = find_grid(ctx, path, fid, &best);
    if (rc) return rc;
    *count = collect_frames(fid, &best, -1, &pick);
    return SQ25_OK;
}

int sq25__odim_read(sq25_ctx *ctx, const char *path, hid_t fid, int index, sq25_field **out)
{
    *out = NULL;
    odim_choice c, best;
    sq25__decoding dec;
    char conversion[320], projdef[1024], data_path[ODIM_PATH_CAP];
    double gt[6];
    size_t nx = 0, ny = 0;
    int64_t valid_time = 0;
    int rc = check_object(ctx, path, fid);
    if (!rc) rc = find_grid(ctx, path, fid, &best);
    if (rc) return rc;
    int n_frames = collect_frames(fid, &best, index, &c);
    if (index >= n_frames)
        return sq25__fail(ctx, SQ25_ERR_RANGE, "%s: frame %d requested, the file holds %d (%s)",
                          path, index, n_frames, best.quantity);
    snprintf(data_path, sizeof data_path, "dataset%d/data%d/data", c.dataset, c.data);
    rc = grid_size(ctx, path, fid, c.dataset, data_path, &nx, &ny);
    if (!rc) rc = build_decoding(ctx, path, fid, &c, &dec, conversion, sizeof conversion);
    if (!rc) rc = georeference(ctx, path, fid, c.dataset, projdef, sizeof projdef, gt);
    /* one frame: the product's nominal time; several (a forecast): each dataset's end time */
    if (!rc && n_frames == 1) rc = nominal_time(ctx, path, fid, &valid_time);
    if (!rc && n_frames > 1) rc = frame_end_time(ctx, path, fid, &c, &valid_time);
    if (!rc)
        rc = sq25__read_decoded_field(ctx, path, fid, data_path, -1, ny, nx, &dec, false, projdef,
                                      gt, valid_time, out);
    if (rc) return rc;
    if (dec.unit == SQ25__UNIT_AMOUNT_MM) sq25_field_set_accumulation_s(*out, (int)dec.window_s);
    return finish_meta(*out, fid, path, c.quantity, conversion);
}
