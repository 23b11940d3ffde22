/* cli_frames.c -- reading the frames of the commands' inputs (every frame of every file, or
 * the ones valid at or before a requested time), and the readers' options shared by the
 * commands: --zr A,B (Z = A R^B for reflectivity), --ceiling MMH[:clip|:nodata] and
 * --assume-time T. */
#include "cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Reader options given on the command line, applied by cli_ctx to every context. The CLI is
 * single-threaded, one command per process. */
static struct {
    bool zr_set, ceiling_set, time_set;
    int64_t assumed_time;
    double zr_a, zr_b, ceiling_mmh;
    int ceiling_mode;
} reader_opts;

const char cli_reader_options_usage[] =
    "  --zr A,B             reflectivity to rain rate by Z = A R^B (default 200,1.6:\n"
    "                       Marshall-Palmer); written in each field's conversion text\n"
    "  --ceiling MMH[:MODE] rates above MMH are clipped to it (MODE clip, the default) or set\n"
    "                       to no data (MODE nodata); the count is reported\n"
    "  --assume-time T      the valid time of frames whose file states none (a CF grid\n"
    "                       without time); without it such frames are refused\n";

int cli_reader_option(int argc, char **argv, int *i, int *status)
{
    const char *o = argv[*i], *cmd = argv[0];
    *status = CLI_OK;
    if (strcmp(o, "--zr") && strcmp(o, "--ceiling") && strcmp(o, "--assume-time")) return 0;
    if (*i + 1 >= argc) {
        *status = cli_usage_error(cmd, "%s needs a value", o);
        return 1;
    }
    const char *v = argv[++*i];
    char *end = NULL;
    if (!strcmp(o, "--assume-time")) {
        if (sq25_time_parse(v, &reader_opts.assumed_time) != SQ25_OK) goto bad;
        reader_opts.time_set = true;
        return 1;
    }
    if (!strcmp(o, "--zr")) {
        reader_opts.zr_a = strtod(v, &end);
        if (end == v || *end != ',' || !(reader_opts.zr_a > 0)) goto bad;
        const char *b = end + 1;
        reader_opts.zr_b = strtod(b, &end);
        if (end == b || *end || !(reader_opts.zr_b > 0)) goto bad;
        reader_opts.zr_set = true;
        return 1;
    }
    reader_opts.ceiling_mmh = strtod(v, &end);
    if (end == v || !(reader_opts.ceiling_mmh > 0) || !isfinite(reader_opts.ceiling_mmh)) goto bad;
    if (*end == '\0' || !strcmp(end, ":clip")) reader_opts.ceiling_mode = SQ25_CEILING_CLIP;
    else if (!strcmp(end, ":nodata")) reader_opts.ceiling_mode = SQ25_CEILING_NODATA;
    else goto bad;
    reader_opts.ceiling_set = true;
    return 1;
bad:
    *status = cli_usage_error(cmd, "cannot read %s '%s'", o, v);
    return 1;
}

int cli_apply_reader_options(const char *cmd, sq25_ctx *ctx)
{
    int rc = SQ25_OK;
    if (reader_opts.zr_set) rc = sq25_ctx_set_zr(ctx, reader_opts.zr_a, reader_opts.zr_b);
    if (reader_opts.time_set) sq25_ctx_set_assumed_time(ctx, 1, reader_opts.assumed_time);
    if (!rc && reader_opts.ceiling_set)
        rc = sq25_ctx_set_rain_ceiling(ctx, reader_opts.ceiling_mmh, reader_opts.ceiling_mode);
    return rc ? cli_lib_error(cmd, ctx, rc) : CLI_OK;
}

void cli_frames_free(cli_frames *f)
{
    for (int i = 0; i < f->count; i++) sq25_field_destroy(f->fields[i]);
    free(f->fields);
    free(f->paths);
    memset(f, 0, sizeof *f);
}

static int push(const char *cmd, cli_frames *f, sq25_field *field, const char *path)
{
    if (f->count == f->cap) {
        int cap = f->cap ? 2 * f->cap : 64;
        sq25_field **nf = realloc(f->fields, (size_t)cap * sizeof *nf);
        if (nf) f->fields = nf;
        const char **np = nf ? realloc(f->paths, (size_t)cap * sizeof *np) : NULL;
        if (!nf || !np) {
            sq25_field_destroy(field);
            return cli_error(cmd, "out of memory");
        }
        f->paths = np;
        f->cap = cap;
    }
    f->fields[f->count] = field;
    f->paths[f->count++] = path;
    return CLI_OK;
}

static bool keep(const sq25_field *field, int select, int64_t t)
{
    int64_t v = sq25_field_valid_time(field);
    return select == CLI_FRAMES_ALL || (select == CLI_FRAMES_AT && v == t) ||
           (select == CLI_FRAMES_UNTIL && v <= t);
}

int cli_read_frames(const char *cmd, sq25_ctx *ctx, const char *const *paths, int n_paths,
                    int select, int64_t t, cli_frames *out)
{
    memset(out, 0, sizeof *out);
    for (int i = 0; i < n_paths; i++) {
        int n = 0, rc = sq25_file_frame_count(ctx, paths[i], &n);
        for (int k = 0; rc == SQ25_OK && k < n; k++) {
            sq25_field *f = NULL;
            rc = sq25_read_field_frame(ctx, paths[i], k, &f);
            if (rc) break;
            if (!keep(f, select, t)) {
                sq25_field_destroy(f);
                continue;
            }
            if (push(cmd, out, f, paths[i]) != CLI_OK) {
                cli_frames_free(out);
                return CLI_FAIL;
            }
        }
        if (rc) {
            cli_frames_free(out);
            return cli_lib_error(cmd, ctx, rc);
        }
    }
    if (out->count == 0 && select != CLI_FRAMES_ALL) {
        char text[32];
        sq25_time_format(t, text, sizeof text);
        return cli_error(cmd, "no frame of the input valid %s %s",
                         select == CLI_FRAMES_AT ? "at" : "at or before", text);
    }
    return CLI_OK;
}

int cli_read_frame_at(const char *cmd, sq25_ctx *ctx, const char *path, int64_t t,
                      sq25_field **out)
{
    *out = NULL;
    int n = 0, rc = sq25_file_frame_count(ctx, path, &n);
    if (rc) return cli_lib_error(cmd, ctx, rc);
    char want[32], first[32] = "", last[32] = "";
    sq25_time_format(t, want, sizeof want);
    for (int k = 0; k < n; k++) {
        sq25_field *f = NULL;
        rc = sq25_read_field_frame(ctx, path, k, &f);
        if (rc) return cli_lib_error(cmd, ctx, rc);
        int64_t v = sq25_field_valid_time(f);
        if (k == 0) sq25_time_format(v, first, sizeof first);
        if (k == n - 1) sq25_time_format(v, last, sizeof last);
        if (v == t || n == 1) {
            if (v != t)
                fprintf(stderr, "sq25 %s: %s: its only frame is valid at %s, not %s; used\n",
                        cmd, path, first, want);
            *out = f;
            return CLI_OK;
        }
        sq25_field_destroy(f);
    }
    return cli_error(cmd, "%s: none of its %d frames (%s .. %s) is valid at %s", path, n, first,
                     last, want);
}
