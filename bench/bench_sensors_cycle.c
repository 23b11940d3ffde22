/* bench_sensors_cycle.c -- the sensors in the forecast loop, measured (docs/sensors.md):
 * 1. OpenMRG, Gothenburg, 2015-07-25 12:30-15:00 (set E: SMHI radar 2 km / 5 min, 10 city
 *    gauges + 1 SMHI gauge): leave-one-gauge-out nowcasts from the merged analysis against
 *    the radar-only nowcast of the same cycle and against persistence of the merged
 *    analysis, leads 5..60 min, RMSE / bias / correlation of 5- and 30-minute amounts at the
 *    withheld gauge, over all gauges and issue times; the radar-gauge lag is checked first.
 * 2. The lead-0 analysis, leave-one-gauge-out, for every merging method, radar only and
 *    gauge-only kriging.
 * 3. QC of the Amsterdam PWS file (set D): the share of reported station-steps the outlier
 *    filter judges, the flagged stations, and the stations whose 3-month hourly correlation
 *    with their neighbours' median is below 0.15 (computed here, independently of the QC)
 *    and whether the filter flags them.
 * 3b. The ensemble (12 members) started from the merged analyses, leave-one-gauge-out,
 *    against the radar-only ensemble of the same cycle at the withheld gauge: RMSE of the
 *    ensemble mean and CRPS of the members' 5-minute amounts per lead, Brier score of the
 *    probability of >= 1 mm in the hour (`--ensemble` runs this section alone).
 * 4. Cost of one pipeline cycle with 600 sensors on 25 x 25 km street grids of 100 m and
 *    10 m, against the radar-only cycle (process CPU seconds; the machine is shared, so
 *    timings are noisy).
 * The OpenMRG files are read here with the HDF5 C API (the library's OpenSense reader did not
 * read this layout when this was written); the radar rows are flipped (see radar_frame). Run from the repository root; data from
 * ../shared/data or $SQ25_DATA. */
#include "sq25.h"

#include <hdf5.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MRG_DIR "sensors/openmrg_20150725_2h/"
#define MAX_T 64
#define MAX_G 16
#define N_LEADS 12

static const char *data_path(const char *rel)
{
    static char buf[1024];
    const char *root = getenv("SQ25_DATA");
    snprintf(buf, sizeof buf, "%s/%s", root ? root : "../shared/data", rel);
    return buf;
}

/* ---- reading the OpenMRG files (HDF5 C API) ----------------------------------------------- */

static int read_doubles(hid_t f, const char *name, double *out, size_t cap, size_t *n)
{
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    if (d < 0) return -1;
    hid_t sp = H5Dget_space(d);
    hssize_t count = H5Sget_simple_extent_npoints(sp);
    int rc = -1;
    if (count > 0 && (size_t)count <= cap && H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) >= 0) {
        *n = (size_t)count;
        rc = 0;
    }
    H5Sclose(sp);
    H5Dclose(d);
    return rc;
}

typedef struct {
    int nt, w, h;
    int64_t t[MAX_T];
    double *mm; /* nt x h x w, mm per 5 min */
    double gt[6];
} mrg_radar;

static int read_radar(mrg_radar *r)
{
    hid_t f = H5Fopen(data_path(MRG_DIR "openmrg_rad_5min_2h.nc"), H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) return -1;
    double tt[MAX_T], x[256], y[256];
    size_t nt, nx, ny, n;
    int rc = read_doubles(f, "time", tt, MAX_T, &nt) | read_doubles(f, "x", x, 256, &nx) |
             read_doubles(f, "y", y, 256, &ny);
    if (!rc) {
        r->nt = (int)nt, r->w = (int)nx, r->h = (int)ny;
        r->mm = malloc(nt * nx * ny * sizeof(double));
        rc = r->mm ? read_doubles(f, "rainfall_amount", r->mm, nt * nx * ny, &n) : -1;
        for (size_t k = 0; k < nt; k++) r->t[k] = (int64_t)tt[k];
        /* cell centres x, y (m): the outer corner is half a cell beyond the first */
        double dx = x[1] - x[0], dy = y[1] - y[0];
        double g[6] = {x[0] - dx / 2, dx, 0, y[0] - dy / 2, 0, dy};
        memcpy(r->gt, g, sizeof g);
    }
    H5Fclose(f);
    return rc;
}

typedef struct {
    int ng, nt;
    int64_t t0; /* time of step 0 */
    double lon[MAX_G], lat[MAX_G];
    double mm[MAX_G][MAX_T]; /* mm per 5 min, NaN missing */
    char id[MAX_G][32];
} mrg_gauges;

