/* fuzz_cf_time.c -- libFuzzer harness for the CF text parsers of lib/io_cf_time.c and
 * lib/io_cf.c: time units "<unit> since <date>[zone]" and durations ("5 minutes", "PT5M"),
 * which come straight from file attributes. Seeds: tests/fuzz/corpus/cf_time/. */
#include "io_cf.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char text[256];
    size_t n = size < sizeof text - 1 ? size : sizeof text - 1;
    memcpy(text, data, n);
    text[n] = '\0';
    double unit_s = 0, origin = 0;
    if (sq25__cf_parse_time_units(text, &unit_s, &origin) == 0 &&
        (!(unit_s > 0) || !isfinite(origin)))
        abort(); /* a parsed unit must be positive and the origin finite */
    double d = sq25__cf_duration_s(text);
    if (!(d >= 0 && d <= CF_MAX_INTERVAL_S)) abort();
    return 0;
}
