/* sensors.c -- the in-memory store of rain-gauge series (stations x regular steps). */
#include "sensors.h"

#include <math.h>
#include <string.h>

int sq25_series_create(sq25_ctx *ctx, int n_stations, int64_t n_steps, int64_t first_end_time,
                       int step_s, sq25_series **out)
{
    if (!ctx) return SQ25_ERR_INVALID_ARG;
    if (!out) return sq25__fail(ctx, SQ25_ERR_INVALID_ARG, "sq25_series_create: NULL out");
    *out = NULL;
    if (step_s <= 0)
        return sq25__fail(ctx, SQ25_ERR_INVALID_ARG, "sq25_series_create: step %d s", step_s);
    int64_t values = 0;
    if (n_stations <= 0 || n_steps <= 0 || n_stations > sq25__limit(ctx, SQ25_LIMIT_STATIONS) ||
        n_steps > sq25__limit(ctx, SQ25_LIMIT_SERIES_STEPS) ||
        !sq25__mul_ok((int64_t)n_stations, n_steps, &values) ||
        values > sq25__limit(ctx, SQ25_LIMIT_SERIES_VALUES))
        return sq25__fail(ctx, SQ25_ERR_SIZE_ABSURD,
                          "sq25_series_create: %d stations x %lld steps (limits: %lld stations, "
                          "%lld steps, %lld values)",
                          n_stations, (long long)n_steps,
                          (long long)sq25__limit(ctx, SQ25_LIMIT_STATIONS),
                          (long long)sq25__limit(ctx, SQ25_LIMIT_SERIES_STEPS),
                          (long long)sq25__limit(ctx, SQ25_LIMIT_SERIES_VALUES));
    if (!sq25__time_in_range(first_end_time))
        return sq25__fail(ctx, SQ25_ERR_RANGE, "sq25_series_create: first end time %lld s is "
                          "outside the years 1000-9999", (long long)first_end_time);
    sq25_series *s = sq25__calloc(ctx, 1, sizeof *s);
    if (!s) return SQ25_ERR_NOMEM;
    s->ctx = ctx;
    s->n_stations = n_stations;
    s->n_steps = n_steps;
    s->t0 = first_end_time;
    s->step_s = step_s;
    size_t n = (size_t)n_stations * (size_t)n_steps;
    s->values = sq25__malloc(ctx, n * sizeof(float));
    s->ids = sq25__calloc(ctx, (size_t)n_stations, sizeof(char *));
    s->lon = sq25__malloc(ctx, (size_t)n_stations * sizeof(double));
    s->lat = sq25__malloc(ctx, (size_t)n_stations * sizeof(double));
    if (!s->values || !s->ids || !s->lon || !s->lat) {
        sq25_series_destroy(s);
        return SQ25_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++) s->values[i] = NAN;
    for (int i = 0; i < n_stations; i++) s->lon[i] = s->lat[i] = NAN;
    *out = s;
    return sq25__ok(ctx);
}

void sq25_series_destroy(sq25_series *s)
{
    if (!s) return;
    sq25_ctx *ctx = s->ctx;
    if (s->ids)
        for (int i = 0; i < s->n_stations; i++) sq25__free(ctx, s->ids[i]);
    for (int i = 0; i < SQ25__BAD_ROW_MESSAGES; i++) sq25__free(ctx, s->bad_msg[i]);
    sq25__free(ctx, s->ids);
    sq25__free(ctx, s->lon);
    sq25__free(ctx, s->lat);
    sq25__free(ctx, s->values);
    sq25__free(ctx, s);
}

int64_t sq25_series_bad_rows(const sq25_series *s) { return s ? s->bad_rows : 0; }

const char *sq25_series_bad_row_message(const sq25_series *s, int i)
{
    if (!s || i < 0 || i >= SQ25__BAD_ROW_MESSAGES) return NULL;
    return s->bad_msg[i];
}

int sq25_series_station_count(const sq25_series *s) { return s ? s->n_stations : 0; }
int64_t sq25_series_step_count(const sq25_series *s) { return s ? s->n_steps : 0; }
int sq25_series_step_s(const sq25_series *s) { return s ? s->step_s : 0; }