/* One gauge file: rainfall_amount over (time, station) or (station, time). */
static int read_gauge_file(const char *rel, bool time_first, mrg_gauges *g)
{
    hid_t f = H5Fopen(data_path(rel), H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) return -1;
    double lon[MAX_G], lat[MAX_G], tt[MAX_T], v[MAX_G * MAX_T];
    size_t ns, n2, nt, nv;
    int rc = read_doubles(f, "lon", lon, MAX_G, &ns) | read_doubles(f, "lat", lat, MAX_G, &n2) |
             read_doubles(f, "time", tt, MAX_T, &nt) |
             read_doubles(f, "rainfall_amount", v, MAX_G * MAX_T, &nv);
    H5Fclose(f);
    if (rc || g->ng + (int)ns > MAX_G) return -1;
    /* time: minutes since 2015-07-25 12:30:00 */
    int64_t base = 0;
    sq25_time_parse("2015-07-25T12:30", &base);
    g->t0 = base + (int64_t)tt[0] * 60;
    g->nt = (int)nt;
    for (size_t s = 0; s < ns; s++) {
        int k = g->ng++;
        g->lon[k] = lon[s], g->lat[k] = lat[s];
        snprintf(g->id[k], sizeof g->id[k], "%s%zu", time_first ? "city" : "smhi", s);
        for (size_t t = 0; t < nt; t++) g->mm[k][t] = time_first ? v[t * ns + s] : v[s * nt + t];
    }
    return 0;
}

/* ---- scores --------------------------------------------------------------------------------- */

typedef struct {
    double n, se, e, so, sp, soo, spp, sop;
} score;

static void add(score *s, double obs, double pred)
{
    if (!isfinite(obs) || !isfinite(pred)) return;
    double e = pred - obs;
    s->n++, s->se += e * e, s->e += e, s->so += obs, s->sp += pred;
    s->soo += obs * obs, s->spp += pred * pred, s->sop += obs * pred;
}

static double rmse(const score *s) { return sqrt(s->se / s->n); }
static double bias(const score *s) { return s->e / s->n; }
static double corr(const score *s)
{
    double c = s->sop - s->so * s->sp / s->n, a = s->soo - s->so * s->so / s->n;
    double b = s->spp - s->sp * s->sp / s->n;
    return c / sqrt(a * b);
}

/* ---- fields ------------------------------------------------------------------------------- */

static const char *MRG_PROJ = "+proj=stere +lat_ts=60 +ellps=bessel +lon_0=14 +lat_0=90";

static sq25_field *radar_frame(sq25_ctx *ctx, const mrg_radar *r, int k)
{
    sq25_field *f = NULL;
    if (sq25_field_create(ctx, r->w, r->h, MRG_PROJ, r->gt, r->t[k], &f)) return NULL;
    /* The file's 2-D latitudes grow with the row index (row 0 is the southern row) while its
     * y coordinate and GeoTransform say row 0 is northern. The latitudes are right: the
     * radar at the gauges then correlates 0.63 with them at lag 0 (0.06 as the y axis
     * says). So rows are flipped onto the north-up grid of the GeoTransform. */
    float *d = sq25_field_data(f);
    for (int row = 0; row < r->h; row++)
        for (int c = 0; c < r->w; c++) {
            double v = r->mm[((size_t)k * r->h + (size_t)(r->h - 1 - row)) * r->w + c];
            d[row * r->w + c] = isfinite(v) ? (float)(v * 12.0) : NAN; /* mm/5 min -> mm/h */
        }
    sq25_field_set_accumulation_s(f, 300);
    return f;
}

/* Value (mm/h) of field f at lon/lat: bilinear between cell centres. */
static double at_point(sq25_field *f, double lon, double lat)
{
    double col, row;
    if (sq25_field_lonlat_to_pixel(f, 1, &lon, 8, &lat, 8, &col, 8, &row, 8)) return NAN;
    int w = sq25_field_width(f), h = sq25_field_height(f);
    double x = col - 0.5, y = row - 0.5;
    int c0 = (int)floor(x), r0 = (int)floor(y);
    if (c0 < 0 || r0 < 0 || c0 + 1 >= w || r0 + 1 >= h) return NAN;
    double fx = x - c0, fy = y - r0;
    const float *d = sq25_field_data_const(f);
    return (1 - fy) * ((1 - fx) * d[r0 * w + c0] + fx * d[r0 * w + c0 + 1]) +
           fy * ((1 - fx) * d[(r0 + 1) * w + c0] + fx * d[(r0 + 1) * w + c0 + 1]);
}

/* Gauge series as an sq25_series with gauge `skip` missing (-1: none), radar-aligned by a
 * shift of `shift_s` seconds added to the gauges' stamps. */
static sq25_series *gauge_series(sq25_ctx *ctx, const mrg_gauges *g, int skip, int shift_s)
{
    sq25_series *s = NULL;
    if (sq25_series_create(ctx, g->ng, g->nt, g->t0 + shift_s, 300, &s)) return NULL;
    for (int i = 0; i < g->ng; i++) {
        sq25_series_set_station(s, i, g->id[i], g->lon[i], g->lat[i]);
        for (int t = 0; t < g->nt; t++)
            sq25_series_data(s)[i * g->nt + t] = i == skip ? NAN : (float)g->mm[i][t];
    }
    return s;
}

