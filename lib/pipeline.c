/* pipeline.c -- the whole chain for a warning service, fed frame by frame: the last frames are
 * kept (copies), and each run does motion -> extrapolation -> (street grid) -> warnings. */
#include "internal.h"
#include "pipeline_internal.h"
#include "spatial.h"
#include "ensemble_internal.h"
#include "warn_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define PIPELINE_MAX_FRAMES 8
/* Most missing frames bridged, and the frames held: older ones are kept while newer ones are
 * missing or without data. */
#define PIPELINE_MAX_GAP 6
#define PIPELINE_DEFAULT_GAP 2
#define PIPELINE_CAPACITY (PIPELINE_MAX_FRAMES + PIPELINE_MAX_GAP)
#define PIPELINE_MAX_HORIZON_S (6 * 3600)
/* Trajectory sub-steps per time step, as the sq25 nowcast default. */
#define PIPELINE_SUBSTEPS 2

struct sq25_pipeline {
    sq25_ctx *ctx;
    sq25_motion_options *motion_opt;
    sq25_warn_options *warn_opt;
    int n_inputs;                           /* frames the motion uses */
    int horizon_s;                          /* forecast horizon, seconds */
    sq25_field *frames[PIPELINE_CAPACITY]; /* oldest first */
    bool has_data[PIPELINE_CAPACITY];       /* frame i holds at least one valid cell */
    int n_frames;
    int step_s;                             /* nominal step: spacing of the first two frames */
    int max_gap;                            /* most missing frames in a row bridged */
    sq25_field *street_grid; /* NULL: warnings on the radar grid */
    const sq25_targets *targets;
    sq25_field **forecast; /* radar grid, n_forecast leads */
    int n_forecast;
    float *u, *v; /* motion of the last run, pixels per step */
    sq25__psens *sensors; /* sensor windows, alignment, merged analysis (pipeline_sensors.c) */
    /* radar grid -> street grid pixel map, kept while both grids stay (no PROJ per run) */
    sq25__pixmap street_pm;
    bool street_pm_ready;
    int pm_width, pm_height; /* the radar grid it was built for */
    double pm_gt[6];
    char *pm_projdef;
    sq25_ensemble_options *ens_opt; /* NULL: deterministic warnings */
    int ens_neighbourhood;          /* cells */
    sq25_ensemble *ensemble;        /* of the last run */
};

int sq25_pipeline_create(sq25_ctx *ctx, sq25_pipeline **out)
{
    if (!ctx || !out) return SQ25_ERR_INVALID_ARG;
    *out = NULL;
    sq25_pipeline *p = sq25__calloc(ctx, 1, sizeof *p);
    if (!p) return SQ25_ERR_NOMEM;
    p->ctx = ctx;
    p->n_inputs = 3;
    p->horizon_s = 3600;
    p->max_gap = PIPELINE_DEFAULT_GAP;
    int rc = sq25_motion_options_create(ctx, &p->motion_opt);
    if (rc == SQ25_OK) rc = sq25_warn_options_create(ctx, &p->warn_opt);
    if (rc == SQ25_OK) rc = sq25__psens_create(ctx, &p->sensors);
    if (rc != SQ25_OK) {
        sq25_pipeline_destroy(p);
        return rc;
    }
    *out = p;
    return sq25__ok(ctx);
}

static void drop_forecast(sq25_pipeline *p)
{
    for (int i = 0; i < p->n_forecast; i++) sq25_field_destroy(p->forecast[i]);
    sq25__free(p->ctx, p->forecast);
    sq25__free(p->ctx, p->u);
    sq25__free(p->ctx, p->v);
    p->forecast = NULL;
    p->u = p->v = NULL;
    p->n_forecast = 0;
    sq25_ensemble_destroy(p->ensemble);
    p->ensemble = NULL;
}

static void drop_street_pixmap(sq25_pipeline *p)
{
    if (p->street_pm_ready) sq25__pixmap_free(p->ctx, &p->street_pm);
    sq25__free(p->ctx, p->pm_projdef);
    p->pm_projdef = NULL;
    p->street_pm_ready = false;
}

void sq25_pipeline_reset(sq25_pipeline *p)
{
    if (!p) return;
    for (int i = 0; i < p->n_frames; i++) sq25_field_destroy(p->frames[i]);
    p->n_frames = 0;
    p->step_s = 0;
    drop_forecast(p);
    sq25__psens_reset(p->sensors);
    sq25__plinks_reset(sq25__psens_links(p->sensors));
}

