/* io_write_odim.c -- ODIM_H5/V2_2 composite (object COMP) writer. Data are float32, gain 1 /
 * offset 0, with NaN written as the nodata value so that any ODIM reader understands them;
 * byte shuffle + deflate at the writer's level (1 by default: a real-time cycle wants speed),
 * one chunk per dataset (a reader takes a lead at a time). The file is written beside its
 * path and renamed over it when closed (sq25__output): on any failure the temporary is removed
 * and a previous file is kept.
 *
 * Compressed chunks are made here and stored with H5Dwrite_chunk, in exactly the form HDF5's
 * shuffle and deflate filters give (which the dataset declares, so every reader decodes it):
 * the coded values byte-shuffled, then one zlib stream. The stream is made of pieces of
 * DEFLATE_PIECE_BYTES compressed independently on the context's threads and joined (each
 * piece but the last ends on a byte boundary with a sync flush, the Adler-32 checksums are
 * combined), so the bytes of the file do not depend on the thread count. Level 1 is coded
 * by io_deflate.c (zlib's run-length parse, faster), levels 2 to 9 by zlib. */
#include "io.h"
#include "io_deflate.h"

#include <libdeflate.h>
#include <zlib.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ODIM_WRITE_NODATA (-9999000.0)
#define ODIM_WRITE_UNDETECT (-8888000.0)
/* A dataset is one chunk (one lead) up to this many cells; larger grids are cut into chunks
 * of whole rows, so that HDF5's chunk buffers stay bounded (64 MiB of float32). */
#define ODIM_CHUNK_MAX_CELLS ((size_t)16 * 1024 * 1024)
#define ODIM_DEFAULT_DEFLATE 1
/* Uncompressed bytes per independently compressed piece of a chunk (about 0.3 % larger
 * output than one stream on the RMI leads; small enough to share a lead between threads). */
#define DEFLATE_PIECE_BYTES ((size_t)256 * 1024)

struct sq25_odim_writer {
    sq25_ctx *ctx;
    char *path;
    sq25__output out;   /* the file is written at out.tmp and renamed to path on close */
    hid_t fid;
    int datasets;       /* datasets written so far */
    int width, height;  /* grid of the first field */
    double gt[6];
    char *projdef;
    int deflate_level;  /* 0 = no filter, 1..9 = shuffle + deflate at that level */
    float *coded;       /* width*height: the values being written, NaN as nodata; reused */
    unsigned char *shuffled, *packed; /* one chunk shuffled, and its zlib stream; reused */
    size_t packed_cap;
    bool failed;        /* a write failed: close removes the file */
};

/* ---- attribute writers (return 0 or -1) ---- */
static int write_attr(hid_t loc, const char *name, hid_t mem_type, hid_t file_type,
                      const void *value)
{
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = sp >= 0 ? H5Acreate2(loc, name, file_type, sp, H5P_DEFAULT, H5P_DEFAULT) : -1;
    herr_t st = a >= 0 ? H5Awrite(a, mem_type, value) : -1;
    if (a >= 0) H5Aclose(a);
    if (sp >= 0) H5Sclose(sp);
    return st < 0 ? -1 : 0;
}

static int attr_string(hid_t loc, const char *name, const char *value)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t < 0) return -1;
    H5Tset_size(t, strlen(value) + 1);
    H5Tset_strpad(t, H5T_STR_NULLTERM);
    int rc = write_attr(loc, name, t, t, value);
    H5Tclose(t);
    return rc;
}

static int attr_double(hid_t loc, const char *name, double value)
{
    return write_attr(loc, name, H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, &value);
}

static int attr_int64(hid_t loc, const char *name, int64_t value)
{
    return write_attr(loc, name, H5T_NATIVE_INT64, H5T_STD_I64LE, &value);
}

/* ODIM date "YYYYMMDD" and time "HHMMSS" of a UTC time. */
static void odim_date_time(int64_t t, char date[16], char time[16])
{
    char iso[32];
    sq25__format_utc(t, iso, sizeof iso); /* YYYY-MM-DDTHH:MM:SSZ */
    snprintf(date, 16, "%.4s%.2s%.2s", iso, iso + 5, iso + 8);
    snprintf(time, 16, "%.2s%.2s%.2s", iso + 11, iso + 14, iso + 17);
}