/* Gauge amount (mm per 5 min) of the interval ending at time t (radar clock). */
static double gauge_mm(const mrg_gauges *g, int i, int64_t t, int shift_s)
{
    int64_t k = (t - (g->t0 + shift_s)) / 300;
    if ((t - (g->t0 + shift_s)) % 300 || k < 0 || k >= g->nt) return NAN;
    return g->mm[i][k];
}

/* ---- 1. lag check ------------------------------------------------------------------------- */

static int best_lag(sq25_ctx *ctx, const mrg_radar *r, const mrg_gauges *g)
{
    int best = 0;
    double best_c = -2;
    printf("\n### Radar-gauge lag (correlation of 5-min amounts at the gauges)\n\n"
           "| gauge stamp shift | n | corr |\n|---|---|---|\n");
    for (int shift = -1200; shift <= 600; shift += 300) {
        score s = {0};
        for (int k = 0; k < r->nt; k++) {
            sq25_field *f = radar_frame(ctx, r, k);
            for (int i = 0; i < g->ng; i++)
                add(&s, gauge_mm(g, i, r->t[k], shift), at_point(f, g->lon[i], g->lat[i]) / 12);
            sq25_field_destroy(f);
        }
        printf("| %+d s | %.0f | %.3f |\n", shift, s.n, corr(&s));
        if (corr(&s) > best_c) best_c = corr(&s), best = shift;
    }
    printf("\nUsed: %+d s.\n", best);
    return best;
}

/* ---- 2. lead-0 analysis, leave one gauge out ------------------------------------------------ */

static const char *const method_label[] = {"", "additive", "KED", "multiplicative", "mean field bias"};

static void analysis_loo(sq25_ctx *ctx, const mrg_radar *r, const mrg_gauges *g, int shift,
                         sq25_field *grid_template)
{
    score sc[7] = {{0}};
    int fitted = 0, clim = 0;
    for (int k = 0; k < r->nt; k++) {
        sq25_field *radar = radar_frame(ctx, r, k);
        double obs[MAX_G], lon[MAX_G], lat[MAX_G], z[MAX_G];
        for (int i = 0; i < g->ng; i++) {
            obs[i] = gauge_mm(g, i, r->t[k], shift) * 12;
            lon[i] = g->lon[i], lat[i] = g->lat[i];
        }
        for (int out = 0; out < g->ng; out++) {
            if (!isfinite(obs[out])) continue;
            for (int i = 0; i < g->ng; i++) z[i] = i == out ? NAN : obs[i];
            add(&sc[0], obs[out] / 12, at_point(radar, lon[out], lat[out]) / 12);
            for (int m = SQ25_MERGE_ADDITIVE; m <= SQ25_MERGE_MEAN_FIELD_BIAS; m++) {
                sq25_merge_options *o = NULL;
                sq25_field *grid = NULL;
                sq25_merge_info info;
                sq25_merge_options_create(ctx, &o);
                sq25_merge_options_set_method(o, m);
                sq25_field_clone(grid_template, &grid);
                if (sq25_merge_run(ctx, o, radar, (size_t)g->ng, lon, 8, lat, 8, z, 8, NULL, 0,
                                   grid, NULL, &info) == SQ25_OK)
                    add(&sc[m], obs[out] / 12, at_point(grid, lon[out], lat[out]) / 12);
                fitted += m == SQ25_MERGE_ADDITIVE && info.variogram_source == SQ25_VARIOGRAM_SOURCE_FITTED;
                clim += m == SQ25_MERGE_ADDITIVE && info.variogram_source == SQ25_VARIOGRAM_SOURCE_CLIMATOLOGICAL;
                sq25_field_destroy(grid);
                sq25_merge_options_destroy(o);
            }
            double pred = NAN;
            sq25_interp_points(ctx, NULL, SQ25_INTERP_KRIGING, (size_t)g->ng, lon, 8, lat, 8, z, 8,
                               1, &lon[out], 8, &lat[out], 8, 0, &pred, 8, NULL, 8);
            add(&sc[5], obs[out] / 12, pred / 12);
        }
        sq25_field_destroy(radar);
    }
    printf("\n### Lead-0 analysis, leave one gauge out (5-min amounts, mm; %d x %d street grid)\n\n"
           "| analysis | n | RMSE | bias | corr |\n|---|---|---|---|---|\n",
           sq25_field_width(grid_template), sq25_field_height(grid_template));
    const char *names[6] = {"radar only", "additive (residual kriging)", "KED", "multiplicative",
                            "mean field bias", "gauge-only kriging"};
    for (int m = 0; m < 6; m++)
        printf("| %s | %.0f | %.4f | %+.4f | %.3f |\n", names[m], sc[m].n, rmse(&sc[m]),
               bias(&sc[m]), corr(&sc[m]));
    printf("\nVariogram of the additive merges: %d fitted per cycle, %d climatological.\n", fitted,
           clim);
}

