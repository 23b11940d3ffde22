/* pipeline_internal.h -- the sensor part of the pipeline cycle (pipeline_sensors.c), called
 * from pipeline.c through a few hooks. Not API. */
#ifndef SQ25_PIPELINE_INTERNAL_H
#define SQ25_PIPELINE_INTERNAL_H

#include "internal.h"

typedef struct sq25__psens sq25__psens;

int sq25__psens_create(sq25_ctx *ctx, sq25__psens **out);
void sq25__psens_destroy(sq25__psens *ps);
/* Forget the last run's analysis and leads (before a run, on reset). */
void sq25__psens_drop_run(sq25__psens *ps);
/* Forget the radar samples at the sensors (on reset). */
void sq25__psens_reset(sq25__psens *ps);
/* A frame was pushed: keep the radar at the sensors for the alignment. */
int sq25__psens_on_frame(sq25__psens *ps, const sq25_field *frame);

/* What the sensor step of a run needs from the pipeline. */
typedef struct {
    const sq25_field *latest; /* newest radar frame: issue time, radar grid */
    const float *u, *v;       /* motion on the radar grid, pixels per step */
    int step_s, n_leads, substeps;
    const sq25_field *street_grid;           /* NULL: the radar grid */
    const sq25_field *const *radar_leads;    /* radar-only leads on the target grid */
    bool quiet; /* log no warnings about missing values (the ensemble's start frames) */
} sq25__psens_cycle;

/* Merge and advect the correction. Takes ownership of `owned_leads` (n_leads fields, or NULL:
 * the radar-only street leads the pipeline made) and sets *warn_leads to the leads the
 * warnings must use (merged ones when a merge took place), valid until the next run. */
int sq25__psens_run(sq25__psens *ps, const sq25__psens_cycle *c, sq25_field **owned_leads,
                    const sq25_field *const **warn_leads);

/* The merged radar+sensor analysis on the radar grid at the time of `frame` (a held radar
 * frame; step_s the pipeline's step), as the ensemble's start frames need it: a new field in
 * *out (release with sq25_field_destroy), or *out NULL when no sensors are pushed or none has
 * a value for the frame's interval (then the radar frame is the analysis). */
int sq25__psens_merge_on_radar(sq25__psens *ps, const sq25_field *frame, int step_s,
                               sq25_field **out);

/* The radar at a set of points (stations, or means along link paths), mm/h, at each pushed
 * frame, oldest first: what the alignment averages over a sensor interval. The last
 * SQ25__RADAR_RING_CAP frames are kept (4 h of 5-minute frames). */
#define SQ25__RADAR_RING_CAP 48
typedef struct {
    struct {
        int64_t valid_time;
        double *mmh; /* owned */
    } at[SQ25__RADAR_RING_CAP];
    int n;
} sq25__radar_ring;
/* Append the values of the frame valid at t (takes ownership of mmh), dropping the oldest
 * when full. */
void sq25__radar_ring_push(sq25_ctx *ctx, sq25__radar_ring *ring, int64_t t, double *mmh);
void sq25__radar_ring_clear(sq25_ctx *ctx, sq25__radar_ring *ring);
/* Mean (mm/h) of the frames valid in (end - len_s, end] at each of the n points (NaN when no
 * frame is held there); returns how many frames. */
int sq25__radar_ring_mean(const sq25__radar_ring *ring, int64_t end, int len_s, size_t n,
                          double *mmh);

/* The comparison interval of sensors (or links, named by `what` in the error) of step step_s
 * with the radar of cycle c: the longer of the two; each must divide it. Sets *len_s and the
 * radar interval *radar_s (the frame's accumulation, or the cycle's step for an
 * instantaneous frame). @return SQ25_OK or SQ25_ERR_ALIGNMENT. */
int sq25__alignment_interval(sq25_ctx *ctx, const char *what, const sq25__psens_cycle *c,
                             int step_s, int *len_s, int *radar_s);

/* Rates (mm/h) of every station (or link) of s over (end - len_s, end]: the steps whose true
 * end (stored time + lag_s, + one step when stamp is SQ25_STAMP_START) falls inside are
 * summed; NaN for one missing any of them. Returns how many have a value, or -1 (all NaN)
 * when s does not cover the interval. len_s must be a multiple of the step. */
int sq25__series_rates(const sq25_series *s, int stamp, int lag_s, int64_t end, int len_s,
                       double *mmh);

/* Record the run's merge (or that sensors were pushed but none merged) in the warning's
 * summary. Nothing when no sensors were pushed. */
int sq25__psens_annotate(const sq25__psens *ps, sq25_warning *w);

/* ---- links (pipeline_links.c), owned by the sensor part (sq25__psens_links) ---- */
typedef struct sq25__plinks sq25__plinks;
int sq25__plinks_create(sq25_ctx *ctx, sq25__plinks **out);
void sq25__plinks_destroy(sq25__plinks *pl);
/* Forget the radar along the paths (on reset). */
void sq25__plinks_reset(sq25__plinks *pl);
/* Links were pushed (and not cleared). */
bool sq25__plinks_active(const sq25__plinks *pl);
/* A frame was pushed: keep the radar along the paths for the alignment. */
int sq25__plinks_on_frame(sq25__plinks *pl, const sq25_field *frame);
/* The merged analysis of the ng point sensors (lon, lat; zg their rate, rg the radar over
 * their interval, mm/h; NaN = none) and the links (their interval: the longer of their step
 * and the radar interval; the pipeline's stamp and lag) at the cycle's issue time onto
 * analysis, with line support (sq25__merge_lines). */
int sq25__plinks_analysis(const sq25__plinks *pl, sq25_merge_options *mo,
                          const sq25__psens_cycle *c, int stamp, int lag_s, size_t ng,
                          const double *lon, const double *lat, const double *zg,
                          const double *rg, sq25_field *analysis, sq25_merge_info *info);
sq25__plinks *sq25__psens_links(const sq25__psens *ps);

/* From pipeline.c: the pipeline's sensor state and its held radar frames (oldest first). */
sq25__psens *sq25__pipeline_psens(const sq25_pipeline *p);
int sq25__pipeline_held_frames(const sq25_pipeline *p, const sq25_field *const **frames);
sq25_ctx *sq25__pipeline_ctx(const sq25_pipeline *p);

#endif