void sq25_pipeline_destroy(sq25_pipeline *p)
{
    if (!p) return;
    sq25_pipeline_reset(p);
    sq25_motion_options_destroy(p->motion_opt);
    sq25_warn_options_destroy(p->warn_opt);
    drop_street_pixmap(p);
    sq25_field_destroy(p->street_grid);
    sq25__psens_destroy(p->sensors);
    sq25_ensemble_options_destroy(p->ens_opt);
    sq25__free(p->ctx, p);
}

sq25_motion_options *sq25_pipeline_motion_options(sq25_pipeline *p)
{
    return p ? p->motion_opt : NULL;
}

sq25_warn_options *sq25_pipeline_warn_options(sq25_pipeline *p) { return p ? p->warn_opt : NULL; }

static void drop_oldest(sq25_pipeline *p)
{
    sq25_field_destroy(p->frames[0]);
    memmove(p->frames, p->frames + 1, (size_t)(p->n_frames - 1) * sizeof p->frames[0]);
    memmove(p->has_data, p->has_data + 1, (size_t)(p->n_frames - 1) * sizeof p->has_data[0]);
    p->n_frames--;
}

int sq25_pipeline_set_input_frames(sq25_pipeline *p, int n_frames)
{
    if (!p) return SQ25_ERR_INVALID_ARG;
    if (n_frames < 2 || n_frames > PIPELINE_MAX_FRAMES)
        return sq25__fail(p->ctx, SQ25_ERR_RANGE, "input frames %d outside 2..%d", n_frames,
                          PIPELINE_MAX_FRAMES);
    /* Keep only the newest frames if fewer are wanted now. */
    while (p->n_frames > n_frames) drop_oldest(p);
    p->n_inputs = n_frames;
    return sq25__ok(p->ctx);
}

int sq25_pipeline_set_max_gap(sq25_pipeline *p, int steps)
{
    if (!p) return SQ25_ERR_INVALID_ARG;
    if (steps < 0 || steps > PIPELINE_MAX_GAP)
        return sq25__fail(p->ctx, SQ25_ERR_RANGE, "maximum gap %d steps outside 0..%d", steps,
                          PIPELINE_MAX_GAP);
    p->max_gap = steps;
    return sq25__ok(p->ctx);
}

int sq25_pipeline_set_horizon(sq25_pipeline *p, int horizon_s)
{
    if (!p) return SQ25_ERR_INVALID_ARG;
    if (horizon_s <= 0 || horizon_s > PIPELINE_MAX_HORIZON_S)
        return sq25__fail(p->ctx, SQ25_ERR_RANGE, "horizon %d s outside 1..%d s", horizon_s,
                          PIPELINE_MAX_HORIZON_S);
    p->horizon_s = horizon_s;
    return sq25__ok(p->ctx);
}

int sq25_pipeline_set_street_grid(sq25_pipeline *p, const sq25_field *grid)
{
    if (!p) return SQ25_ERR_INVALID_ARG;
    sq25_field *copy = NULL;
    if (grid) {
        /* The copy belongs to the pipeline's context, not the caller's (which may be gone). */
        int rc = sq25__field_copy_in(p->ctx, grid, &copy);
        if (rc) return rc;
    }
    drop_street_pixmap(p);
    sq25_field_destroy(p->street_grid);
    p->street_grid = copy;
    return sq25__ok(p->ctx);
}

void sq25_pipeline_set_targets(sq25_pipeline *p, const sq25_targets *targets)
{
    if (p) p->targets = targets;
}

int sq25_pipeline_frame_count(const sq25_pipeline *p) { return p ? p->n_frames : 0; }

int sq25_pipeline_step_s(const sq25_pipeline *p)
{
    if (!p || p->n_frames < 2) return 0;
    return p->step_s;
}

static bool same_grid(const sq25_field *a, const sq25_field *b)
{
    return a->width == b->width && a->height == b->height &&
           memcmp(a->gt, b->gt, sizeof a->gt) == 0 && strcmp(a->projdef, b->projdef) == 0;
}

/* Check that frame may follow the held frames; the message names both times. */
static int check_next_frame(sq25_pipeline *p, const sq25_field *frame)
{
    if (p->n_frames == 0) return SQ25_OK;
    const sq25_field *last = p->frames[p->n_frames - 1];
    char t_last[32], t_new[32];
    sq25__format_utc(last->valid_time, t_last, sizeof t_last);
    sq25__format_utc(frame->valid_time, t_new, sizeof t_new);
    if (!same_grid(last, frame))
        return sq25__fail(p->ctx, SQ25_ERR_GRID_MISMATCH,
                          "frame %s (%s) is not on the grid of the held frames (%dx%d)", t_new,
                          sq25_field_meta(frame, SQ25_META_PATH), last->width, last->height);
    if (frame->valid_time <= last->valid_time)
        return sq25__fail(p->ctx, SQ25_ERR_TIME_ORDER,
                          "frame %s is not newer than the last frame %s", t_new, t_last);
    int step = p->step_s;
    int64_t gap = frame->valid_time - last->valid_time;
    if (step > 0 && (gap % step != 0 || gap / step - 1 > p->max_gap))
        return sq25__fail(p->ctx, SQ25_ERR_TIME_GAP,
                          "frame %s comes %lld s after %s but the step is %d s and at most %d "
                          "missing frame(s) are bridged; reset the pipeline to start a new "
                          "sequence",
                          t_new, (long long)gap, t_last, step, p->max_gap);
    if (step == 0 && gap > INT32_MAX)
        return sq25__fail(p->ctx, SQ25_ERR_TIME_GAP, "frame %s comes %lld s after %s", t_new,
                          (long long)gap, t_last);
    return SQ25_OK;
}

