/* bench_links.c -- microwave links against rain gauges.
 * A. OpenRainER (Emilia-Romagna, 8 days, raw signal levels): link-derived 15-minute and hourly
 *    rain against the mean of the gauges within 2 km of each path, for each wet/dry threshold
 *    and wet-antenna choice: correlation, RMSE and bias over the wet intervals; share of
 *    link-hours flagged.
 * B. OpenMRG (Gothenburg, 2 h): leave-one-gauge-out at 5 and 30 minutes with gauges only, links
 *    only and both, each without and with radar (kriging with the radar as external drift),
 *    against radar alone and the nearest other gauge (the simplest baselines).
 * Reads ../shared/data (or $SQ25_DATA); prints figures, asserts nothing. */
#include "sq25.h"

#include <hdf5.h>
#include <math.h>
#include <proj.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static char data_root[1024];

static const char *data_path(const char *rel)
{
    static char buf[2048];
    snprintf(buf, sizeof buf, "%s/%s", data_root, rel);
    return buf;
}

static double cpu_s(void) { return (double)clock() / CLOCKS_PER_SEC; }

/* ---- scores ------------------------------------------------------------------------------ */

typedef struct {
    double n, sx, sy, sxx, syy, sxy, se;
} scores;

static void score_add(scores *s, double pred, double obs)
{
    s->n += 1, s->sx += pred, s->sy += obs, s->sxx += pred * pred, s->syy += obs * obs;
    s->sxy += pred * obs, s->se += (pred - obs) * (pred - obs);
}

static double score_corr(const scores *s)
{
    double cov = s->sxy - s->sx * s->sy / s->n, vx = s->sxx - s->sx * s->sx / s->n;
    double vy = s->syy - s->sy * s->sy / s->n;
    return s->n > 2 && vx > 0 && vy > 0 ? cov / sqrt(vx * vy) : NAN;
}

static void score_print(const char *label, const scores *s)
{
    printf("| %s | %.0f | %.3f | %.3f | %+.3f | %+.0f%% |\n", label, s->n, score_corr(s),
           sqrt(s->se / s->n), (s->sx - s->sy) / s->n, 100 * (s->sx / s->sy - 1));
}

/* ---- geometry in UTM ------------------------------------------------------------------- */

static PJ *to_metric(const char *crs)
{
    PJ *p = proj_create_crs_to_crs(NULL, "EPSG:4326", crs, NULL);
    PJ *n = p ? proj_normalize_for_visualization(NULL, p) : NULL;
    proj_destroy(p);
    return n;
}

static void lonlat_xy(PJ *p, double lon, double lat, double *x, double *y)
{
    PJ_COORD c = proj_trans(p, PJ_FWD, proj_coord(lon, lat, 0, 0));
    *x = c.xy.x, *y = c.xy.y;
}

/* Distance (m) from point (px, py) to the segment (ax, ay)-(bx, by). */
static double segment_distance(double px, double py, double ax, double ay, double bx, double by)
{
    double dx = bx - ax, dy = by - ay, l2 = dx * dx + dy * dy;
    double t = l2 > 0 ? ((px - ax) * dx + (py - ay) * dy) / l2 : 0;
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    return hypot(px - (ax + t * dx), py - (ay + t * dy));
}

/* ---- A: OpenRainER ----------------------------------------------------------------------- */

typedef struct {
    int n;        /* gauges near the link */
    int idx[64];
} near_set;

static double near_mean(const sq25_series *g, const near_set *ns, int64_t step)
{
    const float *v = sq25_series_data_const(g);
    int64_t nt = sq25_series_step_count(g);
    double sum = 0;
    int got = 0;
    for (int e = 0; e < ns->n; e++) {
        float x = v[(size_t)ns->idx[e] * (size_t)nt + (size_t)step];
        if (!isnan(x)) sum += x, got++;
    }
    return got ? sum / got : NAN;
}

static void openrainer_near(const sq25_links *l, const sq25_series *g, near_set *near)
{
    PJ *p = to_metric("EPSG:32632");
    int ng = sq25_series_station_count(g);
    double *gx = malloc(sizeof(double) * (size_t)ng), *gy = malloc(sizeof(double) * (size_t)ng);
    for (int j = 0; j < ng; j++) {
        double lon, lat;
        sq25_series_station_lonlat(g, j, &lon, &lat);
        lonlat_xy(p, lon, lat, &gx[j], &gy[j]);
    }
    for (int i = 0; i < sq25_links_count(l); i++) {
        double lon0, lat0, lon1, lat1, ax, ay, bx, by;
        sq25_links_geometry(l, i, &lon0, &lat0, &lon1, &lat1, NULL, NULL, NULL);
        lonlat_xy(p, lon0, lat0, &ax, &ay);
        lonlat_xy(p, lon1, lat1, &bx, &by);
        near[i].n = 0;
        for (int j = 0; j < ng && near[i].n < 64; j++)
            if (segment_distance(gx[j], gy[j], ax, ay, bx, by) <= 2000) near[i].idx[near[i].n++] = j;
    }
    free(gx), free(gy);
    proj_destroy(p);
}

