/* cli.c -- error reporting and JSON helpers shared by the sub-commands. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

int cli_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "sq25 %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return CLI_FAIL;
}

int cli_lib_error(const char *cmd, sq25_ctx *ctx, int code)
{
    const char *detail = ctx ? sq25_errmsg(ctx) : "";
    if (detail[0])
        fprintf(stderr, "sq25 %s: %s (%s)\n", cmd, detail, sq25_errname(code));
    else
        fprintf(stderr, "sq25 %s: %s (%s)\n", cmd, sq25_strerror(code), sq25_errname(code));
    return CLI_FAIL;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "sq25 %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (see 'sq25 help %s')\n", cmd);
    va_end(ap);
    return CLI_USAGE;
}

void cli_json_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        switch (*c) {
        case '"': fputs("\\\"", out); break;
        case '\\': fputs("\\\\", out); break;
        case '\n': fputs("\\n", out); break;
        case '\r': fputs("\\r", out); break;
        case '\t': fputs("\\t", out); break;
        default:
            if (*c < 0x20) fprintf(out, "\\u%04x", *c);
            else fputc(*c, out);
        }
    }
    fputc('"', out);
}

void cli_json_number(FILE *out, double v)
{
    if (isfinite(v)) fprintf(out, "%.10g", v);
    else fputs("null", out);
}

sq25_ctx *cli_ctx(const char *cmd)
{
    sq25_ctx *ctx = sq25_ctx_create();
    if (!ctx) cli_error(cmd, "out of memory creating a context");
    if (ctx && cli_apply_reader_options(cmd, ctx) != CLI_OK) {
        sq25_ctx_destroy(ctx);
        return NULL;
    }
    return ctx;
}

/* The offset and abbreviation of zone tz at t. The CLI is single-threaded, so setting TZ for
 * the process is safe here (the library never does). */
static int zone_offset(const char *tz, int64_t t, int *offset_min, char *label, size_t cap)
{
    char path[512];
    snprintf(path, sizeof path, "/usr/share/zoneinfo/%s", tz);
    if (strstr(tz, "..") || access(path, R_OK) != 0) return -1;
    setenv("TZ", tz, 1);
    tzset();
    time_t tt = (time_t)t;
    struct tm local;
    if (!localtime_r(&tt, &local)) return -1;
    *offset_min = (int)(local.tm_gmtoff / 60);
    snprintf(label, cap, "%s", local.tm_zone ? local.tm_zone : tz);
    return 0;
}

int cli_map_options(const char *cmd, sq25_render_options *opt, const char *tz, int64_t t,
                    const char *credit)
{
    int rc = credit ? sq25_render_options_set_credit(opt, credit) : SQ25_OK;
    if (rc) return cli_error(cmd, "cannot set the credit line: %s", sq25_strerror(rc));
    if (!tz) return CLI_OK;
    int offset = 0;
    char label[16];
    if (zone_offset(tz, t, &offset, label, sizeof label) != 0)
        return cli_usage_error(cmd, "--tz '%s': no such time zone in /usr/share/zoneinfo", tz);
    rc = sq25_render_options_set_local_time(opt, offset, label);
    return rc ? cli_error(cmd, "cannot set the local time: %s", sq25_strerror(rc)) : CLI_OK;
}

bool cli_parse_int(const char *text, long min, long max, int *out)
{
    char *end;
    errno = 0;
    long v = text ? strtol(text, &end, 10) : 0;
    if (!text || end == text || *end || errno == ERANGE || v < min || v > max) return false;
    *out = (int)v;
    return true;
}

bool cli_parse_double(const char *text, double min, double max, double *out)
{
    char *end;
    errno = 0;
    double v = text ? strtod(text, &end) : 0;
    if (!text || end == text || *end || errno == ERANGE || !(v >= min && v <= max)) return false;
    *out = v;
    return true;
}

bool cli_same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    if (!a || !b || stat(a, &sa) != 0 || stat(b, &sb) != 0) return false;
    return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

int cli_refuse_input_as_output(const char *cmd, const char *out, const char *const *inputs,
                               int n)
{
    for (int i = 0; i < n; i++)
        if (inputs[i] && cli_same_file(out, inputs[i]))
            return cli_usage_error(cmd, "output %s is the input file %s; refusing to overwrite "
                                        "an input",
                                   out, inputs[i]);
    return CLI_OK;
}

void cli_grid_text(const sq25_field *f, char *buf, size_t cap)
{
    double gt[6];
    sq25_field_geotransform(f, gt);
    snprintf(buf, cap, "%dx%d cells of %gx%g at (%.1f, %.1f) in \"%.60s\"",
             sq25_field_width(f), sq25_field_height(f), gt[1], -gt[5], gt[0], gt[3],
             sq25_field_projdef(f));
}

bool cli_same_grid(const sq25_field *a, const sq25_field *b)
{
    double ga[6], gb[6];
    sq25_field_geotransform(a, ga);
    sq25_field_geotransform(b, gb);
    return sq25_field_width(a) == sq25_field_width(b) &&
           sq25_field_height(a) == sq25_field_height(b) && memcmp(ga, gb, sizeof ga) == 0 &&
           strcmp(sq25_field_projdef(a), sq25_field_projdef(b)) == 0;
}

bool cli_warn_if_no_data(const char *cmd, const char *what, const sq25_field *f)
{
    double max, mean, wet, nodata;
    sq25_field_stats(f, 0.1, &max, &mean, &wet, &nodata);
    if (nodata < 1.0) return false;
    fprintf(stderr, "sq25 %s: warning: %s: every cell is no data (NaN); no rain can be seen "
                    "there, which is not the same as no rain\n",
            cmd, what);
    return true;
}

int cli_parse_number_list(const char *text, double *values, int cap)
{
    int n = 0;
    const char *s = text;
    while (s && n < cap) {
        char *end;
        errno = 0;
        double v = strtod(s, &end);
        if (end == s || errno == ERANGE || !isfinite(v)) return -1;
        values[n++] = v;
        if (*end == '\0') return n;
        if (*end != ',') return -1;
        s = end + 1;
    }
    return -1; /* more values than cap */
}

int cli_parse_pair_list(const char *text, double *first, double *second, int cap)
{
    int n = 0;
    const char *s = text;
    while (s && n < cap) {
        char *end;
        errno = 0;
        double a = strtod(s, &end);
        if (end == s || *end != ':' || errno == ERANGE || !isfinite(a)) return -1;
        s = end + 1;
        double b = strtod(s, &end);
        if (end == s || errno == ERANGE || !isfinite(b)) return -1;
        first[n] = a;
        second[n++] = b;
        if (*end == '\0') return n;
        if (*end != ',') return -1;
        s = end + 1;
    }
    return -1;
}
