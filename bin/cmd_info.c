/* cmd_info.c -- sq25 info FILE... [--json]: describe radar or gridded rain files. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

const char cmd_info_usage[] =
    "usage: sq25 info FILE... [--json] [--check] [--time T] [--zr A,B] [--ceiling MMH[:MODE]]\n"
    "  Describe radar or gridded rain files (ODIM_H5, KNMI HDF5, CF-1.x netCDF-4, OpenSense,\n"
    "  DWD RADOLAN/RADVOR, DWD ESRI ASCII; gzip, bzip2 and tar as delivered): format,\n"
    "  producer, quantity and its conversion to mm/h (with the Z-R relation for\n"
    "  reflectivity), size, projection, geotransform, the lon/lat of the four outer corners,\n"
    "  valid time (UTC), accumulation and rain statistics (max and mean mm/h, wet fraction\n"
    "  above 0.1 mm/h, nodata fraction) of the first frame, or of the frame valid at --time.\n"
    "  Station series (OpenSense gauges, PWS) are described as series: stations, steps,\n"
    "  times, largest amount per step.\n"
    "  --json  one JSON object per file (an array when several files are given)\n"
    "  --check read each file (every frame) in a child process first: a file that crashes\n"
    "          or hangs the reader (damaged HDF5 reaching a bug inside HDF5) is reported as\n"
    "          damaged, and the other files are still described\n"
    "  --zr A,B             reflectivity to rain rate by Z = A R^B (default 200,1.6)\n"
    "  --ceiling MMH[:MODE] rates above MMH clipped (MODE clip) or set to no data (nodata)\n"
    "  --assume-time T      the valid time of frames whose file states none (else refused)\n"
    "  A bad file gives one line on stderr; the others are still described; exit status 1.\n";

#define INFO_WET_THRESHOLD_MMH 0.1

typedef struct {
    double max_mmh, mean_mmh, wet_fraction, nodata_fraction;
    double gt[6];
    double corners[8]; /* UL, UR, LR, LL lon/lat */
    char valid_time[32];
    int frames;
} file_summary;

static const char *format_name(int format)
{
    switch (format) {
    case SQ25_FORMAT_ODIM: return "ODIM_H5";
    case SQ25_FORMAT_KNMI: return "KNMI HDF5";
    case SQ25_FORMAT_CF: return "CF netCDF-4";
    case SQ25_FORMAT_RADOLAN: return "DWD RADOLAN";
    case SQ25_FORMAT_ESRI_ASCII: return "ESRI ASCII grid";
    default: return "unknown";
    }
}

static int summarise(sq25_ctx *ctx, const char *path, sq25_field *f, file_summary *s)
{
    sq25_field_stats(f, INFO_WET_THRESHOLD_MMH, &s->max_mmh, &s->mean_mmh, &s->wet_fraction,
                     &s->nodata_fraction);
    sq25_field_geotransform(f, s->gt);
    int rc = sq25_field_corners_lonlat(f, s->corners);
    if (rc) return rc;
    sq25_time_format(sq25_field_valid_time(f), s->valid_time, sizeof s->valid_time);
    return sq25_file_frame_count(ctx, path, &s->frames);
}

