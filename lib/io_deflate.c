/* io_deflate.c -- raw DEFLATE (RFC 1951) of byte-shuffled rasters for the ODIM writer's
 * level 1 (the real-time default). The parse is zlib's Z_RLE one (greedy: a byte equal to the
 * one before it starts a match of distance 1 when at least 3 such bytes follow, up to 258),
 * cut into blocks of BLOCK_SYMBOLS symbols as zlib's level 1 cuts them, each coded with its
 * own length-limited Huffman codes, or stored where that is smaller.
 *
 * Why not zlib itself: on the 14 shuffled datasets of the demo's forecast.h5 (radar leads:
 * runs of 0 and of the nodata code between the wet cells' random low bytes) zlib's Z_RLE
 * spent 80 ms, a quarter of the whole cycle, about 6 CPU cycles per input byte even inside
 * runs; libdeflate's level 1 to 4 took as long (85-90 ms). Here a run is measured eight bytes
 * at a time and a literal costs a table look-up, so the same streams take a fraction of that
 * and come out about as long (each block has the codes zlib's would have, near enough). */
#include "io_deflate.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK_SYMBOLS 16383   /* symbols per block: zlib's at memLevel 8 (lit_bufsize - 1) */
#define MIN_MATCH 3
#define MAX_MATCH 258
#define LITLEN_CODES 286      /* 0..255 literals, 256 end of block, 257..285 lengths */
#define END_OF_BLOCK 256
#define MAX_CODE_BITS 15      /* RFC 1951 3.2.7: literal/length and distance codes */
#define CL_CODES 19           /* code-length alphabet */
#define CL_MAX_BITS 7
#define STORED_MAX 65535      /* bytes per stored block */

/* RFC 1951 3.2.5: first length of each length code 257..285 and its extra bits. */
static const uint16_t length_base[29] = {3,  4,  5,  6,  7,  8,  9,  10,  11,  13,
                                         15, 17, 19, 23, 27, 31, 35, 43,  51,  59,
                                         67, 83, 99, 115, 131, 163, 195, 227, 258};
