/* fuzz_text.c -- the text parsers that take a string: times (sq25_time_parse, formatted back
 * and parsed again: the same time), grid specs (sq25_grid_parse, cell counts bounded by a
 * small limit), motion method names. The first byte chooses the parser. */
#include "fuzz_common.h"

static void time_round_trip(const char *text)
{
    int64_t t = 0, back = 0;
    if (sq25_time_parse(text, &t) != SQ25_OK) return;
    char buf[32];
    sq25_time_format(t, buf, sizeof buf);
    if (sq25_time_parse(buf, &back) != SQ25_OK || back != t) abort(); /* must round-trip */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 4096) return 0;
    char *text = fuzz_string(data + 1, size - 1);
    int method = 0;
    switch (data[0] % 3) {
    case 0: time_round_trip(text); break;
    case 1: {
        sq25_ctx *ctx = sq25_ctx_create();
        sq25_ctx_set_limit(ctx, SQ25_LIMIT_GRID_CELLS, 1 << 16);
        sq25_field *g = NULL;
        sq25_grid_parse(ctx, text, 0, &g);
        sq25_field_destroy(g);
        sq25_ctx_destroy(ctx);
        break;
    }
    default: sq25_motion_method_from_name(text, &method); break;
    }
    free(text);
    return 0;
}