static hid_t make_group(hid_t fid, const char *path)
{
    return H5Gcreate2(fid, path, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
}

static int write_root_what(hid_t fid, const sq25_field *f)
{
    char date[16], time[16];
    odim_date_time(sq25_field_valid_time(f), date, time);
    hid_t g = make_group(fid, "what");
    if (g < 0) return -1;
    int rc = attr_string(g, "object", "COMP") | attr_string(g, "version", "H5rad 2.2") |
             attr_string(g, "date", date) | attr_string(g, "time", time) |
             attr_string(g, "source", "ORG:25square");
    H5Gclose(g);
    return rc;
}

static int write_root_where(hid_t fid, sq25_field *f)
{
    double c[8]; /* UL, UR, LR, LL lon/lat */
    if (sq25_field_corners_lonlat(f, c) != SQ25_OK) return -1;
    double gt[6];
    sq25_field_geotransform(f, gt);
    hid_t g = make_group(fid, "where");
    if (g < 0) return -1;
    int rc = attr_string(g, "projdef", sq25_field_projdef(f)) |
             attr_int64(g, "xsize", sq25_field_width(f)) |
             attr_int64(g, "ysize", sq25_field_height(f)) | attr_double(g, "xscale", gt[1]) |
             attr_double(g, "yscale", -gt[5]) | attr_double(g, "UL_lon", c[0]) |
             attr_double(g, "UL_lat", c[1]) | attr_double(g, "UR_lon", c[2]) |
             attr_double(g, "UR_lat", c[3]) | attr_double(g, "LR_lon", c[4]) |
             attr_double(g, "LR_lat", c[5]) | attr_double(g, "LL_lon", c[6]) |
             attr_double(g, "LL_lat", c[7]) |
             /* The projected corner too (as RMI writes it), so that a file read back has
              * the very geotransform it was written from, not one re-projected from lon/lat. */
             attr_double(g, "UL_x", gt[0]) | attr_double(g, "UL_y", gt[3]);
    H5Gclose(g);
    return rc;
}

static int write_root_how(hid_t fid)
{
    char software[64];
    snprintf(software, sizeof software, "25square libsq25 %s", sq25_version_string());
    hid_t g = make_group(fid, "how");
    if (g < 0) return -1;
    int rc = attr_string(g, "software", software);
    H5Gclose(g);
    return rc;
}

static int write_scaling(hid_t g, const char *quantity)
{
    return attr_string(g, "quantity", quantity) | attr_double(g, "gain", 1.0) |
           attr_double(g, "offset", 0.0) | attr_double(g, "nodata", ODIM_WRITE_NODATA) |
           attr_double(g, "undetect", ODIM_WRITE_UNDETECT);
}

static int write_dataset_what(hid_t fid, int n, const char *quantity, int64_t start,
                              int64_t end)
{
    char path[64], sd[16], st[16], ed[16], et[16];
    odim_date_time(start, sd, st);
    odim_date_time(end, ed, et);
    snprintf(path, sizeof path, "dataset%d/what", n);
    hid_t g = make_group(fid, path);
    if (g < 0) return -1;
    int rc = attr_string(g, "product", "COMP") | attr_string(g, "startdate", sd) |
             attr_string(g, "starttime", st) | attr_string(g, "enddate", ed) |
             attr_string(g, "endtime", et) | write_scaling(g, quantity);
    H5Gclose(g);
    snprintf(path, sizeof path, "dataset%d/data1/what", n);
    g = make_group(fid, path);
    if (g < 0) return -1;
    rc |= write_scaling(g, quantity);
    H5Gclose(g);
    return rc;
}

/* The field's values as float32 with NaN (and infinities) replaced by the nodata code, in
 * the writer's buffer (allocated once, on the first dataset). */
static const float *coded_values(sq25_odim_writer *w, const sq25_field *f)
{
    size_t n = (size_t)w->width * (size_t)w->height;
    if (!w->coded && !(w->coded = sq25__malloc(w->ctx, n * sizeof *w->coded))) return NULL;
    const float *src = sq25_field_data_const(f);
    for (size_t i = 0; i < n; i++)
        w->coded[i] = isfinite(src[i]) ? src[i] : (float)ODIM_WRITE_NODATA;
    return w->coded;
}

/* Dataset creation properties: one chunk per lead (whole rows for very large grids), and
 * shuffle + deflate unless the level is 0. */
static hid_t data_create_plist(int width, int height, int deflate_level)
{
    size_t rows = ODIM_CHUNK_MAX_CELLS / (size_t)width;
    if (rows < 1) rows = 1;
    if (rows > (size_t)height) rows = (size_t)height;
    hsize_t chunk[2] = {(hsize_t)rows, (hsize_t)width};
    hid_t plist = H5Pcreate(H5P_DATASET_CREATE);
    if (plist < 0) return -1;
    bool ok = H5Pset_chunk(plist, 2, chunk) >= 0;
    if (ok && deflate_level > 0)
        ok = H5Pset_shuffle(plist) >= 0 && H5Pset_deflate(plist, (unsigned)deflate_level) >= 0;
    if (!ok) {
        H5Pclose(plist);
        return -1;
    }
    return plist;
}

/* ---- compressed chunks ---- */

/* The bits of a float32 as stored (H5T_IEEE_F32LE), NaN and infinities (exponent all ones)
 * coded as nodata; without a branch, so that the loop below vectorises. */
static inline uint32_t coded_bits(const float *v, uint32_t nodata_bits)
{
    uint32_t bits;
    memcpy(&bits, v, sizeof bits);
    return (bits & 0x7f800000u) == 0x7f800000u ? nodata_bits : bits;
}

/* SHUFFLE_BLOCK values coded and split into their four byte planes. A loop of fixed trip
 * count over restrict parameters: -O2 vectorises it (no alias check, no epilogue). */
#define SHUFFLE_BLOCK 32
static void shuffle_block(const float *restrict in, unsigned char *restrict b0,
                          unsigned char *restrict b1, unsigned char *restrict b2,
                          unsigned char *restrict b3, uint32_t nodata_bits)
{
    for (int k = 0; k < SHUFFLE_BLOCK; k++) {
        const uint32_t bits = coded_bits(&in[k], nodata_bits);
        b0[k] = (unsigned char)bits;
        b1[k] = (unsigned char)(bits >> 8);
        b2[k] = (unsigned char)(bits >> 16);
        b3[k] = (unsigned char)(bits >> 24);
    }
}

/* HDF5's shuffle of a chunk of n_cells float32 values of which the first n_values are given
 * (the rest, past the grid's edge, hold the fill value 0), coding NaN and infinities as
 * nodata on the way: byte k (little-endian order, as the file stores H5T_IEEE_F32LE) of
 * value i goes to out[k * n_cells + i]. */
static void shuffle_coded(const float *in, size_t n_values, size_t n_cells, unsigned char *out)
{
    const float nodata = (float)ODIM_WRITE_NODATA;
    uint32_t nodata_bits;
    memcpy(&nodata_bits, &nodata, sizeof nodata_bits);
    size_t i = 0;
    for (; i + SHUFFLE_BLOCK <= n_values; i += SHUFFLE_BLOCK)
        shuffle_block(in + i, out + i, out + n_cells + i, out + 2 * n_cells + i,
                      out + 3 * n_cells + i, nodata_bits);
    for (; i < n_values; i++) {
        const uint32_t bits = coded_bits(&in[i], nodata_bits);
        for (size_t k = 0; k < 4; k++) out[k * n_cells + i] = (unsigned char)(bits >> (8 * k));
    }
    for (size_t k = 0; k < 4 && n_values < n_cells; k++)
        memset(out + k * n_cells + n_values, 0, n_cells - n_values);
}

typedef struct {
    const unsigned char *in;
    size_t in_bytes;
    unsigned char *out; /* piece p writes at out + p * piece_cap */
    size_t piece_cap;
    int level;
    size_t *out_bytes;  /* per piece; 0 = failed */
    uLong *adler;       /* per piece */
} deflate_job;

/* Whether a piece looks like random bytes, judged on every INCOMPRESSIBLE_STRIDE-th byte:
 * an order-0 entropy of at least 7.9 bits per byte (Huffman codes could save at most 1.3 %)
 * and under 2 % of the sampled bytes equal to the byte before them (too few runs for the
 * run-length matches). The low mantissa bytes of the smooth motion fields are such pieces:
 * zlib spent 2.7 ms on each 490 kB byte plane of them to emit stored blocks in the end. */
#define INCOMPRESSIBLE_STRIDE 16
static bool looks_incompressible(const unsigned char *in, size_t len)
{
    uint32_t count[256] = {0};
    size_t samples = 0, repeats = 0;
    for (size_t i = 1; i < len; i += INCOMPRESSIBLE_STRIDE, samples++) {
        count[in[i]]++;
        repeats += in[i] == in[i - 1];
    }
    if (samples < 4096 || repeats * 50 >= samples) return false;
    double bits = 0;
    for (int b = 0; b < 256; b++)
        if (count[b]) {
            const double q = (double)count[b] / (double)samples;
            bits -= q * log2(q);
        }
    return bits >= 7.9;
}

/* Raw deflate of pieces [begin, end); all but the chunk's last piece end byte-aligned and not
 * final (a sync flush) so that the pieces concatenate into one stream. */
static void deflate_pieces(void *arg, int begin, int end, int worker)
{
    (void)worker;
    const deflate_job *j = arg;
    const int pieces = (int)((j->in_bytes + DEFLATE_PIECE_BYTES - 1) / DEFLATE_PIECE_BYTES);
    for (int p = begin; p < end; p++) {
        const size_t at = (size_t)p * DEFLATE_PIECE_BYTES;
        const size_t len = j->in_bytes - at < DEFLATE_PIECE_BYTES ? j->in_bytes - at
                                                                    : DEFLATE_PIECE_BYTES;
        const bool last = p + 1 == pieces;
        unsigned char *out = j->out + (size_t)p * j->piece_cap;
        j->out_bytes[p] = 0;
        /* libdeflate's Adler-32 (vectorised): zlib's took 5 % of the demo cycle */
        j->adler[p] = libdeflate_adler32(1, j->in + at, len);
        /* random-looking bytes go into stored blocks, as deflate would have ended up storing
         * them, without its search */
        if (looks_incompressible(j->in + at, len)) {
            j->out_bytes[p] = sq25__deflate_stored(j->in + at, len, last, out, j->piece_cap);
            continue;
        }
        /* level 1, the real-time default: zlib's run-length parse (radar leads are mostly
         * runs of 0 and nodata; on the 14 datasets of an RMI nowcast 1 % smaller than zlib's
         * level 1 and 37 % less CPU), coded by io_deflate.c in a third of zlib's time */
        if (j->level == 1) {
            j->out_bytes[p] = sq25__deflate_rle(j->in + at, len, last, out, j->piece_cap);
            continue;
        }
        z_stream z;
        memset(&z, 0, sizeof z);
        if (deflateInit2(&z, j->level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) continue;
        z.next_in = (Bytef *)(j->in + at);
        z.avail_in = (uInt)len;
        z.next_out = out;
        z.avail_out = (uInt)j->piece_cap;
        int flush = last ? Z_FINISH : Z_SYNC_FLUSH;
        int st = deflate(&z, flush);
        if ((flush == Z_FINISH && st == Z_STREAM_END) || (flush == Z_SYNC_FLUSH && st == Z_OK &&
                                                          z.avail_in == 0))
            j->out_bytes[p] = j->piece_cap - z.avail_out;
        deflateEnd(&z);
    }
}

/* The zlib header zlib itself writes for a 32 KiB window at this level. */
static void zlib_header(int level, unsigned char out[2])
{
    unsigned header = (Z_DEFLATED + (7u << 4)) << 8;
    unsigned level_flags = level < 2 ? 0 : level < 6 ? 1 : level == 6 ? 2 : 3;
    header |= level_flags << 6;
    header += 31 - header % 31;
    out[0] = (unsigned char)(header >> 8);
    out[1] = (unsigned char)header;
}

/* Bytes of the packed buffer for a chunk of chunk_bytes: a bound per piece, plus header
 * and checksum. */
static size_t packed_capacity(size_t chunk_bytes, size_t *piece_cap, int *pieces)
{
    *pieces = (int)((chunk_bytes + DEFLATE_PIECE_BYTES - 1) / DEFLATE_PIECE_BYTES);
    /* deflateBound's documented bound for the default memLevel, plus a sync flush marker,
     * or io_deflate.c's bound, whichever is larger */
    const size_t zlib_cap = DEFLATE_PIECE_BYTES + (DEFLATE_PIECE_BYTES >> 12) +
                            (DEFLATE_PIECE_BYTES >> 14) + (DEFLATE_PIECE_BYTES >> 25) + 13 + 16;
    const size_t own_cap = sq25__deflate_bound(DEFLATE_PIECE_BYTES);
    *piece_cap = zlib_cap > own_cap ? zlib_cap : own_cap;
    return (size_t)*pieces * *piece_cap + 6;
}

/* Code, shuffle and deflate one chunk (chunk_values rates from values, zero-padded to
 * chunk_cells) into w->packed; its length in *bytes. SQ25_OK, SQ25_ERR_NOMEM. */
static int pack_chunk(sq25_odim_writer *w, const float *values, size_t chunk_values,
                      size_t chunk_cells, size_t *bytes)
{
    const size_t chunk_bytes = chunk_cells * sizeof(float);
    size_t piece_cap;
    int pieces;
    const size_t cap = packed_capacity(chunk_bytes, &piece_cap, &pieces);
    if (!w->shuffled && !(w->shuffled = sq25__malloc(w->ctx, chunk_bytes))) return SQ25_ERR_NOMEM;
    if (w->packed_cap < cap) {
        sq25__free(w->ctx, w->packed);
        w->packed = sq25__malloc(w->ctx, cap);
        w->packed_cap = w->packed ? cap : 0;
        if (!w->packed) return SQ25_ERR_NOMEM;
    }
    size_t *out_bytes = sq25__malloc(w->ctx, (size_t)pieces * sizeof *out_bytes);
    uLong *adler = sq25__malloc(w->ctx, (size_t)pieces * sizeof *adler);
    if (!out_bytes || !adler) {
        sq25__free(w->ctx, out_bytes);
        sq25__free(w->ctx, adler);
        return SQ25_ERR_NOMEM;
    }
    shuffle_coded(values, chunk_values, chunk_cells, w->shuffled);
    deflate_job job = {w->shuffled, chunk_bytes, w->packed + 2, piece_cap, w->deflate_level,
                       out_bytes, adler};
    sq25__parallel_for(w->ctx, pieces, 1, deflate_pieces, &job);
    int rc = SQ25_OK;
    size_t at = 2;
    uLong sum = 1L;
    for (int p = 0; p < pieces && rc == SQ25_OK; p++) {
        if (out_bytes[p] == 0) {
            rc = SQ25_ERR_NOMEM; /* the encoder could not get its state */
            break;
        }
        memmove(w->packed + at, w->packed + 2 + (size_t)p * piece_cap, out_bytes[p]);
        at += out_bytes[p];
        const size_t len = chunk_bytes - (size_t)p * DEFLATE_PIECE_BYTES;
        sum = adler32_combine(sum, adler[p], (z_off_t)(len < DEFLATE_PIECE_BYTES ? len
                                                                                  : DEFLATE_PIECE_BYTES));
    }
    zlib_header(w->deflate_level, w->packed);
    for (int k = 0; k < 4; k++) w->packed[at + (size_t)k] = (unsigned char)(sum >> (24 - 8 * k));
    *bytes = at + 4;
    sq25__free(w->ctx, out_bytes);
    sq25__free(w->ctx, adler);
    return rc;
}

static hid_t create_data_dataset(sq25_odim_writer *w, int n)
{
    char path[64];
    snprintf(path, sizeof path, "dataset%d/data1/data", n);
    hsize_t dims[2] = {(hsize_t)w->height, (hsize_t)w->width};
    hid_t sp = H5Screate_simple(2, dims, NULL);
    hid_t plist = data_create_plist(w->width, w->height, w->deflate_level);
    hid_t d = sp >= 0 && plist >= 0
                  ? H5Dcreate2(w->fid, path, H5T_IEEE_F32LE, sp, H5P_DEFAULT, plist, H5P_DEFAULT)
                  : -1;
    if (plist >= 0) H5Pclose(plist);
    if (sp >= 0) H5Sclose(sp);
    return d;
}

/* Write the field's values as dataset<n>/data1/data, NaN as nodata: coded, through H5Dwrite
 * without compression; else chunk by chunk, compressed here. SQ25_OK, SQ25_ERR_WRITE (HDF5
 * failed) or SQ25_ERR_NOMEM. */
static int write_data_array(sq25_odim_writer *w, int n, const sq25_field *field)
{
    const float *values = sq25_field_data_const(field);
    size_t rows = ODIM_CHUNK_MAX_CELLS / (size_t)w->width;
    if (rows < 1) rows = 1;
    if (rows > (size_t)w->height) rows = (size_t)w->height;
    hid_t d = create_data_dataset(w, n);
    if (d < 0) return SQ25_ERR_WRITE;
    int rc = SQ25_OK;
    if (w->deflate_level == 0) {
        const float *coded = coded_values(w, field);
        if (!coded) rc = SQ25_ERR_NOMEM;
        else if (H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, coded) < 0)
            rc = SQ25_ERR_WRITE;
    } else {
        for (size_t r0 = 0; rc == SQ25_OK && r0 < (size_t)w->height; r0 += rows) {
            size_t r1 = r0 + rows < (size_t)w->height ? r0 + rows : (size_t)w->height, bytes = 0;
            rc = pack_chunk(w, values + r0 * (size_t)w->width, (r1 - r0) * (size_t)w->width,
                            rows * (size_t)w->width, &bytes);
            hsize_t offset[2] = {(hsize_t)r0, 0};
            if (rc == SQ25_OK && H5Dwrite_chunk(d, H5P_DEFAULT, 0, offset, bytes, w->packed) < 0)
                rc = SQ25_ERR_WRITE;
        }
    }
    if (rc == SQ25_OK &&
        (attr_string(d, "CLASS", "IMAGE") | attr_string(d, "IMAGE_VERSION", "1.2")) != 0)
        rc = SQ25_ERR_WRITE;
    H5Dclose(d);
    return rc;
}

/* Create datasetN and datasetN/data1 groups. */
static int make_dataset_groups(hid_t fid, int n)
{
    char path[64];
    snprintf(path, sizeof path, "dataset%d", n);
    hid_t g = make_group(fid, path);
    if (g < 0) return -1;
    H5Gclose(g);
    snprintf(path, sizeof path, "dataset%d/data1", n);
    g = make_group(fid, path);
    if (g < 0) return -1;
    H5Gclose(g);
    return 0;
}

int sq25_odim_writer_create(sq25_ctx *ctx, const char *path, sq25_odim_writer **out)
{
    if (!ctx) return SQ25_ERR_INVALID_ARG;
    if (!path || !out)
        return sq25__fail(ctx, SQ25_ERR_INVALID_ARG, "sq25_odim_writer_create: NULL argument");
    *out = NULL;
    sq25_odim_writer *w = sq25__calloc(ctx, 1, sizeof *w);
    if (!w) return SQ25_ERR_NOMEM;
    w->ctx = ctx;
    w->fid = -1;
    w->deflate_level = ODIM_DEFAULT_DEFLATE;
    w->path = sq25__strdup(ctx, path);
    if (!w->path) {
        sq25__free(ctx, w);
        return SQ25_ERR_NOMEM;
    }
    int rc = sq25__output_begin(ctx, path, &w->out);
    if (rc) {
        sq25__free(ctx, w->path);
        sq25__free(ctx, w);
        return rc;
    }
    sq25__h5_enter();
    /* CLOSE_STRONG: closing the file closes every object still open in it, so that no error
     * path can leave the file (and HDF5) with open handles. */
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl >= 0 && H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) >= 0)
        w->fid = H5Fcreate(w->out.tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    if (fapl >= 0) H5Pclose(fapl);
    rc = w->fid >= 0 && attr_string(w->fid, "Conventions", "ODIM_H5/V2_2") == 0 ? 0 : -1;
    sq25__h5_leave();
    if (rc != 0) {
        w->failed = true;
        sq25_odim_writer_close(w);
        return sq25__fail(ctx, SQ25_ERR_WRITE, "%s: cannot create the HDF5 file for writing",
                          path);
    }
    *out = w;
    return sq25__ok(ctx);
}