static bool field_has_data(const sq25_field *f)
{
    const float *d = sq25_field_data_const(f);
    for (size_t i = 0, n = (size_t)f->width * (size_t)f->height; i < n; i++)
        if (!isnan(d[i])) return true;
    return false;
}

/* Drop the oldest frames the motion can no longer use: beyond the input-frame count, unless
 * the newer ones hold fewer frames with data than the motion wants and the oldest is still
 * within the bridged gap of the newest. */
static void trim_frames(sq25_pipeline *p)
{
    while (p->n_frames > p->n_inputs) {
        int64_t newest = p->frames[p->n_frames - 1]->valid_time;
        int64_t keep_from = newest - (int64_t)(p->n_inputs - 1 + p->max_gap) * p->step_s;
        int newer_with_data = 0;
        for (int i = 1; i < p->n_frames; i++) newer_with_data += p->has_data[i];
        bool needed = newer_with_data < p->n_inputs && p->frames[0]->valid_time >= keep_from;
        if (needed && p->n_frames < PIPELINE_CAPACITY) break;
        drop_oldest(p);
    }
}

/* A frame with no valid cell gives warnings that cannot see rain: say so in the log. */
static void warn_if_no_data(sq25_ctx *ctx, const sq25_field *f)
{
    if (field_has_data(f)) return;
    char t[32];
    sq25__format_utc(f->valid_time, t, sizeof t);
    sq25__log(ctx, SQ25_LOG_WARNING, "frame %s (%s): every cell is no data (NaN)", t,
              f->meta[SQ25_META_PATH] ? f->meta[SQ25_META_PATH] : "");
}

int sq25_pipeline_push_frame(sq25_pipeline *p, const sq25_field *frame)
{
    if (!p || !frame) return p ? sq25__fail(p->ctx, SQ25_ERR_INVALID_ARG, "NULL frame")
                               : SQ25_ERR_INVALID_ARG;
    int rc = check_next_frame(p, frame);
    if (rc) return rc;
    /* The copy is made in the pipeline's context: the frame's context may be short-lived or
     * used by another thread, and the pipeline uses its frames until they drop out. */
    sq25_field *copy = NULL;
    if ((rc = sq25__field_copy_in(p->ctx, frame, &copy)) != SQ25_OK) return rc;
    if ((rc = sq25__psens_on_frame(p->sensors, copy)) != SQ25_OK) {
        sq25_field_destroy(copy);
        return rc;
    }
    if (p->n_frames == PIPELINE_CAPACITY) drop_oldest(p);
    if (p->n_frames == 1)
        p->step_s = (int)(frame->valid_time - p->frames[0]->valid_time);
    p->has_data[p->n_frames] = field_has_data(copy);
    p->frames[p->n_frames++] = copy;
    warn_if_no_data(p->ctx, copy);
    trim_frames(p);
    return sq25__ok(p->ctx);
}

int sq25_pipeline_forecast_count(const sq25_pipeline *p) { return p ? p->n_forecast : 0; }

const sq25_field *sq25_pipeline_forecast(const sq25_pipeline *p, int i)
{
    return p && i >= 0 && i < p->n_forecast ? p->forecast[i] : NULL;
}

const float *sq25_pipeline_motion_u(const sq25_pipeline *p) { return p ? p->u : NULL; }
const float *sq25_pipeline_motion_v(const sq25_pipeline *p) { return p ? p->v : NULL; }

/* The frames the motion uses: the newest frame with data and, going back, the frames with
 * data at one common spacing (that of the newest two; at most the bridged gap), up to the
 * input-frame count. chain gets them oldest first; returns their number (0 or 1: no motion). */
