/* cli.c -- error reporting and JSON helpers shared by the sub-commands. */
#include "cli.h"

#include <math.h>
#include <stdarg.h>

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