/* Link and gauge series of one configuration compared at 15 min (agg 1) or hourly (agg 4),
 * with the gauge series shifted by `lag` 15-min steps. Wet: link or gauges >= 0.1 mm. */
static void compare(const sq25_series *lr, const sq25_series *g, const near_set *near,
                    int64_t g_offset, int agg, int lag, scores *all, double *hours_flagged,
                    double *hours_total, const sq25_series *flagged)
{
    int n = sq25_series_station_count(lr);
    int64_t nt = sq25_series_step_count(lr), ngt = sq25_series_step_count(g);
    const float *v = sq25_series_data_const(lr), *fl = flagged ? sq25_series_data_const(flagged) : NULL;
    memset(all, 0, sizeof *all);
    double hf = 0, ht = 0;
    for (int i = 0; i < n; i++) {
        if (near[i].n == 0) continue;
        for (int64_t k = 0; k + agg <= nt; k += agg) {
            double link = 0, gauge = 0, fsum = 0;
            bool ok = true;
            for (int a = 0; a < agg && ok; a++) {
                int64_t gs = k + a + g_offset + lag;
                double x = v[(size_t)i * (size_t)nt + (size_t)(k + a)];
                double y = gs >= 0 && gs < ngt ? near_mean(g, &near[i], gs) : NAN;
                if (fl) fsum += fl[(size_t)i * (size_t)nt + (size_t)(k + a)];
                ok = !isnan(x) && !isnan(y);
                link += x, gauge += y;
            }
            if (fl && agg == 4) {
                ht += 1;
                hf += fsum > 0;
            }
            if (ok && (link >= 0.1 || gauge >= 0.1)) score_add(all, link, gauge);
        }
    }
    if (hours_flagged) *hours_flagged = hf, *hours_total = ht;
}

/* Which flags the link-hours carry, from the public step functions with the defaults. */
static void flag_breakdown(sq25_links *l)
{
    int64_t nt = sq25_links_step_count(l);
    double *loss = malloc(sizeof(double) * (size_t)nt);
    uint8_t *wet = malloc((size_t)nt), *fl = malloc((size_t)nt);
    long hours = 0, by[5] = {0}, any = 0, noisy_links = 0;
    static const int bits[5] = {SQ25_CML_FLAG_MISSING, SQ25_CML_FLAG_JUMP, SQ25_CML_FLAG_CONSTANT,
                                SQ25_CML_FLAG_STEP, SQ25_CML_FLAG_NOISY};
    for (int i = 0; i < sq25_links_count(l); i++) {
        size_t off = (size_t)i * (size_t)nt;
        sq25_cml_total_loss((size_t)nt, sq25_links_tsl(l) + off, sq25_links_rsl(l) + off, loss);
        sq25_cml_wet_dry_std((size_t)nt, loss, 60, 0.8, wet);
        sq25_cml_quality_flags((size_t)nt, loss, 60, 10, 86400, fl);
        sq25_cml_reject_steps((size_t)nt, loss, wet, 10, fl);
        long judged = 0, wet_n = 0;
        for (int64_t k = 0; k < nt; k++)
            if (wet[k] != 255) judged++, wet_n += wet[k] == 1;
        bool noisy = judged >= 1440 && wet_n > 0.5 * judged;
        noisy_links += noisy;
        for (int64_t h = 0; h + 60 <= nt; h += 60) {
            int acc = 0;
            for (int k = 0; k < 60; k++) acc |= fl[h + k];
            if (noisy) acc |= SQ25_CML_FLAG_NOISY;
            hours++;
            any += acc != 0;
            for (int b = 0; b < 5; b++) by[b] += (acc & bits[b]) != 0;
        }
    }
    printf("\nlink-hours with a flagged sample (defaults): %.1f %% of %ld; missing samples %.1f %%, "
           "jump %.1f %%, constant signal %.1f %%, baseline step %.1f %%, noisy link %.1f %% "
           "(%ld sub-links wet in more than half their record)\n",
           100.0 * any / hours, hours, 100.0 * by[0] / hours, 100.0 * by[1] / hours,
           100.0 * by[2] / hours, 100.0 * by[3] / hours, 100.0 * by[4] / hours, noisy_links);
    free(loss), free(wet), free(fl);
}

