/* serve_sensors.c -- the sensor files of the `sq25 serve` inbox (docs/serve.md "Sensors").
 * Files are kept as read; each cycle builds the window of steps ending at its time from all of
 * them, so a file that arrives late, one that is rewritten and one per station or per hour
 * all give the same window. Public API of libsq25 only. */
#include "serve.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(offsetof(serve_sensor_file, name) == 0, "serve_files_find reads the name first");

static void release_file(void *f) { sq25_series_destroy(((serve_sensor_file *)f)->series); }
static const serve_file_kind sensors_kind = {sizeof(serve_sensor_file), 8, release_file};

void serve_sensors_init(serve_sensors *s) { memset(s, 0, sizeof *s); }

void serve_sensors_free(serve_sensors *s)
{
    serve_files_release_all(&sensors_kind, s->files, s->count);
    serve_sensors_init(s);
}

static void drop_file(serve_sensors *s, size_t i)
{
    serve_files_drop(&sensors_kind, s->files, &s->count, i);
    if (s->count == 0) s->step_s = 0; /* a new first file sets the step again */
}

/* Phase of a time on a step grid, 0..step-1. */
static int64_t phase(int64_t t, int step_s) { return ((t % step_s) + step_s) % step_s; }

int serve_sensors_add(serve_sensors *s, const char *name, sq25_series *series, char *err,
                      size_t err_cap)
{
    int step = sq25_series_step_s(series);
    int64_t n = sq25_series_step_count(series);
    size_t old = serve_files_find(&sensors_kind, s->files, s->count, name);
    if (old < s->count) drop_file(s, old); /* rewritten: the new read replaces it */
    const char *why = NULL;
    if (n < 1) why = "no time step";
    else if (s->count && step != s->step_s) why = "its time step differs from the other sensor files'";
    else if (s->count && phase(sq25_series_time(series, 0), step) !=
                             phase(s->files[0].first_time, step))
        why = "its times are not on the step grid of the other sensor files";
    if (!why) {
        serve_sensor_file *grown =
            serve_files_reserve(&sensors_kind, s->files, s->count, &s->cap);
        if (grown) s->files = grown;
        else why = "out of memory";
    }
    if (why) {
        if (err) snprintf(err, err_cap, "%s (step %d s)", why, step);
        sq25_series_destroy(series);
        return -1;
    }
    serve_sensor_file *f = &s->files[s->count++];
    snprintf(f->name, sizeof f->name, "%s", name);
    f->series = series;
    f->first_time = sq25_series_time(series, 0);
    f->last_time = sq25_series_time(series, n - 1);
    s->step_s = step;
    return 0;
}

void serve_sensors_prune(serve_sensors *s, int64_t before)
{
    for (size_t i = s->count; i-- > 0;)
        if (s->files[i].last_time < before) drop_file(s, i);
}

/* One station of one file, for the union of the stations by id. */
typedef struct {
    const char *id;
    size_t file;
    int station;
    size_t seq;   /* order of first appearance: files in read order, stations in file order */
    int out;      /* its station in the window */
} station_ref;

static int by_id_then_seq(const void *a, const void *b)
{
    const station_ref *x = a, *y = b;
    int c = strcmp(x->id, y->id);
    return c ? c : (x->seq > y->seq) - (x->seq < y->seq);
}

static int by_seq(const void *a, const void *b)
{
    const station_ref *x = *(station_ref *const *)a, *y = *(station_ref *const *)b;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

/* Number every station ref by its window station (the same id -> the same station, numbered
 * in the order of first appearance). Returns the station count, or -1 on out-of-memory. */
static int number_stations(station_ref *refs, size_t n)
{
    qsort(refs, n, sizeof *refs, by_id_then_seq);
    station_ref **firsts = malloc((n + 1) * sizeof *firsts);
    if (!firsts) return -1;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (i == 0 || strcmp(refs[i].id, refs[i - 1].id) != 0) firsts[k++] = &refs[i];
    qsort(firsts, k, sizeof *firsts, by_seq);
    for (size_t j = 0; j < k; j++) firsts[j]->out = (int)j;
    for (size_t i = 1; i < n; i++)
        if (strcmp(refs[i].id, refs[i - 1].id) == 0) refs[i].out = refs[i - 1].out;
    free(firsts);
    return (int)k;
}

static int fill_window(const serve_sensors *s, const station_ref *refs, size_t n_refs,
                       int64_t first, int64_t steps, int64_t shift_s, sq25_series *w)
{
    float *dst = sq25_series_data(w);
    int rc = SQ25_OK;
    /* refs are sorted by id, then by read order: a later file's value and position win */
    for (size_t r = 0; rc == SQ25_OK && r < n_refs; r++) {
        const serve_sensor_file *f = &s->files[refs[r].file];
        double lon, lat;
        sq25_series_station_lonlat(f->series, refs[r].station, &lon, &lat);
        rc = sq25_series_set_station(w, refs[r].out, refs[r].id, lon, lat);
        int64_t nk = sq25_series_step_count(f->series);
        const float *src = sq25_series_data_const(f->series) + (size_t)refs[r].station * (size_t)nk;
        for (int64_t j = 0; j < steps; j++) {
            int64_t k = sq25_series_step_at(f->series, first + j * s->step_s - shift_s);
            if (k >= 0 && !isnan(src[k])) dst[(size_t)refs[r].out * (size_t)steps + (size_t)j] = src[k];
        }
    }
    return rc;
}

int serve_sensors_window(const serve_sensors *s, sq25_ctx *ctx, int64_t to, int64_t span_s,
                         int64_t shift_s, sq25_series **out)
{
    *out = NULL;
    if (s->count == 0) return SQ25_ERR_NO_DATA;
    int step = s->step_s;
    /* the last step ending at or before `to`, on the files' step grid (shifted) */
    int64_t grid = phase(s->files[0].first_time + shift_s, step);
    int64_t last = to - phase(to - grid, step);
    int64_t steps = span_s / step > 0 ? span_s / step : 1;
    int64_t first = last - (steps - 1) * step;
    size_t n_refs = 0;
    for (size_t i = 0; i < s->count; i++) n_refs += (size_t)sq25_series_station_count(s->files[i].series);
    station_ref *refs = calloc(n_refs + 1, sizeof *refs);
    if (!refs) return SQ25_ERR_NOMEM;
    size_t r = 0;
    for (size_t i = 0; i < s->count; i++)
        for (int k = 0; k < sq25_series_station_count(s->files[i].series); k++, r++)
            refs[r] = (station_ref){sq25_series_station_id(s->files[i].series, k), i, k, r, 0};
    int n_stations = number_stations(refs, n_refs);
    int rc = n_stations < 0 ? SQ25_ERR_NOMEM
                            : sq25_series_create(ctx, n_stations, steps, first, step, out);
    if (rc == SQ25_OK) rc = fill_window(s, refs, n_refs, first, steps, shift_s, *out);
    if (rc != SQ25_OK) {
        sq25_series_destroy(*out);
        *out = NULL;
    }
    free(refs);
    return rc;
}
