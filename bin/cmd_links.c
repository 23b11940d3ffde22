/* cmd_links.c -- sq25 links: path rain per microwave link from an OpenSense CML file. */
#include "cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char cmd_links_usage[] =
    "usage: sq25 links --file F --from T --to T [--json] [--step S] [--waa M]\n"
    "                  [--window S] [--threshold DB] [--waa-max DB] [--tau S]\n"
    "  Turn the raw signal levels of an OpenSense CML netCDF-4 file into path-averaged rain\n"
    "  per sub-link (total loss, rolling-std wet/dry, baseline, wet antenna, ITU-R P.838-3\n"
    "  k-R law), or take the file's processed rain, and print per link the rain in each\n"
    "  interval of S seconds ending in [T_from, T_to] (mm per interval).\n"
    "  --step S        output interval in seconds, a multiple of the file's step (default 900)\n"
    "  --waa M         wet antenna: none, constant, schleiss or leijnse (default)\n"
    "  --window S      rolling std window in seconds (default 3600)\n"
    "  --threshold DB  rolling std threshold in dB (default 0.8)\n"
    "  --waa-max DB    wet-antenna maximum / constant in dB (default 2.3)\n"
    "  --tau S         wet-antenna time constant in seconds (default 900)\n"
    "  --json          one JSON object: {\"file\":..,\"links\":[{\"id\":..,\"rain_mm\":[..]},..]}\n";

static void summarise(const float *v, const float *share, int64_t n, double *total, double *peak,
                      long *missing, double *flagged)
{
    *total = 0, *peak = 0, *missing = 0, *flagged = 0;
    for (int64_t k = 0; k < n; k++) {
        if (isnan(v[k])) (*missing)++;
        else *total += v[k], *peak = fmax(*peak, v[k]);
        *flagged += share[k];
    }
    *flagged = n ? *flagged / (double)n : 0;
}

static void print_json(const char *path, const sq25_links *l, const sq25_series *r,
                       const sq25_series *f)
{
    int n = sq25_series_station_count(r);
    int64_t nt = sq25_series_step_count(r);
    char t0[32], t1[32];
    sq25_time_format(sq25_series_time(r, 0), t0, sizeof t0);
    sq25_time_format(sq25_series_time(r, nt - 1), t1, sizeof t1);
    printf("{\"file\": ");
    cli_json_string(stdout, path);
    printf(", \"first_end\": \"%s\", \"last_end\": \"%s\", \"step_s\": %d, \"links\": [", t0, t1,
           sq25_series_step_s(r));
    for (int i = 0; i < n; i++) {
        double lon0, lat0, lon1, lat1, len, freq;
        int pol;
        sq25_links_geometry(l, i, &lon0, &lat0, &lon1, &lat1, &len, &freq, &pol);
        printf("%s\n    {\"id\": ", i ? "," : "");
        cli_json_string(stdout, sq25_links_id(l, i));
        double g[6] = {lon0, lat0, lon1, lat1, len, freq};
        static const char *const names[6] = {"lon0", "lat0", "lon1", "lat1", "length_m",
                                             "frequency_ghz"};
        for (int j = 0; j < 6; j++) {
            printf(", \"%s\": ", names[j]);
            cli_json_number(stdout, g[j]);
        }
        printf(", \"polarization\": \"%s\", \"rain_mm\": [",
               pol == SQ25_POL_HORIZONTAL ? "h" : pol == SQ25_POL_VERTICAL ? "v" : "unknown");
        const float *v = sq25_series_data_const(r) + (size_t)i * (size_t)nt;
        const float *s = sq25_series_data_const(f) + (size_t)i * (size_t)nt;
        for (int64_t k = 0; k < nt; k++) {
            if (k) printf(", ");
            cli_json_number(stdout, v[k]);
        }
        printf("], \"flagged_share\": [");
        for (int64_t k = 0; k < nt; k++) {
            if (k) printf(", ");
            cli_json_number(stdout, s[k]);
        }
        printf("]}");
    }
    printf("\n  ]}\n");
}