/* CPU time of the link analysis onto a street grid at the wettest 15 minutes, against the
 * same values kriged as points at the path midpoints (the simplest baseline). */
static void grid_speed(sq25_ctx *ctx, sq25_links *l, sq25_cml_options *o, int64_t from, int64_t to)
{
    sq25_cml_options_set(o, SQ25_CML_WINDOW_S, 3600);
    sq25_series *r = NULL;
    if (sq25_links_process(l, o, from, to, 900, &r, NULL)) return;
    int n = sq25_series_station_count(r);
    int64_t nt = sq25_series_step_count(r), best = 0;
    double best_sum = -1;
    for (int64_t k = 0; k < nt; k++) {
        double sum = 0;
        for (int i = 0; i < n; i++) {
            float v = sq25_series_data_const(r)[(size_t)i * (size_t)nt + (size_t)k];
            if (!isnan(v)) sum += v;
        }
        if (sum > best_sum) best_sum = sum, best = k;
    }
    double *ll = malloc(sizeof(double) * 4 * (size_t)n), *z = malloc(sizeof(double) * (size_t)n);
    double *mlon = malloc(sizeof(double) * (size_t)n), *mlat = malloc(sizeof(double) * (size_t)n);
    for (int i = 0; i < n; i++) {
        sq25_links_geometry(l, i, &ll[4 * i], &ll[4 * i + 1], &ll[4 * i + 2], &ll[4 * i + 3], NULL, NULL, NULL);
        z[i] = sq25_series_data_const(r)[(size_t)i * (size_t)nt + (size_t)best] * 4.0; /* mm/h */
        mlon[i] = 0.5 * (ll[4 * i] + ll[4 * i + 2]), mlat[i] = 0.5 * (ll[4 * i + 1] + ll[4 * i + 3]);
    }
    sq25_field *g = NULL, *v = NULL;
    sq25_grid_parse(ctx, "lonlat:10.6,44.2,12.0,44.9:250", 0, &g);
    sq25_field_clone(g, &v);
    char when[32];
    sq25_time_format(sq25_series_time(r, best), when, sizeof when);
    printf("\nstreet grid %d x %d cells of 250 m, %d links, 15 min ending %s:\n", sq25_field_width(g),
           sq25_field_height(g), n, when);
    double c0 = cpu_s();
    int rc_point = sq25_interp_grid(ctx, NULL, SQ25_INTERP_KRIGING, (size_t)n, mlon, 8, mlat, 8, z, 8, g, v);
    double t_point = cpu_s() - c0;
    if (rc_point) printf("(point kriging: %s)\n", sq25_errmsg(ctx));
    c0 = cpu_s();
    int rc = sq25_interp_lines_grid(ctx, NULL, SQ25_INTERP_KRIGING, (size_t)n, ll, z, 250, NULL, g, v);
    double t_block = cpu_s() - c0;
    double mx, mean, wet, nod;
    sq25_field_stats(g, 0.1, &mx, &mean, &wet, &nod);
    c0 = cpu_s();
    sq25_interp_lines_grid(ctx, NULL, SQ25_INTERP_IDW, (size_t)n, ll, z, 250, NULL, g, NULL);
    double t_idw = cpu_s() - c0;
    printf("point kriging at midpoints %.2f s CPU; block kriging of the paths (250-m pieces) %.2f s "
           "(rc %d, max %.1f mm/h, wet %.0f %%); IDW over path points %.2f s\n",
           t_point, t_block, rc, mx, 100 * wet, t_idw);
    sq25_field_destroy(g), sq25_field_destroy(v);
    free(ll), free(z), free(mlon), free(mlat);
    sq25_series_destroy(r);
}

