/* forecast_file.c -- reading back the lead times of a forecast file written by
 * `sq25 nowcast` (one ODIM_H5 file, dataset1..datasetN = RATE per lead, then the motion).
 * The general readers take the first RATE grid of an ODIM file; this reads dataset k. */
#include "io.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* True if dataset n of the open file holds a RATE grid (dataset or data1 /what). */
static bool dataset_is_rate(hid_t fid, int n)
{
    char path[64], quantity[32];
    snprintf(path, sizeof path, "dataset%d/data1/what", n);
    if (sq25__h5_attr_string(fid, path, "quantity", quantity, sizeof quantity) != 0) {
        snprintf(path, sizeof path, "dataset%d/what", n);
        if (sq25__h5_attr_string(fid, path, "quantity", quantity, sizeof quantity) != 0)
            return false;
    }
    return strcmp(quantity, "RATE") == 0;
}

/* Leading RATE datasets, counted from dataset1 on. */
static int count_rate_datasets(hid_t fid)
{
    int n = 0;
    while (n < 100000 && dataset_is_rate(fid, n + 1)) n++;
    return n;
}

int sq25_forecast_lead_count(sq25_ctx *ctx, const char *path, int *count)
{
    if (!ctx) return SQ25_ERR_INVALID_ARG;
    if (!path || !count)
        return sq25__fail(ctx, SQ25_ERR_INVALID_ARG, "sq25_forecast_lead_count: NULL argument");
    sq25__h5_enter();
    hid_t fid = sq25__h5_open_read(ctx, path);
    int n = fid >= 0 ? count_rate_datasets(fid) : 0;
    if (fid >= 0) H5Fclose(fid);
    sq25__h5_leave();
    if (fid < 0) return sq25_errcode(ctx);
    if (n == 0) return sq25__fail(ctx, SQ25_ERR_BAD_QUANTITY, "%s: no RATE dataset", path);
    *count = n;
    return sq25__ok(ctx);
}

static double what_value(hid_t fid, int n, const char *name, double fallback)
{
    char path[64];
    double v;
    snprintf(path, sizeof path, "dataset%d/data1/what", n);
    if (sq25__h5_attr_double(fid, path, name, &v) == 0) return v;
    snprintf(path, sizeof path, "dataset%d/what", n);
    if (sq25__h5_attr_double(fid, path, name, &v) == 0) return v;
    return fallback;
}

/* Values of dataset n decoded into f (same grid as dataset1), valid time = its end time. */
static int read_dataset_into(sq25_ctx *ctx, const char *path, hid_t fid, int n, sq25_field *f)
{
    char what[64], ed[16], et[16], data_path[64];
    int64_t end_time;
    snprintf(what, sizeof what, "dataset%d/what", n);
    if (sq25__h5_attr_string(fid, what, "enddate", ed, sizeof ed) ||
        sq25__h5_attr_string(fid, what, "endtime", et, sizeof et) ||
        sq25__parse_odim_datetime(ed, et, &end_time))
        return sq25__fail(ctx, SQ25_ERR_MISSING_ATTRIBUTE, "%s: %s: enddate/endtime missing",
                          path, what);
    const size_t nx = (size_t)f->width, ny = (size_t)f->height;
    double *raw = sq25__malloc(ctx, nx * ny * sizeof *raw);
    if (!raw) return SQ25_ERR_NOMEM;
    snprintf(data_path, sizeof data_path, "dataset%d/data1/data", n);
    int rc = sq25__h5_read_2d_double(ctx, path, fid, data_path, -1, ny, nx, raw);
    if (rc == SQ25_OK) {
        sq25__decoding dec = {.gain = what_value(fid, n, "gain", 1.0),
                              .offset = what_value(fid, n, "offset", 0.0),
                              .unit = SQ25__UNIT_RATE_MMH};
        dec.nodata = what_value(fid, n, "nodata", NAN);
        dec.undetect = what_value(fid, n, "undetect", NAN);
        dec.has_nodata = !isnan(dec.nodata);
        dec.has_undetect = !isnan(dec.undetect);
        sq25__decode_grid(&dec, raw, ny, nx, false, f->data);
        f->valid_time = end_time;
    }
    sq25__free(ctx, raw);
    return rc;
}

int sq25_forecast_read_lead(sq25_ctx *ctx, const char *path, int lead_index, sq25_field **out)
{
    if (!ctx) return SQ25_ERR_INVALID_ARG;
    if (!path || !out)
        return sq25__fail(ctx, SQ25_ERR_INVALID_ARG, "sq25_forecast_read_lead: NULL argument");
    *out = NULL;
    /* The grid, georeference and metadata come from the general reader (dataset1). */
    sq25_field *f = NULL;
    int rc = sq25_read_field(ctx, path, &f);
    if (rc) return rc;
    sq25__h5_enter();
    hid_t fid = sq25__h5_open_read(ctx, path);
    if (fid < 0) rc = sq25_errcode(ctx);
    int count = fid >= 0 ? count_rate_datasets(fid) : 0;
    if (rc == SQ25_OK && (lead_index < 0 || lead_index >= count))
        rc = sq25__fail(ctx, SQ25_ERR_RANGE, "%s: lead %d requested, the file holds %d", path,
                        lead_index, count);
    char data_path[64];
    snprintf(data_path, sizeof data_path, "dataset%d/data1/data", lead_index + 1);
    if (rc == SQ25_OK) {
        int rank = 0;
        hsize_t dims[4];
        if (sq25__h5_dataset_dims(fid, data_path, &rank, dims) != 0 || rank != 2 ||
            dims[0] != (hsize_t)f->height || dims[1] != (hsize_t)f->width)
            rc = sq25__fail(ctx, SQ25_ERR_BAD_DIMENSIONS, "%s: %s is not %dx%d", path,
                            data_path, f->height, f->width);
    }
    if (rc == SQ25_OK) rc = read_dataset_into(ctx, path, fid, lead_index + 1, f);
    if (fid >= 0) H5Fclose(fid);
    sq25__h5_leave();
    if (rc) {
        sq25_field_destroy(f);
        return rc;
    }
    *out = f;
    return sq25__ok(ctx);
}