static void print_text(const char *path, sq25_field *f, const file_summary *s)
{
    static const char *corner_names[4] = {"upper-left", "upper-right", "lower-right",
                                          "lower-left"};
    printf("%s\n", path);
    printf("  format        %s\n", sq25_field_meta(f, SQ25_META_FORMAT));
    printf("  producer      %s\n", sq25_field_meta(f, SQ25_META_PRODUCER));
    printf("  quantity      %s\n", sq25_field_meta(f, SQ25_META_QUANTITY));
    printf("  conversion    %s\n", sq25_field_meta(f, SQ25_META_CONVERSION));
    printf("  size          %d x %d cells (columns x rows), %d frame(s)\n",
           sq25_field_width(f), sq25_field_height(f), s->frames);
    printf("  projection    %s\n", sq25_field_projdef(f));
    printf("  geotransform  %.3f %.3f %.3f %.3f %.3f %.3f\n", s->gt[0], s->gt[1], s->gt[2],
           s->gt[3], s->gt[4], s->gt[5]);
    for (int k = 0; k < 4; k++)
        printf("  %-12s  lon %.5f lat %.5f\n", corner_names[k], s->corners[2 * k],
               s->corners[2 * k + 1]);
    printf("  valid time    %s\n", s->valid_time);
    printf("  accumulation  %d s\n", sq25_field_accumulation_s(f));
    printf("  rain          max %.3f mm/h, mean %.4f mm/h, wet (> %.1f mm/h) %.2f %%, "
           "nodata %.2f %%\n",
           s->max_mmh, s->mean_mmh, INFO_WET_THRESHOLD_MMH, 100 * s->wet_fraction,
           100 * s->nodata_fraction);
}

static void json_key_string(const char *key, const char *value, bool comma)
{
    printf("  \"%s\": ", key);
    cli_json_string(stdout, value);
    fputs(comma ? ",\n" : "\n", stdout);
}

static void json_key_number(const char *key, double value)
{
    printf("  \"%s\": ", key);
    cli_json_number(stdout, value);
    fputs(",\n", stdout);
}

static void json_array(const char *key, const double *v, int n)
{
    printf("  \"%s\": [", key);
    for (int i = 0; i < n; i++) {
        if (i) fputs(", ", stdout);
        cli_json_number(stdout, v[i]);
    }
    fputs("],\n", stdout);
}

static void print_json(const char *path, int format, sq25_field *f, const file_summary *s)
{
    fputs("{\n", stdout);
    json_key_string("file", path, true);
    json_key_string("format_family", format_name(format), true);
    json_key_string("format", sq25_field_meta(f, SQ25_META_FORMAT), true);
    json_key_string("producer", sq25_field_meta(f, SQ25_META_PRODUCER), true);
    json_key_string("quantity", sq25_field_meta(f, SQ25_META_QUANTITY), true);
    json_key_string("conversion", sq25_field_meta(f, SQ25_META_CONVERSION), true);
    json_key_number("width", sq25_field_width(f));
    json_key_number("height", sq25_field_height(f));
    json_key_number("frames", s->frames);
    json_key_string("projection", sq25_field_projdef(f), true);
    json_array("geotransform", s->gt, 6);
    json_array("corners_lonlat_ul_ur_lr_ll", s->corners, 8);
    json_key_string("valid_time", s->valid_time, true);
    json_key_number("accumulation_s", sq25_field_accumulation_s(f));
    json_key_number("max_mmh", s->max_mmh);
    json_key_number("mean_mmh", s->mean_mmh);
    json_key_number("wet_fraction", s->wet_fraction);
    printf("  \"nodata_fraction\": ");
    cli_json_number(stdout, s->nodata_fraction);
    fputs("\n}", stdout);
}

/* A station-series file (OpenSense gauges, PWS): stations, steps, times, largest amount. */
static void describe_series(const char *path, const sq25_series *s, bool json)
{
    int ns = sq25_series_station_count(s);
    int64_t nt = sq25_series_step_count(s);
    const float *d = sq25_series_data_const(s);
    double max = NAN;
    size_t missing = 0, n = (size_t)ns * (size_t)nt;
    for (size_t i = 0; i < n; i++) {
        if (isnan(d[i])) missing++;
        else if (!(d[i] <= max)) max = d[i];
    }
    char t0[32], t1[32];
    sq25_time_format(sq25_series_time(s, 0), t0, sizeof t0);
    sq25_time_format(sq25_series_time(s, nt - 1), t1, sizeof t1);
    int step = sq25_series_step_s(s);
    double frac = n ? (double)missing / (double)n : 0;
    if (!json) {
        printf("%s\n  format        station series (netCDF-4)\n", path);
        printf("  stations      %d\n  steps         %lld of %d s, ends %s .. %s (UTC)\n", ns,
               (long long)nt, step, t0, t1);
        printf("  rain          max %.3f mm per step (%.3f mm/h), missing %.2f %%\n", max,
               max * 3600.0 / step, 100 * frac);
        return;
    }
    fputs("{\n", stdout);
    json_key_string("file", path, true);
    json_key_string("format_family", "station series", true);
    json_key_number("stations", ns);
    json_key_number("steps", (double)nt);
    json_key_number("step_s", step);
    json_key_string("first_time", t0, true);
    json_key_string("last_time", t1, true);
    json_key_number("max_mm_per_step", max);
    json_key_number("max_mmh", max * 3600.0 / step);
    printf("  \"missing_fraction\": ");
    cli_json_number(stdout, frac);
    fputs("\n}", stdout);
}