static int bench_openrainer(void)
{
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_links *l = NULL;
    sq25_series *g = NULL;
    double t0 = cpu_s();
    int rc = sq25_links_read_netcdf(ctx, data_path("sensors/openrainer_8d/openrainer_cml_8d.nc"), &l);
    double t_read = cpu_s() - t0;
    if (!rc) rc = sq25_series_read_netcdf(ctx, data_path("sensors/openrainer_8d/openrainer_gauges_8d.nc"), &g);
    if (rc) {
        printf("OpenRainER: %s (skipped)\n", sq25_errmsg(ctx));
        sq25_links_destroy(l), sq25_series_destroy(g), sq25_ctx_destroy(ctx);
        return 0;
    }
    int nl = sq25_links_count(l);
    near_set *near = calloc((size_t)nl, sizeof *near);
    openrainer_near(l, g, near);
    int with = 0;
    for (int i = 0; i < nl; i++) with += near[i].n > 0;
    int64_t from = sq25_series_time(g, 0), to = sq25_series_time(g, sq25_series_step_count(g) - 1);
    printf("\n## A. OpenRainER: %d sub-links (%d with a gauge within 2 km of the path), %d gauges, "
           "%lld 15-min steps; read %.2f s CPU\n",
           nl, with, sq25_series_station_count(g), (long long)sq25_series_step_count(g), t_read);
    sq25_cml_options *o = NULL;
    sq25_cml_options_create(ctx, &o);
    /* time stamps: the correlation of the default chain against the gauges at lags of -1, 0,
     * +1 gauge steps says which convention the gauge file follows */
    sq25_series *lr = NULL, *lf = NULL;
    sq25_links_process(l, o, from, to, 900, &lr, &lf);
    int64_t g_off = (sq25_series_time(lr, 0) - from) / 900;
    printf("\nalignment (default chain, 15 min): ");
    int best_lag = 0;
    double best_r = -2;
    for (int lag = -2; lag <= 2; lag++) {
        scores s;
        compare(lr, g, near, g_off, 1, lag, &s, NULL, NULL, NULL);
        printf("lag %+d: r = %.3f  ", lag, score_corr(&s));
        if (score_corr(&s) > best_r) best_r = score_corr(&s), best_lag = lag;
    }
    printf("\n(the gauge series is shifted by %+d steps below)\n", best_lag);
    sq25_series_destroy(lr), sq25_series_destroy(lf);
    static const double thresholds[3] = {0.6, 0.8, 1.2};
    static const struct { int method; const char *name; } waa[4] = {
        {SQ25_WAA_NONE, "none"}, {SQ25_WAA_CONSTANT, "constant 2.3 dB"}, {SQ25_WAA_SCHLEISS2013, "Schleiss 2013"},
        {SQ25_WAA_LEIJNSE2008, "Leijnse 2008"}};
    for (int agg = 1; agg <= 4; agg += 3) {
        printf("\n%s rain, link vs mean of the gauges within 2 km, intervals where either >= 0.1 mm\n\n",
               agg == 1 ? "15-minute" : "hourly");
        printf("| wet/dry std threshold, wet antenna | n | corr | RMSE mm | bias mm | rel. bias |\n|---|---|---|---|---|---|\n");
        for (int t = 0; t < 3; t++)
            for (int w = 0; w < 4; w++) {
                sq25_cml_options_set(o, SQ25_CML_THRESHOLD_DB, thresholds[t]);
                sq25_cml_options_set(o, SQ25_CML_WAA_METHOD, waa[w].method);
                double c0 = cpu_s();
                rc = sq25_links_process(l, o, from, to, 900, &lr, &lf);
                double c1 = cpu_s() - c0;
                if (rc) continue;
                scores s;
                double hf, ht;
                compare(lr, g, near, g_off, agg, best_lag, &s, &hf, &ht, lf);
                char label[128];
                snprintf(label, sizeof label, "%.1f dB, %s", thresholds[t], waa[w].name);
                score_print(label, &s);
                if (agg == 4 && t == 1 && w == 3)
                    printf("|  (default: %.1f %% of link-hours with a flagged sample; chain %.2f s CPU) | | | | | |\n",
                           100 * hf / ht, c1);
                sq25_series_destroy(lr), sq25_series_destroy(lf);
            }
    }
    /* the wet/dry window at the default threshold and wet antenna, hourly */
    printf("\nhourly, 0.8 dB, Leijnse 2008, by rolling-std window\n\n| window | n | corr | RMSE mm | bias mm | rel. bias |\n|---|---|---|---|---|---|\n");
    sq25_cml_options_set(o, SQ25_CML_THRESHOLD_DB, 0.8);
    sq25_cml_options_set(o, SQ25_CML_WAA_METHOD, SQ25_WAA_LEIJNSE2008);
    static const double windows[4] = {1800, 3600, 7200, 10800};
    for (int w = 0; w < 4; w++) {
        sq25_cml_options_set(o, SQ25_CML_WINDOW_S, windows[w]);
        if (sq25_links_process(l, o, from, to, 900, &lr, &lf)) continue;
        scores s;
        compare(lr, g, near, g_off, 4, best_lag, &s, NULL, NULL, NULL);
        char label[64];
        snprintf(label, sizeof label, "%.0f min", windows[w] / 60);
        score_print(label, &s);
        sq25_series_destroy(lr), sq25_series_destroy(lf);
    }
    flag_breakdown(l);
    grid_speed(ctx, l, o, from, to);
    sq25_cml_options_destroy(o);
    free(near);
    sq25_series_destroy(g);
    sq25_links_destroy(l);
    sq25_ctx_destroy(ctx);
    return 0;
}