static bool same_grid(const sq25_odim_writer *w, const sq25_field *f)
{
    double gt[6];
    sq25_field_geotransform(f, gt);
    return sq25_field_width(f) == w->width && sq25_field_height(f) == w->height &&
           memcmp(gt, w->gt, sizeof gt) == 0 && strcmp(sq25_field_projdef(f), w->projdef) == 0;
}

static int remember_grid(sq25_odim_writer *w, const sq25_field *f)
{
    w->width = sq25_field_width(f);
    w->height = sq25_field_height(f);
    sq25_field_geotransform(f, w->gt);
    w->projdef = sq25__strdup(w->ctx, sq25_field_projdef(f));
    return w->projdef ? SQ25_OK : SQ25_ERR_NOMEM;
}

/* /what, /where and /how from the first field (a clone gives a PROJ transform of our own). */
static int write_root_groups(sq25_odim_writer *w, const sq25_field *field)
{
    sq25_field *copy = NULL;
    int rc = sq25_field_clone(field, &copy);
    if (rc) return rc;
    sq25__h5_enter();
    int bad = write_root_what(w->fid, copy) | write_root_where(w->fid, copy) |
              write_root_how(w->fid);
    sq25__h5_leave();
    sq25_field_destroy(copy);
    return bad ? sq25__fail(w->ctx, SQ25_ERR_WRITE, "%s: cannot write /what, /where or /how",
                            w->path)
               : SQ25_OK;
}

