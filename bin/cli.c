/* cli.c -- error reporting and JSON helpers shared by the sub-commands. */
#include "cli.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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