static int motion_chain(const sq25_pipeline *p, const sq25_field **chain, int64_t *spacing)
{
    const sq25_field *found[PIPELINE_MAX_FRAMES];
    int n = 0;
    *spacing = 0;
    int64_t widest = (int64_t)(p->max_gap + 1) * p->step_s;
    for (int i = p->n_frames - 1; i >= 0 && n < p->n_inputs; i--) {
        if (!p->has_data[i]) continue;
        const sq25_field *f = p->frames[i];
        if (n == 0) {
            found[n++] = f;
            continue;
        }
        int64_t dt = found[n - 1]->valid_time - f->valid_time;
        if (n == 1 && dt <= widest) *spacing = dt;
        if (dt != *spacing) break;
        found[n++] = f;
    }
    if (n < 2) return n;
    for (int k = 0; k < n; k++) chain[k] = found[n - 1 - k];
    return n;
}

/* Motion and extrapolation on the radar grid from the chain's newest frame, `skip` steps
 * before the issue time: fills p->u, p->v (pixels per nominal step) and the n_leads leads
 * after the issue time in p->forecast. */
static int nowcast_radar_grid(sq25_pipeline *p, const sq25_field **chain, int n_chain,
                              int64_t spacing, int step_s, int skip, int n_leads)
{
    const sq25_field *latest = chain[n_chain - 1];
    size_t cells = (size_t)latest->width * (size_t)latest->height;
    p->u = sq25__malloc(p->ctx, cells * sizeof(float));
    p->v = sq25__malloc(p->ctx, cells * sizeof(float));
    p->forecast = sq25__calloc(p->ctx, (size_t)n_leads, sizeof *p->forecast);
    sq25_field **all = sq25__calloc(p->ctx, (size_t)(skip + n_leads), sizeof *all);
    int rc = !p->u || !p->v || !p->forecast || !all ? SQ25_ERR_NOMEM : SQ25_OK;
    if (rc == SQ25_OK)
        rc = sq25_motion_estimate(p->ctx, chain, n_chain, p->motion_opt, p->u, p->v);
    if (rc == SQ25_OK && spacing != step_s) { /* motion per spacing -> per nominal step */
        float per_step = (float)((double)step_s / (double)spacing);
        for (size_t c = 0; c < cells; c++) p->u[c] *= per_step, p->v[c] *= per_step;
    }
    if (rc == SQ25_OK)
        rc = sq25_extrapolate(p->ctx, latest, p->u, p->v, step_s, skip + n_leads,
                              PIPELINE_SUBSTEPS, all);
    if (rc == SQ25_OK) {
        for (int i = 0; i < skip; i++) sq25_field_destroy(all[i]);
        memcpy(p->forecast, all + skip, (size_t)n_leads * sizeof *all);
        p->n_forecast = n_leads;
    }
    sq25__free(p->ctx, all);
    return rc;
}

/* No frame with data close enough: leads without data (NaN) on the radar grid and zero
 * motion, so that the warning says "no data" everywhere instead of failing or all-clear. */
static int nowcast_without_data(sq25_pipeline *p, int step_s, int n_leads, int64_t issue_time)
{
    const sq25_field *newest = p->frames[p->n_frames - 1];
    size_t cells = (size_t)newest->width * (size_t)newest->height;
    p->u = sq25__calloc(p->ctx, cells, sizeof(float));
    p->v = sq25__calloc(p->ctx, cells, sizeof(float));
    p->forecast = sq25__calloc(p->ctx, (size_t)n_leads, sizeof *p->forecast);
    if (!p->u || !p->v || !p->forecast) return SQ25_ERR_NOMEM;
    for (int i = 0; i < n_leads; i++) {
        int rc = sq25_field_clone(newest, &p->forecast[i]);
        if (rc) return rc;
        p->n_forecast = i + 1;
        float *d = sq25_field_data(p->forecast[i]);
        for (size_t c = 0; c < cells; c++) d[c] = NAN;
        p->forecast[i]->valid_time = issue_time + (int64_t)(i + 1) * step_s;
        p->forecast[i]->accumulation_s = 0;
    }
    return SQ25_OK;
}

/* The pixel map from the radar grid to the street grid: built with PROJ once, then reused
 * for every lead and every run while the radar grid stays the same. */
static int street_pixmap(sq25_pipeline *p, const sq25_field *radar)
{
    if (p->street_pm_ready && p->pm_width == radar->width && p->pm_height == radar->height &&
        memcmp(p->pm_gt, radar->gt, sizeof p->pm_gt) == 0 &&
        strcmp(p->pm_projdef, radar->projdef) == 0)
        return SQ25_OK;
    drop_street_pixmap(p);
    p->pm_projdef = sq25__strdup(p->ctx, radar->projdef);
    if (!p->pm_projdef) return SQ25_ERR_NOMEM;
    int rc = sq25__pixmap_build(p->ctx, p->street_grid, radar, SQ25_RESAMPLE_ALIGN_CELLS,
                                &p->street_pm);
    if (rc) return rc;
    p->street_pm_ready = true;
    p->pm_width = radar->width;
    p->pm_height = radar->height;
    memcpy(p->pm_gt, radar->gt, sizeof p->pm_gt);
    return SQ25_OK;
}