static void print_table(const sq25_links *l, const sq25_series *r, const sq25_series *f)
{
    int n = sq25_series_station_count(r);
    int64_t nt = sq25_series_step_count(r);
    char t0[32], t1[32];
    sq25_time_format(sq25_series_time(r, 0), t0, sizeof t0);
    sq25_time_format(sq25_series_time(r, nt - 1), t1, sizeof t1);
    printf("path rain per link, %lld intervals of %d s ending %s .. %s\n", (long long)nt,
           sq25_series_step_s(r), t0, t1);
    printf("%-22s %8s %7s %4s %9s %9s %7s %8s\n", "link", "len_km", "f_GHz", "pol", "total_mm",
           "max_mm", "missing", "flagged");
    double all = 0;
    for (int i = 0; i < n; i++) {
        double len, freq, total, peak, share;
        int pol;
        long missing;
        sq25_links_geometry(l, i, NULL, NULL, NULL, NULL, &len, &freq, &pol);
        summarise(sq25_series_data_const(r) + (size_t)i * (size_t)nt,
                  sq25_series_data_const(f) + (size_t)i * (size_t)nt, nt, &total, &peak, &missing,
                  &share);
        all += total;
        printf("%-22s %8.2f %7.2f %4s %9.2f %9.2f %7ld %8.3f\n", sq25_links_id(l, i), len / 1000,
               freq, pol == SQ25_POL_HORIZONTAL ? "h" : pol == SQ25_POL_VERTICAL ? "v" : "?", total,
               peak, missing, share);
    }
    printf("links: %d, mean total %.2f mm\n", n, n ? all / n : 0.0);
}

typedef struct {
    const char *path, *from, *to;
    cli_links_opts opt;
    bool json;
} links_args;

static int parse_args(int argc, char **argv, links_args *a)
{
    const char *cmd = argv[0];
    *a = (links_args){NULL, NULL, NULL, {0}, false};
    cli_links_defaults(&a->opt, 900);
    for (int i = 1; i < argc; i++) {
        bool more = i + 1 < argc;
        int st = CLI_OK;
        if (cli_links_option(argc, argv, &i, "", &a->opt, &st)) {
            if (st) return st;
        } else if (!strcmp(argv[i], "--json")) a->json = true;
        else if (!strcmp(argv[i], "--file") && more) a->path = argv[++i];
        else if (!strcmp(argv[i], "--from") && more) a->from = argv[++i];
        else if (!strcmp(argv[i], "--to") && more) a->to = argv[++i];
        else return cli_usage_error(cmd, "unknown or incomplete option '%s'", argv[i]);
    }
    if (!a->path || !a->from || !a->to)
        return cli_usage_error(cmd, "--file, --from and --to are required");
    return CLI_OK;
}

int cmd_links(int argc, char **argv)
{
    const char *cmd = argv[0];
    links_args a;
    int st = parse_args(argc, argv, &a);
    if (st) return st;
    int64_t from, to;
    if (sq25_time_parse(a.from, &from) || sq25_time_parse(a.to, &to) || to < from)
        return cli_usage_error(cmd, "bad --from/--to times");
    sq25_ctx *ctx = cli_ctx(cmd);
    if (!ctx) return CLI_FAIL;
    sq25_cml_options *o = NULL;
    sq25_links *l = NULL;
    sq25_series *rain = NULL, *flagged = NULL;
    int rc = SQ25_OK;
    st = cli_links_make_options(cmd, ctx, &a.opt, &o);
    if (!st && (rc = sq25_links_read_netcdf(ctx, a.path, &l)) != 0) st = cli_lib_error(cmd, ctx, rc);
    if (!st && (rc = sq25_links_process(l, o, from, to, a.opt.step_s, &rain, &flagged)) != 0)
        st = cli_lib_error(cmd, ctx, rc);
    if (!st && a.json) print_json(a.path, l, rain, flagged);
    else if (!st) print_table(l, rain, flagged);
    sq25_series_destroy(rain), sq25_series_destroy(flagged);
    sq25_links_destroy(l);
    sq25_cml_options_destroy(o);
    sq25_ctx_destroy(ctx);
    return st;
}