/* ---- 3. the nowcast, leave one gauge out ---------------------------------------------------- */

typedef struct {
    score s5[N_LEADS], s30[N_LEADS];
} lead_scores;

static sq25_pipeline *new_pipeline(sq25_ctx *ctx, const sq25_field *street, int method)
{
    sq25_pipeline *p = NULL;
    sq25_pipeline_create(ctx, &p);
    sq25_pipeline_set_street_grid(p, street);
    sq25_pipeline_set_sensor_qc(p, 0); /* 11 gauges over 2.5 h: too few for the PWS filters */
    sq25_merge_options_set_method(sq25_pipeline_merge_options(p), method);
    const double levels[1] = {5};
    sq25_warn_options_set_levels(sq25_pipeline_warn_options(p), 1, levels, NULL);
    return p;
}

/* Forecast rates (mm/h) at gauge `out` for each lead from the run's warn leads. */
static void leads_at(const sq25_pipeline *p, const mrg_gauges *g, int out, double *mmh)
{
    for (int l = 0; l < N_LEADS; l++) {
        const sq25_field *f = sq25_pipeline_warn_forecast(p, l);
        mmh[l] = f ? at_point((sq25_field *)f, g->lon[out], g->lat[out]) : NAN;
    }
}

static void add_leads(lead_scores *ls, const double *pred_mmh, const mrg_gauges *g, int out,
                      int64_t issue, int shift)
{
    for (int l = 0; l < N_LEADS; l++) {
        double obs = gauge_mm(g, out, issue + 300 * (l + 1), shift);
        add(&ls->s5[l], obs, pred_mmh[l] / 12);
        if (l < 5) continue;
        double o30 = 0, p30 = 0;
        for (int q = l - 5; q <= l; q++) {
            o30 += gauge_mm(g, out, issue + 300 * (q + 1), shift);
            p30 += pred_mmh[q] / 12;
        }
        add(&ls->s30[l], o30, p30);
    }
}

static void nowcast_loo(sq25_ctx *ctx, const mrg_radar *r, const mrg_gauges *g, int shift,
                        const sq25_field *street, int method, const char *grid_label)
{
    lead_scores merged = {0}, radar = {0}, persist = {0};
    int issues = 0;
    for (int k = 2; k + N_LEADS < r->nt; k++) {
        sq25_pipeline *pr = new_pipeline(ctx, street, method);
        for (int q = k - 2; q <= k; q++) {
            sq25_field *f = radar_frame(ctx, r, q);
            sq25_pipeline_push_frame(pr, f);
            sq25_field_destroy(f);
        }
        sq25_warning *w = NULL;
        if (sq25_pipeline_run(pr, &w) != SQ25_OK) {
            sq25_pipeline_destroy(pr);
            continue;
        }
        sq25_warning_destroy(w);
        issues++;
        for (int out = 0; out < g->ng; out++) {
            double pr_mmh[N_LEADS], m_mmh[N_LEADS], p_mmh[N_LEADS];
            leads_at(pr, g, out, pr_mmh);
            sq25_pipeline *pm = new_pipeline(ctx, street, method);
            /* the gauges' own stamps; the pipeline's lag option aligns them with the radar */
            sq25_series *s = gauge_series(ctx, g, out, 0);
            sq25_pipeline_set_sensor_alignment(pm, SQ25_STAMP_END, shift);
            sq25_pipeline_push_sensors(pm, s);
            for (int q = k - 2; q <= k; q++) {
                sq25_field *f = radar_frame(ctx, r, q);
                sq25_pipeline_push_frame(pm, f);
                sq25_field_destroy(f);
            }
            if (sq25_pipeline_run(pm, &w) == SQ25_OK) {
                leads_at(pm, g, out, m_mmh);
                const sq25_field *an = sq25_pipeline_analysis(pm);
                double a0 = an ? at_point((sq25_field *)an, g->lon[out], g->lat[out])
                               : at_point((sq25_field *)sq25_pipeline_warn_forecast(pr, 0), g->lon[out], g->lat[out]);
                for (int l = 0; l < N_LEADS; l++) p_mmh[l] = a0;
                add_leads(&merged, m_mmh, g, out, r->t[k], shift);
                add_leads(&radar, pr_mmh, g, out, r->t[k], shift);
                add_leads(&persist, p_mmh, g, out, r->t[k], shift);
                sq25_warning_destroy(w);
            }
            sq25_series_destroy(s);
            sq25_pipeline_destroy(pm);
        }
        sq25_pipeline_destroy(pr);
    }
    printf("\n### Nowcast at the withheld gauge (%s merge, %s street grid %d x %d; %d issue "
           "times x %d gauges)\n\n",
           method_label[method], grid_label, sq25_field_width(street), sq25_field_height(street),
           issues, g->ng);
    printf("| lead | n | 5-min RMSE merged / radar / persist. | bias merged / radar / persist. | "
           "corr merged / radar / persist. | 30-min RMSE merged / radar / persist. | "
           "30-min corr merged / radar / persist. |\n|---|---|---|---|---|---|---|\n");
    for (int l = 0; l < N_LEADS; l++) {
        printf("| %d | %.0f | %.4f / %.4f / %.4f | %+.4f / %+.4f / %+.4f | %.3f / %.3f / %.3f |",
               5 * (l + 1), merged.s5[l].n, rmse(&merged.s5[l]), rmse(&radar.s5[l]),
               rmse(&persist.s5[l]), bias(&merged.s5[l]), bias(&radar.s5[l]),
               bias(&persist.s5[l]), corr(&merged.s5[l]), corr(&radar.s5[l]),
               corr(&persist.s5[l]));
        if (l >= 5)
            printf(" %.3f / %.3f / %.3f | %.3f / %.3f / %.3f |\n", rmse(&merged.s30[l]),
                   rmse(&radar.s30[l]), rmse(&persist.s30[l]), corr(&merged.s30[l]),
                   corr(&radar.s30[l]), corr(&persist.s30[l]));
        else
            printf(" | |\n");
    }
}

