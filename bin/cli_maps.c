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

/* The lead shown as "+minutes": that lead, or the nearest there is. */
static int lead_index(int minutes, int step_min, int n)
{
    int i = minutes / step_min - 1;
    return i >= n ? n - 1 : i < 0 ? 0 : i;
}

int cli_map_leads(int step_min, int n, int idx[2])
{
    if (step_min <= 0 || n <= 0) return 0;
    idx[0] = lead_index(30, step_min, n);
    idx[1] = lead_index(60, step_min, n);
    return idx[1] == idx[0] ? 1 : 2;
}

void cli_map_lead_names(int i, int step_min, char *title, size_t title_cap, char *name,
                        size_t name_cap)
{
    snprintf(title, title_cap, "Forecast +%d min rain rate mm/h", (i + 1) * step_min);
    snprintf(name, name_cap, "forecast_%02d.png", (i + 1) * step_min);
}

const sq25_field *cli_map_lead_field(const sq25_pipeline *p, int i, bool merged,
                                     const sq25_field *street, const sq25_field **grid)
{
    const sq25_field *on_street = sq25_pipeline_warn_forecast(p, i);
    if (merged || (street && on_street)) {
        *grid = NULL;
        return on_street;
    }
    *grid = street;
    return sq25_pipeline_forecast(p, i);
}