/* A CF file that is a station series, not a grid: described as a series when it reads. */
static bool try_series(sq25_ctx *ctx, const char *path, bool json, bool *first)
{
    sq25_series *s = NULL;
    char grid_error[600];
    snprintf(grid_error, sizeof grid_error, "%s", sq25_errmsg(ctx));
    int code = sq25_errcode(ctx);
    if (sq25_series_read_netcdf(ctx, path, &s) != SQ25_OK) {
        sq25_series_destroy(s);
        fprintf(stderr, "sq25 info: %s (%s)\n", grid_error, sq25_errname(code));
        return false;
    }
    if (json && !*first) fputs(",\n", stdout);
    describe_series(path, s, json);
    *first = false;
    sq25_series_destroy(s);
    return true;
}

/* Describe one file (its first frame, or the one valid at *time); prints the error line and
 * returns CLI_FAIL on a bad file. */
static int describe(const char *cmd, sq25_ctx *ctx, const char *path, bool json, bool *first,
                    const int64_t *time)
{
    int format = SQ25_FORMAT_UNKNOWN;
    sq25_field *f = NULL;
    file_summary s;
    int rc = sq25_file_detect(ctx, path, &format);
    if (!rc && time) {
        if (cli_read_frame_at(cmd, ctx, path, *time, &f) != CLI_OK) return CLI_FAIL;
    } else if (!rc) {
        rc = sq25_read_field(ctx, path, &f);
    }
    if (rc == SQ25_ERR_UNSUPPORTED && format == SQ25_FORMAT_CF) {
        fflush(stdout);
        return try_series(ctx, path, json, first) ? CLI_OK : CLI_FAIL;
    }
    if (!rc) rc = summarise(ctx, path, f, &s);
    if (rc) {
        sq25_field_destroy(f);
        fflush(stdout);
        return cli_lib_error(cmd, ctx, rc);
    }
    if (json) {
        if (!*first) fputs(",\n", stdout);
        print_json(path, format, f, &s);
    } else {
        print_text(path, f, &s);
    }
    *first = false;
    sq25_field_destroy(f);
    return CLI_OK;
}

/* --check: every frame must read (the child's work). */
static int read_all_frames(const char *cmd, sq25_ctx *ctx, const char *path)
{
    int count = 0, rc = sq25_file_frame_count(ctx, path, &count);
    for (int i = 1; rc == SQ25_OK && i < count; i++) {
        sq25_field *f = NULL;
        rc = sq25_read_field_frame(ctx, path, i, &f);
        sq25_field_destroy(f);
    }
    return rc ? cli_lib_error(cmd, ctx, rc) : CLI_OK;
}

/* Seconds a child may take over one file before it is taken as hung. */
#define INFO_CHECK_TIMEOUT_S 120

/* Append what fd gives until its end to a growing buffer; false on out of memory. */
static bool read_to_end(int fd, char **buf, size_t *len)
{
    size_t cap = 0;
    *buf = NULL;
    *len = 0;
    for (;;) {
        if (*len + 4096 > cap) {
            char *bigger = realloc(*buf, cap = 2 * cap + 8192);
            if (!bigger) return false;
            *buf = bigger;
        }
        ssize_t got = read(fd, *buf + *len, cap - *len);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) return got == 0;
        *len += (size_t)got;
    }
}

