/* cmd_qc.c -- sq25 qc: quality control of rain-gauge series, a flag summary per station. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

const char cmd_qc_usage[] =
    "usage: sq25 qc --sensors FILE --from T --to T [--json] [--step S]\n"
    "  Run the PWS quality control (de Vos et al. 2019: faulty zeros, high influx, station\n"
    "  outliers, bias factor) over the whole file, so the two-week outlier window has its\n"
    "  history, and print per station the number of steps in [T_from, T_to] with each flag.\n"
    "  The flag counts are of reported steps (missing steps only in \"missing\"), so the\n"
    "  share the outlier filter judges is 1 - outlier_not_judged / reported.\n"
    "  --sensors FILE  OpenSense netCDF-4, or CSV (station_id,lon,lat,time_utc,mm) if .csv\n"
    "  --json          one JSON object: {\"from\":..,\"to\":..,\"stations\":[{...}, ...]}\n"
    "  --step S        CSV time step in seconds (default 300)\n";

typedef struct {
    long steps, missing, reported, faulty_zero, high_influx, outlier, few_neighbours,
        outlier_unknown;
} flag_counts;

/* Counts of the steps first..last; the filter flags only over reported steps: the outlier
 * filter also gives a verdict (outlier, not judged) at steps the station did not report,
 * which are no station-steps of the data (the judged share is over reported steps). */
static flag_counts count_flags(const uint8_t *f, int64_t first, int64_t last)
{
    flag_counts c = {0};
    for (int64_t t = first; t <= last; t++) {
        c.steps++;
        if (f[t] & SQ25_QC_FLAG_MISSING) {
            c.missing++;
            continue;
        }
        c.reported++;
        c.faulty_zero += (f[t] & SQ25_QC_FLAG_FAULTY_ZERO) != 0;
        c.high_influx += (f[t] & SQ25_QC_FLAG_HIGH_INFLUX) != 0;
        c.outlier += (f[t] & SQ25_QC_FLAG_OUTLIER) != 0;
        c.few_neighbours += (f[t] & SQ25_QC_FLAG_FEW_NEIGHBOURS) != 0;
        c.outlier_unknown += (f[t] & SQ25_QC_FLAG_SO_UNKNOWN) != 0;
    }
    return c;
}

static void print_station_json(const sq25_series *s, const sq25_qc_result *r, int i,
                               const flag_counts *c, bool first)
{
    printf("%s\n    {\"id\": ", first ? "" : ",");
    cli_json_string(stdout, sq25_series_station_id(s, i));
    double lon, lat;
    sq25_series_station_lonlat(s, i, &lon, &lat);
    printf(", \"lon\": ");
    cli_json_number(stdout, lon);
    printf(", \"lat\": ");
    cli_json_number(stdout, lat);
    printf(", \"neighbours\": %d, \"steps\": %ld, \"missing\": %ld, \"reported\": %ld, "
           "\"faulty_zero\": %ld, \"high_influx\": %ld, \"outlier\": %ld, "
           "\"few_neighbours\": %ld, \"outlier_not_judged\": %ld, \"bias_factor\": ",
           sq25_qc_neighbour_count(r, i), c->steps, c->missing, c->reported, c->faulty_zero,
           c->high_influx, c->outlier, c->few_neighbours, c->outlier_unknown);
    cli_json_number(stdout, sq25_qc_bias_factor(r, i));
    printf("}");
}

