/* io_archive.c -- whole files in memory and their packing layers: gzip (zlib, all members),
 * bzip2 (libbz2, all streams) and tar (POSIX ustar and GNU; regular members only), as DWD
 * delivers RADOLAN, RADVOR and the ESRI ASCII grids. The last unpacked file is kept in the
 * context so that reading frame after frame of one archive unpacks it once. */
#include "io_archive.h"
#include "io.h"

#include <bzlib.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#define TAR_BLOCK 512

long sq25__peek_file(const char *path, unsigned char *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    size_t n = fread(buf, 1, cap, f);
    fclose(f);
    return (long)n;
}

bool sq25__is_gzip(const unsigned char *b, size_t n)
{
    return n >= 3 && b[0] == 0x1f && b[1] == 0x8b && b[2] == 8;
}

bool sq25__is_bzip2(const unsigned char *b, size_t n)
{
    return n >= 4 && b[0] == 'B' && b[1] == 'Z' && b[2] == 'h' && b[3] >= '1' && b[3] <= '9';
}

bool sq25__is_tar(const unsigned char *b, size_t n)
{
    return n >= TAR_BLOCK && memcmp(b + 257, "ustar", 5) == 0;
}

/* ---- growing output buffer ---- */
typedef struct {
    sq25_ctx *ctx;
    unsigned char *p;
    size_t used, cap;
    bool sniffed; /* the first bytes were found to be something the readers take */
} growbuf;

static bool is_hdf5(const unsigned char *b, size_t n)
{
    return n >= 8 && memcmp(b, "\x89HDF\r\n\x1a\n", 8) == 0;
}

/* Unpacked bytes must begin as something the readers take: another packed layer, a tar
 * archive, a RADOLAN product, an ESRI ASCII grid (or HDF5, which the DWD reader refuses with
 * advice). */
static bool known_content(const unsigned char *b, size_t n)
{
    return sq25__is_gzip(b, n) || sq25__is_bzip2(b, n) || sq25__is_tar(b, n) ||
           sq25__radolan_looks_like(b, n) || sq25__esri_looks_like(b, n) || is_hdf5(b, n);
}

static int grow_to(growbuf *g, size_t need, const char *name)
{
    if (need <= g->cap) return SQ25_OK;
    /* A stream that is none of those is refused after its first block, not unpacked whole:
     * 723 bytes of bzip2 made 1 GiB of zeros (10 s, 1 GB of memory) before being found to be
     * nothing. */
    if (!g->sniffed && g->used >= TAR_BLOCK) {
        if (!known_content(g->p, g->used))
            return sq25__fail(g->ctx, SQ25_ERR_FORMAT_UNKNOWN,
                              "%s: unpacks to data that is neither packed again, a tar "
                              "archive, a RADOLAN product nor an ESRI ASCII grid (first %zu "
                              "bytes)",
                              name, g->used);
        g->sniffed = true;
    }
    if (need > SQ25__MAX_UNPACKED_BYTES)
        return sq25__fail(g->ctx, SQ25_ERR_SIZE_ABSURD,
                          "%s: unpacks to more than %zu MiB (refused)", name,
                          SQ25__MAX_UNPACKED_BYTES >> 20);
    size_t cap = g->cap ? g->cap : 1 << 16;
    while (cap < need) cap = cap > SQ25__MAX_UNPACKED_BYTES / 2 ? SQ25__MAX_UNPACKED_BYTES : cap * 2;
    unsigned char *q = sq25__malloc(g->ctx, cap);
    if (!q) return SQ25_ERR_NOMEM;
    if (g->used) memcpy(q, g->p, g->used);
    sq25__free(g->ctx, g->p);
    g->p = q;
    g->cap = cap;
    return SQ25_OK;
}