/* ---- 3b. the ensemble, leave one gauge out --------------------------------------------------- */

#define ENS_MEMBERS 12

typedef struct {
    score mean5[N_LEADS];       /* ensemble mean 5-min amount */
    double crps[N_LEADS];       /* sum of the CRPS of the members' 5-min amounts */
    double brier, n_brier;      /* P(1 h >= ENS_EVENT_MM) against the gauge's hour */
} ens_scores;

#define ENS_EVENT_MM 1.0

/* CRPS of an ensemble x[0..m-1] against y: mean |x - y| - mean |x - x'| / 2. */
static double crps_ensemble(const double *x, int m, double y)
{
    double a = 0, b = 0;
    for (int i = 0; i < m; i++) {
        a += fabs(x[i] - y);
        for (int j = 0; j < m; j++) b += fabs(x[i] - x[j]);
    }
    return a / m - b / (2.0 * m * m);
}

static sq25_pipeline *ensemble_pipeline(sq25_ctx *ctx, const mrg_radar *r, int k)
{
    sq25_pipeline *p = new_pipeline(ctx, NULL, SQ25_MERGE_ADDITIVE);
    const double levels[1] = {ENS_EVENT_MM};
    sq25_warn_options_set_levels(sq25_pipeline_warn_options(p), 1, levels, NULL);
    sq25_ensemble_options *eo = NULL;
    sq25_ensemble_options_create(ctx, &eo);
    sq25_ensemble_options_set_members(eo, ENS_MEMBERS);
    sq25_ensemble_options_set_seed(eo, 11);
    sq25_ensemble_options_set_keep_members(eo, 1);
    sq25_pipeline_set_ensemble(p, eo, 0);
    sq25_ensemble_options_destroy(eo);
    for (int q = k - 2; q <= k; q++) {
        sq25_field *f = radar_frame(ctx, r, q);
        sq25_pipeline_push_frame(p, f);
        sq25_field_destroy(f);
    }
    return p;
}

/* Scores of the run's ensemble at gauge `out` (the members' rates at the gauge, mm/h, per
 * lead, as 5-minute amounts). */
static void add_ensemble(ens_scores *es, const sq25_ensemble *e, const mrg_gauges *g, int out,
                         int64_t issue, int shift)
{
    double hour_obs = 0, p_event = 0;
    for (int l = 0; l < N_LEADS; l++) hour_obs += gauge_mm(g, out, issue + 300 * (l + 1), shift);
    double amount[ENS_MEMBERS] = {0};
    for (int l = 0; l < N_LEADS; l++) {
        double x[ENS_MEMBERS], mean = 0;
        for (int m = 0; m < ENS_MEMBERS; m++) {
            x[m] = at_point((sq25_field *)sq25_ensemble_member(e, m, l), g->lon[out], g->lat[out]) / 12;
            mean += x[m] / ENS_MEMBERS;
            amount[m] += x[m];
        }
        double obs = gauge_mm(g, out, issue + 300 * (l + 1), shift);
        if (!isfinite(obs) || !isfinite(mean)) continue;
        add(&es->mean5[l], obs, mean);
        es->crps[l] += crps_ensemble(x, ENS_MEMBERS, obs);
    }
    if (!isfinite(hour_obs)) return;
    for (int m = 0; m < ENS_MEMBERS; m++) p_event += (amount[m] >= ENS_EVENT_MM) / (double)ENS_MEMBERS;
    double o = hour_obs >= ENS_EVENT_MM;
    es->brier += (p_event - o) * (p_event - o);
    es->n_brier += 1;
}