static const uint8_t length_extra[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                                         2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
/* RFC 1951 3.2.7: the order in which the code-length code's lengths are sent. */
static const uint8_t cl_order[CL_CODES] = {16, 17, 18, 0, 8,  7, 9,  6, 10, 5,
                                           11, 4,  12, 3, 13, 2, 14, 1, 15};

/* ---- bits, least significant first (RFC 1951 3.1.1) ---- */
typedef struct {
    unsigned char *p, *end;
    uint64_t buf;   /* pending bits, the oldest in bit 0 */
    int n;          /* pending bit count, < 32 between calls */
} bit_writer;

/* n <= 32 bits; the caller has checked the room (whole blocks are checked before writing). */
static inline void put_bits(bit_writer *w, uint64_t bits, int n)
{
    w->buf |= bits << w->n;
    w->n += n;
    if (w->n >= 32) {
        w->p[0] = (unsigned char)w->buf;
        w->p[1] = (unsigned char)(w->buf >> 8);
        w->p[2] = (unsigned char)(w->buf >> 16);
        w->p[3] = (unsigned char)(w->buf >> 24);
        w->p += 4;
        w->buf >>= 32;
        w->n -= 32;
    }
}

/* Pad with zero bits to a byte boundary and write out every pending byte. */
static void align_bytes(bit_writer *w)
{
    put_bits(w, 0, (8 - (w->n & 7)) & 7);
    while (w->n > 0) {
        *w->p++ = (unsigned char)w->buf;
        w->buf >>= 8;
        w->n -= 8;
    }
    w->buf = 0;
    w->n = 0;
}

/* Whether `bits` more bits (and a final byte alignment) fit. */
static bool room_for(const bit_writer *w, uint64_t bits)
{
    return (uint64_t)(w->end - w->p) * 8 >= (uint64_t)w->n + bits + 8;
}

/* ---- Huffman code lengths ---- */

/* Keys freq << 9 | symbol (a block's frequencies are below 2^15, symbols below 2^9) sorted
 * ascending, so by frequency and then symbol: three passes of a byte-wise counting sort. */
static void sort_keys(uint32_t *key, uint32_t *tmp, int m)
{
    for (int shift = 0; shift < 24; shift += 8) {
        int count[257] = {0};
        for (int i = 0; i < m; i++) count[((key[i] >> shift) & 0xff) + 1]++;
        for (int b = 0; b < 256; b++) count[b + 1] += count[b];
        for (int i = 0; i < m; i++) tmp[count[(key[i] >> shift) & 0xff]++] = key[i];
        memcpy(key, tmp, (size_t)m * sizeof *key);
    }
}

/* Optimal code lengths of m >= 2 weights sorted ascending, in place (A[i] becomes the length
 * of the i-th): the in-place method of Moffat and Katajainen (1995), three passes over the
 * array (parents, internal depths, leaf depths). */
static void minimum_redundancy(uint32_t *A, int m)
{
    A[0] += A[1];
    int root = 0, leaf = 2;
    for (int next = 1; next < m - 1; next++) {
        if (leaf >= m || A[root] < A[leaf]) {
            A[next] = A[root];
            A[root++] = (uint32_t)next;
        } else {
            A[next] = A[leaf++];
        }
        if (leaf >= m || (root < next && A[root] < A[leaf])) {
            A[next] += A[root];
            A[root++] = (uint32_t)next;
        } else {
            A[next] += A[leaf++];
        }
    }
    A[m - 2] = 0;
    for (int next = m - 3; next >= 0; next--) A[next] = A[A[next]] + 1;
    int avail = 1, used = 0, depth = 0, next = m - 1;
    root = m - 2;
    while (avail > 0) {
        while (root >= 0 && (int)A[root] == depth) {
            used++;
            root--;
        }
        while (avail > used) {
            A[next--] = (uint32_t)depth;
            avail--;
        }
        avail = 2 * used;
        depth++;
        used = 0;
    }
}

/* Lengths (ascending-weight order) made to fit `limit` bits with the code still complete
 * (Kraft sum exactly 1, which zlib's inflate requires): the rarest codes under the limit are
 * lengthened until the sum is at most 1, then the longest codes shortened until it is 1. */
static void limit_lengths(uint32_t *len, int m, int limit)
{
    const uint64_t full = (uint64_t)1 << limit;
    uint64_t kraft = 0;
    for (int i = 0; i < m; i++) {
        if (len[i] > (uint32_t)limit) len[i] = (uint32_t)limit;
        kraft += (uint64_t)1 << (limit - (int)len[i]);
    }
    while (kraft > full) {
        int i = 0; /* m <= 286 codes at the limit sum to far less than 1: one is shorter */
        while (len[i] >= (uint32_t)limit) i++;
        kraft -= (uint64_t)1 << (limit - (int)len[i] - 1);
        len[i]++;
    }
    while (kraft < full) {
        int longest = m - 1; /* the most frequent of the longest (the last in the order) */
        for (int i = m - 1; i >= 0; i--)
            if (len[i] > len[longest]) longest = i;
        kraft += (uint64_t)1 << (limit - (int)len[longest]);
        len[longest]--;
    }
}

/* Code lengths for symbols [0, n) of freq (0 for unused symbols), at most limit bits, a
 * complete code; a lone used symbol gets a partner of length 1. */
static void code_lengths(const uint32_t *freq, int n, int limit, uint8_t *lengths)
{
    uint32_t key[LITLEN_CODES], tmp[LITLEN_CODES];
    int m = 0;
    memset(lengths, 0, (size_t)n);
    for (int s = 0; s < n; s++)
        if (freq[s]) key[m++] = freq[s] << 9 | (uint32_t)s;
    if (m == 0) return;
    if (m == 1) {
        const int s = (int)(key[0] & 0x1ff);
        lengths[s] = 1;
        lengths[s == 0 ? 1 : 0] = 1;
        return;
    }
    sort_keys(key, tmp, m);
    uint32_t len[LITLEN_CODES];
    for (int i = 0; i < m; i++) len[i] = key[i] >> 9;
    minimum_redundancy(len, m);
    limit_lengths(len, m, limit);
    for (int i = 0; i < m; i++) lengths[key[i] & 0x1ff] = (uint8_t)len[i];
}

/* Canonical codes (RFC 1951 3.2.2), bit-reversed for writing least significant bit first. */
static void canonical_codes(const uint8_t *lengths, int n, uint16_t *codes)
{
    int count[MAX_CODE_BITS + 1] = {0};
    for (int s = 0; s < n; s++) count[lengths[s]]++;
    count[0] = 0;
    uint32_t next[MAX_CODE_BITS + 1];
    uint32_t code = 0;
    for (int b = 1; b <= MAX_CODE_BITS; b++) {
        code = (code + (uint32_t)count[b - 1]) << 1;
        next[b] = code;
    }
    for (int s = 0; s < n; s++) {
        const int len = lengths[s];
        if (!len) continue;
        uint32_t c = next[len]++; /* its len bits reversed: swap halves down to single bits */
        c = (c & 0x5555u) << 1 | (c >> 1 & 0x5555u);
        c = (c & 0x3333u) << 2 | (c >> 2 & 0x3333u);
        c = (c & 0x0f0fu) << 4 | (c >> 4 & 0x0f0fu);
        c = (c & 0x00ffu) << 8 | (c >> 8 & 0x00ffu);
        codes[s] = (uint16_t)(c >> (16 - len));
    }
}

/* ---- the parse ---- */

/* Bytes from p (at most MAX_MATCH, not past end) equal to b. */
static inline size_t run_length(const unsigned char *p, const unsigned char *end, unsigned char b)
{
    const size_t max = (size_t)(end - p) < MAX_MATCH ? (size_t)(end - p) : MAX_MATCH;
    size_t k = 0;
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    const uint64_t pattern = 0x0101010101010101ull * b;
    for (; k + 8 <= max; k += 8) {
        uint64_t word;
        memcpy(&word, p + k, sizeof word);
        const uint64_t differ = word ^ pattern;
        if (differ) return k + (size_t)(__builtin_ctzll(differ) >> 3);
    }
#endif
    while (k < max && p[k] == b) k++;
    return k;
}

/* One block's symbols: literals 0..255, matches 256 + (length - 3). */
typedef struct {
    uint16_t sym[BLOCK_SYMBOLS];
    int n;
    uint32_t lit_freq[END_OF_BLOCK + 1];     /* literals and the end of block */
    uint32_t match_freq[MAX_MATCH + 1];      /* by match length */
} block;

/* Symbols from in[*pos] on, until the block is full or the input ends. */
static void parse_block(const unsigned char *in, size_t len, size_t *pos, block *b)
{
    memset(b->lit_freq, 0, sizeof b->lit_freq);
    memset(b->match_freq, 0, sizeof b->match_freq);
    size_t i = *pos;
    int n = 0;
    const unsigned char *end = in + len;
    unsigned prev = i > 0 ? in[i - 1] : 256u; /* 256: the piece's first byte has none */
    while (n < BLOCK_SYMBOLS && i < len) {
        const unsigned c = in[i];
        if (c == prev) {
            const size_t run = run_length(in + i, end, (unsigned char)c);
            if (run >= MIN_MATCH) {
                b->sym[n++] = (uint16_t)(256 + run - MIN_MATCH);
                b->match_freq[run]++;
                i += run;
                continue;
            }
        }
        b->sym[n++] = (uint16_t)c;
        b->lit_freq[c]++;
        prev = c;
        i++;
    }
    b->lit_freq[END_OF_BLOCK] = 1;
    b->n = n;
    *pos = i;
}

/* The length code (0..28: symbol 257 + that) of a match length 3..258: the last whose base
 * is at most the length (258 has code 28 of its own; 227..257 are code 27's). */
static int length_code(int length)
{
    int c = 28;
    while (length_base[c] > length) c--;
    return c;
}

/* ---- one dynamic block ---- */

typedef struct {
    uint8_t lit_len[LITLEN_CODES];
    uint16_t lit_code[LITLEN_CODES];
    int hlit;                            /* literal/length codes sent (257..286) */
    uint8_t cl_len[CL_CODES];
    uint16_t cl_code[CL_CODES];
    int hclen;                           /* code-length codes sent (4..19) */
    uint8_t cl_sym[LITLEN_CODES + 2];    /* the code lengths, run-length coded */
    uint8_t cl_extra[LITLEN_CODES + 2];
    int n_cl;
    /* every symbol of the parse (literal 0..255, match 256 + length - 3) as the bits it is
     * written with: a match's length code, extra bits and distance code in one; one table
     * lookup per symbol, no branch between literals and matches */
    uint32_t sym_bits[256 + MAX_MATCH - MIN_MATCH + 1];
    uint8_t sym_nbits[256 + MAX_MATCH - MIN_MATCH + 1];
    uint64_t bits;                       /* the whole block, header included */
} dynamic_code;

/* The code lengths (literal/length, then the two distance codes of length 1: distance 1 is
 * the only one used, and a complete two-code tree suits every inflater) run-length coded
 * with the code-length alphabet's 16 (repeat 3-6), 17 (zeros 3-10) and 18 (zeros 11-138). */
static void code_the_lengths(dynamic_code *c, uint32_t *cl_freq)
{
    uint8_t all[LITLEN_CODES + 2];
    memcpy(all, c->lit_len, (size_t)c->hlit);
    all[c->hlit] = all[c->hlit + 1] = 1;
    const int total = c->hlit + 2;
    int n = 0;
    for (int i = 0; i < total;) {
        const uint8_t v = all[i];
        int run = 1;
        while (i + run < total && all[i + run] == v) run++;
        i += run;
        if (v == 0) {
            for (; run >= 11; ) {
                const int r = run < 138 ? run : 138;
                c->cl_sym[n] = 18, c->cl_extra[n++] = (uint8_t)(r - 11);
                run -= r;
            }
            if (run >= 3) c->cl_sym[n] = 17, c->cl_extra[n++] = (uint8_t)(run - 3), run = 0;
        } else {
            c->cl_sym[n] = v, c->cl_extra[n++] = 0;
            run--;
            for (; run >= 3; ) {
                const int r = run < 6 ? run : 6;
                c->cl_sym[n] = 16, c->cl_extra[n++] = (uint8_t)(r - 3);
                run -= r;
            }
        }
        for (; run > 0; run--) c->cl_sym[n] = v, c->cl_extra[n++] = 0;
    }
    c->n_cl = n;
    for (int k = 0; k < n; k++) cl_freq[c->cl_sym[k]]++;
}

/* Codes of a block and its length in bits. */
static void build_dynamic(const block *b, dynamic_code *c)
{
    uint32_t freq[LITLEN_CODES] = {0};
    memcpy(freq, b->lit_freq, sizeof b->lit_freq);
    uint64_t extra_bits = 0;
    for (int len = MIN_MATCH; len <= MAX_MATCH; len++) {
        if (!b->match_freq[len]) continue;
        const int lc = length_code(len);
        freq[257 + lc] += b->match_freq[len];
        extra_bits += (uint64_t)b->match_freq[len] * (length_extra[lc] + 1u); /* + distance */
    }
    code_lengths(freq, LITLEN_CODES, MAX_CODE_BITS, c->lit_len);
    canonical_codes(c->lit_len, LITLEN_CODES, c->lit_code);
    c->hlit = LITLEN_CODES;
    while (c->hlit > 257 && c->lit_len[c->hlit - 1] == 0) c->hlit--;
    uint32_t cl_freq[CL_CODES] = {0};
    code_the_lengths(c, cl_freq);
    code_lengths(cl_freq, CL_CODES, CL_MAX_BITS, c->cl_len);
    canonical_codes(c->cl_len, CL_CODES, c->cl_code);
    c->hclen = CL_CODES;
    while (c->hclen > 4 && c->cl_len[cl_order[c->hclen - 1]] == 0) c->hclen--;
    uint64_t bits = 3 + 5 + 5 + 4 + 3 * (uint64_t)c->hclen + extra_bits;
    for (int k = 0; k < c->n_cl; k++) {
        const int s = c->cl_sym[k];
        bits += c->cl_len[s] + (s == 16 ? 2u : s == 17 ? 3u : s == 18 ? 7u : 0u);
    }
    for (int s = 0; s < LITLEN_CODES; s++) bits += (uint64_t)freq[s] * c->lit_len[s];
    c->bits = bits;
    for (int s = 0; s < 256; s++) {
        c->sym_bits[s] = c->lit_code[s];
        c->sym_nbits[s] = c->lit_len[s];
    }
    for (int len = MIN_MATCH; len <= MAX_MATCH; len++) {
        if (!b->match_freq[len]) continue;
        const int lc = length_code(len), nl = c->lit_len[257 + lc];
        /* distance 1 is distance code 0, whose canonical code of length 1 is the bit 0 */
        c->sym_bits[256 + len - MIN_MATCH] =
            c->lit_code[257 + lc] | (uint32_t)(len - length_base[lc]) << nl;
        c->sym_nbits[256 + len - MIN_MATCH] = (uint8_t)(nl + length_extra[lc] + 1);
    }
}

static void write_dynamic(bit_writer *w, const block *b, const dynamic_code *c, bool final)
{
    put_bits(w, final ? 1u : 0u, 1);
    put_bits(w, 2, 2); /* BTYPE 10: dynamic Huffman codes */
    put_bits(w, (uint64_t)(c->hlit - 257), 5);
    put_bits(w, 1, 5); /* HDIST: two distance codes */
    put_bits(w, (uint64_t)(c->hclen - 4), 4);
    for (int k = 0; k < c->hclen; k++) put_bits(w, c->cl_len[cl_order[k]], 3);
    for (int k = 0; k < c->n_cl; k++) {
        const int s = c->cl_sym[k];
        put_bits(w, c->cl_code[s], c->cl_len[s]);
        if (s >= 16) put_bits(w, c->cl_extra[k], s == 16 ? 2 : s == 17 ? 3 : 7);
    }
    for (int k = 0; k < b->n; k++) put_bits(w, c->sym_bits[b->sym[k]], c->sym_nbits[b->sym[k]]);
    put_bits(w, c->lit_code[END_OF_BLOCK], c->lit_len[END_OF_BLOCK]);
}

/* ---- stored blocks ---- */

/* Upper bound of the bits of in[0, len) as stored blocks from any bit position: each block
 * of at most STORED_MAX bytes takes 3 header bits, at most 7 to the byte boundary and 4
 * bytes of lengths (under 6 bytes). */
static uint64_t stored_bits(size_t len)
{
    const size_t blocks = len == 0 ? 1 : (len + STORED_MAX - 1) / STORED_MAX;
    return 8 * ((uint64_t)len + 6 * (uint64_t)blocks);
}

static void write_stored(bit_writer *w, const unsigned char *in, size_t len, bool final)
{
    size_t at = 0;
    do {
        const size_t n = len - at < STORED_MAX ? len - at : STORED_MAX;
        const bool last = at + n == len;
        put_bits(w, final && last ? 1u : 0u, 1);
        put_bits(w, 0, 2); /* BTYPE 00: stored */
        align_bytes(w);
        w->p[0] = (unsigned char)n;
        w->p[1] = (unsigned char)(n >> 8);
        w->p[2] = (unsigned char)~n;
        w->p[3] = (unsigned char)(~n >> 8);
        if (n) memcpy(w->p + 4, in + at, n);
        w->p += 4 + n;
        at += n;
    } while (at < len);
}

/* ---- streams ---- */

size_t sq25__deflate_bound(size_t len)
{
    /* blocks of BLOCK_SYMBOLS symbols (each covers at least one byte), each at most its
     * stored form (stored_bits: a stored block per STORED_MAX bytes and one more per block),
     * then the closing empty stored block and the last byte */
    return len + 6 * (len / STORED_MAX + len / BLOCK_SYMBOLS + 2) + 16;
}

/* The closing of a piece: nothing more for the last one (its last block was final), an
 * empty stored block for the others (byte-aligned, as zlib's sync flush). */
static size_t finish(bit_writer *w, unsigned char *out, bool final, bool wrote_final)
{
    if (!final) write_stored(w, NULL, 0, false);
    else if (!wrote_final) write_stored(w, NULL, 0, true);
    align_bytes(w);
    return (size_t)(w->p - out);
}

size_t sq25__deflate_stored(const unsigned char *in, size_t len, bool final, unsigned char *out,
                            size_t cap)
{
    if (cap < sq25__deflate_bound(len)) return 0;
    bit_writer w = {out, out + cap, 0, 0};
    if (len > 0) write_stored(&w, in, len, final);
    return finish(&w, out, final, len > 0 && final);
}

size_t sq25__deflate_rle(const unsigned char *in, size_t len, bool final, unsigned char *out,
                         size_t cap)
{
    if (cap < sq25__deflate_bound(len)) return 0;
    bit_writer w = {out, out + cap, 0, 0};
    block *b = malloc(sizeof *b);
    dynamic_code *c = malloc(sizeof *c);
    size_t written = 0;
    if (b && c) {
        size_t pos = 0;
        bool wrote_final = false;
        while (pos < len) {
            const size_t start = pos;
            parse_block(in, len, &pos, b);
            const bool last = final && pos == len;
            build_dynamic(b, c);
            if (c->bits < stored_bits(pos - start) && room_for(&w, c->bits))
                write_dynamic(&w, b, c, last);
            else
                write_stored(&w, in + start, pos - start, last);
            wrote_final = last;
        }
        written = finish(&w, out, final, wrote_final);
    }
    free(b);
    free(c);
    return written;
}
