/* cmd_interpolate.c -- sq25 interpolate: rain-gauge values (and radar) onto a street grid,
 * written as ODIM_H5. */
#include "cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char cmd_interpolate_usage[] =
    "usage: sq25 interpolate --sensors FILE --time T --grid SPEC --out FILE.h5\n"
    "                        [--method nearest|idw|kriging|merge] [--radar FILE] [--qc]\n"
    "                        [--merge additive|ked|multiplicative|mfb] [--step S] [--json]\n"
    "                        [--links FILE]\n"
    "  Interpolate the gauge amounts of the interval ending at T onto a street grid and write\n"
    "  an ODIM_H5 file: dataset1 = RATE in mm/h (amount per step x 3600 / step); with kriging\n"
    "  or merge also dataset2 = RATE_VARIANCE, the kriging variance in (mm/h)^2. Several\n"
    "  times (T1,T2,... or FROM/TO for every step between) append their datasets in order,\n"
    "  with one read and one QC of the file for all of them. The merge's method and\n"
    "  variogram are written to /how/sq25_merge.\n"
    "  --sensors FILE  OpenSense netCDF-4, or CSV (station_id,lon,lat,time_utc,mm) when the\n"
    "                  name ends in .csv (bad CSV rows are reported and skipped)\n"
    "  --time T        end of the interval (UTC), e.g. 2017-08-30T03:55\n"
    "  --grid SPEC     lonlat:LONMIN,LATMIN,LONMAX,LATMAX:CELL_M[:CRS] or\n"
    "                  EPSG:n:XMIN,YMIN,XMAX,YMAX:CELL_M (see sq25_grid_parse)\n"
    "  --method M      nearest, idw, kriging (default) or merge (radar + kriged residuals)\n"
    "  --radar FILE    radar or gridded rain file in mm/h for merge (any format sq25 reads);\n"
    "                  of a file with several frames, the frame valid at each --time is used\n"
    "                  (an error if none is); without it merge falls back to kriging of the\n"
    "                  sensors\n"
    "  --merge NAME    merging method for --method merge (default additive)\n"
    "  --qc            drop values flagged by the PWS quality control first (run once over\n"
    "                  the whole file)\n"
    "  --step S        CSV time step in seconds (default 300)\n"
    "  --zr A,B, --ceiling MMH[:clip|:nodata]  reading the radar, see 'sq25 help info'\n"
    "  --json          print a JSON summary: times, method, fitted variogram, statistics\n"
    "  --links FILE    microwave links (OpenSense CML netCDF-4) as line sensors besides or\n"
    "                  instead of --sensors: path rain of the interval ending at T (sq25\n"
    "                  links chain), kriged with block support or IDW over the path points;\n"
    "                  with merge, kriging with the radar as external drift (KED)\n"
    "  --links-step S  links' interval in seconds (default: the sensors' step, or --step);\n"
    "                  --links-waa M, --links-window S, --links-threshold DB,\n"
    "                  --links-waa-max DB, --links-tau S: as --waa ... of 'sq25 help links'\n";

typedef struct {
    const char *sensors, *time, *grid, *out, *radar, *method, *merge, *links;
    int qc, step_s, json;
    cli_links_opts lopt; /* link processing; step_s 0: the sensors' step */
} interp_args;