/* The ensemble started from the merged analyses (the withheld gauge left out) against the
 * radar-only ensemble of the same cycle, at the withheld gauge. */
static void ensemble_loo(sq25_ctx *ctx, const mrg_radar *r, const mrg_gauges *g, int shift)
{
    ens_scores merged = {0}, radar = {0};
    int issues = 0;
    for (int k = 2; k + N_LEADS < r->nt; k++) {
        sq25_pipeline *pr = ensemble_pipeline(ctx, r, k);
        sq25_warning *w = NULL;
        if (sq25_pipeline_run(pr, &w) != SQ25_OK || !sq25_pipeline_ensemble(pr)) {
            sq25_warning_destroy(w);
            sq25_pipeline_destroy(pr);
            continue;
        }
        sq25_warning_destroy(w);
        issues++;
        for (int out = 0; out < g->ng; out++) {
            sq25_pipeline *pm = ensemble_pipeline(ctx, r, k);
            sq25_series *s = gauge_series(ctx, g, out, 0);
            sq25_pipeline_set_sensor_alignment(pm, SQ25_STAMP_END, shift);
            sq25_pipeline_push_sensors(pm, s);
            /* the frames were pushed before the sensors: push_sensors samples them again */
            if (sq25_pipeline_run(pm, &w) == SQ25_OK && sq25_pipeline_ensemble(pm)) {
                add_ensemble(&merged, sq25_pipeline_ensemble(pm), g, out, r->t[k], shift);
                add_ensemble(&radar, sq25_pipeline_ensemble(pr), g, out, r->t[k], shift);
            }
            sq25_warning_destroy(w);
            sq25_series_destroy(s);
            sq25_pipeline_destroy(pm);
        }
        sq25_pipeline_destroy(pr);
    }
    printf("\n### Ensemble at the withheld gauge (%d members, additive merge, radar grid; %d issue "
           "times x %d gauges)\n\n", ENS_MEMBERS, issues, g->ng);
    printf("Brier score of P(1 h >= %.0f mm): merged start %.4f, radar only %.4f (n = %.0f)\n\n",
           ENS_EVENT_MM, merged.brier / merged.n_brier, radar.brier / radar.n_brier, merged.n_brier);
    printf("| lead | n | mean 5-min RMSE merged / radar | CRPS (mm) merged / radar |\n|---|---|---|---|\n");
    for (int l = 0; l < N_LEADS; l++)
        printf("| %d | %.0f | %.4f / %.4f | %.4f / %.4f |\n", 5 * (l + 1), merged.mean5[l].n,
               rmse(&merged.mean5[l]), rmse(&radar.mean5[l]), merged.crps[l] / merged.mean5[l].n,
               radar.crps[l] / radar.mean5[l].n);
}

/* ---- 4. QC on the Amsterdam file -------------------------------------------------------------- */

/* 3-month hourly correlation of station i with the hourly median of its neighbours within
 * 10 km (haversine), over hours where both are complete. Independent of lib/qc.c. */
static double hourly_neighbour_corr(const sq25_series *s, int i)
{
    int n = sq25_series_station_count(s);
    int64_t nt = sq25_series_step_count(s), nh = nt / 12;
    const float *v = sq25_series_data_const(s);
    double lon0, lat0;
    sq25_series_station_lonlat(s, i, &lon0, &lat0);
    int nb[256], m = 0;
    for (int j = 0; j < n && m < 256; j++) {
        double lon, lat;
        sq25_series_station_lonlat(s, j, &lon, &lat);
        double p1 = lat0 * M_PI / 180, p2 = lat * M_PI / 180;
        double a = pow(sin((p2 - p1) / 2), 2) + cos(p1) * cos(p2) * pow(sin((lon - lon0) * M_PI / 360), 2);
        if (j != i && 2 * 6371000 * asin(sqrt(a)) <= 10000) nb[m++] = j;
    }
    score sc = {0};
    double hv[256];
    for (int64_t h = 0; h < nh; h++) {
        double own = 0;
        for (int q = 0; q < 12; q++) own += v[(size_t)i * nt + h * 12 + q];
        int c = 0;
        for (int e = 0; e < m; e++) {
            double sum = 0;
            for (int q = 0; q < 12; q++) sum += v[(size_t)nb[e] * nt + h * 12 + q];
            if (isfinite(sum)) hv[c++] = sum;
        }
        if (c < 5 || !isfinite(own)) continue;
        for (int a = 1; a < c; a++)
            for (int b = a; b > 0 && hv[b - 1] > hv[b]; b--) {
                double t = hv[b];
                hv[b] = hv[b - 1], hv[b - 1] = t;
            }
        add(&sc, c % 2 ? hv[c / 2] : 0.5 * (hv[c / 2 - 1] + hv[c / 2]), own);
    }
    return sc.n > 100 ? corr(&sc) : NAN;
}