/* The forecast on the street grid (new fields in out[0..n-1]) by bilinear resampling. */
static int forecast_on_street_grid(sq25_pipeline *p, sq25_field **out)
{
    int rc = p->n_forecast > 0 ? street_pixmap(p, p->forecast[0]) : SQ25_OK;
    for (int i = 0; rc == SQ25_OK && i < p->n_forecast; i++)
        rc = sq25__field_clone_shape(p->street_grid, &out[i]);
    if (rc == SQ25_OK)
        sq25__resample_many((const sq25_field *const *)p->forecast, out, p->n_forecast,
                            &p->street_pm, SQ25_RESAMPLE_BILINEAR);
    return rc;
}

/* How the run's input differs from the full one, for the warning's state. */
typedef struct {
    int state;         /* SQ25_STATE_OK, _DEGRADED or _STALE */
    int64_t data_time; /* newest frame with data */
    char reason[256];
} run_input;

/* Warnings from the lead fields, with the held frames named as inputs and targets sampled. */
static int compute_warnings(sq25_pipeline *p, const sq25_field *const *leads, int n_leads,
                            int step_s, int64_t issue_time, const run_input *in,
                            sq25_warning **out)
{
    sq25_warning *w = NULL;
    int rc = sq25_warn_compute(p->ctx, p->warn_opt, leads, n_leads, step_s, issue_time, &w);
    if (rc == SQ25_OK) rc = sq25_warning_set_input_state(w, in->state, in->data_time, in->reason);
    for (int i = 0; rc == SQ25_OK && i < p->n_frames; i++) {
        const char *path = sq25_field_meta(p->frames[i], SQ25_META_PATH);
        char name[64], marked[4200];
        if (!path[0]) {
            sq25__format_utc(p->frames[i]->valid_time, name, sizeof name);
            path = name;
        }
        if (!field_has_data(p->frames[i])) { /* a state in the outputs, not a silent all-clear */
            snprintf(marked, sizeof marked, "%s [no data: every cell NaN]", path);
            path = marked;
        }
        rc = sq25_warning_add_input(w, path);
    }
    if (rc == SQ25_OK && p->street_grid && !field_has_data(leads[0]))
        rc = sq25_warning_add_input(w, "street grid [no data: outside the radar coverage]");
    if (rc == SQ25_OK && p->targets) rc = sq25_warning_evaluate_targets(w, p->targets);
    if (rc) {
        sq25_warning_destroy(w);
        return rc;
    }
    *out = w;
    return sq25__ok(p->ctx);
}

/* ---- ensemble path ------------------------------------------------------------------------ */

int sq25_pipeline_set_ensemble(sq25_pipeline *p, const sq25_ensemble_options *opt,
                               int neighbourhood_cells)
{
    if (!p) return SQ25_ERR_INVALID_ARG;
    if (neighbourhood_cells < 0 || neighbourhood_cells > 1000)
        return sq25__fail(p->ctx, SQ25_ERR_INVALID_ARG, "ensemble neighbourhood %d outside 0..1000",
                          neighbourhood_cells);
    sq25_ensemble_options *copy = NULL;
    if (opt) {
        int rc = sq25_ensemble_options_clone(opt, &copy);
        if (rc) return rc;
    }
    sq25_ensemble_options_destroy(p->ens_opt);
    p->ens_opt = copy;
    p->ens_neighbourhood = neighbourhood_cells;
    return sq25__ok(p->ctx);
}

const sq25_ensemble *sq25_pipeline_ensemble(const sq25_pipeline *p)
{
    return p ? p->ensemble : NULL;
}

/* Inputs named and targets evaluated, as compute_warnings does for the deterministic path. */
static int finish_ensemble_warning(sq25_pipeline *p, sq25_warning *w)
{
    int rc = SQ25_OK;
    for (int i = 0; rc == SQ25_OK && i < p->n_frames; i++) {
        const char *path = sq25_field_meta(p->frames[i], SQ25_META_PATH);
        char name[64];
        if (!path[0]) {
            sq25__format_utc(p->frames[i]->valid_time, name, sizeof name);
            path = name;
        }
        rc = sq25_warning_add_input(w, path);
    }
    if (rc == SQ25_OK && p->targets) rc = sq25_warning_evaluate_targets(w, p->targets);
    return rc;
}

/* Level probabilities of the ensemble resampled onto the street grid, with the ensemble mean
 * rates as the leads. */