static int check_addable(sq25_odim_writer *w, const sq25_field *field, const char *quantity)
{
    if (!field || !quantity || !quantity[0])
        return sq25__fail(w->ctx, SQ25_ERR_INVALID_ARG, "sq25_odim_writer_add: NULL argument");
    if (w->failed)
        return sq25__fail(w->ctx, SQ25_ERR_WRITE, "%s: an earlier write failed", w->path);
    double gt[6];
    sq25_field_geotransform(field, gt);
    if (gt[2] != 0 || gt[4] != 0 || gt[1] <= 0 || gt[5] >= 0)
        return sq25__fail(w->ctx, SQ25_ERR_UNSUPPORTED,
                          "%s: ODIM needs a north-up grid (geotransform without rotation, "
                          "row 0 north)",
                          w->path);
    if (w->datasets > 0 && !same_grid(w, field))
        return sq25__fail(w->ctx, SQ25_ERR_GRID_MISMATCH,
                          "%s: dataset%d: the field's grid differs from dataset1's", w->path,
                          w->datasets + 1);
    return SQ25_OK;
}

int sq25_odim_writer_add(sq25_odim_writer *w, const sq25_field *field, const char *quantity,
                         int64_t start_time, int64_t end_time)
{
    if (!w) return SQ25_ERR_INVALID_ARG;
    int rc = check_addable(w, field, quantity);
    if (rc) return rc; /* a refused field leaves the file as it was: close still commits */
    if (w->datasets == 0) {
        rc = remember_grid(w, field);
        if (!rc) rc = write_root_groups(w, field);
        if (rc) {
            w->failed = true;
            return rc;
        }
    }
    int n = w->datasets + 1;
    errno = 0; /* what the file system says, if a write fails (disk full, file too large) */
    sq25__h5_enter();
    int bad = make_dataset_groups(w->fid, n) ||
              write_dataset_what(w->fid, n, quantity, start_time, end_time);
    const int data_rc = bad ? SQ25_ERR_WRITE : write_data_array(w, n, field);
    sq25__h5_leave();
    const int write_errno = errno;
    if (data_rc == SQ25_ERR_NOMEM) {
        w->failed = true;
        return sq25__fail(w->ctx, SQ25_ERR_NOMEM, "%s: dataset%d: out of memory", w->path, n);
    }
    if (data_rc) {
        w->failed = true;
        return sq25__fail(w->ctx, SQ25_ERR_WRITE, "%s: cannot write dataset%d%s%s", w->path, n,
                          write_errno ? ": " : "", write_errno ? strerror(write_errno) : "");
    }
    w->datasets = n;
    return sq25__ok(w->ctx);
}