/* ---- B: OpenMRG ---------------------------------------------------------------------------- */

#define MRG_T 31
#define MRG_G 10

typedef struct {
    double glon[MRG_G], glat[MRG_G], g[MRG_T][MRG_G]; /* gauges, mm per 5 min */
    sq25_field *radar[MRG_T];                         /* mm per 5 min */
    double radar_at_gauge[MRG_T][MRG_G];
} mrg_data;

static int h5_read_doubles(hid_t f, const char *name, double *out)
{
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    if (d < 0) return -1;
    herr_t st = H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, out);
    H5Dclose(d);
    return st < 0 ? -1 : 0;
}

/* Gauges (time, station) and radar (time, y, x) read with HDF5 directly: the library's
 * readers for these two layouts are another issue's work. Radar grid: the file's crs
 * GeoTransform and global proj_string, BUT the data rows run from south to north: the file's
 * own 2-D latitudes (row 0 at 57.21 N, row 47 at 58.04 N) say so, and the radar correlates
 * with the gauges at r = 0.61 with the rows flipped against 0.08 as the y axis says (checked
 * with h5py and pyproj). Time: the radar correlates best with the gauge interval that ends
 * one step after its stamp (r = 0.73 against 0.61), so its stamp is taken as the interval's
 * start: radar[k] below is the file's step k - 1. */
static int mrg_read(sq25_ctx *ctx, mrg_data *m)
{
    hid_t f = H5Fopen(data_path("sensors/openmrg_20150725_2h/openmrg_municp_gauge_5min_2h.nc"), H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) return -1;
    int rc = h5_read_doubles(f, "lon", m->glon) || h5_read_doubles(f, "lat", m->glat) ||
             h5_read_doubles(f, "rainfall_amount", &m->g[0][0]);
    H5Fclose(f);
    if (rc) return -1;
    f = H5Fopen(data_path("sensors/openmrg_20150725_2h/openmrg_rad_5min_2h.nc"), H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) return -1;
    static double r[MRG_T][48][37];
    rc = h5_read_doubles(f, "rainfall_amount", &r[0][0][0]);
    H5Fclose(f);
    if (rc) return -1;
    const double gt[6] = {-155199.322908943, 2000., 0., -3411560.83300758, 0., -2000.};
    const char *crs = "+proj=stere +lat_ts=60 +ellps=bessel +lon_0=14 +lat_0=90";
    PJ *p = to_metric(crs);
    static double fr[MRG_T][48][37]; /* north-up rows, shifted to interval ends */
    for (int t = 0; t < MRG_T; t++)
        for (int y = 0; y < 48; y++)
            for (int x = 0; x < 37; x++) fr[t][y][x] = r[t > 0 ? t - 1 : 0][47 - y][x];
    memcpy(r, fr, sizeof r);
    for (int t = 0; t < MRG_T; t++) {
        if (sq25_field_create(ctx, 37, 48, crs, gt, 1437827400 + 300 * t, &m->radar[t])) return -1;
        float *d = sq25_field_data(m->radar[t]);
        for (int y = 0; y < 48; y++)
            for (int x = 0; x < 37; x++) d[y * 37 + x] = (float)r[t][y][x];
        for (int j = 0; j < MRG_G; j++) {
            double gx, gy;
            lonlat_xy(p, m->glon[j], m->glat[j], &gx, &gy);
            double col = (gx - gt[0]) / gt[1] - 0.5, row = (gy - gt[3]) / gt[5] - 0.5;
            int c = (int)floor(col), rr = (int)floor(row);
            double fx = col - c, fy = row - rr;
            m->radar_at_gauge[t][j] = c >= 0 && rr >= 0 && c + 1 < 37 && rr + 1 < 48
                                          ? (1 - fy) * ((1 - fx) * r[t][rr][c] + fx * r[t][rr][c + 1]) +
                                                fy * ((1 - fx) * r[t][rr + 1][c] + fx * r[t][rr + 1][c + 1])
                                          : NAN;
        }
    }
    proj_destroy(p);
    return 0;
}

enum { USE_GAUGES = 1, USE_LINKS = 2 };

/* Sum of `agg` steps from step k (NaN if any is NaN). */
static double sum_steps(const double *v, size_t stride, int k, int agg)
{
    double s = 0;
    for (int a = 0; a < agg; a++) s += v[(size_t)(k + a) * stride];
    return s;
}