/* ---- gzip ---- */
static int gunzip(sq25_ctx *ctx, const char *name, const unsigned char *in, size_t n,
                  growbuf *out)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
        return sq25__fail(ctx, SQ25_ERR_NOMEM, "%s: zlib cannot start", name);
    size_t pos = 0;
    int rc = SQ25_OK, z = Z_OK;
    while (rc == SQ25_OK) {
        if (out->cap - out->used < 1 << 16 && (rc = grow_to(out, out->used + (1 << 16) + n, name)))
            break;
        size_t chunk_in = n - pos > (1u << 30) ? (1u << 30) : n - pos;
        size_t chunk_out = out->cap - out->used > (1u << 30) ? (1u << 30) : out->cap - out->used;
        zs.next_in = (unsigned char *)(uintptr_t)(in + pos);
        zs.avail_in = (uInt)chunk_in;
        zs.next_out = out->p + out->used;
        zs.avail_out = (uInt)chunk_out;
        z = inflate(&zs, Z_NO_FLUSH);
        pos += chunk_in - zs.avail_in;
        out->used += chunk_out - zs.avail_out;
        if (z == Z_STREAM_END) {
            if (pos < n && sq25__is_gzip(in + pos, n - pos)) { /* another member */
                inflateReset(&zs);
                continue;
            }
            break;
        }
        if (z != Z_OK && !(z == Z_BUF_ERROR && zs.avail_out == 0))
            rc = sq25__fail(ctx, SQ25_ERR_UNPACK, "%s: gzip data are corrupt (%s)", name,
                            zs.msg ? zs.msg : "zlib error");
        else if (pos == n && zs.avail_out != 0)
            rc = sq25__fail(ctx, SQ25_ERR_UNPACK,
                            "%s: gzip data end early (file truncated?)", name);
    }
    inflateEnd(&zs);
    return rc;
}

/* ---- bzip2 ---- */
static int bunzip2(sq25_ctx *ctx, const char *name, const unsigned char *in, size_t n,
                   growbuf *out)
{
    bz_stream bs;
    memset(&bs, 0, sizeof bs);
    if (BZ2_bzDecompressInit(&bs, 0, 0) != BZ_OK)
        return sq25__fail(ctx, SQ25_ERR_NOMEM, "%s: libbz2 cannot start", name);
    size_t pos = 0;
    int rc = SQ25_OK;
    while (rc == SQ25_OK) {
        if (out->cap - out->used < 1 << 16 &&
            (rc = grow_to(out, out->used + (1 << 16) + 4 * n, name)))
            break;
        size_t chunk_in = n - pos > (1u << 30) ? (1u << 30) : n - pos;
        size_t chunk_out = out->cap - out->used > (1u << 30) ? (1u << 30) : out->cap - out->used;
        bs.next_in = (char *)(uintptr_t)(in + pos);
        bs.avail_in = (unsigned)chunk_in;
        bs.next_out = (char *)(out->p + out->used);
        bs.avail_out = (unsigned)chunk_out;
        int b = BZ2_bzDecompress(&bs);
        pos += chunk_in - bs.avail_in;
        out->used += chunk_out - bs.avail_out;
        if (b == BZ_STREAM_END) {
            if (pos < n && sq25__is_bzip2(in + pos, n - pos)) { /* concatenated stream */
                BZ2_bzDecompressEnd(&bs);
                memset(&bs, 0, sizeof bs);
                if (BZ2_bzDecompressInit(&bs, 0, 0) != BZ_OK)
                    return sq25__fail(ctx, SQ25_ERR_NOMEM, "%s: libbz2 cannot restart", name);
                continue;
            }
            break;
        }
        if (b != BZ_OK)
            rc = sq25__fail(ctx, SQ25_ERR_UNPACK, "%s: bzip2 data are corrupt (libbz2 code %d)",
                            name, b);
        else if (pos == n && bs.avail_out != 0)
            rc = sq25__fail(ctx, SQ25_ERR_UNPACK,
                            "%s: bzip2 data end early (file truncated?)", name);
    }
    BZ2_bzDecompressEnd(&bs);
    return rc;
}

/* ---- tar ---- */
static bool tar_checksum_ok(const unsigned char *h)
{
    unsigned long sum = 0, stated = 0;
    for (int i = 0; i < TAR_BLOCK; i++) sum += (i >= 148 && i < 156) ? ' ' : h[i];
    for (int i = 148; i < 156 && h[i]; i++) {
        if (h[i] == ' ') continue;
        if (h[i] < '0' || h[i] > '7') return false;
        stated = stated * 8 + (unsigned long)(h[i] - '0');
    }
    return sum == stated;
}

/* Member size: octal text, or GNU base-256 (high bit set). -1 when unreadable. */
static long long tar_size(const unsigned char *f)
{
    long long v = 0;
    if (f[0] & 0x80) {
        for (int i = 1; i < 12; i++) {
            if (v > (1LL << 52)) return -1;
            v = v * 256 + f[i];
        }
        return v;
    }
    int i = 0;
    while (i < 12 && f[i] == ' ') i++;
    for (; i < 12 && f[i] >= '0' && f[i] <= '7'; i++) v = v * 8 + (f[i] - '0');
    return v;
}

static bool all_zero(const unsigned char *b)
{
    for (int i = 0; i < TAR_BLOCK; i++)
        if (b[i]) return false;
    return true;
}

static int member_cmp(const void *a, const void *b)
{
    return strcmp(((const sq25__member *)a)->name, ((const sq25__member *)b)->name);
}

