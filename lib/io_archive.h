/* io_archive.h -- internal: whole files in memory, gzip (zlib) and bzip2 (libbz2) unpacking,
 * tar member lists; used by the RADOLAN and ESRI ASCII readers (io_radolan.c). Not API. */
#ifndef SQ25_IO_ARCHIVE_H
#define SQ25_IO_ARCHIVE_H

#include "internal.h"

#include <stddef.h>
#include <stdint.h>

/* Largest file read into memory and largest unpacked size accepted (bytes). */
#define SQ25__MAX_PACKED_BYTES ((size_t)512 << 20)
#ifndef SQ25__MAX_UNPACKED_BYTES /* the fuzz build lowers it to stay inside libFuzzer's RSS limit */
#define SQ25__MAX_UNPACKED_BYTES ((size_t)1 << 30)
#endif
#define SQ25__MAX_MEMBERS 4096

/* One product inside an unpacked file: a tar member, or the whole content. */
typedef struct {
    char name[128];     /* tar member name, or the file's base name without .gz/.bz2 */
    size_t offset, size; /* within the unpacked buffer */
} sq25__member;

/* A file read and unpacked: gzip and bzip2 layers removed, tar members listed (regular
 * files only, sorted by name). Owned by the context's cache (see sq25__unpack). */
typedef struct {
    char path[1024];
    int64_t mtime_ns, file_size;
    unsigned char *data;
    size_t size;
    sq25__member *members;
    int count;
    char layers[64]; /* "gzip", "bzip2+tar", "" ... for the conversion text */
} sq25__unpacked;

/* First bytes of a file (up to cap), for format sniffing; returns the count or -1. */
long sq25__peek_file(const char *path, unsigned char *buf, size_t cap);
/* True when the bytes start a gzip stream, a bzip2 stream or a tar archive. */
bool sq25__is_gzip(const unsigned char *b, size_t n);
bool sq25__is_bzip2(const unsigned char *b, size_t n);
bool sq25__is_tar(const unsigned char *b, size_t n);

/* Read and unpack path. The result belongs to ctx (one file is cached, so reading frame
 * after frame of one archive unpacks it once); valid until the next sq25__unpack on ctx or
 * the context's end. Errors: FILE_NOT_FOUND, PERMISSION, FILE_EMPTY, SIZE_ABSURD, READ,
 * SQ25_ERR_UNPACK (corrupt or truncated compressed data). */
int sq25__unpack(sq25_ctx *ctx, const char *path, const sq25__unpacked **out);
/* Unpack a buffer in memory (the fuzz harnesses use this). New object: free with
 * sq25__unpacked_free. */
int sq25__unpack_memory(sq25_ctx *ctx, const char *name, const unsigned char *data, size_t n,
                        sq25__unpacked **out);
void sq25__unpacked_free(sq25_ctx *ctx, sq25__unpacked *u);
/* Release the context's cached unpacked file (sq25_ctx_destroy calls it). */
void sq25__unpack_cache_release(sq25_ctx *ctx);

#endif