/* A radar field summed over agg steps from k (new field). */
static sq25_field *radar_sum(const mrg_data *m, int k, int agg)
{
    sq25_field *f = NULL;
    sq25_field_clone(m->radar[k], &f);
    float *d = sq25_field_data(f);
    for (int a = 1; a < agg; a++) {
        const float *e = sq25_field_data_const(m->radar[k + a]);
        for (int i = 0; i < 37 * 48; i++) d[i] += e[i];
    }
    return f;
}

/* The variogram fitted to the sensors' values at their path midpoints (in UTM zone 32, the
 * zone of the OpenMRG links' centroid), set as given in o. */
static void midpoint_variogram(sq25_ctx *ctx, sq25_interp_options *o, size_t n, const double *ll,
                               const double *z)
{
    PJ *p = to_metric("EPSG:32632");
    double *x = malloc(sizeof(double) * (n + 1)), *y = malloc(sizeof(double) * (n + 1));
    for (size_t i = 0; i < n; i++)
        lonlat_xy(p, 0.5 * (ll[4 * i] + ll[4 * i + 2]), 0.5 * (ll[4 * i + 1] + ll[4 * i + 3]),
                  &x[i], &y[i]);
    double nug, sill, range;
    if (sq25_variogram_fit(ctx, SQ25_VARIOGRAM_EXPONENTIAL, n, x, 8, y, 8, z, 8, &nug, &sill,
                           &range) == SQ25_OK) {
        sq25_interp_options_set(o, SQ25_INTERP_NUGGET, nug);
        sq25_interp_options_set(o, SQ25_INTERP_SILL, sill);
        sq25_interp_options_set(o, SQ25_INTERP_RANGE_M, range);
    }
    free(x), free(y);
    proj_destroy(p);
}

