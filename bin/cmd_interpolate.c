/* cmd_interpolate.c -- sq25 interpolate: rain-gauge values (and radar) onto a street grid,
 * written as ODIM_H5. */
#include "cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char cmd_interpolate_usage[] =
    "usage: sq25 interpolate --sensors FILE --time T --grid SPEC --out FILE.h5\n"
    "                        [--method nearest|idw|kriging|merge] [--radar FILE] [--qc]\n"
    "                        [--step S] [--links FILE]\n"
    "  Interpolate the gauge amounts of the interval ending at T onto a street grid and write\n"
    "  an ODIM_H5 file: dataset1 = RATE in mm/h (amount per step x 3600 / step); with kriging\n"
    "  or merge also dataset2 = RATE_VARIANCE, the kriging variance in (mm/h)^2.\n"
    "  --sensors FILE  OpenSense netCDF-4, or CSV (station_id,lon,lat,time_utc,mm) when the\n"
    "                  name ends in .csv (bad CSV rows are reported and skipped)\n"
    "  --time T        end of the interval (UTC), e.g. 2017-08-30T03:55\n"
    "  --grid SPEC     lonlat:LONMIN,LATMIN,LONMAX,LATMAX:CELL_M[:CRS] or\n"
    "                  EPSG:n:XMIN,YMIN,XMAX,YMAX:CELL_M (see sq25_grid_parse)\n"
    "  --method M      nearest, idw, kriging (default) or merge (radar + kriged residuals)\n"
    "  --radar FILE    radar or gridded rain file in mm/h for merge (any format sq25 reads);\n"
    "                  without it merge falls back to kriging of the sensors\n"
    "  --qc            drop values flagged by the PWS quality control first\n"
    "  --step S        CSV time step in seconds (default 300)\n"
    "  --links FILE    microwave links (OpenSense CML netCDF-4) as line sensors besides or\n"
    "                  instead of --sensors: path rain of the interval ending at T (sq25\n"
    "                  links chain), kriged with block support or IDW over the path points;\n"
    "                  with merge, kriging with the radar as external drift (KED)\n";

typedef struct {
    const char *sensors, *time, *grid, *out, *radar, *method, *links;
    int qc, step_s;
} interp_args;

static int parse_args(int argc, char **argv, interp_args *a)
{
    memset(a, 0, sizeof *a);
    a->method = "kriging";
    a->step_s = 300;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        const char **slot = !strcmp(o, "--sensors") ? &a->sensors
                            : !strcmp(o, "--time")  ? &a->time
                            : !strcmp(o, "--grid")  ? &a->grid
                            : !strcmp(o, "--out")   ? &a->out
                            : !strcmp(o, "--radar") ? &a->radar
                            : !strcmp(o, "--method") ? &a->method
                            : !strcmp(o, "--links") ? &a->links
                                                     : NULL;
        if (!strcmp(o, "--qc")) {
            a->qc = 1;
        } else if (!strcmp(o, "--step") && i + 1 < argc) {
            a->step_s = atoi(argv[++i]);
            if (a->step_s <= 0) return cli_usage_error(argv[0], "--step must be > 0 seconds");
        } else if (slot && i + 1 < argc) {
            *slot = argv[++i];
        } else {
            return cli_usage_error(argv[0], "unknown or incomplete option '%s'", o);
        }
    }
    if ((!a->sensors && !a->links) || !a->time || !a->grid || !a->out)
        return cli_usage_error(argv[0], "--sensors or --links, --time, --grid and --out are required");
    return CLI_OK;
}