static int street_ensemble_warning(sq25_pipeline *p, float **prob, sq25_warning **out)
{
    const sq25_ensemble *e = p->ensemble;
    const int n_leads = p->horizon_s / e->step_s, levels = p->warn_opt->level_count;
    sq25_field **mean = sq25__calloc(p->ctx, (size_t)n_leads, sizeof *mean);
    sq25_field *src = NULL, *dst[SQ25__WARN_MAX_LEVELS] = {NULL};
    const float *street_prob[SQ25__WARN_MAX_LEVELS];
    int rc = mean ? sq25_field_clone(e->mean[0], &src) : SQ25_ERR_NOMEM;
    for (int k = 0; rc == SQ25_OK && k < n_leads; k++) {
        rc = sq25_field_clone(p->street_grid, &mean[k]);
        if (rc == SQ25_OK) rc = sq25_resample(e->mean[k], mean[k], SQ25_RESAMPLE_BILINEAR);
        if (rc == SQ25_OK) mean[k]->valid_time = e->mean[k]->valid_time;
    }
    for (int k = 0; rc == SQ25_OK && k < levels; k++) {
        memcpy(src->data, prob[k], (size_t)src->width * src->height * sizeof(float));
        rc = sq25_field_clone(p->street_grid, &dst[k]);
        if (rc == SQ25_OK) rc = sq25_resample(src, dst[k], SQ25_RESAMPLE_BILINEAR);
        if (rc == SQ25_OK) street_prob[k] = dst[k]->data;
    }
    if (rc == SQ25_OK)
        rc = sq25__warn_compute_with_probabilities(p->ctx, p->warn_opt,
                                                   (const sq25_field *const *)mean, n_leads,
                                                   e->step_s, e->issue_time, street_prob, out);
    for (int k = 0; mean && k < n_leads; k++) sq25_field_destroy(mean[k]);
    for (int k = 0; k < levels; k++) sq25_field_destroy(dst[k]);
    sq25_field_destroy(src);
    sq25__free(p->ctx, mean);
    return rc;
}

/* What the ensemble starts from: three frames with data, evenly spaced, oldest first. */
typedef struct {
    const sq25_field *frames[3];
    sq25_field *merged[3]; /* owned: the merged analyses among frames (NULL: radar frame) */
    int spacing_s;         /* their spacing: the ensemble's step */
} ensemble_start;

static void ensemble_start_free(ensemble_start *es)
{
    for (int k = 0; k < 3; k++) sq25_field_destroy(es->merged[k]);
}

/* The held frame with data valid at t, or NULL. */
static const sq25_field *frame_with_data_at(const sq25_pipeline *p, int64_t t)
{
    for (int i = 0; i < p->n_frames; i++)
        if (p->frames[i]->valid_time == t && p->has_data[i]) return p->frames[i];
    return NULL;
}

/* The ensemble's frames (its AR(2) needs three at one spacing): the newest frame, which must
 * hold data, and held frames with data at t - s and t - 2 s, for the smallest spacing s (a
 * multiple of the step, up to the bridged gap) for which both are held. Without a gap that is
 * the step; after a bridged gap it is the evenly spaced subset at its real spacing, and the
 * members then step at that spacing. Returns false with the reason when the ensemble cannot
 * run this cycle. */
static bool ensemble_frames(const sq25_pipeline *p, int step_s, ensemble_start *es, char *why,
                            size_t why_len)
{
    memset(es, 0, sizeof *es);
    const sq25_field *latest = p->frames[p->n_frames - 1];
    if (!p->has_data[p->n_frames - 1]) {
        snprintf(why, why_len, "the newest frame has no data");
        return false;
    }
    for (int m = 1; m <= p->max_gap + 1; m++) {
        int64_t s = (int64_t)m * step_s;
        const sq25_field *mid = frame_with_data_at(p, latest->valid_time - s);
        const sq25_field *old = frame_with_data_at(p, latest->valid_time - 2 * s);
        if (!mid || !old) continue;
        if (p->horizon_s % s != 0) {
            snprintf(why, why_len, "horizon %d s is not a multiple of the frame spacing %lld s",
                     p->horizon_s, (long long)s);
            return false;
        }
        es->frames[0] = old, es->frames[1] = mid, es->frames[2] = latest;
        es->spacing_s = (int)s;
        return true;
    }
    snprintf(why, why_len, "no 3 evenly spaced frames with data held");
    return false;
}

/* Each of the three frames replaced by the merged radar+sensor analysis at its time where
 * sensors have values for it: the cascade the members evolve, its AR(2) correlations and the
 * distribution they are matched to then hold what the sensors saw (motion stays the radar's).
 * Merging only the latest would make the sensors' features look like new, unpredictable
 * small scales and the AR(2) would let them fade within a few steps. */
