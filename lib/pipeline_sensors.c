/* pipeline_sensors.c -- sensors in the pipeline cycle: the pushed series window (QC'd once per
 * push), radar-sensor alignment over the comparison interval, the merged analysis, and the
 * forecast that advects it. The correction (merged analysis minus the radar background) is
 * extrapolated with the radar motion on the target grid and added to the radar-only leads:
 * rain keeps entering from the radar beyond a small street grid, and where the correction is
 * 0 (no sensor near) every lead is the radar-only lead bit for bit. */
#include "pipeline_internal.h"
#include "interp_internal.h"
#include "sensors.h"
#include "spatial.h"
#include "warn_internal.h"

#include <math.h>
#include <string.h>

#define MAX_LAG_S 86400

struct sq25__psens {
    sq25_ctx *ctx;
    sq25_merge_options *merge;
    sq25_qc_options *qc;
    int qc_enabled;
    int stamp, lag_s;
    sq25_series *window; /* as used: QC'd when QC is on */
    sq25__radar_ring ring; /* radar at the stations, for the alignment */
    /* results of the last run */
    sq25_field *analysis;
    sq25_field **street; /* radar-only street leads handed over by the pipeline */
    sq25_field **merged; /* merged leads */
    int n_leads;
    sq25_merge_info info;
    int merged_ok;
    sq25__plinks *links; /* microwave links (pipeline_links.c) */
};

int sq25__psens_create(sq25_ctx *ctx, sq25__psens **out)
{
    sq25__psens *ps = sq25__calloc(ctx, 1, sizeof *ps);
    if (!ps) return SQ25_ERR_NOMEM;
    ps->ctx = ctx;
    ps->qc_enabled = 1;
    int rc = sq25_merge_options_create(ctx, &ps->merge);
    if (!rc) rc = sq25_qc_options_create(ctx, &ps->qc);
    if (!rc) rc = sq25__plinks_create(ctx, &ps->links);
    if (rc) {
        sq25__psens_destroy(ps);
        return rc;
    }
    *out = ps;
    return SQ25_OK;
}

static void free_leads(sq25_ctx *ctx, sq25_field ***leads, int n)
{
    for (int i = 0; *leads && i < n; i++) sq25_field_destroy((*leads)[i]);
    sq25__free(ctx, *leads);
    *leads = NULL;
}

void sq25__psens_drop_run(sq25__psens *ps)
{
    if (!ps) return;
    sq25_field_destroy(ps->analysis);
    ps->analysis = NULL;
    free_leads(ps->ctx, &ps->street, ps->n_leads);
    free_leads(ps->ctx, &ps->merged, ps->n_leads);
    ps->n_leads = 0;
    ps->merged_ok = 0;
}

void sq25__psens_reset(sq25__psens *ps)
{
    if (!ps) return;
    sq25__psens_drop_run(ps);
    sq25__radar_ring_clear(ps->ctx, &ps->ring);
}

void sq25__psens_destroy(sq25__psens *ps)
{
    if (!ps) return;
    sq25__psens_reset(ps);
    sq25_series_destroy(ps->window);
    sq25_merge_options_destroy(ps->merge);
    sq25_qc_options_destroy(ps->qc);
    sq25__plinks_destroy(ps->links);
    sq25__free(ps->ctx, ps);
}

sq25__plinks *sq25__psens_links(const sq25__psens *ps) { return ps ? ps->links : NULL; }

int sq25__psens_on_frame(sq25__psens *ps, const sq25_field *frame)
{
    int lrc = ps ? sq25__plinks_on_frame(ps->links, frame) : SQ25_OK;
    if (lrc) return lrc;
    if (!ps || !ps->window) return SQ25_OK;
    int n = ps->window->n_stations;
    double *mmh = sq25__malloc(ps->ctx, (size_t)n * sizeof(double));
    if (!mmh) return SQ25_ERR_NOMEM;
    int rc = sq25__radar_at_points(ps->ctx, frame, (size_t)n, ps->window->lon, sizeof(double),
                                   ps->window->lat, sizeof(double), mmh);
    if (rc) {
        sq25__free(ps->ctx, mmh);
        return rc;
    }
    sq25__radar_ring_push(ps->ctx, &ps->ring, frame->valid_time, mmh);
    return SQ25_OK;
}