static int method_code(const char *name)
{
    if (!strcmp(name, "nearest")) return SQ25_INTERP_NEAREST;
    if (!strcmp(name, "idw")) return SQ25_INTERP_IDW;
    if (!strcmp(name, "kriging")) return SQ25_INTERP_KRIGING;
    if (!strcmp(name, "merge")) return SQ25_INTERP_MERGE;
    return -1;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Read the gauges (optionally QC'd) into a store. */
static int load_sensors(const char *cmd, sq25_ctx *ctx, const interp_args *a, sq25_series **out)
{
    sq25_series *s = NULL;
    int rc = ends_with(a->sensors, ".csv") ? sq25_series_read_csv(ctx, a->sensors, a->step_s, &s)
                                           : sq25_series_read_netcdf(ctx, a->sensors, &s);
    if (rc) return cli_lib_error(cmd, ctx, rc);
    if (sq25_series_bad_rows(s) > 0) {
        fprintf(stderr, "sq25 %s: %s: %lld bad rows skipped\n", cmd, a->sensors,
                (long long)sq25_series_bad_rows(s));
        for (int i = 0; sq25_series_bad_row_message(s, i); i++)
            fprintf(stderr, "  %s\n", sq25_series_bad_row_message(s, i));
    }
    if (a->qc) {
        sq25_qc_result *r = NULL;
        sq25_series *clean = NULL;
        rc = sq25_qc_run(s, NULL, &r);
        if (!rc) rc = sq25_qc_apply(s, r, SQ25_QC_REJECT, &clean);
        sq25_qc_result_destroy(r);
        sq25_series_destroy(s);
        if (rc) return cli_lib_error(cmd, ctx, rc);
        s = clean;
    }
    *out = s;
    return CLI_OK;
}

/* The station values (mm/h) of the step ending at t. */
static int values_at(const char *cmd, const sq25_series *s, int64_t t, double **lon,
                     double **lat, double **mmh)
{
    int64_t k = sq25_series_step_at(s, t);
    if (k < 0) return cli_error(cmd, "no sensor interval ends at the requested time");
    int n = sq25_series_station_count(s);
    int64_t nt = sq25_series_step_count(s);
    *lon = calloc((size_t)n + 1, sizeof(double));
    *lat = calloc((size_t)n + 1, sizeof(double));
    *mmh = calloc((size_t)n + 1, sizeof(double));
    if (!*lon || !*lat || !*mmh) return cli_error(cmd, "out of memory");
    double to_mmh = 3600.0 / sq25_series_step_s(s);
    for (int i = 0; i < n; i++) {
        sq25_series_station_lonlat(s, i, &(*lon)[i], &(*lat)[i]);
        (*mmh)[i] = sq25_series_data_const(s)[(size_t)i * (size_t)nt + (size_t)k] * to_mmh;
    }
    return CLI_OK;
}

static int write_output(const char *cmd, sq25_ctx *ctx, const char *path, sq25_field *rate,
                        sq25_field *variance, int64_t start, int64_t end)
{
    sq25_odim_writer *w = NULL;
    int rc = sq25_odim_writer_create(ctx, path, &w);
    if (!rc) rc = sq25_odim_writer_add(w, rate, "RATE", start, end);
    if (!rc && variance) rc = sq25_odim_writer_add(w, variance, "RATE_VARIANCE", start, end);
    int rc_close = w ? sq25_odim_writer_close(w) : SQ25_OK;
    if (!rc) rc = rc_close;
    return rc ? cli_lib_error(cmd, ctx, rc) : CLI_OK;
}

/* Gauges (end points equal) and the links' path rain of the interval ending at t, as line
 * sensors: lonlat 4 per sensor, mm/h; n receives the count. */
static int line_sensors(const char *cmd, sq25_ctx *ctx, const interp_args *a, int64_t t,
                        int step_s, size_t ng, const double *lon, const double *lat,
                        const double *mmh, double **ll, double **val, size_t *n)
{
    sq25_links *l = NULL;
    sq25_series *r = NULL;
    int rc = sq25_links_read_netcdf(ctx, a->links, &l);
    if (!rc) rc = sq25_links_process(l, NULL, t, t, step_s, &r, NULL);
    if (!rc && sq25_series_time(r, 0) != t) rc = SQ25_ERR_NO_DATA;
    int nl = rc ? 0 : sq25_links_count(l);
    *ll = calloc(4 * (ng + (size_t)nl) + 4, sizeof(double));
    *val = calloc(ng + (size_t)nl + 1, sizeof(double));
    if (!rc && (!*ll || !*val)) rc = SQ25_ERR_NOMEM;
    for (size_t i = 0; !rc && i < ng; i++) {
        (*ll)[4 * i] = (*ll)[4 * i + 2] = lon[i], (*ll)[4 * i + 1] = (*ll)[4 * i + 3] = lat[i];
        (*val)[i] = mmh[i];
    }
    for (int i = 0; !rc && i < nl; i++) {
        double *e = *ll + 4 * (ng + (size_t)i);
        sq25_links_geometry(l, i, &e[0], &e[1], &e[2], &e[3], NULL, NULL, NULL);
        (*val)[ng + (size_t)i] = sq25_series_data_const(r)[i] * 3600.0 / step_s;
    }
    *n = ng + (size_t)nl;
    sq25_series_destroy(r);
    sq25_links_destroy(l);
    return rc ? cli_lib_error(cmd, ctx, rc) : CLI_OK;
}

static int run_with_links(const char *cmd, sq25_ctx *ctx, const interp_args *a, int method,
                          int64_t t, const sq25_series *s, sq25_field *grid, sq25_field *variance)
{
    double *lon = NULL, *lat = NULL, *mmh = NULL, *ll = NULL, *val = NULL;
    int step = s ? sq25_series_step_s(s) : a->step_s, st = CLI_OK, rc;
    size_t ng = s ? (size_t)sq25_series_station_count(s) : 0, n = 0;
    if (s) st = values_at(cmd, s, t, &lon, &lat, &mmh);
    if (st == CLI_OK) st = line_sensors(cmd, ctx, a, t, step, ng, lon, lat, mmh, &ll, &val, &n);
    sq25_field *radar = NULL;
    if (st == CLI_OK && a->radar && (rc = sq25_read_field(ctx, a->radar, &radar)) != SQ25_OK)
        st = cli_lib_error(cmd, ctx, rc);
    int m = method == SQ25_INTERP_MERGE ? SQ25_INTERP_KRIGING : method;
    if (st == CLI_OK &&
        (rc = sq25_interp_lines_grid(ctx, NULL, m, n, ll, val, 250, radar, grid, variance)) != SQ25_OK)
        st = cli_lib_error(cmd, ctx, rc);
    if (st == CLI_OK && method == SQ25_INTERP_MERGE) /* rates are never negative */
        for (size_t i = 0, c = (size_t)sq25_field_width(grid) * (size_t)sq25_field_height(grid); i < c; i++)
            if (sq25_field_data(grid)[i] < 0) sq25_field_data(grid)[i] = 0;
    sq25_field_destroy(radar);
    free(lon), free(lat), free(mmh), free(ll), free(val);
    return st;
}

static int run_interpolation(const char *cmd, sq25_ctx *ctx, const interp_args *a, int method,
                             int64_t t, const sq25_series *s, sq25_field *grid,
                             sq25_field *variance)
{
    if (a->links) return run_with_links(cmd, ctx, a, method, t, s, grid, variance);
    double *lon = NULL, *lat = NULL, *mmh = NULL;
    int st = values_at(cmd, s, t, &lon, &lat, &mmh), rc = SQ25_OK;
    sq25_field *radar = NULL;
    size_t n = (size_t)sq25_series_station_count(s);
    if (st == CLI_OK && a->radar && (rc = sq25_read_field(ctx, a->radar, &radar)) != SQ25_OK)
        st = cli_lib_error(cmd, ctx, rc);
    if (st == CLI_OK) {
        rc = method == SQ25_INTERP_MERGE
                 ? sq25_interp_merge(ctx, NULL, radar, n, lon, 8, lat, 8, mmh, 8, grid, variance)
                 : sq25_interp_grid(ctx, NULL, method, n, lon, 8, lat, 8, mmh, 8, grid, variance);
        if (rc) st = cli_lib_error(cmd, ctx, rc);
    }
    sq25_field_destroy(radar);
    free(lon), free(lat), free(mmh);
    return st;
}

int cmd_interpolate(int argc, char **argv)
{
    const char *cmd = argv[0];
    interp_args a;
    int st = parse_args(argc, argv, &a);
    if (st != CLI_OK) return st;
    int method = method_code(a.method);
    if (method < 0) return cli_usage_error(cmd, "unknown method '%s'", a.method);
    if (a.radar && method != SQ25_INTERP_MERGE)
        return cli_usage_error(cmd, "--radar is only used by --method merge");
    int64_t t;
    if (sq25_time_parse(a.time, &t) != SQ25_OK)
        return cli_usage_error(cmd, "cannot parse --time '%s'", a.time);
    sq25_ctx *ctx = cli_ctx(cmd);
    if (!ctx) return CLI_FAIL;
    sq25_series *s = NULL;
    sq25_field *grid = NULL, *variance = NULL;
    if (a.links && method == SQ25_INTERP_NEAREST)
        st = cli_usage_error(cmd, "--links works with idw, kriging or merge");
    else if (a.sensors) st = load_sensors(cmd, ctx, &a, &s);
    int rc = SQ25_OK;
    if (st == CLI_OK && (rc = sq25_grid_parse(ctx, a.grid, t, &grid)) != SQ25_OK)
        st = cli_lib_error(cmd, ctx, rc);
    bool wants_variance = method == SQ25_INTERP_KRIGING || method == SQ25_INTERP_MERGE;
    if (st == CLI_OK && wants_variance && (rc = sq25_field_clone(grid, &variance)) != SQ25_OK)
        st = cli_lib_error(cmd, ctx, rc);
    if (st == CLI_OK) st = run_interpolation(cmd, ctx, &a, method, t, s, grid, variance);
    if (st == CLI_OK) {
        int step = s ? sq25_series_step_s(s) : a.step_s;
        sq25_field_set_accumulation_s(grid, step);
        st = write_output(cmd, ctx, a.out, grid, variance, t - step, t);
    }
    if (st == CLI_OK) {
        double max, mean, wet, nodata;
        sq25_field_stats(grid, 0.1, &max, &mean, &wet, &nodata);
        printf("%s: %d x %d cells, %s, max %.2f mm/h, mean %.2f mm/h, wet %.1f %%, nodata "
               "%.1f %%\n",
               a.out, sq25_field_width(grid), sq25_field_height(grid), a.method, max, mean,
               100 * wet, 100 * nodata);
    }
    sq25_field_destroy(variance);
    sq25_field_destroy(grid);
    sq25_series_destroy(s);
    sq25_ctx_destroy(ctx);
    return st;
}