static void qc_amsterdam(sq25_ctx *ctx)
{
    sq25_series *s = NULL;
    if (sq25_series_read_netcdf(ctx, data_path("gauges/amsterdam_pws_2017/test_dataset.nc"), &s)) {
        printf("\n(Amsterdam file not found: QC section skipped)\n");
        return;
    }
    clock_t c0 = clock();
    sq25_qc_result *r = NULL;
    sq25_qc_run(s, NULL, &r);
    double cpu = (double)(clock() - c0) / CLOCKS_PER_SEC;
    int n = sq25_series_station_count(s);
    int64_t nt = sq25_series_step_count(s);
    const uint8_t *f = sq25_qc_flags(r);
    const float *v = sq25_series_data_const(s);
    long reported = 0, judged = 0, reported_nfz = 0, judged_nfz = 0, outlier = 0;
    for (int i = 0; i < n; i++)
        for (int64_t t = 0; t < nt; t++) {
            size_t k = (size_t)i * nt + t;
            if (isnan(v[k])) continue;
            bool j = !(f[k] & SQ25_QC_FLAG_SO_UNKNOWN), fz = f[k] & SQ25_QC_FLAG_FAULTY_ZERO;
            reported++, judged += j, outlier += (f[k] & SQ25_QC_FLAG_OUTLIER) != 0;
            if (!fz) reported_nfz++, judged_nfz += j;
        }
    printf("\n### QC of the Amsterdam file (134 stations x %lld steps, defaults; %.2f s CPU)\n\n",
           (long long)nt, cpu);
    printf("Outlier filter judges %.1f %% of the reported station-steps (%ld of %ld), %.1f %% "
           "leaving out faulty-zero steps; %ld reported steps flagged outlier.\n\n",
           100.0 * judged / reported, judged, reported, 100.0 * judged_nfz / reported_nfz, outlier);
    printf("| station | reported | outlier steps | share | hourly corr. with neighbours | bias factor |\n"
           "|---|---|---|---|---|---|\n");
    for (int i = 0; i < n; i++) {
        long rep = 0, out = 0;
        for (int64_t t = 0; t < nt; t++) {
            size_t k = (size_t)i * nt + t;
            rep += !isnan(v[k]);
            out += !isnan(v[k]) && (f[k] & SQ25_QC_FLAG_OUTLIER);
        }
        double hc = hourly_neighbour_corr(s, i);
        if (rep == 0 || (out < 0.2 * rep && !(hc < 0.15))) continue;
        printf("| %s | %ld | %ld | %.2f | %.2f | %.3f |\n", sq25_series_station_id(s, i), rep, out,
               (double)out / rep, hc, sq25_qc_bias_factor(r, i));
    }
    printf("\n(rows: stations with outlier flags on at least 20 %% of their reported steps, or an "
           "hourly neighbour correlation below 0.15)\n");
    sq25_qc_result_destroy(r);
    sq25_series_destroy(s);
}

/* ---- 5. cost per cycle ----------------------------------------------------------------------- */

static double cycle_cpu(sq25_ctx *ctx, const mrg_radar *r, const sq25_field *street,
                        const sq25_series *sensors, int k)
{
    sq25_pipeline *p = new_pipeline(ctx, street, SQ25_MERGE_ADDITIVE);
    if (sensors) sq25_pipeline_push_sensors(p, sensors);
    for (int q = k - 2; q <= k; q++) {
        sq25_field *f = radar_frame(ctx, r, q);
        sq25_pipeline_push_frame(p, f);
        sq25_field_destroy(f);
    }
    sq25_warning *w = NULL;
    clock_t c0 = clock();
    int rc = sq25_pipeline_run(p, &w);
    double cpu = (double)(clock() - c0) / CLOCKS_PER_SEC;
    if (rc) fprintf(stderr, "cycle: %s\n", sq25_errmsg(ctx));
    sq25_warning_destroy(w);
    sq25_pipeline_destroy(p);
    return cpu;
}

