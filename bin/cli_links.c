/* cli_links.c -- the microwave-link processing options shared by `sq25 links` (--waa ...) and
 * `sq25 run --links` (--links-waa ...), and the links read and processed into path rain. */
#include "cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char cli_links_options_usage[] =
    "  --%sstep S        output interval in seconds, a multiple of the file's step (default %d)\n"
    "  --%swaa M         wet antenna: none, constant, schleiss or leijnse (default)\n"
    "  --%swindow S      rolling std window in seconds (default 3600)\n"
    "  --%sthreshold DB  rolling std threshold in dB (default 0.8)\n"
    "  --%swaa-max DB    wet-antenna maximum / constant in dB (default 2.3)\n"
    "  --%stau S         wet-antenna time constant in seconds (default 900)\n";

int cli_links_waa_from_name(const char *s)
{
    if (!strcmp(s, "none")) return SQ25_WAA_NONE;
    if (!strcmp(s, "constant")) return SQ25_WAA_CONSTANT;
    if (!strcmp(s, "schleiss")) return SQ25_WAA_SCHLEISS2013;
    if (!strcmp(s, "leijnse")) return SQ25_WAA_LEIJNSE2008;
    return -1;
}

void cli_links_defaults(cli_links_opts *o, int step_s)
{
    *o = (cli_links_opts){"leijnse", step_s, NAN, NAN, NAN, NAN};
}

/* "--" prefix name */
static bool is_option(const char *arg, const char *prefix, const char *name)
{
    size_t np = strlen(prefix);
    return strncmp(arg, "--", 2) == 0 && strncmp(arg + 2, prefix, np) == 0 &&
           strcmp(arg + 2 + np, name) == 0;
}

int cli_links_option(int argc, char **argv, int *i, const char *prefix, cli_links_opts *o,
                     int *status)
{
    const char *arg = argv[*i];
    static const char *const names[] = {"step", "waa", "window", "threshold", "waa-max", "tau"};
    int which = -1;
    for (int k = 0; k < 6 && which < 0; k++)
        if (is_option(arg, prefix, names[k])) which = k;
    if (which < 0) return 0;
    *status = CLI_OK;
    if (*i + 1 >= argc) {
        *status = cli_usage_error(argv[0], "%s needs a value", arg);
        return 1;
    }
    const char *v = argv[++*i];
    bool ok = true;
    switch (which) {
    case 0: ok = cli_parse_int(v, 1, 86400, &o->step_s); break;
    case 1: o->waa = v, ok = cli_links_waa_from_name(v) >= 0; break;
    case 2: ok = cli_parse_double(v, 1e-9, 1e9, &o->window_s); break;
    case 3: ok = cli_parse_double(v, 1e-9, 1e9, &o->threshold_db); break;
    case 4: ok = cli_parse_double(v, 0, 1e9, &o->waa_max_db); break;
    default: ok = cli_parse_double(v, 1e-9, 1e9, &o->tau_s); break;
    }
    if (!ok)
        *status = which == 1 ? cli_usage_error(argv[0], "%s must be none, constant, schleiss or leijnse", arg)
                             : cli_usage_error(argv[0], "%s '%s': not an allowed value", arg, v);
    return 1;
}

int cli_links_make_options(const char *cmd, sq25_ctx *ctx, const cli_links_opts *a,
                           sq25_cml_options **out)
{
    int rc = sq25_cml_options_create(ctx, out);
    if (rc) return cli_lib_error(cmd, ctx, rc);
    const struct { int key; double v; } set[] = {
        {SQ25_CML_WAA_METHOD, cli_links_waa_from_name(a->waa)}, {SQ25_CML_WINDOW_S, a->window_s},
        {SQ25_CML_THRESHOLD_DB, a->threshold_db},     {SQ25_CML_WAA_MAX_DB, a->waa_max_db},
        {SQ25_CML_WAA_TAU_S, a->tau_s}};
    for (size_t i = 0; i < sizeof set / sizeof set[0]; i++) {
        if (isnan(set[i].v)) continue;
        rc = sq25_cml_options_set(*out, set[i].key, set[i].v);
        if (rc) {
            cli_lib_error(cmd, ctx, rc);
            sq25_cml_options_destroy(*out);
            *out = NULL;
            return CLI_USAGE;
        }
    }
    return CLI_OK;
}

int cli_links_path_rain(const char *cmd, sq25_ctx *ctx, const char *path,
                        const cli_links_opts *a, int64_t from, int64_t to, sq25_series **rain,
                        double **lonlat)
{
    sq25_cml_options *o = NULL;
    sq25_links *l = NULL;
    *rain = NULL, *lonlat = NULL;
    int st = cli_links_make_options(cmd, ctx, a, &o), rc;
    if (st == CLI_OK && (rc = sq25_links_read_netcdf(ctx, path, &l)) != SQ25_OK)
        st = cli_lib_error(cmd, ctx, rc);
    if (st == CLI_OK && (rc = sq25_links_process(l, o, from, to, a->step_s, rain, NULL)) != SQ25_OK)
        st = rc == SQ25_ERR_NO_DATA ? CLI_FAIL : cli_lib_error(cmd, ctx, rc);
    int n = st == CLI_OK ? sq25_links_count(l) : 0;
    if (st == CLI_OK && !(*lonlat = calloc(4 * (size_t)n + 4, sizeof(double))))
        st = cli_error(cmd, "out of memory");
    for (int i = 0; st == CLI_OK && i < n; i++) {
        double *e = *lonlat + 4 * i;
        sq25_links_geometry(l, i, &e[0], &e[1], &e[2], &e[3], NULL, NULL, NULL);
    }
    if (st != CLI_OK) {
        sq25_series_destroy(*rain), free(*lonlat);
        *rain = NULL, *lonlat = NULL;
    }
    sq25_links_destroy(l);
    sq25_cml_options_destroy(o);
    return st;
}
