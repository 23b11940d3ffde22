/* test_io_deflate.c -- the ODIM writer's level-1 deflate encoder (lib/io_deflate.c, internal).
 * Every stream is decoded by zlib's inflate (an independent decoder of RFC 1951) and must
 * give back the input byte for byte; pieces encoded apart must join into one stream. The
 * inputs are made here from their definitions (runs of chosen lengths, a linear
 * congruential generator, Fibonacci frequencies), never from the encoder's output. */
#include "support.h"

#include "io_deflate.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* Encode in[0, len) in pieces of `piece` bytes (the last one final), decode the joined
 * stream with zlib and compare. Returns the stream's length. */
static size_t round_trip(const unsigned char *in, size_t len, size_t piece, bool stored)
{
    const size_t pieces = len / piece + 1;
    const size_t cap = pieces * sq25__deflate_bound(piece);
    unsigned char *out = malloc(cap), *back = malloc(len + 1);
    assert_non_null(out);
    assert_non_null(back);
    size_t at = 0, used = 0;
    do {
        const size_t n = len - at < piece ? len - at : piece;
        const bool final = at + n == len;
        const size_t w = stored ? sq25__deflate_stored(in + at, n, final, out + used, cap - used)
                                : sq25__deflate_rle(in + at, n, final, out + used, cap - used);
        assert_true(w > 0);
        assert_true(w <= sq25__deflate_bound(n));
        used += w;
        at += n;
    } while (at < len);
    z_stream z;
    memset(&z, 0, sizeof z);
    assert_int_equal(inflateInit2(&z, -15), Z_OK);
    z.next_in = out;
    z.avail_in = (uInt)used;
    z.next_out = back;
    z.avail_out = (uInt)(len + 1);
    assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END); /* one final block, at the end */
    assert_int_equal(z.avail_in, 0);                        /* nothing after it */
    assert_int_equal(z.total_out, len);
    assert_memory_equal(back, in, len);
    inflateEnd(&z);
    free(out);
    free(back);
    return used;
}

static unsigned char *lcg_bytes(size_t n, uint32_t seed)
{
    unsigned char *b = malloc(n ? n : 1);
    assert_non_null(b);
    uint32_t x = seed; /* Numerical Recipes' x = 1664525 x + 1013904223 mod 2^32, high byte */
    for (size_t i = 0; i < n; i++) {
        x = 1664525u * x + 1013904223u;
        b[i] = (unsigned char)(x >> 24);
    }
    return b;
}

/* Empty input, and one to five bytes: a final piece is one final block; a piece that is not
 * the last closes with the empty stored block of a sync flush. */
static void test_tiny_inputs(void **state)
{
    (void)state;
    const unsigned char five[5] = {7, 7, 7, 7, 7};
    for (size_t n = 0; n <= 5; n++) {
        round_trip(five, n, 1, false);
        round_trip(five, n, 2, false);
        round_trip(five, n, 64, false);
        round_trip(five, n, 1, true);
    }
    unsigned char out[64];
    /* below the bound: refused, nothing written */
    assert_int_equal(sq25__deflate_rle(five, 5, true, out, sq25__deflate_bound(5) - 1), 0);
    assert_int_equal(sq25__deflate_stored(five, 5, true, out, sq25__deflate_bound(5) - 1), 0);
}

/* Runs of every length around the match limits (2, 3, 4; 257, 258, 259; 516, 517) between
 * single different bytes, and runs longer than a piece. */
static void test_runs(void **state)
{
    (void)state;
    enum { N = 200000 };
    unsigned char *b = malloc(N);
    assert_non_null(b);
    size_t n = 0;
    for (int len = 1; len <= 600 && n + len + 1 < N; len++) {
        memset(b + n, len & 0xff, (size_t)len);
        n += (size_t)len;
        b[n++] = (unsigned char)(len * 37 + 1);
    }
    round_trip(b, n, n, false);
    round_trip(b, n, 4096, false);
    memset(b, 0, N); /* one run: a literal, then matches of 258 */
    const size_t zeros = round_trip(b, N, N, false);
    /* 775 matches of 258 (and a shorter one): a few bits each and the block's codes */
    assert_true(zeros < 400);
    round_trip(b, N, 65536, false);
    free(b);
}

/* Random bytes: blocks whose Huffman codes do not beat storing them go stored; the stream
 * stays within the bound of its stored form. */
static void test_random_bytes(void **state)
{
    (void)state;
    const size_t n = 300000;
    unsigned char *b = lcg_bytes(n, 12345);
    const size_t coded = round_trip(b, n, 262144, false);
    assert_true(coded <= sq25__deflate_bound(262144) + sq25__deflate_bound(n - 262144));
    round_trip(b, n, 262144, true);
    round_trip(b, n, 1000, false);
    free(b);
}

/* A shuffled plane as the ODIM writer makes them: long runs (dry cells, nodata) with random
 * stretches between (wet cells' low mantissa bytes). */
static void test_runs_and_noise(void **state)
{
    (void)state;
    const size_t n = 700 * 700;
    unsigned char *noise = lcg_bytes(n, 99);
    unsigned char *b = malloc(n);
    assert_non_null(b);
    for (size_t i = 0; i < n; i++) {
        const size_t row = i / 700, col = i % 700;
        b[i] = row < 200 ? 0xcb : (col > 300 && col < 420) ? noise[i] : 0;
    }
    const size_t coded = round_trip(b, n, 262144, false);
    /* the 84 000 random bytes (stored at best about as long) and a little for the runs */
    assert_true(coded < 84000 + 84000 / 20 + 4000);
    free(noise);
    free(b);
}

/* One block whose byte counts are the Fibonacci numbers 1, 2, 3, 5, ..., 4181 (18 symbols,
 * 10 944 bytes, fewer than a block's 16 383 symbols) and no byte equal to the one before it
 * (no run, so every byte is a literal): with the end-of-block symbol (1) the weights are
 * Fibonacci's 1, 1, 2, 3, ..., whose optimal Huffman code is a chain 18 bits deep, so the
 * encoder must cut it to DEFLATE's 15 bits and keep it complete, or zlib rejects the
 * stream. */
static void test_deep_codes(void **state)
{
    (void)state;
    enum { SYMBOLS = 18 };
    size_t left[SYMBOLS] = {1, 2}, n = 0;
    for (int k = 2; k < SYMBOLS; k++) left[k] = left[k - 1] + left[k - 2];
    for (int k = 0; k < SYMBOLS; k++) n += left[k];
    assert_int_equal(n, 10944);
    unsigned char *b = malloc(n);
    assert_non_null(b);
    int prev = -1;
    for (size_t i = 0; i < n; i++) { /* the most left of those unlike the byte before */
        int best = -1;
        for (int k = 0; k < SYMBOLS; k++)
            if (left[k] && k != prev && (best < 0 || left[k] > left[best])) best = k;
        assert_true(best >= 0);
        left[best]--;
        b[i] = (unsigned char)(best * 9 + 1);
        prev = best;
    }
    const size_t coded = round_trip(b, n, n, false);
    assert_true(coded < n / 2); /* Huffman coded (about 2.6 bits a byte), not stored */
    round_trip(b, n, 4000, false);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tiny_inputs),
        cmocka_unit_test(test_runs),
        cmocka_unit_test(test_random_bytes),
        cmocka_unit_test(test_runs_and_noise),
        cmocka_unit_test(test_deep_codes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