static void mrg_loo(sq25_ctx *ctx, const mrg_data *m, const sq25_links *l, int agg)
{
    int nl = sq25_links_count(l);
    int64_t nt = sq25_links_step_count(l);
    const float *lr = sq25_links_rain((sq25_links *)l);
    /* midpoint: the variogram fitted at the path midpoints (as 1.1 did) and given to the
     * kriging, against the default fit with the line support regularised */
    static const struct { int use; bool radar, midpoint; const char *name; } cfg[] = {
        {USE_GAUGES, false, false, "gauges only (kriging)"},
        {USE_LINKS, false, false, "links only (block kriging)"},
        {USE_LINKS, false, true, "links only, midpoint variogram (1.1)"},
        {USE_GAUGES | USE_LINKS, false, false, "gauges + links"},
        {USE_GAUGES | USE_LINKS, false, true, "gauges + links, midpoint variogram (1.1)"},
        {USE_GAUGES, true, false, "gauges + radar (KED)"},
        {USE_LINKS, true, false, "links + radar (KED)"},
        {USE_GAUGES | USE_LINKS, true, false, "gauges + links + radar (KED)"}};
    enum { NC = sizeof cfg / sizeof cfg[0] };
    scores s[NC + 2], wet[NC + 2];
    memset(s, 0, sizeof s), memset(wet, 0, sizeof wet);
    double *ll = malloc(sizeof(double) * 4 * (size_t)(nl + MRG_G)), *z = malloc(sizeof(double) * (size_t)(nl + MRG_G));
    sq25_interp_options *o = NULL;
    sq25_interp_options_create(ctx, &o);
    sq25_interp_options_set(o, SQ25_INTERP_RADIUS_M, 0);
    sq25_interp_options_set(o, SQ25_INTERP_NEIGHBOURS, 24);
    double c0 = cpu_s();
    long calls = 0;
    /* intervals start at step 1 (the amount of step 0 ends at 12:30, before the window) */
    for (int k = 1; k + agg <= MRG_T; k += agg) {
        sq25_field *rad = radar_sum(m, k, agg);
        for (int j = 0; j < MRG_G; j++) {
            double truth = sum_steps(&m->g[0][j], MRG_G, k, agg);
            if (isnan(truth)) continue;
            double rg = sum_steps(&m->radar_at_gauge[0][j], MRG_G, k, agg);
            /* baselines: radar alone at the gauge, the nearest other gauge */
            double best = INFINITY, nearest = NAN;
            for (int q = 0; q < MRG_G; q++) {
                double dq = hypot(m->glon[q] - m->glon[j], (m->glat[q] - m->glat[j]) * 1.87);
                double vq = sum_steps(&m->g[0][q], MRG_G, k, agg);
                if (q != j && !isnan(vq) && dq < best) best = dq, nearest = vq;
            }
            bool is_wet = truth >= 0.1 * agg / 1.0;
            if (!isnan(rg)) score_add(&s[NC], rg, truth);
            if (!isnan(rg) && is_wet) score_add(&wet[NC], rg, truth);
            if (!isnan(nearest)) score_add(&s[NC + 1], nearest, truth);
            if (!isnan(nearest) && is_wet) score_add(&wet[NC + 1], nearest, truth);
            for (int c = 0; c < NC; c++) {
                size_t n = 0;
                if (cfg[c].use & USE_GAUGES)
                    for (int q = 0; q < MRG_G; q++) {
                        double vq = sum_steps(&m->g[0][q], MRG_G, k, agg);
                        if (q == j || isnan(vq)) continue;
                        ll[4 * n] = ll[4 * n + 2] = m->glon[q], ll[4 * n + 1] = ll[4 * n + 3] = m->glat[q];
                        z[n++] = vq;
                    }
                if (cfg[c].use & USE_LINKS)
                    for (int i = 0; i < nl; i++) {
                        double v = 0;
                        for (int a = 0; a < agg; a++) v += lr[(size_t)i * (size_t)nt + (size_t)(k + a)];
                        if (isnan(v)) continue;
                        sq25_links_geometry(l, i, &ll[4 * n], &ll[4 * n + 1], &ll[4 * n + 2], &ll[4 * n + 3],
                                            NULL, NULL, NULL);
                        z[n++] = v;
                    }
                double out = NAN;
                if (cfg[c].midpoint) midpoint_variogram(ctx, o, n, ll, z);
                sq25_interp_lines_points(ctx, o, SQ25_INTERP_KRIGING, n, ll, z, 250,
                                         cfg[c].radar ? rad : NULL, 1, &m->glon[j], &m->glat[j], 0,
                                         &out, NULL);
                calls++;
                for (int key = SQ25_INTERP_NUGGET; key <= SQ25_INTERP_RANGE_M; key++)
                    sq25_interp_options_set(o, key, NAN); /* back to the per-call fit */
                if (isnan(out)) continue;
                out = fmax(out, 0);
                score_add(&s[c], out, truth);
                if (is_wet) score_add(&wet[c], out, truth);
            }
        }
        sq25_field_destroy(rad);
    }
    double cpu = cpu_s() - c0;
    printf("\n%d-minute amounts, leave one gauge out (10 city gauges), mm per %d min\n\n", 5 * agg, 5 * agg);
    printf("| input | n | corr | RMSE mm | bias mm | rel. bias | wet n | wet corr | wet RMSE |\n|---|---|---|---|---|---|---|---|---|\n");
    for (int c = 0; c < NC + 2; c++) {
        const char *name = c < NC ? cfg[c].name : c == NC ? "radar alone (baseline)" : "nearest other gauge (baseline)";
        printf("| %s | %.0f | %.3f | %.3f | %+.3f | %+.0f%% | %.0f | %.3f | %.3f |\n", name, s[c].n,
               score_corr(&s[c]), sqrt(s[c].se / s[c].n), (s[c].sx - s[c].sy) / s[c].n,
               100 * (s[c].sx / s[c].sy - 1), wet[c].n, score_corr(&wet[c]), sqrt(wet[c].se / wet[c].n));
    }
    printf("(%ld kriging calls, %.2f s CPU, %.1f ms each)\n", calls, cpu, 1000 * cpu / (double)calls);
    sq25_interp_options_destroy(o);
    free(ll), free(z);
}

/* Value of f at lon/lat, the cell that holds it (NaN outside). */
static double cell_at(const sq25_field *f, double lon, double lat)
{
    double col, row;
    if (sq25_field_lonlat_to_pixel((sq25_field *)f, 1, &lon, 8, &lat, 8, &col, 8, &row, 8)) return NAN;
    int c = (int)floor(col), r = (int)floor(row);
    if (c < 0 || r < 0 || c >= sq25_field_width(f) || r >= sq25_field_height(f)) return NAN;
    return sq25_field_data_const(f)[r * sq25_field_width(f) + c];
}

/* C. The pipeline cycle with links (as `sq25 run --links` drives it): every 5-minute issue
 * time from the third frame on, one run with the links pushed and one without (alternating),
 * CPU time of sq25_pipeline_run; the merged analysis at the 10 gauges (which the merge does
 * not use: an independent check) against the radar alone there. */
