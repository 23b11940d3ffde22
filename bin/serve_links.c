/* serve_links.c -- the microwave-link files of the `sq25 serve` inbox (docs/serve.md
 * "Microwave links"). Files are kept as read; each cycle processes them into path rain over
 * its window (the processing looks at the samples before it for the wet/dry window and the
 * baseline, as `sq25 run --links` does) and hands the links of all files on as one series.
 * Public API of libsq25 only. */
#include "serve.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(offsetof(serve_links_file, name) == 0, "serve_files_find reads the name first");

static void release_file(void *f) { sq25_links_destroy(((serve_links_file *)f)->links); }
static const serve_file_kind links_kind = {sizeof(serve_links_file), 4, release_file};

void serve_links_init(serve_links *s) { memset(s, 0, sizeof *s); }

void serve_links_free(serve_links *s)
{
    serve_files_release_all(&links_kind, s->files, s->count);
    serve_links_init(s);
}

int serve_links_add(serve_links *s, const char *name, sq25_links *links)
{
    size_t old = serve_files_find(&links_kind, s->files, s->count, name);
    if (old < s->count) /* rewritten: the new read replaces it */
        serve_files_drop(&links_kind, s->files, &s->count, old);
    serve_links_file *grown = serve_files_reserve(&links_kind, s->files, s->count, &s->cap);
    if (!grown) {
        sq25_links_destroy(links);
        return -1;
    }
    s->files = grown;
    serve_links_file *f = &s->files[s->count++];
    snprintf(f->name, sizeof f->name, "%s", name);
    f->links = links;
    int64_t n = sq25_links_step_count(links);
    f->last_time = n > 0 ? sq25_links_time(links, n - 1) : 0;
    return 0;
}

void serve_links_prune(serve_links *s, int64_t before)
{
    for (size_t i = s->count; i-- > 0;)
        if (s->files[i].last_time < before) serve_files_drop(&links_kind, s->files, &s->count, i);
}

static void note_skipped(char *buf, size_t cap, const char *name, const char *why)
{
    size_t n = strlen(buf);
    if (n + 1 < cap) snprintf(buf + n, cap - n, "%s%s: %s", n ? "; " : "", name, why);
}

/* The files' series one after the other (same steps), times moved by shift_s, into a new
 * series; the end points of every link into lonlat. */
static int join_series(sq25_ctx *ctx, const serve_links *s, sq25_series *const *parts,
                       int64_t shift_s, sq25_series **out, double *lonlat)
{
    const sq25_series *first = NULL;
    int n_links = 0;
    for (size_t i = 0; i < s->count; i++)
        if (parts[i]) {
            if (!first) first = parts[i];
            n_links += sq25_series_station_count(parts[i]);
        }
    int64_t steps = sq25_series_step_count(first);
    int rc = sq25_series_create(ctx, n_links, steps, sq25_series_time(first, 0) + shift_s,
                                sq25_series_step_s(first), out);
    int k = 0;
    for (size_t i = 0; rc == SQ25_OK && i < s->count; i++) {
        if (!parts[i]) continue;
        const float *src = sq25_series_data_const(parts[i]);
        for (int j = 0; rc == SQ25_OK && j < sq25_series_station_count(parts[i]); j++, k++) {
            double lon, lat, *e = lonlat + 4 * k;
            sq25_series_station_lonlat(parts[i], j, &lon, &lat);
            rc = sq25_series_set_station(*out, k, sq25_series_station_id(parts[i], j), lon, lat);
            memcpy(sq25_series_data(*out) + (size_t)k * (size_t)steps, src + (size_t)j * (size_t)steps,
                   (size_t)steps * sizeof *src);
            sq25_links_geometry(s->files[i].links, j, &e[0], &e[1], &e[2], &e[3], NULL, NULL, NULL);
        }
    }
    if (rc != SQ25_OK) {
        sq25_series_destroy(*out);
        *out = NULL;
    }
    return rc;
}

int serve_links_path_rain(const serve_links *s, sq25_ctx *ctx, const sq25_cml_options *opt,
                          int64_t from, int64_t to, int step_s, int64_t shift_s,
                          sq25_series **rain, double **lonlat, char *skipped,
                          size_t skipped_cap)
{
    *rain = NULL, *lonlat = NULL;
    if (skipped_cap) skipped[0] = '\0';
    sq25_series **parts = calloc(s->count + 1, sizeof *parts);
    if (!parts) return SQ25_ERR_NOMEM;
    const sq25_series *ref = NULL; /* the first file's intervals: the others must match */
    int rc = SQ25_OK, n_links = 0;
    for (size_t i = 0; rc == SQ25_OK && i < s->count; i++) {
        rc = sq25_links_process(s->files[i].links, opt, from - shift_s, to - shift_s, step_s,
                                &parts[i], NULL);
        if (rc == SQ25_ERR_NO_DATA) {
            note_skipped(skipped, skipped_cap, s->files[i].name, "no interval in the window");
            rc = SQ25_OK;
            continue;
        }
        if (rc != SQ25_OK) break;
        if (ref && (sq25_series_step_count(parts[i]) != sq25_series_step_count(ref) ||
                    sq25_series_time(parts[i], 0) != sq25_series_time(ref, 0))) {
            note_skipped(skipped, skipped_cap, s->files[i].name,
                         "its intervals are not those of the other links files");
            sq25_series_destroy(parts[i]);
            parts[i] = NULL;
            continue;
        }
        if (!ref) ref = parts[i];
        n_links += sq25_series_station_count(parts[i]);
    }
    if (rc == SQ25_OK && !ref) rc = SQ25_ERR_NO_DATA;
    if (rc == SQ25_OK && !(*lonlat = calloc(4 * (size_t)n_links + 4, sizeof(double))))
        rc = SQ25_ERR_NOMEM;
    if (rc == SQ25_OK) rc = join_series(ctx, s, parts, shift_s, rain, *lonlat);
    if (rc != SQ25_OK) {
        free(*lonlat);
        *lonlat = NULL;
    }
    for (size_t i = 0; i < s->count; i++) sq25_series_destroy(parts[i]);
    free(parts);
    return rc;
}