/* Describe one file from a child process: the child reads (and prints into a pipe); the
 * parent prints what it wrote only when it ended normally, so a crash inside HDF5 costs one
 * line, never the command. This is the pattern documented for services (docs/robustness.md). */
static int describe_isolated(const char *cmd, const char *path, bool json, bool *first)
{
    int fds[2];
    fflush(stdout);
    fflush(stderr);
    if (pipe(fds) != 0) return cli_error(cmd, "%s: cannot make a pipe: %s", path, strerror(errno));
    pid_t pid = fork();
    if (pid < 0) return cli_error(cmd, "%s: cannot fork: %s", path, strerror(errno));
    if (pid == 0) {
        close(fds[0]);
        dup2(fds[1], STDOUT_FILENO);
        close(fds[1]);
        alarm(INFO_CHECK_TIMEOUT_S);
        sq25_ctx *ctx = cli_ctx(cmd);
        bool own_first = true;
        int st = ctx ? describe(cmd, ctx, path, json, &own_first, NULL) : CLI_FAIL;
        if (st == CLI_OK) st = read_all_frames(cmd, ctx, path);
        fflush(stdout);
        _exit(st);
    }
    close(fds[1]);
    char *text = NULL;
    size_t len = 0;
    bool complete = read_to_end(fds[0], &text, &len);
    close(fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) continue;
    int st = CLI_FAIL;
    if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        cli_error(cmd, "%s: damaged: reading it %s the reader (signal %d, %s); not used", path,
                  sig == SIGALRM ? "hung" : "crashed", sig, strsignal(sig));
    } else if (!complete) {
        cli_error(cmd, "%s: out of memory collecting the description", path);
    } else if (WIFEXITED(status) && WEXITSTATUS(status) == CLI_OK) {
        if (json && !*first) fputs(",\n", stdout);
        fwrite(text, 1, len, stdout);
        *first = false;
        st = CLI_OK;
    }
    free(text);
    return st;
}

int cmd_info(int argc, char **argv)
{
    const char *cmd = argv[0];
    bool json = false, check = false;
    int nfiles = 0;
    const char *time_text = NULL;
    for (int i = 1; i < argc; i++) {
        int st = CLI_OK;
        if (cli_reader_option(argc, argv, &i, &st)) {
            if (st) return st;
        } else if (strcmp(argv[i], "--json") == 0) json = true;
        else if (strcmp(argv[i], "--check") == 0) check = true;
        else if (strcmp(argv[i], "--time") == 0 && i + 1 < argc) time_text = argv[++i];
        else if (argv[i][0] == '-' && argv[i][1] != '\0')
            return cli_usage_error(cmd, "unknown option '%s'", argv[i]);
        else nfiles++;
    }
    int64_t t = 0;
    if (time_text && sq25_time_parse(time_text, &t) != SQ25_OK)
        return cli_usage_error(cmd, "cannot parse --time '%s'", time_text);
    if (nfiles == 0) return cli_usage_error(cmd, "no FILE given");
    sq25_ctx *ctx = cli_ctx(cmd);
    if (!ctx) return CLI_FAIL;
    bool array = json && nfiles > 1, first = true;
    int status = CLI_OK;
    if (array) fputs("[\n", stdout);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0 || strcmp(argv[i], "--check") == 0) continue;
        if (!strcmp(argv[i], "--time") || !strcmp(argv[i], "--zr") ||
            !strcmp(argv[i], "--ceiling") || !strcmp(argv[i], "--assume-time")) {
            i++;
            continue;
        }
        int st = check ? describe_isolated(cmd, argv[i], json, &first)
                       : describe(cmd, ctx, argv[i], json, &first, time_text ? &t : NULL);
        if (st != CLI_OK) status = CLI_FAIL;
    }
    if (array) fputs("\n]\n", stdout);
    else if (json && !first) fputs("\n", stdout);
    sq25_ctx_destroy(ctx);
    return status;
}