static void mrg_pipeline(sq25_ctx *ctx, const mrg_data *m, const sq25_links *l, int method)
{
    int nl = sq25_links_count(l);
    sq25_series *rain = NULL;
    if (sq25_links_process(l, NULL, 1437827400, 1437827400 + 300 * (MRG_T - 1), 300, &rain, NULL)) {
        printf("pipeline: links not processed: %s\n", sq25_errmsg(ctx));
        return;
    }
    double *ll = malloc(sizeof(double) * 4 * (size_t)nl);
    for (int i = 0; i < nl; i++)
        sq25_links_geometry(l, i, &ll[4 * i], &ll[4 * i + 1], &ll[4 * i + 2], &ll[4 * i + 3], NULL, NULL, NULL);
    sq25_field *mmh[MRG_T];
    for (int t = 0; t < MRG_T; t++) {
        sq25_field_clone(m->radar[t], &mmh[t]);
        float *d = sq25_field_data(mmh[t]);
        for (int i = 0; i < 37 * 48; i++) d[i] *= 12; /* mm per 5 min -> mm/h */
    }
    scores radar = {0}, merged = {0};
    double cpu[2] = {0, 0};
    int cycles = 0;
    for (int t = 2; t < MRG_T; t++) {
        for (int with = 0; with < 2; with++) {
            sq25_pipeline *p = NULL;
            sq25_pipeline_create(ctx, &p);
            sq25_merge_options_set_method(sq25_pipeline_merge_options(p), method);
            if (with) sq25_pipeline_push_links(p, rain, ll);
            for (int k = t - 2; k <= t; k++) sq25_pipeline_push_frame(p, mmh[k]);
            sq25_warning *w = NULL;
            double c0 = cpu_s();
            int rc = sq25_pipeline_run(p, &w);
            cpu[with] += cpu_s() - c0;
            const sq25_field *an = with ? sq25_pipeline_analysis(p) : NULL;
            for (int j = 0; !rc && with && j < MRG_G; j++) {
                double truth = m->g[t][j], r = cell_at(mmh[t], m->glon[j], m->glat[j]) / 12;
                double a = an ? cell_at(an, m->glon[j], m->glat[j]) / 12 : r;
                if (isnan(truth) || isnan(r) || isnan(a)) continue;
                score_add(&radar, r, truth);
                score_add(&merged, a, truth);
            }
            sq25_warning_destroy(w);
            sq25_pipeline_destroy(p);
        }
        cycles++;
    }
    printf("\npipeline cycle, merge %s, %d cycles (5-min issue times), analysis at the 10 gauges (mm per 5 min)\n\n",
           sq25_merge_method_name(method), cycles);
    printf("| input | n | corr | RMSE mm | bias mm | rel. bias |\n|---|---|---|---|---|---|\n");
    score_print("radar alone (radar-only run)", &radar);
    score_print("radar + 359 links (line support)", &merged);
    printf("CPU per sq25_pipeline_run: radar only %.3f s, with links %.3f s (+%.3f s)\n",
           cpu[0] / cycles, cpu[1] / cycles, (cpu[1] - cpu[0]) / cycles);
    for (int t = 0; t < MRG_T; t++) sq25_field_destroy(mmh[t]);
    sq25_series_destroy(rain);
    free(ll);
}

static int bench_openmrg(void)
{
    sq25_ctx *ctx = sq25_ctx_create();
    static mrg_data m;
    sq25_links *l = NULL;
    int rc = sq25_links_read_netcdf(ctx, data_path("sensors/openmrg_20150725_2h/openmrg_cml_5min_2h.nc"), &l);
    if (rc || mrg_read(ctx, &m)) {
        printf("OpenMRG: cannot read the data (skipped) %s\n", sq25_errmsg(ctx));
        sq25_links_destroy(l), sq25_ctx_destroy(ctx);
        return 0;
    }
    printf("\n## B. OpenMRG: %d sub-links (processed R), %d gauges, radar 2 km, %d 5-min steps\n",
           sq25_links_count(l), MRG_G, MRG_T);
    mrg_loo(ctx, &m, l, 1);
    mrg_loo(ctx, &m, l, 6);
    printf("\n## C. OpenMRG: the pipeline cycle with links (sq25_pipeline_push_links)\n");
    mrg_pipeline(ctx, &m, l, SQ25_MERGE_ADDITIVE);
    mrg_pipeline(ctx, &m, l, SQ25_MERGE_KED);
    for (int t = 0; t < MRG_T; t++) sq25_field_destroy(m.radar[t]);
    sq25_links_destroy(l);
    sq25_ctx_destroy(ctx);
    return 0;
}

/* bench_links [openrainer|openmrg]: both parts by default, or the one named. */
int main(int argc, char **argv)
{
    const char *env = getenv("SQ25_DATA");
    snprintf(data_root, sizeof data_root, "%s", env && *env ? env : "../shared/data");
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("# bench_links (data: %s)\n", data_root);
    const char *only = argc > 1 ? argv[1] : "";
    if (!*only || !strcmp(only, "openrainer")) bench_openrainer();
    if (!*only || !strcmp(only, "openmrg")) bench_openmrg();
    return 0;
}
