/* pipeline_links.c -- microwave links in the pipeline cycle: the pushed window of processed
 * path rain, the radar averaged along every path at each pushed frame (kept for the
 * alignment), and the merged analysis of links and point sensors together with line support
 * (links_merge.c). Called from the sensor part of the cycle (pipeline_sensors.c). */
#include "links_merge.h"
#include "interp_internal.h"
#include "pipeline_internal.h"
#include "sensors.h"

#include <math.h>
#include <string.h>

/* Path discretisation (metres between points, at most 64 per path), as `sq25 interpolate`. */
#define LINK_SPACING_M 250.0

struct sq25__plinks {
    sq25_ctx *ctx;
    sq25_series *rain; /* path rain per link, mm per step; NULL: no links */
    double *lonlat;    /* end points, 4 per link */
    sq25__radar_ring ring; /* radar along each path, as the point sensors' */
};

int sq25__plinks_create(sq25_ctx *ctx, sq25__plinks **out)
{
    *out = sq25__calloc(ctx, 1, sizeof **out);
    if (!*out) return SQ25_ERR_NOMEM;
    (*out)->ctx = ctx;
    return SQ25_OK;
}

void sq25__plinks_reset(sq25__plinks *pl)
{
    if (pl) sq25__radar_ring_clear(pl->ctx, &pl->ring);
}

void sq25__plinks_destroy(sq25__plinks *pl)
{
    if (!pl) return;
    sq25__plinks_reset(pl);
    sq25_series_destroy(pl->rain);
    sq25__free(pl->ctx, pl->lonlat);
    sq25__free(pl->ctx, pl);
}

bool sq25__plinks_active(const sq25__plinks *pl) { return pl && pl->rain; }

int sq25__plinks_on_frame(sq25__plinks *pl, const sq25_field *frame)
{
    if (!sq25__plinks_active(pl)) return SQ25_OK;
    size_t n = (size_t)pl->rain->n_stations;
    double *mmh = sq25__malloc(pl->ctx, (n + 1) * sizeof(double));
    if (!mmh) return SQ25_ERR_NOMEM;
    int rc = sq25__lines_field_mean(pl->ctx, frame, n, pl->lonlat, LINK_SPACING_M, mmh);
    if (rc) {
        sq25__free(pl->ctx, mmh);
        return rc;
    }
    sq25__radar_ring_push(pl->ctx, &pl->ring, frame->valid_time, mmh);
    return SQ25_OK;
}

int sq25_pipeline_push_links(sq25_pipeline *p, const sq25_series *rain, const double *lonlat)
{
    if (!p) return SQ25_ERR_INVALID_ARG;
    sq25_ctx *ctx = sq25__pipeline_ctx(p);
    sq25__plinks *pl = sq25__psens_links(sq25__pipeline_psens(p));
    if (rain && !lonlat)
        return sq25__fail(ctx, SQ25_ERR_INVALID_ARG, "sq25_pipeline_push_links: no end points");
    sq25_series *copy = NULL;
    double *ll = NULL;
    size_t bytes = rain ? 4 * (size_t)rain->n_stations * sizeof(double) : 0;
    if (rain) {
        int rc = sq25_series_window(rain, INT64_MIN, INT64_MAX, &copy);
        if (rc) return rc;
        ll = sq25__malloc(ctx, bytes + sizeof(double));
        if (!ll) {
            sq25_series_destroy(copy);
            return SQ25_ERR_NOMEM;
        }
        memcpy(ll, lonlat, bytes);
    }
    bool same_paths = rain && pl->rain && pl->rain->n_stations == rain->n_stations &&
                      memcmp(pl->lonlat, ll, bytes) == 0;
    sq25_series_destroy(pl->rain);
    sq25__free(ctx, pl->lonlat);
    pl->rain = copy, pl->lonlat = ll;
    if (same_paths) return sq25__ok(ctx);
    /* new paths: the radar along them from the frames the pipeline holds */
    sq25__plinks_reset(pl);
    const sq25_field *const *frames = NULL;
    int n = sq25__pipeline_held_frames(p, &frames);
    for (int i = 0; rain && i < n; i++) {
        int rc = sq25__plinks_on_frame(pl, frames[i]);
        if (rc) return rc;
    }
    return sq25__ok(ctx);
}

/* The links' values and radar over their interval ending at t, after the ng point sensors in
 * the arrays (ll: 4 per sensor). */
static int link_values(const sq25__plinks *pl, const sq25__psens_cycle *c, int stamp,
                       int lag_s, size_t ng, double *ll, double *z, double *r)
{
    const sq25_series *s = pl->rain;
    size_t nl = (size_t)s->n_stations;
    int radar_s = 1, len_s = 0;
    int rc = sq25__alignment_interval(pl->ctx, "link", c, s->step_s, &len_s, &radar_s);
    if (rc) return rc;
    int64_t t = c->latest->valid_time;
    int valid = sq25__series_rates(s, stamp, lag_s, t, len_s, z + ng);
    int frames = sq25__radar_ring_mean(&pl->ring, t, len_s, nl, r + ng);
    memcpy(ll + 4 * ng, pl->lonlat, 4 * nl * sizeof(double));
    if (c->quiet) return SQ25_OK;
    char when[32];
    sq25__format_utc(t, when, sizeof when);
    if (valid <= 0)
        sq25__log(pl->ctx, SQ25_LOG_WARNING, "links: no value for the %d s ending %s", len_s, when);
    else if (frames < len_s / radar_s)
        sq25__log(pl->ctx, SQ25_LOG_WARNING, "links: %d of %d radar frames of the %d s ending %s held",
                  frames, len_s / radar_s, len_s, when);
    return SQ25_OK;
}

int sq25__plinks_analysis(const sq25__plinks *pl, sq25_merge_options *mo,
                          const sq25__psens_cycle *c, int stamp, int lag_s, size_t ng,
                          const double *lon, const double *lat, const double *zg,
                          const double *rg, sq25_field *analysis, sq25_merge_info *info)
{
    size_t n = ng + (size_t)pl->rain->n_stations;
    double *ll = sq25__malloc(pl->ctx, (4 * n + 4) * sizeof(double));
    double *z = sq25__malloc(pl->ctx, (n + 1) * sizeof(double));
    double *r = sq25__malloc(pl->ctx, (n + 1) * sizeof(double));
    int rc = ll && z && r ? SQ25_OK : SQ25_ERR_NOMEM;
    for (size_t i = 0; !rc && i < ng; i++) {
        ll[4 * i] = ll[4 * i + 2] = lon[i], ll[4 * i + 1] = ll[4 * i + 3] = lat[i];
        z[i] = zg[i], r[i] = rg[i];
    }
    if (!rc) rc = link_values(pl, c, stamp, lag_s, ng, ll, z, r);
    if (!rc) rc = sq25__merge_lines(pl->ctx, mo, c->latest, n, ll, z, r, LINK_SPACING_M, analysis, info);
    sq25__free(pl->ctx, ll), sq25__free(pl->ctx, z), sq25__free(pl->ctx, r);
    return rc;
}