static int parse_args(int argc, char **argv, interp_args *a)
{
    memset(a, 0, sizeof *a);
    a->method = "kriging";
    a->merge = "additive";
    a->step_s = 300;
    cli_links_defaults(&a->lopt, 0);
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        const char **slot = !strcmp(o, "--sensors") ? &a->sensors
                            : !strcmp(o, "--time")  ? &a->time
                            : !strcmp(o, "--grid")  ? &a->grid
                            : !strcmp(o, "--out")   ? &a->out
                            : !strcmp(o, "--radar") ? &a->radar
                            : !strcmp(o, "--method") ? &a->method
                            : !strcmp(o, "--merge") ? &a->merge
                            : !strcmp(o, "--links") ? &a->links
                                                     : NULL;
        int st = CLI_OK;
        if (cli_reader_option(argc, argv, &i, &st) ||
            cli_links_option(argc, argv, &i, "links-", &a->lopt, &st)) {
            if (st) return st;
        } else if (!strcmp(o, "--qc")) {
            a->qc = 1;
        } else if (!strcmp(o, "--json")) {
            a->json = 1;
        } else if (!strcmp(o, "--step") && i + 1 < argc) {
            if (!cli_parse_int(argv[++i], 1, 86400 * 366, &a->step_s))
                return cli_usage_error(argv[0], "--step '%s': whole seconds from 1 to 31622400",
                                       argv[i]);
        } else if (slot && i + 1 < argc) {
            *slot = argv[++i];
        } else {
            return cli_usage_error(argv[0], "unknown or incomplete option '%s'", o);
        }
    }
    if ((!a->sensors && !a->links) || !a->time || !a->grid || !a->out)
        return cli_usage_error(argv[0],
                               "--sensors or --links, --time, --grid and --out are required");
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
static int values_at(const char *cmd, const char *path, const sq25_series *s, int64_t t,
                     double **lon, double **lat, double **mmh)
{
    int64_t k = sq25_series_step_at(s, t);
    if (k < 0) {
        char want[32], first[32], last[32];
        sq25_time_format(t, want, sizeof want);
        sq25_time_format(sq25_series_time(s, 0), first, sizeof first);
        sq25_time_format(sq25_series_time(s, sq25_series_step_count(s) - 1), last, sizeof last);
        return cli_error(cmd, "%s: no %d s sensor interval ends at --time %s (the series' "
                              "intervals end from %s to %s)",
                         path, sq25_series_step_s(s), want, first, last);
    }
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

/* The variogram the kriging fits to these values, for the summary (metres of the grid). */
static void kriging_variogram(sq25_field *grid, size_t n, const double *lon, const double *lat,
                              const double *mmh, sq25_merge_info *info)
{
    double *x = calloc(n + 1, sizeof *x), *y = calloc(n + 1, sizeof *y);
    double *col = calloc(n + 1, sizeof *col), *row = calloc(n + 1, sizeof *row);
    sq25_ctx *ctx = sq25_ctx_create();
    double gt[6];
    sq25_field_geotransform(grid, gt);
    info->variogram_source = SQ25_VARIOGRAM_SOURCE_NONE;
    if (x && y && col && row && ctx &&
        sq25_field_lonlat_to_pixel(grid, n, lon, 8, lat, 8, col, 8, row, 8) == SQ25_OK) {
        for (size_t i = 0; i < n; i++) {
            x[i] = gt[0] + col[i] * gt[1] + row[i] * gt[2];
            y[i] = gt[3] + col[i] * gt[4] + row[i] * gt[5];
        }
        if (sq25_variogram_fit(ctx, SQ25_VARIOGRAM_EXPONENTIAL, n, x, 8, y, 8, mmh, 8,
                               &info->nugget, &info->sill, &info->range_m) == SQ25_OK) {
            info->variogram_source = SQ25_VARIOGRAM_SOURCE_FITTED;
            info->variogram_model = SQ25_VARIOGRAM_EXPONENTIAL;
        }
    }
    sq25_ctx_destroy(ctx);
    free(x), free(y), free(col), free(row);
}

/* Gauges (end points equal) and the links' path rain of the interval ending at t, as line
 * sensors: lonlat 4 per sensor, mm/h; n receives the count. */
static int line_sensors(const char *cmd, sq25_ctx *ctx, const interp_args *a, int64_t t,
                        int step_s, size_t ng, const double *lon, const double *lat,
                        const double *mmh, double **ll, double **val, size_t *n)
{
    sq25_links *l = NULL;
    sq25_series *r = NULL;
    sq25_cml_options *o = NULL;
    if (a->lopt.step_s) step_s = a->lopt.step_s;
    if (cli_links_make_options(cmd, ctx, &a->lopt, &o) != CLI_OK) return CLI_USAGE;
    int rc = sq25_links_read_netcdf(ctx, a->links, &l);
    if (!rc) rc = sq25_links_process(l, o, t, t, step_s, &r, NULL);
    sq25_cml_options_destroy(o);
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

/* Links (and gauges, when given) as line sensors; with merge, KED with the radar frame. */
static int run_with_links(const char *cmd, sq25_ctx *ctx, const interp_args *a, int method,
                          int64_t t, const sq25_series *s, const sq25_field *radar,
                          sq25_field *grid, sq25_field *variance)
{
    double *lon = NULL, *lat = NULL, *mmh = NULL, *ll = NULL, *val = NULL;
    int step = s ? sq25_series_step_s(s) : a->step_s, st = CLI_OK, rc;
    size_t ng = s ? (size_t)sq25_series_station_count(s) : 0, n = 0;
    if (s) st = values_at(cmd, a->sensors, s, t, &lon, &lat, &mmh);
    if (st == CLI_OK) st = line_sensors(cmd, ctx, a, t, step, ng, lon, lat, mmh, &ll, &val, &n);
    int m = method == SQ25_INTERP_MERGE ? SQ25_INTERP_KRIGING : method;
    if (st == CLI_OK &&
        (rc = sq25_interp_lines_grid(ctx, NULL, m, n, ll, val, 250, radar, grid, variance)) != SQ25_OK)
        st = cli_lib_error(cmd, ctx, rc);
    if (st == CLI_OK && method == SQ25_INTERP_MERGE) /* rates are never negative */
        for (size_t i = 0, c = (size_t)sq25_field_width(grid) * (size_t)sq25_field_height(grid); i < c; i++)
            if (sq25_field_data(grid)[i] < 0) sq25_field_data(grid)[i] = 0;
    free(lon), free(lat), free(mmh), free(ll), free(val);
    return st;
}

static int run_interpolation(const char *cmd, sq25_ctx *ctx, const interp_args *a, int method,
                             int64_t t, const sq25_series *s, const sq25_field *radar,
                             sq25_field *grid, sq25_field *variance, sq25_merge_info *info)
{
    *info = (sq25_merge_info){0, 0, 0, SQ25_VARIOGRAM_SOURCE_NONE, 0, NAN, NAN, NAN, NAN};
    if (a->links) return run_with_links(cmd, ctx, a, method, t, s, radar, grid, variance);
    double *lon = NULL, *lat = NULL, *mmh = NULL;
    int st = values_at(cmd, a->sensors, s, t, &lon, &lat, &mmh), rc = SQ25_OK;
    size_t n = (size_t)sq25_series_station_count(s);
    sq25_merge_options *mo = NULL;
    int merge = SQ25_MERGE_ADDITIVE;
    sq25_merge_method_from_name(a->merge, &merge);
    *info = (sq25_merge_info){0, 0, 0, SQ25_VARIOGRAM_SOURCE_NONE, 0, NAN, NAN, NAN, NAN};
    if (st == CLI_OK && method == SQ25_INTERP_MERGE && radar) {
        rc = sq25_merge_options_create(ctx, &mo);
        if (!rc) rc = sq25_merge_options_set_method(mo, merge);
        if (!rc) rc = sq25_merge_run(ctx, mo, radar, n, lon, 8, lat, 8, mmh, 8, NULL, 0, grid,
                                     variance, info);
    } else if (st == CLI_OK) {
        int m = method == SQ25_INTERP_MERGE ? SQ25_INTERP_KRIGING : method;
        rc = sq25_interp_grid(ctx, NULL, m, n, lon, 8, lat, 8, mmh, 8, grid, variance);
        if (!rc && m == SQ25_INTERP_KRIGING) kriging_variogram(grid, n, lon, lat, mmh, info);
    }
    if (st == CLI_OK && rc) st = cli_lib_error(cmd, ctx, rc);
    sq25_merge_options_destroy(mo);
    free(lon), free(lat), free(mmh);
    return st;
}

/* --time: "T", "T1,T2,...", or "FROM/TO" (every step of the series between). Fills times
 * (malloc'd) and their count. */
static int parse_times(const char *cmd, const char *text, int step_s, int64_t **times,
                       int *count)
{
    char *copy = strdup(text);
    if (!copy) return cli_error(cmd, "out of memory");
    int st = CLI_OK, n = 0, cap = 16;
    *times = malloc((size_t)cap * sizeof **times);
    char *slash = strchr(copy, '/');
    int64_t from, to;
    if (!*times) st = cli_error(cmd, "out of memory");
    else if (slash) {
        *slash = '\0';
        if (sq25_time_parse(copy, &from) || sq25_time_parse(slash + 1, &to) || to < from)
            st = cli_usage_error(cmd, "cannot parse --time range '%s'", text);
        int step = step_s;
        for (int64_t t = from; st == CLI_OK && t <= to; t += step) {
            if (n == cap) {
                int64_t *g = realloc(*times, (size_t)(cap *= 2) * sizeof **times);
                if (!g) { st = cli_error(cmd, "out of memory"); break; }
                *times = g;
            }
            (*times)[n++] = t;
        }
    } else {
        for (char *tok = strtok(copy, ","); st == CLI_OK && tok; tok = strtok(NULL, ",")) {
            if (n == cap) {
                int64_t *g = realloc(*times, (size_t)(cap *= 2) * sizeof **times);
                if (!g) { st = cli_error(cmd, "out of memory"); break; }
                *times = g;
            }
            if (sq25_time_parse(tok, &(*times)[n++]))
                st = cli_usage_error(cmd, "cannot parse --time '%s'", tok);
        }
    }
    free(copy);
    *count = n;
    if (st == CLI_OK && n == 0) st = cli_usage_error(cmd, "--time gives no time");
    return st;
}

static void print_json(const interp_args *a, int64_t t, sq25_field *grid,
                       const sq25_merge_info *info, bool first)
{
    double max, mean, wet, nodata;
    sq25_field_stats(grid, 0.1, &max, &mean, &wet, &nodata);
    char when[32], merge[512];
    sq25_time_format(t, when, sizeof when);
    sq25_merge_info_json(info, merge, sizeof merge);
    printf("%s{\"out\":", first ? "" : ",\n");
    cli_json_string(stdout, a->out);
    printf(",\"time\":\"%s\",\"method\":", when);
    cli_json_string(stdout, a->method);
    printf(",\"width\":%d,\"height\":%d,\"max_mmh\":", sq25_field_width(grid),
           sq25_field_height(grid));
    cli_json_number(stdout, max);
    printf(",\"mean_mmh\":");
    cli_json_number(stdout, mean);
    printf(",\"wet_fraction\":");
    cli_json_number(stdout, wet);
    printf(",\"nodata_fraction\":");
    cli_json_number(stdout, nodata);
    if (!strcmp(a->method, "merge") && a->radar) printf(",\"merge\":%s", merge);
    else if (!strcmp(a->method, "kriging") || !strcmp(a->method, "merge")) {
        printf(",\"variogram\":{\"source\":\"%s\",\"model\":\"exponential\",\"nugget\":",
               info->variogram_source == SQ25_VARIOGRAM_SOURCE_FITTED ? "fitted" : "none");
        cli_json_number(stdout, info->nugget);
        printf(",\"sill\":");
        cli_json_number(stdout, info->sill);
        printf(",\"range_m\":");
        cli_json_number(stdout, info->range_m);
        printf("}");
    }
    printf("}");
}

static void print_text(const interp_args *a, sq25_field *grid)
{
    double max, mean, wet, nodata;
    sq25_field_stats(grid, 0.1, &max, &mean, &wet, &nodata);
    printf("%s: %d x %d cells, %s, max %.2f mm/h, mean %.2f mm/h, wet %.1f %%, nodata %.1f %%\n",
           a->out, sq25_field_width(grid), sq25_field_height(grid), a->method, max, mean,
           100 * wet, 100 * nodata);
}

/* One time: interpolate, append RATE (and RATE_VARIANCE) to the writer, report. */
static int one_time(const char *cmd, sq25_ctx *ctx, const interp_args *a, int method, int64_t t,
                    const sq25_series *s, sq25_odim_writer *w, bool first)
{
    sq25_field *grid = NULL, *variance = NULL, *radar = NULL;
    int rc = sq25_grid_parse(ctx, a->grid, t, &grid), st = CLI_OK;
    /* the radar frame valid at t, of a file with one frame or several */
    if (!rc && a->radar) st = cli_read_frame_at(cmd, ctx, a->radar, t, &radar);
    bool wants_variance = method == SQ25_INTERP_KRIGING || method == SQ25_INTERP_MERGE;
    if (!rc && wants_variance) rc = sq25_field_clone(grid, &variance);
    if (rc && st == CLI_OK) st = cli_lib_error(cmd, ctx, rc);
    sq25_merge_info info;
    if (st == CLI_OK) st = run_interpolation(cmd, ctx, a, method, t, s, radar, grid, variance, &info);
    int step = s ? sq25_series_step_s(s) : a->step_s;
    if (st == CLI_OK) {
        sq25_field_set_accumulation_s(grid, step);
        rc = sq25_odim_writer_add(w, grid, "RATE", t - step, t);
        if (!rc && variance) rc = sq25_odim_writer_add(w, variance, "RATE_VARIANCE", t - step, t);
        if (!rc && method == SQ25_INTERP_MERGE && radar) {
            char json[512];
            sq25_merge_info_json(&info, json, sizeof json);
            rc = sq25_odim_writer_set_how(w, "sq25_merge", json);
        }
        if (rc) st = cli_lib_error(cmd, ctx, rc);
    }
    if (st == CLI_OK && a->json) print_json(a, t, grid, &info, first);
    else if (st == CLI_OK) print_text(a, grid);
    sq25_field_destroy(variance);
    sq25_field_destroy(grid);
    sq25_field_destroy(radar);
    return st;
}

int cmd_interpolate(int argc, char **argv)
{
    const char *cmd = argv[0];
    interp_args a;
    int st = parse_args(argc, argv, &a);
    if (st != CLI_OK) return st;
    int method = method_code(a.method), merge;
    if (method < 0) return cli_usage_error(cmd, "unknown method '%s'", a.method);
    if (a.radar && method != SQ25_INTERP_MERGE)
        return cli_usage_error(cmd, "--radar is only used by --method merge");
    if (sq25_merge_method_from_name(a.merge, &merge) != SQ25_OK)
        return cli_usage_error(cmd, "unknown --merge '%s' (additive, ked, multiplicative, mfb)",
                               a.merge);
    const char *inputs[3] = {a.sensors, a.radar, a.links};
    if ((st = cli_refuse_input_as_output(cmd, a.out, inputs, 3)) != CLI_OK) return st;
    sq25_ctx *ctx = cli_ctx(cmd);
    if (!ctx) return CLI_FAIL;
    sq25_series *s = NULL;
    sq25_odim_writer *w = NULL;
    int64_t *times = NULL;
    int n_times = 0, rc;
    if (a.links && method == SQ25_INTERP_NEAREST)
        st = cli_usage_error(cmd, "--links works with idw, kriging or merge");
    else if (a.sensors) st = load_sensors(cmd, ctx, &a, &s);
    if (st == CLI_OK)
        st = parse_times(cmd, a.time, s ? sq25_series_step_s(s) : a.step_s, &times, &n_times);
    if (st == CLI_OK && (rc = sq25_odim_writer_create(ctx, a.out, &w)) != SQ25_OK)
        st = cli_lib_error(cmd, ctx, rc);
    if (st == CLI_OK && a.json) printf("[");
    for (int i = 0; st == CLI_OK && i < n_times; i++)
        st = one_time(cmd, ctx, &a, method, times[i], s, w, i == 0);
    if (st == CLI_OK && a.json) printf("]\n");
    if (w && st == CLI_OK) {
        rc = sq25_odim_writer_close(w);
        if (rc) st = cli_lib_error(cmd, ctx, rc);
    } else if (w) {
        sq25_odim_writer_discard(w); /* nothing half-written; an old file stays */
    }
    free(times);
    sq25_series_destroy(s);
    sq25_ctx_destroy(ctx);
    return st;
}