void sq25__radar_ring_push(sq25_ctx *ctx, sq25__radar_ring *ring, int64_t t, double *mmh)
{
    if (ring->n == SQ25__RADAR_RING_CAP) {
        sq25__free(ctx, ring->at[0].mmh);
        memmove(ring->at, ring->at + 1, (SQ25__RADAR_RING_CAP - 1) * sizeof ring->at[0]);
        ring->n--;
    }
    ring->at[ring->n].valid_time = t;
    ring->at[ring->n++].mmh = mmh;
}

void sq25__radar_ring_clear(sq25_ctx *ctx, sq25__radar_ring *ring)
{
    for (int i = 0; i < ring->n; i++) sq25__free(ctx, ring->at[i].mmh);
    ring->n = 0;
}

int sq25__radar_ring_mean(const sq25__radar_ring *ring, int64_t end, int len_s, size_t n,
                          double *mmh)
{
    int used = 0;
    for (size_t i = 0; i < n; i++) mmh[i] = 0;
    for (int e = 0; e < ring->n; e++) {
        if (ring->at[e].valid_time <= end - len_s || ring->at[e].valid_time > end) continue;
        for (size_t i = 0; i < n; i++) mmh[i] += ring->at[e].mmh[i];
        used++;
    }
    for (size_t i = 0; i < n; i++) mmh[i] = used ? mmh[i] / used : NAN;
    return used;
}

/* ---- the public sensor functions of the pipeline ---------------------------------------- */

static bool same_stations(const sq25_series *a, const sq25_series *b)
{
    if (!a || !b || a->n_stations != b->n_stations) return false;
    for (int i = 0; i < a->n_stations; i++)
        if (memcmp(&a->lon[i], &b->lon[i], sizeof(double)) != 0 ||
            memcmp(&a->lat[i], &b->lat[i], sizeof(double)) != 0)
            return false;
    return true;
}

/* The window as the runs use it: a copy, with QC's rejected values removed when QC is on. */
static int prepare_window(sq25__psens *ps, const sq25_series *window, sq25_series **out)
{
    int rc = sq25_series_window(window, INT64_MIN, INT64_MAX, out);
    if (rc || !ps->qc_enabled) return rc;
    sq25_qc_result *qc = NULL;
    sq25_series *clean = NULL;
    rc = sq25_qc_run(*out, ps->qc, &qc);
    if (!rc)
        rc = ps->qc_enabled == 2 ? sq25_qc_apply_corrected(*out, qc, SQ25_QC_REJECT, &clean)
                                 : sq25_qc_apply(*out, qc, SQ25_QC_REJECT, &clean);
    sq25_qc_result_destroy(qc);
    sq25_series_destroy(*out);
    *out = clean;
    return rc;
}

int sq25_pipeline_push_sensors(sq25_pipeline *p, const sq25_series *window)
{
    if (!p) return SQ25_ERR_INVALID_ARG;
    sq25__psens *ps = sq25__pipeline_psens(p);
    sq25_series *use = NULL;
    if (window) {
        int rc = prepare_window(ps, window, &use);
        if (rc) return rc;
    }
    bool keep_ring = same_stations(use, ps->window);
    sq25_series_destroy(ps->window);
    ps->window = use;
    if (keep_ring) return sq25__ok(ps->ctx);
    /* New stations: sample the held frames again at the new positions. */
    sq25__psens_reset(ps);
    const sq25_field *const *frames = NULL;
    int n = sq25__pipeline_held_frames(p, &frames);
    for (int i = 0; use && i < n; i++) {
        int rc = sq25__psens_on_frame(ps, frames[i]);
        if (rc) return rc;
    }
    return sq25__ok(ps->ctx);
}

sq25_merge_options *sq25_pipeline_merge_options(sq25_pipeline *p)
{
    return p ? sq25__pipeline_psens(p)->merge : NULL;
}

