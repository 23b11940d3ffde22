/* pipeline.c -- the whole chain for a warning service, fed frame by frame: the last frames are
 * kept (copies), and each run does motion -> extrapolation -> (street grid) -> warnings. */
#include "ensemble_internal.h"
#include "warn_internal.h"

#include <math.h>
#include <string.h>

#define PIPELINE_MAX_FRAMES 8
#define PIPELINE_MAX_HORIZON_S (6 * 3600)
/* Trajectory sub-steps per time step, as the sq25 nowcast default. */
#define PIPELINE_SUBSTEPS 2

struct sq25_pipeline {
    sq25_ctx *ctx;
    sq25_motion_options *motion_opt;
    sq25_warn_options *warn_opt;
    int n_inputs;                           /* frames the motion uses */
    int horizon_s;                          /* forecast horizon, seconds */
    sq25_field *frames[PIPELINE_MAX_FRAMES]; /* oldest first */
    int n_frames;
    sq25_field *street_grid; /* NULL: warnings on the radar grid */
    const sq25_targets *targets;
    sq25_field **forecast; /* radar grid, n_forecast leads */
    int n_forecast;
    float *u, *v; /* motion of the last run, pixels per step */
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
    int rc = sq25_motion_options_create(ctx, &p->motion_opt);
    if (rc == SQ25_OK) rc = sq25_warn_options_create(ctx, &p->warn_opt);
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

void sq25_pipeline_reset(sq25_pipeline *p)
{
    if (!p) return;
    for (int i = 0; i < p->n_frames; i++) sq25_field_destroy(p->frames[i]);
    p->n_frames = 0;
    drop_forecast(p);
}

void sq25_pipeline_destroy(sq25_pipeline *p)
{
    if (!p) return;
    sq25_pipeline_reset(p);
    sq25_motion_options_destroy(p->motion_opt);
    sq25_warn_options_destroy(p->warn_opt);
    sq25_field_destroy(p->street_grid);
    sq25_ensemble_options_destroy(p->ens_opt);
    sq25__free(p->ctx, p);
}

sq25_motion_options *sq25_pipeline_motion_options(sq25_pipeline *p)
{
    return p ? p->motion_opt : NULL;
}

sq25_warn_options *sq25_pipeline_warn_options(sq25_pipeline *p) { return p ? p->warn_opt : NULL; }

int sq25_pipeline_set_input_frames(sq25_pipeline *p, int n_frames)
{
    if (!p) return SQ25_ERR_INVALID_ARG;
    if (n_frames < 2 || n_frames > PIPELINE_MAX_FRAMES)
        return sq25__fail(p->ctx, SQ25_ERR_RANGE, "input frames %d outside 2..%d", n_frames,
                          PIPELINE_MAX_FRAMES);
    /* Keep only the newest frames if fewer are wanted now. */
    while (p->n_frames > n_frames) {
        sq25_field_destroy(p->frames[0]);
        memmove(p->frames, p->frames + 1, (size_t)(p->n_frames - 1) * sizeof p->frames[0]);
        p->n_frames--;
    }
    p->n_inputs = n_frames;
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
        int rc = sq25_field_clone(grid, &copy);
        if (rc) return rc;
    }
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
    return (int)(p->frames[p->n_frames - 1]->valid_time - p->frames[p->n_frames - 2]->valid_time);
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
    int step = sq25_pipeline_step_s(p);
    int64_t gap = frame->valid_time - last->valid_time;
    if (step > 0 && gap != step)
        return sq25__fail(p->ctx, SQ25_ERR_TIME_GAP,
                          "frame %s comes %lld s after %s but the step is %d s (missing "
                          "frames?); reset the pipeline to start a new sequence",
                          t_new, (long long)gap, t_last, step);
    return SQ25_OK;
}

int sq25_pipeline_push_frame(sq25_pipeline *p, const sq25_field *frame)
{
    if (!p || !frame) return p ? sq25__fail(p->ctx, SQ25_ERR_INVALID_ARG, "NULL frame")
                               : SQ25_ERR_INVALID_ARG;
    int rc = check_next_frame(p, frame);
    if (rc) return rc;
    sq25_field *copy = NULL;
    if ((rc = sq25_field_clone(frame, &copy)) != SQ25_OK) return rc;
    if (p->n_frames == p->n_inputs) {
        sq25_field_destroy(p->frames[0]);
        memmove(p->frames, p->frames + 1, (size_t)(p->n_frames - 1) * sizeof p->frames[0]);
        p->n_frames--;
    }
    p->frames[p->n_frames++] = copy;
    return sq25__ok(p->ctx);
}