int sq25_odim_writer_close(sq25_odim_writer *w)
{
    if (!w) return SQ25_OK;
    sq25_ctx *ctx = w->ctx;
    bool failed = w->failed;
    if (w->fid >= 0) {
        sq25__h5_enter();
        if (H5Fclose(w->fid) < 0) failed = true;
        sq25__h5_leave();
    }
    int rc = SQ25_OK;
    if (!failed && w->datasets == 0) {
        sq25__output_abort(ctx, &w->out);
        rc = sq25__fail(ctx, SQ25_ERR_NO_DATA,
                        "%s: no dataset was added; nothing written (a previous file is kept)",
                        w->path);
    } else if (failed) {
        /* The temporary goes; a previous file at path is untouched. */
        sq25__output_abort(ctx, &w->out);
        rc = sq25__fail(ctx, SQ25_ERR_WRITE,
                        "%s: writing failed; nothing written (a previous file is kept)", w->path);
    } else {
        rc = sq25__output_commit(ctx, &w->out);
    }
    sq25__free(ctx, w->coded);
    sq25__free(ctx, w->shuffled);
    sq25__free(ctx, w->packed);
    sq25__free(ctx, w->projdef);
    sq25__free(ctx, w->path);
    sq25__free(ctx, w);
    return rc ? rc : sq25__ok(ctx);
}

