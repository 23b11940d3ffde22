/* fuzz_lists.c -- the option lists of the CLI (bin/cli.c): warning levels "A,B,C" and
 * calibration maps "raw:p,raw:p", parsed and handed to the warning options' setters as
 * `sq25 run --levels/--calibration` does. The first byte chooses the list. */
#include "fuzz_common.h"

#include "cli.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 4096) return 0;
    char *text = fuzz_string(data + 1, size - 1);
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_warn_options *wo = NULL;
    if (sq25_warn_options_create(ctx, &wo) == SQ25_OK) {
        double a[SQ25_WARN_MAX_CALIBRATION + 1], b[SQ25_WARN_MAX_CALIBRATION + 1];
        if (data[0] & 1) {
            int n = cli_parse_number_list(text, a, SQ25_WARN_MAX_LEVELS);
            if (n > SQ25_WARN_MAX_LEVELS) abort();
            if (n >= 0) sq25_warn_options_set_levels(wo, n, a, NULL);
        } else {
            int n = cli_parse_pair_list(text, a, b, SQ25_WARN_MAX_CALIBRATION);
            if (n > SQ25_WARN_MAX_CALIBRATION) abort();
            if (n >= 0) sq25_warn_options_set_calibration(wo, n, a, b);
        }
    }
    sq25_warn_options_destroy(wo);
    sq25_ctx_destroy(ctx);
    free(text);
    return 0;
}