static void cost(sq25_ctx *ctx, const mrg_radar *r)
{
    /* a 25 x 25 km city box over Gothenburg in UTM 33N, 600 sensors at random positions
     * reporting the radar at their place plus noise */
    double cx = 320000, cy = 6400000;
    sq25_series *s = NULL;
    sq25_series_create(ctx, 600, 6, r->t[20] - 5 * 300, 300, &s);
    sq25_field *probe = NULL;
    sq25_grid_create(ctx, "EPSG:32633", cx - 12500, cy - 12500, cx + 12500, cy + 12500, 100, 0, &probe);
    sq25_field *radar = radar_frame(ctx, r, 20);
    srand(7);
    for (int i = 0; i < 600; i++) {
        double col = 250.0 * rand() / RAND_MAX, row = 250.0 * rand() / RAND_MAX, lon, lat;
        sq25_field_pixel_to_lonlat(probe, 1, &col, 8, &row, 8, &lon, 8, &lat, 8);
        char id[16];
        snprintf(id, sizeof id, "x%d", i);
        sq25_series_set_station(s, i, id, lon, lat);
        double base = at_point(radar, lon, lat);
        for (int t = 0; t < 6; t++)
            sq25_series_data(s)[i * 6 + t] = (float)(fmax(0, base + 2.0 * rand() / RAND_MAX - 1) / 12);
    }
    sq25_field_destroy(radar);
    printf("\n### Cost of one cycle (process CPU s; 3 frames, 12 leads, warnings; 600 sensors; "
           "shared machine, noisy)\n\n| street grid | cells | radar only (3 runs) | with 600 sensors "
           "(3 runs) |\n|---|---|---|---|\n");
    const double cells_m[2] = {100, 10};
    for (int g = 0; g < 2; g++) {
        sq25_field *street = NULL;
        sq25_grid_create(ctx, "EPSG:32633", cx - 12500, cy - 12500, cx + 12500, cy + 12500,
                         cells_m[g], 0, &street);
        double a[3], b[3];
        for (int rep = 0; rep < 3; rep++) {
            a[rep] = cycle_cpu(ctx, r, street, NULL, 20);
            b[rep] = cycle_cpu(ctx, r, street, s, 20);
        }
        printf("| %.0f m | %d x %d | %.3f %.3f %.3f | %.3f %.3f %.3f |\n", cells_m[g],
               sq25_field_width(street), sq25_field_height(street), a[0], a[1], a[2], b[0], b[1],
               b[2]);
        sq25_field_destroy(street);
    }
    sq25_field_destroy(probe);
    sq25_series_destroy(s);
}

int main(int argc, char **argv)
{
    bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    setvbuf(stdout, NULL, _IOLBF, 0);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    sq25_ctx *ctx = sq25_ctx_create();
    mrg_radar r = {0};
    mrg_gauges g = {0};
    if (read_radar(&r) || read_gauge_file(MRG_DIR "openmrg_municp_gauge_5min_2h.nc", true, &g) ||
        read_gauge_file(MRG_DIR "openmrg_smhi_gauge_5min_2h.nc", false, &g)) {
        printf("bench_sensors_cycle: OpenMRG data not found under %s: skipped\n", data_path(MRG_DIR));
        sq25_ctx_destroy(ctx);
        return 0;
    }
    printf("## Sensors in the cycle: OpenMRG %d radar frames %dx%d, %d gauges\n", r.nt, r.w, r.h, g.ng);
    int shift = best_lag(ctx, &r, &g);
    if (argc > 1 && strcmp(argv[1], "--ensemble") == 0) { /* that section alone */
        ensemble_loo(ctx, &r, &g, shift);
        free(r.mm);
        sq25_ctx_destroy(ctx);
        return 0;
    }
    /* street grid: the gauges' box plus 5 km, 250 m cells */
    double lo0 = 1e9, lo1 = -1e9, la0 = 1e9, la1 = -1e9;
    for (int i = 0; i < g.ng; i++)
        lo0 = fmin(lo0, g.lon[i]), lo1 = fmax(lo1, g.lon[i]), la0 = fmin(la0, g.lat[i]), la1 = fmax(la1, g.lat[i]);
    sq25_field *street = NULL;
    sq25_grid_create_lonlat(ctx, NULL, lo0 - 0.09, la0 - 0.045, lo1 + 0.09, la1 + 0.045, 250, 0, &street);
    analysis_loo(ctx, &r, &g, shift, street);
    nowcast_loo(ctx, &r, &g, shift, street, SQ25_MERGE_ADDITIVE, "city (gauges + 5 km), 250 m");
    if (!quick) ensemble_loo(ctx, &r, &g, shift);
    if (!quick) {
        /* a wider grid carries the correction further before it leaves */
        sq25_field *wide = NULL;
        sq25_grid_create_lonlat(ctx, NULL, lo0 - 0.36, la0 - 0.18, lo1 + 0.36, la1 + 0.18, 500, 0,
                                &wide);
        nowcast_loo(ctx, &r, &g, shift, wide, SQ25_MERGE_ADDITIVE, "wide (gauges + 20 km), 500 m");
        nowcast_loo(ctx, &r, &g, shift, street, SQ25_MERGE_KED, "city (gauges + 5 km), 250 m");
        sq25_field_destroy(wide);
    }
    sq25_field_destroy(street);
    if (!quick) qc_amsterdam(ctx);
    cost(ctx, &r);
    free(r.mm);
    sq25_ctx_destroy(ctx);
    return 0;
}