void sq25_pipeline_set_sensor_qc(sq25_pipeline *p, int enabled)
{
    if (p) sq25__pipeline_psens(p)->qc_enabled = enabled == 2 ? 2 : enabled != 0;
}

sq25_qc_options *sq25_pipeline_qc_options(sq25_pipeline *p)
{
    return p ? sq25__pipeline_psens(p)->qc : NULL;
}

int sq25_pipeline_set_sensor_alignment(sq25_pipeline *p, int stamp, int lag_s)
{
    if (!p) return SQ25_ERR_INVALID_ARG;
    sq25__psens *ps = sq25__pipeline_psens(p);
    if ((stamp != SQ25_STAMP_END && stamp != SQ25_STAMP_START) || lag_s < -MAX_LAG_S ||
        lag_s > MAX_LAG_S)
        return sq25__fail(ps->ctx, SQ25_ERR_RANGE, "sensor stamp %d or lag %d s not allowed",
                          stamp, lag_s);
    ps->stamp = stamp;
    ps->lag_s = lag_s;
    return sq25__ok(ps->ctx);
}

const sq25_field *sq25_pipeline_analysis(const sq25_pipeline *p)
{
    return p ? sq25__pipeline_psens(p)->analysis : NULL;
}

int sq25_pipeline_warn_forecast_count(const sq25_pipeline *p)
{
    if (!p) return 0;
    const sq25__psens *ps = sq25__pipeline_psens(p);
    return ps->merged || ps->street ? ps->n_leads : sq25_pipeline_forecast_count(p);
}

const sq25_field *sq25_pipeline_warn_forecast(const sq25_pipeline *p, int i)
{
    if (!p) return NULL;
    const sq25__psens *ps = sq25__pipeline_psens(p);
    if (!ps->merged && !ps->street) return sq25_pipeline_forecast(p, i);
    if (i < 0 || i >= ps->n_leads) return NULL;
    return ps->merged ? ps->merged[i] : ps->street[i];
}

int sq25_pipeline_merge_info(const sq25_pipeline *p, sq25_merge_info *info)
{
    if (!p || !info) return SQ25_ERR_INVALID_ARG;
    const sq25__psens *ps = sq25__pipeline_psens(p);
    *info = ps->info;
    if (!ps->merged_ok) {
        info->radar_only = 1;
        return SQ25_ERR_NO_DATA;
    }
    return SQ25_OK;
}

/* ---- alignment --------------------------------------------------------------------------- */

int sq25__series_rates(const sq25_series *s, int stamp, int lag_s, int64_t end, int len_s,
                       double *mmh)
{
    int64_t shift = (int64_t)lag_s + (stamp == SQ25_STAMP_START ? s->step_s : 0);
    int parts = len_s / s->step_s;
    int64_t last = sq25_series_step_at(s, end - shift);
    for (int i = 0; i < s->n_stations; i++) mmh[i] = NAN;
    if (last < 0 || last - parts + 1 < 0) return -1;
    int valid = 0;
    for (int i = 0; i < s->n_stations; i++) {
        double sum = 0;
        for (int k = 0; k < parts; k++)
            sum += s->values[(size_t)i * (size_t)s->n_steps + (size_t)(last - k)];
        mmh[i] = sum * 3600.0 / len_s;
        valid += isfinite(mmh[i]);
    }
    return valid;
}

/* The pushed window's rates (mm/h) over (end - len, end], with the pipeline's stamp and lag. */
static int sensor_rates(const sq25__psens *ps, int64_t end, int len_s, double *mmh)
{
    return sq25__series_rates(ps->window, ps->stamp, ps->lag_s, end, len_s, mmh);
}

/* Radar at the stations (mm/h) averaged over the frames that end in (end - len, end]. */
static int radar_rates(const sq25__psens *ps, int64_t end, int len_s, int n, double *mmh)
{
    return sq25__radar_ring_mean(&ps->ring, end, len_s, (size_t)n, mmh);
}

