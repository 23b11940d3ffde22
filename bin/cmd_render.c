/* cmd_render.c -- sq25 render: draw a rain-rate field file as a PNG map. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

const char cmd_render_usage[] =
    "usage: sq25 render FILE --out MAP.png [--title TEXT] [--targets FILE] [--frame N]\n"
    "                   [--scale PIXELS_PER_CELL] [--time TIME]\n"
    "  Draw frame N (default 0) of a radar or gridded rain file (any format sq25 reads,\n"
    "  including the files it writes) as a PNG map: rain rate in mm/h with the standard\n"
    "  palette (0.1 .. 100 mm/h, light to dark), no data hatched grey, a legend, the title\n"
    "  and the time stamp (the field's valid time unless --time is given, UTC).\n"
    "  --targets: CSV (id,lon,lat,name) or GeoJSON points/lines drawn as markers; rows that\n"
    "  cannot be read are reported on stderr and skipped.\n"
    "  --scale: image pixels per grid cell (1..16); default: the map is at least 600 px.\n";

typedef struct {
    const char *input, *out, *title, *targets, *time;
    int frame, scale;
} render_args;

static int parse_int(const char *cmd, const char *opt, const char *text, int *value)
{
    char *end = NULL;
    long v = strtol(text, &end, 10);
    if (end == text || *end || v < 0 || v > 1000000)
        return cli_usage_error(cmd, "%s needs a non-negative integer, got '%s'", opt, text);
    *value = (int)v;
    return CLI_OK;
}

static int parse_args(int argc, char **argv, render_args *a)
{
    const char *cmd = argv[0];
    memset(a, 0, sizeof *a);
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        bool has_value = i + 1 < argc;
        int rc = CLI_OK;
        if (!strcmp(arg, "--out") && has_value) a->out = argv[++i];
        else if (!strcmp(arg, "--title") && has_value) a->title = argv[++i];
        else if (!strcmp(arg, "--targets") && has_value) a->targets = argv[++i];
        else if (!strcmp(arg, "--time") && has_value) a->time = argv[++i];
        else if (!strcmp(arg, "--frame") && has_value) rc = parse_int(cmd, arg, argv[++i], &a->frame);
        else if (!strcmp(arg, "--scale") && has_value) rc = parse_int(cmd, arg, argv[++i], &a->scale);
        else if (arg[0] == '-' && arg[1]) return cli_usage_error(cmd, "unknown or incomplete option '%s'", arg);
        else if (!a->input) a->input = arg;
        else return cli_usage_error(cmd, "one input file expected, got also '%s'", arg);
        if (rc) return rc;
    }
    if (!a->input) return cli_usage_error(cmd, "no input file");
    if (!a->out) return cli_usage_error(cmd, "--out MAP.png is required");
    return CLI_OK;
}

static int read_targets(const char *cmd, sq25_ctx *ctx, const char *path, sq25_targets **out)
{
    int rc = sq25_targets_read(ctx, path, out);
    if (rc) return cli_lib_error(cmd, ctx, rc);
    for (size_t i = 0; i < sq25_targets_problem_count(*out); i++)
        fprintf(stderr, "sq25 %s: skipped target: %s\n", cmd, sq25_targets_problem(*out, i));
    return CLI_OK;
}

static int set_options(const char *cmd, sq25_ctx *ctx, const render_args *a,
                       sq25_render_options *opt)
{
    int rc = SQ25_OK;
    if (a->title) rc = sq25_render_options_set_title(opt, a->title);
    if (rc == SQ25_OK && a->scale) rc = sq25_render_options_set_scale(opt, a->scale);
    if (rc) return cli_lib_error(cmd, ctx, rc);
    if (a->time) {
        int64_t t = 0;
        if (sq25_time_parse(a->time, &t) != SQ25_OK)
            return cli_usage_error(cmd, "cannot parse --time '%s'", a->time);
        sq25_render_options_set_time(opt, t);
    }
    return CLI_OK;
}

int cmd_render(int argc, char **argv)
{
    const char *cmd = argv[0];
    render_args a;
    int status = parse_args(argc, argv, &a);
    if (status) return status;
    sq25_ctx *ctx = cli_ctx(cmd);
    if (!ctx) return CLI_FAIL;
    sq25_field *field = NULL;
    sq25_targets *targets = NULL;
    sq25_render_options *opt = NULL;
    int rc = sq25_read_field_frame(ctx, a.input, a.frame, &field);
    if (rc) status = cli_lib_error(cmd, ctx, rc);
    if (!status && a.targets) status = read_targets(cmd, ctx, a.targets, &targets);
    if (!status && (rc = sq25_render_options_create(ctx, &opt)))
        status = cli_lib_error(cmd, ctx, rc);
    if (!status) status = set_options(cmd, ctx, &a, opt);
    if (!status && (rc = sq25_render_field_png(field, targets, opt, a.out)))
        status = cli_lib_error(cmd, ctx, rc);
    if (!status) printf("wrote %s\n", a.out);
    sq25_render_options_destroy(opt);
    sq25_targets_destroy(targets);
    sq25_field_destroy(field);
    sq25_ctx_destroy(ctx);
    return status;
}