int64_t sq25_series_time(const sq25_series *s, int64_t step)
{
    int64_t offset, t;
    if (!s || !sq25__mul_ok(step, (int64_t)s->step_s, &offset) || !sq25__add_ok(s->t0, offset, &t))
        return 0;
    return t;
}

int64_t sq25_series_step_at(const sq25_series *s, int64_t end_time)
{
    if (!s) return -1;
    int64_t d;
    if (!sq25__sub_ok(end_time, s->t0, &d) || d < 0 || d % s->step_s != 0) return -1;
    int64_t k = d / s->step_s;
    return k < s->n_steps ? k : -1;
}

const char *sq25_series_station_id(const sq25_series *s, int station)
{
    if (!s || station < 0 || station >= s->n_stations || !s->ids[station]) return "";
    return s->ids[station];
}

void sq25_series_station_lonlat(const sq25_series *s, int station, double *lon, double *lat)
{
    bool ok = s && station >= 0 && station < s->n_stations;
    if (lon) *lon = ok ? s->lon[station] : NAN;
    if (lat) *lat = ok ? s->lat[station] : NAN;
}

int sq25_series_set_station(sq25_series *s, int station, const char *id, double lon, double lat)
{
    if (!s || station < 0 || station >= s->n_stations || !id) return SQ25_ERR_INVALID_ARG;
    /* NaN = location unknown; any other value must be a real longitude/latitude, as it
     * reaches projections and the UTM zone choice. */
    if ((!isnan(lon) && !(lon >= -180 && lon <= 180)) || (!isnan(lat) && !(lat >= -90 && lat <= 90)))
        return sq25__fail(s->ctx, SQ25_ERR_RANGE,
                          "station %d (%.60s): lon %g, lat %g outside -180..180, -90..90",
                          station, id, lon, lat);
    char *copy = sq25__strdup(s->ctx, id);
    if (!copy) return SQ25_ERR_NOMEM;
    sq25__free(s->ctx, s->ids[station]);
    s->ids[station] = copy;
    s->lon[station] = lon;
    s->lat[station] = lat;
    return SQ25_OK;
}

float *sq25_series_data(sq25_series *s) { return s ? s->values : NULL; }
const float *sq25_series_data_const(const sq25_series *s) { return s ? s->values : NULL; }

int sq25__series_copy_stations(const sq25_series *from, sq25_series *to)
{
    for (int i = 0; i < from->n_stations; i++) {
        int rc = sq25_series_set_station(to, i, sq25_series_station_id(from, i), from->lon[i],
                                         from->lat[i]);
        if (rc) return rc;
    }
    return SQ25_OK;
}

int sq25_series_window(const sq25_series *s, int64_t from, int64_t to, sq25_series **out)
{
    if (!s || !out) return SQ25_ERR_INVALID_ARG;
    *out = NULL;
    /* Clamp to the accepted time range so that the differences below cannot overflow. */
    if (from < SQ25__TIME_MIN) from = SQ25__TIME_MIN;
    if (to > SQ25__TIME_MAX) to = SQ25__TIME_MAX;
    if (to < SQ25__TIME_MIN || from > SQ25__TIME_MAX || to < from)
        return sq25__fail(s->ctx, SQ25_ERR_NO_DATA, "no step of the series ends in the window");
    int64_t first = from <= s->t0 ? 0 : (from - s->t0 + s->step_s - 1) / s->step_s;
    int64_t last = to < s->t0 ? -1 : (to - s->t0) / s->step_s;
    if (last > s->n_steps - 1) last = s->n_steps - 1;
    if (last < first)
        return sq25__fail(s->ctx, SQ25_ERR_NO_DATA, "no step of the series ends in the window");
    sq25_series *w = NULL;
    int rc = sq25_series_create(s->ctx, s->n_stations, last - first + 1,
                                sq25_series_time(s, first), s->step_s, &w);
    if (!rc) rc = sq25__series_copy_stations(s, w);
    if (rc) {
        sq25_series_destroy(w);
        return rc;
    }
    for (int i = 0; i < s->n_stations; i++)
        memcpy(w->values + (size_t)i * (size_t)w->n_steps,
               s->values + (size_t)i * (size_t)s->n_steps + first,
               (size_t)w->n_steps * sizeof(float));
    *out = w;
    return SQ25_OK;
}
