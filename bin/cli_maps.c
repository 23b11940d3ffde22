/* cli_maps.c -- pieces of the maps that `sq25 run` and `sq25 serve` both draw: the field put
 * on the street grid for a map, and the maps' credit line. */
#include "cli.h"

#include <stdio.h>

int cli_map_field(const sq25_field *f, const sq25_field *street, sq25_field **out)
{
    int rc = sq25_field_clone(street ? street : f, out);
    if (rc == SQ25_OK && street) {
        rc = sq25_resample(f, *out, SQ25_RESAMPLE_BILINEAR);
        sq25_field_set_valid_time(*out, sq25_field_valid_time(f));
    }
    return rc;
}

const char *cli_map_credit(const sq25_field *radar, const char *credit, char *buf, size_t cap)
{
    if (credit) return credit;
    const char *producer = radar ? sq25_field_meta(radar, SQ25_META_PRODUCER) : "";
    if (!producer[0]) return NULL;
    snprintf(buf, cap, "DATA: %.180s", producer);
    return buf;
}

int cli_map_lead_index(int minutes, int step_min, int n)
{
    int i = minutes / step_min - 1;
    return i >= n ? n - 1 : i < 0 ? 0 : i;
}