void sq25_odim_writer_discard(sq25_odim_writer *w)
{
    if (!w) return;
    sq25_ctx *ctx = w->ctx;
    char detail[SQ25_ERRMSG_CAP];
    snprintf(detail, sizeof detail, "%s", sq25_errmsg(ctx));
    int code = sq25_errcode(ctx);
    w->failed = true;
    sq25_odim_writer_close(w);
    /* The caller's last error stays the one that made it discard. */
    if (code) sq25__fail(ctx, code, "%s", detail);
    else sq25__ok(ctx);
}

int sq25_odim_writer_set_compression(sq25_odim_writer *w, int deflate_level)
{
    if (!w) return SQ25_ERR_INVALID_ARG;
    if (deflate_level < 0 || deflate_level > 9)
        return sq25__fail(w->ctx, SQ25_ERR_RANGE,
                          "%s: deflate level %d outside 0 (none) .. 9", w->path, deflate_level);
    w->deflate_level = deflate_level;
    return sq25__ok(w->ctx);
}

int sq25_write_odim(sq25_ctx *ctx, const char *path, const sq25_field *field)
{
    if (!ctx) return SQ25_ERR_INVALID_ARG;
    if (!field) return sq25__fail(ctx, SQ25_ERR_INVALID_ARG, "sq25_write_odim: NULL field");
    sq25_odim_writer *w = NULL;
    int rc = sq25_odim_writer_create(ctx, path, &w);
    if (rc) return rc;
    int64_t end = sq25_field_valid_time(field);
    rc = sq25_odim_writer_add(w, field, "RATE", end - sq25_field_accumulation_s(field), end);
    if (rc) {
        char detail[SQ25_ERRMSG_CAP];
        snprintf(detail, sizeof detail, "%s", sq25_errmsg(ctx));
        w->failed = true;
        sq25_odim_writer_close(w);
        return sq25__fail(ctx, rc, "%s", detail);
    }
    return sq25_odim_writer_close(w);
}

int sq25_odim_writer_set_how(sq25_odim_writer *w, const char *name, const char *value)
{
    if (!w) return SQ25_ERR_INVALID_ARG;
    if (!name || !name[0] || strchr(name, '/') || !value || w->datasets == 0)
        return sq25__fail(w->ctx, SQ25_ERR_INVALID_ARG,
                          "sq25_odim_writer_set_how: needs a name without '/', a value, and a "
                          "dataset added first");
    if (w->failed)
        return sq25__fail(w->ctx, SQ25_ERR_WRITE, "%s: an earlier write failed", w->path);
    sq25__h5_enter();
    hid_t g = H5Gopen2(w->fid, "how", H5P_DEFAULT);
    int bad = g < 0 || (H5Aexists(g, name) > 0 && H5Adelete(g, name) < 0) ||
              attr_string(g, name, value) != 0;
    if (g >= 0) H5Gclose(g);
    sq25__h5_leave();
    if (bad) {
        w->failed = true;
        return sq25__fail(w->ctx, SQ25_ERR_WRITE, "%s: cannot write /how/%s", w->path, name);
    }
    return sq25__ok(w->ctx);
}