static int merge_ensemble_frames(sq25_pipeline *p, ensemble_start *es, int step_s)
{
    for (int k = 0; k < 3; k++) {
        int rc = sq25__psens_merge_on_radar(p->sensors, es->frames[k], step_s, &es->merged[k]);
        if (rc) return rc;
        if (es->merged[k]) es->frames[k] = es->merged[k];
    }
    return SQ25_OK;
}

/* The ensemble from es and the last motion (per nominal step, scaled to the spacing). */
static int run_ensemble(sq25_pipeline *p, const ensemble_start *es, int step_s)
{
    const sq25_field *latest = es->frames[2];
    size_t cells = (size_t)latest->width * (size_t)latest->height;
    const float *u = p->u, *v = p->v;
    float *su = NULL, *sv = NULL;
    if (es->spacing_s != step_s) {
        su = sq25__malloc(p->ctx, cells * sizeof(float));
        sv = sq25__malloc(p->ctx, cells * sizeof(float));
        if (!su || !sv) {
            sq25__free(p->ctx, su);
            sq25__free(p->ctx, sv);
            return SQ25_ERR_NOMEM;
        }
        float per_spacing = (float)((double)es->spacing_s / (double)step_s);
        for (size_t c = 0; c < cells; c++) su[c] = p->u[c] * per_spacing, sv[c] = p->v[c] * per_spacing;
        u = su, v = sv;
    }
    sq25_ensemble_options *o = NULL;
    int rc = sq25_ensemble_options_clone(p->ens_opt, &o);
    if (rc == SQ25_OK) rc = sq25_ensemble_options_use_warning_levels(o, p->warn_opt);
    if (rc == SQ25_OK)
        rc = sq25_ensemble_run(p->ctx, o, es->frames, 3, u, v, p->horizon_s / es->spacing_s,
                               &p->ensemble);
    sq25_ensemble_options_destroy(o);
    sq25__free(p->ctx, su);
    sq25__free(p->ctx, sv);
    return rc;
}

/* The ensemble from es and warnings from its members. */
static int ensemble_warnings(sq25_pipeline *p, ensemble_start *es, int step_s,
                             sq25_warning **out)
{
    int rc = merge_ensemble_frames(p, es, step_s);
    if (rc == SQ25_OK) rc = run_ensemble(p, es, step_s);
    ensemble_start_free(es);
    if (rc) return rc;
    const int n_leads = p->horizon_s / es->spacing_s;
    const size_t n = (size_t)p->ensemble->mean[0]->width * p->ensemble->mean[0]->height;
    float *prob[SQ25__WARN_MAX_LEVELS] = {NULL};
    const int levels = p->warn_opt->level_count;
    for (int k = 0; k < levels && rc == SQ25_OK; k++)
        if (!(prob[k] = sq25__malloc(p->ctx, n * sizeof(float)))) rc = SQ25_ERR_NOMEM;
    if (rc == SQ25_OK)
        rc = sq25__warn_ensemble_probabilities(p->ctx, p->warn_opt, p->ensemble,
                                               p->ens_neighbourhood, prob);
    sq25_warning *w = NULL;
    if (rc == SQ25_OK && p->street_grid) rc = street_ensemble_warning(p, prob, &w);
    else if (rc == SQ25_OK)
        rc = sq25__warn_compute_with_probabilities(
            p->ctx, p->warn_opt, (const sq25_field *const *)p->ensemble->mean, n_leads,
            p->ensemble->step_s, p->ensemble->issue_time, (const float *const *)prob, &w);
    if (rc == SQ25_OK) rc = finish_ensemble_warning(p, w);
    for (int k = 0; k < levels; k++) sq25__free(p->ctx, prob[k]);
    if (rc) {
        sq25_warning_destroy(w);
        return rc;
    }
    *out = w;
    return sq25__ok(p->ctx);
}

