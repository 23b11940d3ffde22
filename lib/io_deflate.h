/* io_deflate.h -- the raw DEFLATE encoder of the ODIM writer's level 1 (io_deflate.c). Not API.
 *
 * The streams are plain RFC 1951 deflate, decoded by any inflater (zlib, HDF5's deflate
 * filter, libdeflate). A piece that is not the last of its stream ends byte-aligned and not
 * final (an empty stored block, as zlib's Z_SYNC_FLUSH ends), so that pieces made apart
 * concatenate into one stream; the last piece's last block is final and ends on a byte. */
#ifndef SQ25_IO_DEFLATE_H
#define SQ25_IO_DEFLATE_H

#include <stdbool.h>
#include <stddef.h>

/* Bytes that sq25__deflate_rle and sq25__deflate_stored may write for len input bytes. */
size_t sq25__deflate_bound(size_t len);

/* in[0, len) with run-length matches (distance 1, parsed as zlib's Z_RLE strategy parses)
 * and literals, in dynamic Huffman blocks, or stored blocks where those are smaller; written
 * at out (cap bytes). Returns the bytes written, 0 if cap is below sq25__deflate_bound(len). */
size_t sq25__deflate_rle(const unsigned char *in, size_t len, bool final, unsigned char *out,
                         size_t cap);

/* in[0, len) in stored blocks (no compression), framed as sq25__deflate_rle frames. */
size_t sq25__deflate_stored(const unsigned char *in, size_t len, bool final, unsigned char *out,
                            size_t cap);

#endif
