/* io_detect.c -- format detection from a file's own metadata, and the public read entry
 * points that dispatch to the ODIM, KNMI, CF and DWD (RADOLAN, ESRI ASCII) readers. */
#include "io.h"

#include <string.h>

static bool root_attr_starts_with(hid_t fid, const char *name, const char *prefix)
{
    char buf[128];
    if (sq25__h5_attr_string(fid, "/", name, buf, sizeof buf) != 0) return false;
    return strncmp(buf, prefix, strlen(prefix)) == 0;
}

static bool looks_like_knmi(hid_t fid)
{
    return sq25__h5_attr_exists(fid, "overview", "hdftag_version_number") &&
           sq25__h5_exists(fid, "geographic") && sq25__h5_exists(fid, "image1/image_data");
}

int sq25__detect_open(hid_t fid)
{
    if (root_attr_starts_with(fid, "Conventions", "ODIM_H5")) return SQ25_FORMAT_ODIM;
    if (looks_like_knmi(fid)) return SQ25_FORMAT_KNMI;
    if (root_attr_starts_with(fid, "Conventions", "CF-") ||
        sq25__h5_attr_exists(fid, "/", "_NCProperties"))
        return SQ25_FORMAT_CF;
    return SQ25_FORMAT_UNKNOWN;
}

/* Open path and detect its format; on success the caller owns *fid (and holds the lock). */
static int open_and_detect(sq25_ctx *ctx, const char *path, hid_t *fid, int *format)
{
    *fid = sq25__h5_open_read(ctx, path);
    if (*fid < 0) return sq25_errcode(ctx);
    *format = sq25__detect_open(*fid);
    if (*format == SQ25_FORMAT_UNKNOWN) {
        H5Fclose(*fid);
        *fid = -1;
        return sq25__fail(ctx, SQ25_ERR_FORMAT_UNKNOWN,
                          "%s: HDF5 file of no known convention (no ODIM_H5 or CF Conventions "
                          "attribute, no netCDF-4 _NCProperties, no KNMI /overview)",
                          path);
    }
    return SQ25_OK;
}

/* The DWD inputs (RADOLAN binary, ESRI ASCII, gzip/bzip2/tar) are not HDF5: recognised from
 * their first bytes before HDF5 is asked. The format of a packed file is that of its first
 * product. */
static int dwd_detect(sq25_ctx *ctx, const char *path, int *format)
{
    sq25_field *f = NULL;
    int rc = sq25__dwd_read(ctx, path, 0, &f);
    if (!rc)
        *format = strncmp(sq25_field_meta(f, SQ25_META_FORMAT), "ESRI", 4) == 0
                      ? SQ25_FORMAT_ESRI_ASCII
                      : SQ25_FORMAT_RADOLAN;
    sq25_field_destroy(f);
    return rc;
}

int sq25_file_detect(sq25_ctx *ctx, const char *path, int *format)
{
    if (!ctx) return SQ25_ERR_INVALID_ARG;
    if (!path || !format)
        return sq25__fail(ctx, SQ25_ERR_INVALID_ARG, "sq25_file_detect: NULL argument");
    *format = SQ25_FORMAT_UNKNOWN;
    int dwd;
    if (sq25__dwd_sniff(path, &dwd)) {
        int rc = dwd_detect(ctx, path, format);
        return rc ? rc : sq25__ok(ctx);
    }
    sq25__h5_enter();
    hid_t fid = -1;
    int rc = open_and_detect(ctx, path, &fid, format);
    if (fid >= 0) H5Fclose(fid);
    sq25__h5_leave();
    return rc ? rc : sq25__ok(ctx);
}

int sq25_file_frame_count(sq25_ctx *ctx, const char *path, int *count)
{
    if (!ctx) return SQ25_ERR_INVALID_ARG;
    if (!path || !count)
        return sq25__fail(ctx, SQ25_ERR_INVALID_ARG, "sq25_file_frame_count: NULL argument");
    *count = 0;
    int dwd;
    if (sq25__dwd_sniff(path, &dwd)) {
        int rc = sq25__dwd_frame_count(ctx, path, count);
        return rc ? rc : sq25__ok(ctx);
    }
    sq25__h5_enter();
    hid_t fid = -1;
    int format = SQ25_FORMAT_UNKNOWN;
    int rc = open_and_detect(ctx, path, &fid, &format);
    if (rc == SQ25_OK) {
        if (format == SQ25_FORMAT_CF) rc = sq25__cf_frame_count(ctx, path, fid, count);
        else if (format == SQ25_FORMAT_ODIM) rc = sq25__odim_frame_count(ctx, path, fid, count);
        else *count = 1;
    }
    if (fid >= 0) H5Fclose(fid);
    sq25__h5_leave();
    return rc ? rc : sq25__ok(ctx);
}

int sq25_read_field_frame(sq25_ctx *ctx, const char *path, int index, sq25_field **out)
{
    if (!ctx) return SQ25_ERR_INVALID_ARG;
    if (!path || !out)
        return sq25__fail(ctx, SQ25_ERR_INVALID_ARG, "sq25_read_field_frame: NULL argument");
    *out = NULL;
    if (index < 0)
        return sq25__fail(ctx, SQ25_ERR_RANGE, "%s: frame index %d is negative", path, index);
    int rc, format = SQ25_FORMAT_UNKNOWN;
    if (sq25__dwd_sniff(path, &format)) {
        rc = sq25__dwd_read(ctx, path, index, out);
    } else {
        sq25__h5_enter();
        hid_t fid = -1;
        rc = open_and_detect(ctx, path, &fid, &format);
        if (rc == SQ25_OK) {
            if (format == SQ25_FORMAT_ODIM) rc = sq25__odim_read(ctx, path, fid, index, out);
            else if (format == SQ25_FORMAT_KNMI) rc = sq25__knmi_read(ctx, path, fid, index, out);
            else rc = sq25__cf_read(ctx, path, fid, index, out);
        }
        if (fid >= 0) H5Fclose(fid);
        sq25__h5_leave();
    }
    if (rc == SQ25_OK) rc = sq25__apply_ceiling(ctx, *out);
    if (rc != SQ25_OK) {
        sq25_field_destroy(*out);
        *out = NULL;
        return rc;
    }
    return sq25__ok(ctx);
}

int sq25_read_field(sq25_ctx *ctx, const char *path, sq25_field **out)
{
    return sq25_read_field_frame(ctx, path, 0, out);
}
