/* cmd_render.c -- sq25 render: draw a rain-rate field file as a PNG map. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

const char cmd_render_usage[] =
    "usage: sq25 render FILE --out MAP.png [--title TEXT] [--targets FILE] [--frame N]\n"
    "                   [--scale PIXELS_PER_CELL] [--time TIME] [--tz ZONE] [--credit TEXT]\n"
    "       sq25 render --warning FORECAST... --out MAP.png [--horizon-min M]\n"
    "                   [--summary SUMMARY.json] [--title TEXT] [--targets FILE] [--scale N]\n"
    "  Draw frame N (default 0) of a radar or gridded rain file (any format sq25 reads,\n"
    "  including the files it writes) as a PNG map: rain rate in mm/h with the standard\n"
    "  palette (0.1 .. 100 mm/h, light to dark), no data hatched grey, a legend, the title\n"
    "  and the time stamp (the field's valid time unless --time is given, UTC).\n"
    "  --targets: CSV (id,lon,lat,name) or GeoJSON points/lines drawn as markers; rows that\n"
    "  cannot be read are reported on stderr and skipped.\n"
    "  --scale: image pixels per grid cell (1..16); default: the map is at least 600 px.\n"
    "  --tz: local time beside UTC, e.g. Europe/Brussels. --credit: the data source's credit\n"
    "  line (default on field maps: DATA: and the file's producer).\n"
    "  --warning: draw the warning map (docs/warnings.md, default options) of a forecast\n"
    "  given as the frames of one or more files, in time order at a constant step; the issue\n"
    "  time is one step before the first frame; --horizon-min (default 60) must be reached\n"
    "  by the frames. --summary also writes the JSON summary of the warning.\n";

#define MAX_INPUTS 64
#define MAX_FRAMES 288

typedef struct {
    const char *inputs[MAX_INPUTS];
    int input_count;
    const char *out, *title, *targets, *time, *summary, *tz, *credit;
    int frame, scale, horizon_min;
    bool warning;
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
    a->horizon_min = 60;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        bool has_value = i + 1 < argc;
        int rc = CLI_OK;
        if (!strcmp(arg, "--out") && has_value) a->out = argv[++i];
        else if (!strcmp(arg, "--title") && has_value) a->title = argv[++i];
        else if (!strcmp(arg, "--targets") && has_value) a->targets = argv[++i];
        else if (!strcmp(arg, "--time") && has_value) a->time = argv[++i];
        else if (!strcmp(arg, "--tz") && has_value) a->tz = argv[++i];
        else if (!strcmp(arg, "--credit") && has_value) a->credit = argv[++i];
        else if (!strcmp(arg, "--frame") && has_value) rc = parse_int(cmd, arg, argv[++i], &a->frame);
        else if (!strcmp(arg, "--scale") && has_value) rc = parse_int(cmd, arg, argv[++i], &a->scale);
        else if (!strcmp(arg, "--horizon-min") && has_value) rc = parse_int(cmd, arg, argv[++i], &a->horizon_min);
        else if (!strcmp(arg, "--summary") && has_value) a->summary = argv[++i];
        else if (!strcmp(arg, "--warning")) a->warning = true;
        else if (arg[0] == '-' && arg[1]) return cli_usage_error(cmd, "unknown or incomplete option '%s'", arg);
        else if (a->input_count < MAX_INPUTS) a->inputs[a->input_count++] = arg;
        else return cli_usage_error(cmd, "more than %d input files", MAX_INPUTS);
        if (rc) return rc;
    }
    if (!a->input_count) return cli_usage_error(cmd, "no input file");
    if (!a->warning && a->input_count > 1)
        return cli_usage_error(cmd, "one input file expected, got also '%s'", a->inputs[1]);
    if (!a->warning && a->summary) return cli_usage_error(cmd, "--summary needs --warning");
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

/* Every frame of every input, in the order given. */
static int read_forecast(const char *cmd, sq25_ctx *ctx, const render_args *a,
                         sq25_field **frames, int *count)
{
    *count = 0;
    for (int i = 0; i < a->input_count; i++) {
        int n = 0, rc = sq25_file_frame_count(ctx, a->inputs[i], &n);
        for (int k = 0; rc == SQ25_OK && k < n; k++) {
            if (*count == MAX_FRAMES) return cli_error(cmd, "more than %d frames", MAX_FRAMES);
            rc = sq25_read_field_frame(ctx, a->inputs[i], k, &frames[*count]);
            if (rc == SQ25_OK) (*count)++;
        }
        if (rc) return cli_lib_error(cmd, ctx, rc);
    }
    if (*count < 2) return cli_error(cmd, "--warning needs at least 2 frames to know the step");
    return CLI_OK;
}