int sq25_pipeline_forecast_count(const sq25_pipeline *p) { return p ? p->n_forecast : 0; }

const sq25_field *sq25_pipeline_forecast(const sq25_pipeline *p, int i)
{
    return p && i >= 0 && i < p->n_forecast ? p->forecast[i] : NULL;
}

const float *sq25_pipeline_motion_u(const sq25_pipeline *p) { return p ? p->u : NULL; }
const float *sq25_pipeline_motion_v(const sq25_pipeline *p) { return p ? p->v : NULL; }

/* Motion and extrapolation on the radar grid: fills p->u, p->v, p->forecast. */
static int nowcast_radar_grid(sq25_pipeline *p, int step_s, int n_leads)
{
    const sq25_field *latest = p->frames[p->n_frames - 1];
    size_t cells = (size_t)latest->width * (size_t)latest->height;
    p->u = sq25__malloc(p->ctx, cells * sizeof(float));
    p->v = sq25__malloc(p->ctx, cells * sizeof(float));
    p->forecast = sq25__calloc(p->ctx, (size_t)n_leads, sizeof *p->forecast);
    if (!p->u || !p->v || !p->forecast) return SQ25_ERR_NOMEM;
    int rc = sq25_motion_estimate(p->ctx, (const sq25_field *const *)p->frames, p->n_frames,
                                  p->motion_opt, p->u, p->v);
    if (rc) return rc;
    rc = sq25_extrapolate(p->ctx, latest, p->u, p->v, step_s, n_leads, PIPELINE_SUBSTEPS,
                          p->forecast);
    if (rc) return rc;
    p->n_forecast = n_leads;
    return SQ25_OK;
}

/* The forecast on the street grid (new fields in out[0..n-1]) by bilinear resampling. */
static int forecast_on_street_grid(sq25_pipeline *p, sq25_field **out)
{
    for (int i = 0; i < p->n_forecast; i++) {
        int rc = sq25_field_clone(p->street_grid, &out[i]);
        if (rc == SQ25_OK) rc = sq25_resample(p->forecast[i], out[i], SQ25_RESAMPLE_BILINEAR);
        if (rc) return rc;
        out[i]->valid_time = p->forecast[i]->valid_time;
    }
    return SQ25_OK;
}

/* Warnings from the lead fields, with the held frames named as inputs and targets sampled. */
static int compute_warnings(sq25_pipeline *p, const sq25_field *const *leads, int n_leads,
                            int step_s, int64_t issue_time, sq25_warning **out)
{
    sq25_warning *w = NULL;
    int rc = sq25_warn_compute(p->ctx, p->warn_opt, leads, n_leads, step_s, issue_time, &w);
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

/* The ensemble from the held frames and the last motion, and warnings from its members. */
static int ensemble_warnings(sq25_pipeline *p, int n_leads, sq25_warning **out)
{
    sq25_ensemble_options *o = NULL;
    int rc = sq25_ensemble_options_clone(p->ens_opt, &o);
    if (rc == SQ25_OK) rc = sq25_ensemble_options_use_warning_levels(o, p->warn_opt);
    if (rc == SQ25_OK)
        rc = sq25_ensemble_run(p->ctx, o, (const sq25_field *const *)p->frames, p->n_frames,
                               p->u, p->v, n_leads, &p->ensemble);
    sq25_ensemble_options_destroy(o);
    if (rc) return rc;
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
    int rc = nowcast_radar_grid(p, step_s, n_leads);
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
    int64_t issue_time = p->frames[p->n_frames - 1]->valid_time;
    if (rc == SQ25_OK && p->ens_opt)
        rc = ensemble_warnings(p, n_leads, out);
    else if (rc == SQ25_OK) rc = compute_warnings(p, warn_input, n_leads, step_s, issue_time, out);
    for (int i = 0; street && i < n_leads; i++) sq25_field_destroy(street[i]);
    sq25__free(p->ctx, street);
    return rc;
}