static int list_tar(sq25_ctx *ctx, const char *name, sq25__unpacked *u)
{
    int cap = 0;
    size_t pos = 0;
    while (pos + TAR_BLOCK <= u->size && !all_zero(u->data + pos)) {
        const unsigned char *h = u->data + pos;
        long long size = tar_size(h + 124);
        if (!tar_checksum_ok(h) || size < 0)
            return sq25__fail(ctx, SQ25_ERR_UNPACK,
                              "%s: tar header at byte %zu is damaged (bad checksum or size)",
                              name, pos);
        size_t data_at = pos + TAR_BLOCK;
        if ((unsigned long long)size > u->size - data_at)
            return sq25__fail(ctx, SQ25_ERR_FILE_TRUNCATED,
                              "%s: tar member at byte %zu is cut short (%lld bytes stated)",
                              name, pos, size);
        char type = (char)h[156];
        if (type == '0' || type == '\0') {
            if (u->count >= SQ25__MAX_MEMBERS)
                return sq25__fail(ctx, SQ25_ERR_SIZE_ABSURD, "%s: more than %d tar members",
                                  name, SQ25__MAX_MEMBERS);
            if (u->count == cap) {
                int ncap = cap ? cap * 2 : 32;
                sq25__member *m = sq25__malloc(ctx, (size_t)ncap * sizeof *m);
                if (!m) return SQ25_ERR_NOMEM;
                if (u->count) memcpy(m, u->members, (size_t)u->count * sizeof *m);
                sq25__free(ctx, u->members);
                u->members = m;
                cap = ncap;
            }
            sq25__member *m = &u->members[u->count++];
            char prefix[156] = "", base[101];
            if (memcmp(h + 257, "ustar", 5) == 0) memcpy(prefix, h + 345, 155);
            memcpy(base, h, 100);
            base[100] = '\0';
            prefix[155] = '\0';
            size_t plen = strlen(prefix), blen = strlen(base);
            if (plen + 1 + blen >= sizeof m->name)
                return sq25__fail(ctx, SQ25_ERR_UNPACK, "%s: tar member name too long at byte %zu",
                                  name, pos);
            memcpy(m->name, prefix, plen);
            if (plen) m->name[plen++] = '/';
            memcpy(m->name + plen, base, blen + 1);
            m->offset = data_at;
            m->size = (size_t)size;
        }
        pos = data_at + (((size_t)size + TAR_BLOCK - 1) / TAR_BLOCK) * TAR_BLOCK;
    }
    if (u->count == 0)
        return sq25__fail(ctx, SQ25_ERR_UNPACK, "%s: tar archive holds no regular file", name);
    qsort(u->members, (size_t)u->count, sizeof *u->members, member_cmp);
    return SQ25_OK;
}

/* ---- layers ---- */
static void add_layer(sq25__unpacked *u, const char *layer)
{
    size_t used = strlen(u->layers);
    snprintf(u->layers + used, sizeof u->layers - used, "%s%s", used ? "+" : "", layer);
}

/* The base name of path without a .gz/.bz2/.tgz suffix. */
static void single_member_name(const char *name, char *out, size_t cap)
{
    const char *base = strrchr(name, '/');
    base = base ? base + 1 : name;
    snprintf(out, cap, "%s", base);
    size_t len = strlen(out);
    if (len > 3 && strcmp(out + len - 3, ".gz") == 0) out[len - 3] = '\0';
    else if (len > 4 && strcmp(out + len - 4, ".bz2") == 0) out[len - 4] = '\0';
}

static int unpack_layers(sq25_ctx *ctx, const char *name, unsigned char *data, size_t n,
                         sq25__unpacked *u)
{
    u->data = data;
    u->size = n;
    for (int layer = 0; layer < 3; layer++) {
        bool gz = sq25__is_gzip(u->data, u->size), bz = sq25__is_bzip2(u->data, u->size);
        if (!gz && !bz) break;
        growbuf g = {ctx, NULL, 0, 0, false};
        int rc = gz ? gunzip(ctx, name, u->data, u->size, &g)
                    : bunzip2(ctx, name, u->data, u->size, &g);
        sq25__free(ctx, u->data);
        u->data = g.p;
        u->size = g.used;
        if (rc) return rc;
        add_layer(u, gz ? "gzip" : "bzip2");
    }
    if (u->size == 0) return sq25__fail(ctx, SQ25_ERR_FILE_EMPTY, "%s: unpacks to 0 bytes", name);
    if (sq25__is_tar(u->data, u->size)) {
        add_layer(u, "tar");
        return list_tar(ctx, name, u);
    }
    u->members = sq25__malloc(ctx, sizeof *u->members);
    if (!u->members) return SQ25_ERR_NOMEM;
    u->count = 1;
    single_member_name(name, u->members[0].name, sizeof u->members[0].name);
    u->members[0].offset = 0;
    u->members[0].size = u->size;
    return SQ25_OK;
}