static int render_warning(const char *cmd, sq25_ctx *ctx, const render_args *a,
                          sq25_targets *targets, sq25_render_options *opt)
{
    sq25_field *frames[MAX_FRAMES];
    int count = 0, status = read_forecast(cmd, ctx, a, frames, &count);
    sq25_warn_options *wopt = NULL;
    sq25_warning *w = NULL;
    int rc = SQ25_OK;
    if (!status) {
        int64_t step = sq25_field_valid_time(frames[1]) - sq25_field_valid_time(frames[0]);
        int64_t issue = sq25_field_valid_time(frames[0]) - step;
        if (step <= 0 || step > 86400) status = cli_error(cmd, "frames are not in time order");
        if (!status && ((rc = sq25_warn_options_create(ctx, &wopt)) ||
                        (rc = sq25_warn_options_set_horizon(wopt, a->horizon_min * 60)) ||
                        (rc = sq25_warn_compute(ctx, wopt, (const sq25_field *const *)frames,
                                                count, (int)step, issue, &w))))
            status = cli_lib_error(cmd, ctx, rc);
    }
    for (int i = 0; !status && i < a->input_count; i++)
        if ((rc = sq25_warning_add_input(w, a->inputs[i]))) status = cli_lib_error(cmd, ctx, rc);
    if (!status && targets && (rc = sq25_warning_evaluate_targets(w, targets)))
        status = cli_lib_error(cmd, ctx, rc);
    if (!status) status = cli_map_options(cmd, opt, a->tz, sq25_warning_issue_time(w), a->credit);
    if (!status && (rc = sq25_render_warning_png(w, opt, a->out)))
        status = cli_lib_error(cmd, ctx, rc);
    if (!status && a->summary && (rc = sq25_warning_write_summary_json(w, a->summary)))
        status = cli_lib_error(cmd, ctx, rc);
    sq25_warning_destroy(w);
    sq25_warn_options_destroy(wopt);
    for (int i = 0; i < count; i++) sq25_field_destroy(frames[i]);
    return status;
}

static int render_field(const char *cmd, sq25_ctx *ctx, const render_args *a,
                        sq25_targets *targets, sq25_render_options *opt)
{
    sq25_field *field = NULL;
    int status = CLI_OK, rc = sq25_read_field_frame(ctx, a->inputs[0], a->frame, &field);
    if (rc) status = cli_lib_error(cmd, ctx, rc);
    if (!status)
        status = cli_map_options(cmd, opt, a->tz, sq25_field_valid_time(field), a->credit);
    if (!status && (rc = sq25_render_field_png(field, targets, opt, a->out)))
        status = cli_lib_error(cmd, ctx, rc);
    sq25_field_destroy(field);
    return status;
}

int cmd_render(int argc, char **argv)
{
    const char *cmd = argv[0];
    render_args a;
    int status = parse_args(argc, argv, &a);
    if (status) return status;
    sq25_ctx *ctx = cli_ctx(cmd);
    if (!ctx) return CLI_FAIL;
    sq25_targets *targets = NULL;
    sq25_render_options *opt = NULL;
    int rc = SQ25_OK;
    if (a.targets) status = read_targets(cmd, ctx, a.targets, &targets);
    if (!status && (rc = sq25_render_options_create(ctx, &opt)))
        status = cli_lib_error(cmd, ctx, rc);
    if (!status) status = set_options(cmd, ctx, &a, opt);
    if (!status)
        status = a.warning ? render_warning(cmd, ctx, &a, targets, opt)
                           : render_field(cmd, ctx, &a, targets, opt);
    if (!status) printf("wrote %s\n", a.out);
    if (!status && a.summary) printf("wrote %s\n", a.summary);
    sq25_render_options_destroy(opt);
    sq25_targets_destroy(targets);
    sq25_ctx_destroy(ctx);
    return status;
}
