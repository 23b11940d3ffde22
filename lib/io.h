/* io.h -- internal declarations shared by the readers (io_detect.c, io_odim.c, io_knmi.c,
 * io_cf.c), the ODIM writer (io_write_odim.c) and their helpers (io_common.c). Not API.
 * Functions taking an hid_t must run between sq25__h5_enter() and sq25__h5_leave(). */
#ifndef SQ25_IO_H
#define SQ25_IO_H

#include "h5util.h"

/* How the physical value of a file (after gain/offset or scale/offset) becomes mm/h. */
typedef enum {
    SQ25__UNIT_RATE_MMH = 0,    /* already mm/h */
    SQ25__UNIT_AMOUNT_MM = 1,   /* mm per accumulation window: * 3600 / window_s */
    SQ25__UNIT_DBZ = 2,         /* reflectivity dBZ: Marshall-Palmer Z = 200 R^1.6 */
    SQ25__UNIT_FLUX_KGM2S = 3   /* kg m-2 s-1 (= mm/s): * 3600 */
} sq25__rain_unit;

/* Raw-to-physical decoding of one grid: physical = gain * raw + offset; raw values equal to
 * nodata become NaN, raw values equal to undetect become 0 mm/h; non-finite raw values stay
 * NaN. A second nodata value (has_nodata2) covers files with two "missing" codes. */
typedef struct {
    double gain, offset;
    bool has_nodata, has_nodata2, has_undetect;
    double nodata, nodata2, undetect;
    sq25__rain_unit unit;
    double window_s; /* accumulation window in seconds, for SQ25__UNIT_AMOUNT_MM */
    /* Raw values outside [valid_min, valid_max] become NaN (CF valid_range/min/max). */
    bool has_valid_min, has_valid_max;
    double valid_min, valid_max;
    int unsigned_bits; /* > 0: signed raw values are reinterpreted unsigned (CF _Unsigned) */
    double zr_a, zr_b; /* Z = a R^b for SQ25__UNIT_DBZ (0: Marshall-Palmer) */
} sq25__decoding;

/* Re-issue the context's last message prefixed with "file: " under code (PROJ errors are
 * raised without the file name). Returns code. */
int sq25__fail_in_file(sq25_ctx *ctx, int code, const char *file);

/* Marshall-Palmer: rain rate in mm/h from reflectivity in dBZ (Z = 200 R^1.6). */
double sq25__mmh_from_dbz(double dbz);
/* Rain rate in mm/h from dBZ with Z = a R^b. */
double sq25__mmh_from_dbz_zr(double dbz, double a, double b);
/* The context's Z-R coefficients (Marshall-Palmer 200, 1.6 unless set). */
void sq25__ctx_zr(const sq25_ctx *ctx, double *a, double *b);
double sq25__ctx_mmh_from_dbz(const sq25_ctx *ctx, double dbz);
/* "Z = 200 R^1.6 (Marshall-Palmer)" or "Z = a R^b (set by the caller)" into buf. */
void sq25__ctx_zr_text(const sq25_ctx *ctx, char *buf, size_t cap);
/* Apply the context's rain ceiling to a freshly read field and note it in its conversion
 * metadata (no-op when no ceiling is set). */
int sq25__apply_ceiling(sq25_ctx *ctx, sq25_field *f);
/* Decode n raw values (as doubles, row-major ny x nx) into mm/h floats. When flip_rows is
 * true the row order is reversed (files whose first row is the southern one). */
void sq25__decode_grid(const sq25__decoding *dec, const double *raw, size_t ny, size_t nx,
                       bool flip_rows, float *out_mmh);

/* Parse ODIM date "YYYYMMDD" and time "HHMMSS" (or "HHMM") into UTC seconds. 0 or -1. */
int sq25__parse_odim_datetime(const char *date, const char *time, int64_t *utc);
/* Parse a KNMI date-time "26-AUG-2010;00:55:00.000" into UTC seconds. 0 or -1. */
int sq25__parse_knmi_datetime(const char *text, int64_t *utc);

/* Project lon/lat degrees into the CRS of projdef (x, y in the CRS's units). Sets SQ25_ERR_PROJ
 * with the file name on failure. */
int sq25__project_lonlat(sq25_ctx *ctx, const char *file, const char *projdef, double lon,
                         double lat, double *x, double *y);

/* Check the dataset at path is a 2-D (or, with allow_3d, 3-D) numeric array and return its
 * rank and dims; sets MISSING_DATASET / BAD_DIMENSIONS / UNSUPPORTED naming file and path. */
int sq25__dataset_shape(sq25_ctx *ctx, const char *file, hid_t fid, const char *path,
                        bool allow_3d, int *rank, hsize_t dims[4]);

/* Read slab `index` (-1 for a 2-D dataset) of a dataset, decode it into a new field with the
 * given georeference; flip_rows as in sq25__decode_grid. Guards the size before allocating. */
int sq25__read_decoded_field(sq25_ctx *ctx, const char *file, hid_t fid, const char *path,
                             long index, size_t ny, size_t nx, const sq25__decoding *dec,
                             bool flip_rows, const char *projdef, const double gt[6],
                             int64_t valid_time, sq25_field **out);

/* Set the five metadata strings of a freshly read field. */
int sq25__set_read_meta(sq25_field *f, const char *format, const char *producer,
                        const char *quantity, const char *conversion, const char *path);

/* Format detection on an open file: SQ25_FORMAT_* or SQ25_FORMAT_UNKNOWN. */
int sq25__detect_open(hid_t fid);

/* The readers, on an open file (caller holds the HDF5 lock and closes fid). */
int sq25__odim_frame_count(sq25_ctx *ctx, const char *path, hid_t fid, int *count);
int sq25__odim_read(sq25_ctx *ctx, const char *path, hid_t fid, int index, sq25_field **out);
int sq25__knmi_read(sq25_ctx *ctx, const char *path, hid_t fid, int index, sq25_field **out);
int sq25__cf_read(sq25_ctx *ctx, const char *path, hid_t fid, int index, sq25_field **out);
int sq25__cf_frame_count(sq25_ctx *ctx, const char *path, hid_t fid, int *count);

/* RADOLAN / RADVOR binary products and DWD ESRI ASCII grids, bare or gzip/bzip2/tar packed
 * (io_radolan.c, io_esri.c). sq25__dwd_sniff: true if the file's first bytes are one of those
 * (or a gzip/bzip2/tar container, whose content is checked when read). */
bool sq25__dwd_sniff(const char *path, int *format);
int sq25__dwd_frame_count(sq25_ctx *ctx, const char *path, int *count);
int sq25__dwd_read(sq25_ctx *ctx, const char *path, int index, sq25_field **out);
/* One product in memory (a file's or a tar member's bytes); layers names the packing. */
int sq25__dwd_read_member(sq25_ctx *ctx, const char *name, const unsigned char *b, size_t n,
                          const char *layers, sq25_field **out);
bool sq25__radolan_looks_like(const unsigned char *b, size_t n);
int sq25__radolan_decode(sq25_ctx *ctx, const char *name, const unsigned char *b, size_t n,
                         const char *layers, sq25_field **out);
int sq25__radolan_grid(sq25_ctx *ctx, const char *name, int rows, int cols, int version,
                       char *projdef, size_t cap, double gt[6]);
bool sq25__esri_looks_like(const unsigned char *b, size_t n);
int sq25__esri_decode(sq25_ctx *ctx, const char *name, const unsigned char *b, size_t n,
                      const char *layers, sq25_field **out);

#endif