void sq25__unpacked_free(sq25_ctx *ctx, sq25__unpacked *u)
{
    if (!u) return;
    sq25__free(ctx, u->data);
    sq25__free(ctx, u->members);
    sq25__free(ctx, u);
}

int sq25__unpack_memory(sq25_ctx *ctx, const char *name, const unsigned char *data, size_t n,
                        sq25__unpacked **out)
{
    *out = NULL;
    sq25__unpacked *u = sq25__calloc(ctx, 1, sizeof *u);
    unsigned char *copy = n ? sq25__malloc(ctx, n) : NULL;
    if (!u || (n && !copy)) {
        sq25__free(ctx, u);
        sq25__free(ctx, copy);
        return SQ25_ERR_NOMEM;
    }
    if (n) memcpy(copy, data, n);
    snprintf(u->path, sizeof u->path, "%s", name);
    int rc = n ? unpack_layers(ctx, name, copy, n, u)
               : sq25__fail(ctx, SQ25_ERR_FILE_EMPTY, "%s: 0 bytes", name);
    if (rc) {
        sq25__unpacked_free(ctx, u);
        return rc;
    }
    *out = u;
    return SQ25_OK;
}

static int read_whole_file(sq25_ctx *ctx, const char *path, const struct stat *st,
                           unsigned char **data)
{
    size_t n = (size_t)st->st_size;
    FILE *f = fopen(path, "rb");
    if (!f)
        return sq25__fail(ctx, errno == EACCES ? SQ25_ERR_PERMISSION : SQ25_ERR_READ,
                          "%s: cannot open: %s", path, strerror(errno));
    *data = sq25__malloc(ctx, n);
    size_t got = *data ? fread(*data, 1, n, f) : 0;
    fclose(f);
    if (!*data) return SQ25_ERR_NOMEM;
    if (got != n) {
        sq25__free(ctx, *data);
        *data = NULL;
        return sq25__fail(ctx, SQ25_ERR_READ, "%s: read %zu of %zu bytes", path, got, n);
    }
    return SQ25_OK;
}

void sq25__unpack_cache_release(sq25_ctx *ctx)
{
    if (!ctx || !ctx->unpack_cache) return;
    sq25__unpacked_free(ctx, ctx->unpack_cache);
    ctx->unpack_cache = NULL;
}

int sq25__unpack(sq25_ctx *ctx, const char *path, const sq25__unpacked **out)
{
    *out = NULL;
    struct stat st;
    if (stat(path, &st) != 0)
        return sq25__fail(ctx, errno == EACCES ? SQ25_ERR_PERMISSION : SQ25_ERR_FILE_NOT_FOUND,
                          "%s: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return sq25__fail(ctx, SQ25_ERR_READ, "%s: is a directory", path);
    if (st.st_size == 0) return sq25__fail(ctx, SQ25_ERR_FILE_EMPTY, "%s: file is empty (0 bytes)", path);
    if ((unsigned long long)st.st_size > SQ25__MAX_PACKED_BYTES)
        return sq25__fail(ctx, SQ25_ERR_SIZE_ABSURD, "%s: %lld bytes (more than %zu MiB)", path,
                          (long long)st.st_size, SQ25__MAX_PACKED_BYTES >> 20);
    int64_t mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    sq25__unpacked *c = ctx->unpack_cache;
    if (c && strcmp(c->path, path) == 0 && c->mtime_ns == mtime_ns &&
        c->file_size == (int64_t)st.st_size) {
        *out = c;
        return SQ25_OK;
    }
    sq25__unpack_cache_release(ctx);
    unsigned char *data = NULL;
    int rc = read_whole_file(ctx, path, &st, &data);
    if (rc) return rc;
    sq25__unpacked *u = sq25__calloc(ctx, 1, sizeof *u);
    if (!u) {
        sq25__free(ctx, data);
        return SQ25_ERR_NOMEM;
    }
    snprintf(u->path, sizeof u->path, "%s", path);
    u->mtime_ns = mtime_ns;
    u->file_size = (int64_t)st.st_size;
    rc = unpack_layers(ctx, path, data, (size_t)st.st_size, u);
    if (rc) {
        sq25__unpacked_free(ctx, u);
        return rc;
    }
    ctx->unpack_cache = u;
    *out = u;
    return SQ25_OK;
}