int sq25__alignment_interval(sq25_ctx *ctx, const char *what, const sq25__psens_cycle *c,
                             int step_s, int *len_s, int *radar_s)
{
    int radar = c->latest->accumulation_s > 0 ? c->latest->accumulation_s : c->step_s;
    int len = radar > step_s ? radar : step_s;
    if (len % radar || len % step_s)
        return sq25__fail(ctx, SQ25_ERR_ALIGNMENT,
                          "%s step %d s and radar interval %d s: neither divides the other",
                          what, step_s, radar);
    *len_s = len;
    *radar_s = radar;
    return SQ25_OK;
}

/* The point sensors' comparison interval (sq25__alignment_interval). */
static int comparison_interval(sq25__psens *ps, const sq25__psens_cycle *c, int *len_s,
                               int *radar_len_s)
{
    return sq25__alignment_interval(ps->ctx, "sensor", c, ps->window->step_s, len_s, radar_len_s);
}

/* ---- the motion on the target grid ------------------------------------------------------ */

/* Street pixels moved by one radar pixel along its columns (a) and rows (b), at the street
 * grid's centre: the local linear map between the two grids through PROJ. */
static int pixel_map(sq25_ctx *ctx, const sq25_field *radar, const sq25_field *street,
                     double m[4])
{
    PJ *to_radar = sq25__proj_between(ctx, street->projdef, radar->projdef);
    if (!to_radar) return sq25_errcode(ctx);
    const double *gs = street->gt, *gr = radar->gt;
    double sx = gs[0] + 0.5 * street->width * gs[1] + 0.5 * street->height * gs[2];
    double sy = gs[3] + 0.5 * street->width * gs[4] + 0.5 * street->height * gs[5];
    PJ_COORD q = proj_trans(to_radar, PJ_FWD, proj_coord(sx, sy, 0, 0));
    double det_s = gs[1] * gs[5] - gs[2] * gs[4];
    int rc = SQ25_OK;
    for (int axis = 0; axis < 2 && !rc; axis++) {
        double dx = axis == 0 ? gr[1] : gr[2], dy = axis == 0 ? gr[4] : gr[5];
        PJ_COORD e = proj_trans(to_radar, PJ_INV, proj_coord(q.xy.x + dx, q.xy.y + dy, 0, 0));
        double ex = e.xy.x - sx, ey = e.xy.y - sy;
        if (!isfinite(ex) || !isfinite(ey) || e.xy.x == HUGE_VAL) {
            rc = sq25__fail(ctx, SQ25_ERR_PROJ, "cannot map the motion onto the street grid");
            break;
        }
        m[axis] = (gs[5] * ex - gs[2] * ey) / det_s;      /* street columns */
        m[2 + axis] = (-gs[4] * ex + gs[1] * ey) / det_s; /* street rows */
    }
    proj_destroy(to_radar);
    return rc;
}

/* The radar motion (radar pixels per step) as street pixels per step on the street grid:
 * each component resampled bilinearly, then mapped; 0 outside the radar grid. */
static int motion_on_street(sq25_ctx *ctx, const sq25__psens_cycle *c, float *us, float *vs)
{
    const sq25_field *street = c->street_grid;
    size_t cells = (size_t)street->width * (size_t)street->height;
    size_t rcells = (size_t)c->latest->width * (size_t)c->latest->height;
    sq25_field *comp = NULL, *onto_u = NULL, *onto_v = NULL;
    double m[4];
    int rc = pixel_map(ctx, c->latest, street, m);
    if (!rc) rc = sq25__field_clone_shape(c->latest, &comp);
    if (!rc) rc = sq25__field_clone_shape(street, &onto_u);
    if (!rc) rc = sq25__field_clone_shape(street, &onto_v);
    if (!rc) {
        memcpy(comp->data, c->u, rcells * sizeof(float));
        rc = sq25_resample(comp, onto_u, SQ25_RESAMPLE_BILINEAR);
    }
    if (!rc) {
        memcpy(comp->data, c->v, rcells * sizeof(float));
        rc = sq25_resample(comp, onto_v, SQ25_RESAMPLE_BILINEAR);
    }
    for (size_t i = 0; !rc && i < cells; i++) {
        double a = onto_u->data[i], b = onto_v->data[i];
        if (!isfinite(a) || !isfinite(b)) a = b = 0;
        us[i] = (float)(m[0] * a + m[1] * b);
        vs[i] = (float)(m[2] * a + m[3] * b);
    }
    sq25_field_destroy(comp), sq25_field_destroy(onto_u), sq25_field_destroy(onto_v);
    return rc;
}