static void print_report(const sq25_series *s, const sq25_qc_result *r, int64_t first,
                         int64_t last, bool json)
{
    int n = sq25_series_station_count(s);
    int64_t nt = sq25_series_step_count(s);
    char from[32], to[32];
    sq25_time_format(sq25_series_time(s, first), from, sizeof from);
    sq25_time_format(sq25_series_time(s, last), to, sizeof to);
    if (json) printf("{\"from\": \"%s\", \"to\": \"%s\", \"stations\": [", from, to);
    else
        printf("QC flags per station, steps ending %s .. %s\n%-12s %5s %6s %7s %6s %6s %7s "
               "%6s %8s %6s\n",
               from, to, "station", "nbrs", "steps", "missing", "fzero", "hinflx", "outlier",
               "fewnb", "notjudged", "bias");
    long tot_fz = 0, tot_hi = 0, tot_so = 0;
    for (int i = 0; i < n; i++) {
        flag_counts c = count_flags(sq25_qc_flags(r) + (size_t)i * (size_t)nt, first, last);
        tot_fz += c.faulty_zero, tot_hi += c.high_influx, tot_so += c.outlier;
        if (json) {
            print_station_json(s, r, i, &c, i == 0);
            continue;
        }
        printf("%-12s %5d %6ld %7ld %6ld %6ld %7ld %6ld %8ld %6.3f\n",
               sq25_series_station_id(s, i), sq25_qc_neighbour_count(r, i), c.steps, c.missing,
               c.faulty_zero, c.high_influx, c.outlier, c.few_neighbours, c.outlier_unknown,
               sq25_qc_bias_factor(r, i));
    }
    if (json) printf("\n  ]}\n");
    else printf("total: %ld faulty-zero, %ld high-influx, %ld outlier station-steps\n", tot_fz,
                tot_hi, tot_so);
}

int cmd_qc(int argc, char **argv)
{
    const char *cmd = argv[0], *path = NULL, *from_text = NULL, *to_text = NULL;
    bool json = false;
    int step_s = 300;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) json = true;
        else if (!strcmp(argv[i], "--sensors") && i + 1 < argc) path = argv[++i];
        else if (!strcmp(argv[i], "--from") && i + 1 < argc) from_text = argv[++i];
        else if (!strcmp(argv[i], "--to") && i + 1 < argc) to_text = argv[++i];
        else if (!strcmp(argv[i], "--step") && i + 1 < argc) {
            if (!cli_parse_int(argv[++i], 1, 86400 * 366, &step_s))
                return cli_usage_error(cmd, "--step '%s': whole seconds from 1 to 31622400",
                                       argv[i]);
        }
        else return cli_usage_error(cmd, "unknown or incomplete option '%s'", argv[i]);
    }
    if (!path || !from_text || !to_text)
        return cli_usage_error(cmd, "--sensors, --from and --to are required");
    int64_t from, to;
    if (sq25_time_parse(from_text, &from) || sq25_time_parse(to_text, &to) || to < from)
        return cli_usage_error(cmd, "bad --from/--to times");
    if (step_s <= 0) return cli_usage_error(cmd, "--step must be > 0 seconds");
    sq25_ctx *ctx = cli_ctx(cmd);
    if (!ctx) return CLI_FAIL;
    sq25_series *s = NULL;
    sq25_qc_result *r = NULL;
    size_t len = strlen(path);
    int rc = len > 4 && !strcmp(path + len - 4, ".csv") ? sq25_series_read_csv(ctx, path, step_s, &s)
                                                         : sq25_series_read_netcdf(ctx, path, &s);
    if (!rc && sq25_series_bad_rows(s) > 0)
        fprintf(stderr, "sq25 %s: %s: %lld bad rows skipped (first: %s)\n", cmd, path,
                (long long)sq25_series_bad_rows(s), sq25_series_bad_row_message(s, 0));
    if (!rc) rc = sq25_qc_run(s, NULL, &r);
    int st = rc ? cli_lib_error(cmd, ctx, rc) : CLI_OK;
    if (st == CLI_OK) {
        int64_t first = from <= sq25_series_time(s, 0) ? 0
                                                         : (from - sq25_series_time(s, 0) + sq25_series_step_s(s) - 1) /
                                                               sq25_series_step_s(s);
        int64_t last = (to - sq25_series_time(s, 0)) / sq25_series_step_s(s);
        if (last >= sq25_series_step_count(s)) last = sq25_series_step_count(s) - 1;
        if (to < sq25_series_time(s, 0) || first > last)
            st = cli_error(cmd, "no step of %s ends between --from and --to", path);
        else print_report(s, r, first, last, json);
    }
    sq25_qc_result_destroy(r);
    sq25_series_destroy(s);
    sq25_ctx_destroy(ctx);
    return st;
}