int sq25_pipeline_run(sq25_pipeline *p, sq25_warning **out)
{
    if (!p || !out) return p ? sq25__fail(p->ctx, SQ25_ERR_INVALID_ARG, "NULL argument")
                             : SQ25_ERR_INVALID_ARG;
    *out = NULL;
    drop_forecast(p);
    sq25__psens_drop_run(p->sensors);
    if (p->n_frames < p->n_inputs)
        return sq25__fail(p->ctx, SQ25_ERR_TOO_FEW,
                          "the pipeline holds %d frame(s); motion needs %d", p->n_frames,
                          p->n_inputs);
    int step_s = sq25_pipeline_step_s(p);
    if (step_s <= 0 || p->horizon_s % step_s != 0)
        return sq25__fail(p->ctx, SQ25_ERR_TIME_MISMATCH,
                          "horizon %d s is not a multiple of the frame step %d s", p->horizon_s,
                          step_s);
    int n_leads = p->horizon_s / step_s;
    int64_t issue_time = p->frames[p->n_frames - 1]->valid_time;
    const sq25_field *chain[PIPELINE_MAX_FRAMES];
    int64_t spacing = 0;
    int n_chain = motion_chain(p, chain, &spacing);
    run_input in = {SQ25_STATE_OK, issue_time, ""};
    int rc;
    if (n_chain >= 2 && issue_time - chain[n_chain - 1]->valid_time <= (int64_t)p->max_gap * step_s) {
        in.data_time = chain[n_chain - 1]->valid_time;
        int skip = (int)((issue_time - in.data_time) / step_s);
        char t_data[32];
        sq25__format_utc(in.data_time, t_data, sizeof t_data);
        if (skip > 0) {
            in.state = SQ25_STATE_STALE;
            snprintf(in.reason, sizeof in.reason,
                     "newest %d frame(s) without data: forecast from %s carried forward",
                     skip, t_data);
        } else if (spacing != step_s || n_chain < p->n_inputs) {
            in.state = SQ25_STATE_DEGRADED;
            snprintf(in.reason, sizeof in.reason,
                     "gap in the frames: motion from %d frame(s) %lld s apart (step %d s)",
                     n_chain, (long long)spacing, step_s);
        }
        rc = nowcast_radar_grid(p, chain, n_chain, spacing, step_s, skip, n_leads);
    } else {
        in.state = SQ25_STATE_STALE;
        in.data_time = n_chain ? chain[n_chain - 1]->valid_time : 0;
        snprintf(in.reason, sizeof in.reason,
                 "no two frames with data within the bridged gap (%d steps): no data",
                 p->max_gap);
        rc = nowcast_without_data(p, step_s, n_leads, issue_time);
    }
    if (rc) {
        drop_forecast(p);
        return rc;
    }
    sq25_field **street = NULL;
    const sq25_field *const *warn_input = (const sq25_field *const *)p->forecast;
    if (p->street_grid) {
        street = sq25__calloc(p->ctx, (size_t)n_leads, sizeof *street);
        if (!street) return SQ25_ERR_NOMEM;
        rc = forecast_on_street_grid(p, street);
        warn_input = (const sq25_field *const *)street;
    }
    /* Sensors: the merged leads replace warn_input; the street leads are handed over. */
    sq25__psens_cycle cycle = {p->frames[p->n_frames - 1], p->u, p->v, step_s, n_leads,
                               PIPELINE_SUBSTEPS, p->street_grid, warn_input, false};
    if (rc == SQ25_OK) rc = sq25__psens_run(p->sensors, &cycle, street, &warn_input);
    else {
        for (int i = 0; street && i < n_leads; i++) sq25_field_destroy(street[i]);
        sq25__free(p->ctx, street);
    }
    ensemble_start es;
    char why[128] = "";
    bool ensemble = rc == SQ25_OK && p->ens_opt;
    if (ensemble && !ensemble_frames(p, step_s, &es, why, sizeof why)) {
        /* a warning every cycle: the deterministic one, saying why the ensemble did not run */
        ensemble = false;
        sq25__log(p->ctx, SQ25_LOG_WARNING, "pipeline: ensemble not run (%s): deterministic "
                  "warnings", why);
        if (in.state == SQ25_STATE_OK) in.state = SQ25_STATE_DEGRADED;
        size_t used = strlen(in.reason);
        snprintf(in.reason + used, sizeof in.reason - used, "%sensemble not run: %s",
                 used ? "; " : "", why);
    }
    if (ensemble) {
        rc = ensemble_warnings(p, &es, step_s, out);
        if (rc == SQ25_OK)
            rc = sq25_warning_set_input_state(*out, in.state, in.data_time, in.reason);
        if (rc != SQ25_OK) {
            sq25_warning_destroy(*out);
            *out = NULL;
        }
    } else if (rc == SQ25_OK) {
        rc = compute_warnings(p, warn_input, n_leads, step_s, issue_time, &in, out);
    }
    if (rc == SQ25_OK && (rc = sq25__psens_annotate(p->sensors, *out)) != SQ25_OK) {
        sq25_warning_destroy(*out);
        *out = NULL;
    }
    return rc;
}

sq25__psens *sq25__pipeline_psens(const sq25_pipeline *p) { return p->sensors; }
sq25_ctx *sq25__pipeline_ctx(const sq25_pipeline *p) { return p->ctx; }

int sq25__pipeline_held_frames(const sq25_pipeline *p, const sq25_field *const **frames)
{
    *frames = (const sq25_field *const *)p->frames;
    return p->n_frames;
}