/* ---- the run ----------------------------------------------------------------------------- */

/* Merged leads: the radar-only leads plus the extrapolated correction (0 where it came from
 * outside the grid); clipped at 0 where a correction was added. */
static int advect_correction(sq25__psens *ps, const sq25__psens_cycle *c, const sq25_field *corr,
                             const float *u, const float *v)
{
    sq25_field **moved = sq25__calloc(ps->ctx, (size_t)c->n_leads, sizeof *moved);
    ps->merged = sq25__calloc(ps->ctx, (size_t)c->n_leads, sizeof *ps->merged);
    if (!moved || !ps->merged) {
        sq25__free(ps->ctx, moved);
        return SQ25_ERR_NOMEM;
    }
    int rc = sq25_extrapolate(ps->ctx, corr, u, v, c->step_s, c->n_leads, c->substeps, moved);
    size_t cells = (size_t)corr->width * (size_t)corr->height;
    for (int k = 0; !rc && k < c->n_leads; k++) {
        rc = sq25_field_clone(c->radar_leads[k], &ps->merged[k]);
        float *out = rc ? NULL : ps->merged[k]->data;
        for (size_t i = 0; out && i < cells; i++) {
            float d = moved[k]->data[i];
            if (!(d == d) || d == 0.0f) continue; /* NaN (from outside) or no correction */
            float f = out[i] + d;
            out[i] = f < 0 ? 0.0f : f;
        }
    }
    for (int k = 0; k < c->n_leads; k++) sq25_field_destroy(moved[k]);
    sq25__free(ps->ctx, moved);
    return rc;
}

/* The correction field: merged analysis minus the radar background, 0 where either is NaN. */
static int correction_field(const sq25__psens_cycle *c, const sq25_field *analysis,
                            sq25_field **out)
{
    int rc = sq25__field_clone_shape(analysis, out);
    sq25_field *bg = NULL;
    if (!rc) rc = sq25__field_clone_shape(analysis, &bg);
    if (!rc) rc = sq25_resample(c->latest, bg, SQ25_RESAMPLE_BILINEAR);
    for (size_t i = 0, n = (size_t)analysis->width * (size_t)analysis->height; !rc && i < n; i++) {
        float d = analysis->data[i] - bg->data[i];
        (*out)->data[i] = d == d ? d : 0.0f;
    }
    sq25_field_destroy(bg);
    return rc;
}

/* Merge the sensor rates z with the radar rates at the sensors r (mm/h) over radar onto
 * target, which takes radar's time and interval. */
static int merge_onto(sq25__psens *ps, const sq25_field *radar, const double *z,
                      const double *r, sq25_field *target, sq25_merge_info *info)
{
    target->valid_time = radar->valid_time;
    target->accumulation_s = radar->accumulation_s;
    return sq25_merge_run(ps->ctx, ps->merge, radar, (size_t)ps->window->n_stations,
                          ps->window->lon, sizeof(double), ps->window->lat, sizeof(double), z,
                          sizeof(double), r, sizeof(double), target, NULL, info);
}

/* The point sensors (when a window was pushed; NaN where it does not cover the interval)
 * and the links, each over its interval ending at c->latest's time, merged with line support
 * onto target, which takes that frame's time and interval. */
static int analysis_with_links(sq25__psens *ps, const sq25__psens_cycle *c, sq25_field *target,
                               sq25_merge_info *info)
{
    int n = ps->window ? ps->window->n_stations : 0, len_s = 0, radar_len_s = 1;
    double *z = sq25__malloc(ps->ctx, ((size_t)n + 1) * sizeof(double));
    double *r = sq25__malloc(ps->ctx, ((size_t)n + 1) * sizeof(double));
    int rc = z && r ? SQ25_OK : SQ25_ERR_NOMEM;
    if (!rc && n) rc = comparison_interval(ps, c, &len_s, &radar_len_s);
    if (!rc && n && (sensor_rates(ps, c->latest->valid_time, len_s, z) < 0 ||
                     radar_rates(ps, c->latest->valid_time, len_s, n, r) == 0))
        for (int i = 0; i < n; i++) z[i] = NAN;
    if (!rc) {
        target->valid_time = c->latest->valid_time;
        target->accumulation_s = c->latest->accumulation_s;
        rc = sq25__plinks_analysis(ps->links, ps->merge, c, ps->stamp, ps->lag_s, (size_t)n,
                                   n ? ps->window->lon : NULL, n ? ps->window->lat : NULL, z, r,
                                   target, info);
    }
    sq25__free(ps->ctx, z);
    sq25__free(ps->ctx, r);
    return rc;
}

/* The ensemble's start frame with links pushed: the same merge as the cycle's own analysis
 * (point sensors and links), on the radar grid at the frame's time. */
static int merge_on_radar_with_links(sq25__psens *ps, const sq25__psens_cycle *c,
                                     sq25_field **out)
{
    sq25_merge_info info;
    int rc = sq25__field_clone_shape(c->latest, out);
    if (!rc) rc = analysis_with_links(ps, c, *out, &info);
    if (rc || info.radar_only) {
        sq25_field_destroy(*out);
        *out = NULL;
    }
    return rc;
}

int sq25__psens_merge_on_radar(sq25__psens *ps, const sq25_field *frame, int step_s,
                               sq25_field **out)
{
    *out = NULL;
    bool links = sq25__plinks_active(ps->links);
    if (!ps->window && !links) return SQ25_OK;
    /* quiet: the cycle's own merge has logged what its sensors lack */
    const sq25__psens_cycle c = {.latest = frame, .step_s = step_s, .quiet = true};
    if (links) return merge_on_radar_with_links(ps, &c, out);
    int len_s = 0, radar_len_s = 1;
    int rc = comparison_interval(ps, &c, &len_s, &radar_len_s);
    if (rc) return rc;
    int n = ps->window->n_stations;
    double *z = sq25__malloc(ps->ctx, (size_t)n * sizeof(double));
    double *r = sq25__malloc(ps->ctx, (size_t)n * sizeof(double));
    if (!z || !r) rc = SQ25_ERR_NOMEM;
    bool values = !rc && sensor_rates(ps, frame->valid_time, len_s, z) > 0 &&
                  radar_rates(ps, frame->valid_time, len_s, n, r) > 0;
    sq25_merge_info info;
    if (values) rc = sq25__field_clone_shape(frame, out);
    if (values && !rc) rc = merge_onto(ps, frame, z, r, *out, &info);
    if (rc || (values && info.radar_only)) {
        sq25_field_destroy(*out);
        *out = NULL;
    }
    sq25__free(ps->ctx, z);
    sq25__free(ps->ctx, r);
    return rc;
}

/* With links pushed: the point sensors' values over their interval (when a window was
 * pushed) and the links' over theirs, merged together with line support. */
static int merged_analysis_with_links(sq25__psens *ps, const sq25__psens_cycle *c, bool *merged)
{
    int rc = sq25__field_clone_shape(c->street_grid ? c->street_grid : c->latest, &ps->analysis);
    if (!rc) rc = analysis_with_links(ps, c, ps->analysis, &ps->info);
    *merged = !rc && !ps->info.radar_only;
    if (!*merged) {
        sq25_field_destroy(ps->analysis);
        ps->analysis = NULL;
    }
    return rc;
}

/* The merged analysis at the issue time on the target grid; *merged false when too few
 * sensors or no sensor value for the interval. */
static int merged_analysis(sq25__psens *ps, const sq25__psens_cycle *c, bool *merged)
{
    if (sq25__plinks_active(ps->links)) return merged_analysis_with_links(ps, c, merged);
    *merged = false;
    int len_s = 0, radar_len_s = 1;
    int rc = comparison_interval(ps, c, &len_s, &radar_len_s);
    if (rc) return rc;
    int n = ps->window->n_stations;
    int64_t t = c->latest->valid_time;
    double *z = sq25__malloc(ps->ctx, (size_t)n * sizeof(double));
    double *r = sq25__malloc(ps->ctx, (size_t)n * sizeof(double));
    if (!z || !r) rc = SQ25_ERR_NOMEM;
    int valid = rc ? 0 : sensor_rates(ps, t, len_s, z);
    int frames = rc ? 0 : radar_rates(ps, t, len_s, n, r);
    char when[32];
    sq25__format_utc(t, when, sizeof when);
    if (!rc && valid <= 0)
        sq25__log(ps->ctx, SQ25_LOG_WARNING, "sensors: no value for the %d s ending %s: radar only",
                  len_s, when);
    else if (!rc && frames < len_s / radar_len_s)
        sq25__log(ps->ctx, SQ25_LOG_WARNING,
                  "sensors: %d of %d radar frames of the %d s ending %s held", frames,
                  len_s / radar_len_s, len_s, when);
    if (!rc && valid > 0 && frames > 0) {
        rc = sq25__field_clone_shape(c->street_grid ? c->street_grid : c->latest, &ps->analysis);
        if (!rc) rc = merge_onto(ps, c->latest, z, r, ps->analysis, &ps->info);
        *merged = !rc && !ps->info.radar_only;
    }
    sq25__free(ps->ctx, z);
    sq25__free(ps->ctx, r);
    if (!*merged) {
        sq25_field_destroy(ps->analysis);
        ps->analysis = NULL;
    }
    return rc;
}

int sq25__psens_run(sq25__psens *ps, const sq25__psens_cycle *c, sq25_field **owned_leads,
                    const sq25_field *const **warn_leads)
{
    sq25__psens_drop_run(ps);
    ps->street = owned_leads;
    ps->n_leads = c->n_leads;
    ps->info = (sq25_merge_info){sq25_merge_options_method(ps->merge), 0, 1, 0, 0, NAN, NAN, NAN, NAN};
    *warn_leads = owned_leads ? (const sq25_field *const *)owned_leads : c->radar_leads;
    if (!ps->window && !sq25__plinks_active(ps->links)) return SQ25_OK;
    bool merged = false;
    int rc = merged_analysis(ps, c, &merged);
    if (rc || !merged) return rc;
    size_t cells = (size_t)ps->analysis->width * (size_t)ps->analysis->height;
    sq25_field *corr = NULL;
    float *us = NULL, *vs = NULL;
    rc = correction_field(c, ps->analysis, &corr);
    if (!rc && c->street_grid) {
        us = sq25__malloc(ps->ctx, cells * sizeof(float));
        vs = sq25__malloc(ps->ctx, cells * sizeof(float));
        rc = us && vs ? motion_on_street(ps->ctx, c, us, vs) : SQ25_ERR_NOMEM;
    }
    if (!rc) rc = advect_correction(ps, c, corr, us ? us : c->u, vs ? vs : c->v);
    sq25_field_destroy(corr);
    sq25__free(ps->ctx, us);
    sq25__free(ps->ctx, vs);
    if (rc) {
        free_leads(ps->ctx, &ps->merged, c->n_leads);
        return rc;
    }
    ps->merged_ok = 1;
    *warn_leads = (const sq25_field *const *)ps->merged;
    return SQ25_OK;
}

int sq25__psens_annotate(const sq25__psens *ps, sq25_warning *w)
{
    if (!ps->window && !sq25__plinks_active(ps->links)) return SQ25_OK;
    sq25_merge_info info = ps->info;
    if (!ps->merged_ok) info.radar_only = 1;
    char json[512];
    sq25_merge_info_json(&info, json, sizeof json);
    return sq25__warning_set_analysis(w, json);
}
