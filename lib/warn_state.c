/* warn_state.c -- explicit states of a warning, its cells and its targets (ok, degraded,
 * stale, no data), so that no output ever reads as an all-clear for want of data. */
#include "warn_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

const char *sq25_state_name(int state)
{
    switch (state) {
    case SQ25_STATE_OK: return "ok";
    case SQ25_STATE_DEGRADED: return "degraded";
    case SQ25_STATE_STALE: return "stale";
    case SQ25_STATE_NO_DATA: return "no_data";
    default: return "unknown";
    }
}

static int worse(int a, int b) { return a > b ? a : b; }

/* A cell is DEGRADED when the neighbourhood window at the horizon (the largest, and the
 * accumulation with the fewest valid cells) holds cells without data: its probability then
 * rests on fewer cells than the model intends. Window cells off the grid's edge are not
 * missing data. Counted with a summed-area table of valid cells. */
int sq25__warn_cell_states(sq25_warning *w)
{
    size_t n = (size_t)w->width * (size_t)w->height, stride = (size_t)w->width + 1;
    w->cell_state = sq25__malloc(w->ctx, n);
    uint32_t *sat = sq25__calloc(w->ctx, stride * ((size_t)w->height + 1), sizeof *sat);
    if (!w->cell_state || !sat) {
        sq25__free(w->ctx, sat);
        return SQ25_ERR_NOMEM;
    }
    const float *cum = w->cum_mm + (size_t)(w->lead_count - 1) * n;
    for (int r = 0; r < w->height; r++) {
        uint32_t row_valid = 0;
        for (int c = 0; c < w->width; c++) {
            row_valid += !isnan(cum[(size_t)r * w->width + c]);
            sat[(size_t)(r + 1) * stride + c + 1] = sat[(size_t)r * stride + c + 1] + row_valid;
        }
    }
    int hc, hr;
    sq25__warn_window(w, w->lead_count - 1, &hc, &hr);
    for (int r = 0; r < w->height; r++) {
        int r0 = r - hr < 0 ? 0 : r - hr, r1 = r + hr + 1 > w->height ? w->height : r + hr + 1;
        for (int c = 0; c < w->width; c++) {
            size_t i = (size_t)r * w->width + c;
            if (isnan(w->level[i])) {
                w->cell_state[i] = SQ25_STATE_NO_DATA;
                continue;
            }
            int c0 = c - hc < 0 ? 0 : c - hc, c1 = c + hc + 1 > w->width ? w->width : c + hc + 1;
            uint32_t valid = sat[(size_t)r1 * stride + c1] - sat[(size_t)r0 * stride + c1] -
                             sat[(size_t)r1 * stride + c0] + sat[(size_t)r0 * stride + c0];
            uint32_t cells = (uint32_t)(r1 - r0) * (uint32_t)(c1 - c0);
            w->cell_state[i] = valid < cells ? SQ25_STATE_DEGRADED : SQ25_STATE_OK;
        }
    }
    sq25__free(w->ctx, sat);
    return SQ25_OK;
}

int sq25__warn_cell_state(const sq25_warning *w, size_t c)
{
    int s = w->cell_state[c];
    return s == SQ25_STATE_NO_DATA ? s : worse(s, w->input_state);
}

int sq25__warn_target_state(const sq25_warning *w, size_t i)
{
    int s = w->results[i].data_state;
    return s == SQ25_STATE_NO_DATA ? s : worse(s, w->input_state);
}

int sq25_warning_state(const sq25_warning *w)
{
    if (!w) return SQ25_STATE_NO_DATA;
    size_t n = (size_t)w->width * (size_t)w->height;
    for (size_t c = 0; c < n; c++)
        if (w->cell_state[c] != SQ25_STATE_NO_DATA) return w->input_state;
    return SQ25_STATE_NO_DATA;
}

int sq25_warning_set_input_state(sq25_warning *w, int state, int64_t data_time,
                                 const char *reason)
{
    if (!w) return SQ25_ERR_INVALID_ARG;
    if (state != SQ25_STATE_OK && state != SQ25_STATE_DEGRADED && state != SQ25_STATE_STALE)
        return sq25__fail(w->ctx, SQ25_ERR_RANGE,
                          "input state %d: only ok, degraded or stale can be set", state);
    w->input_state = state;
    w->data_time = data_time;
    snprintf(w->state_reason, sizeof w->state_reason, "%s", reason ? reason : "");
    return sq25__ok(w->ctx);
}

int64_t sq25_warning_data_time(const sq25_warning *w) { return w ? w->data_time : 0; }

const char *sq25_warning_state_reason(const sq25_warning *w) { return w ? w->state_reason : ""; }

int sq25_warning_states(const sq25_warning *w, sq25_field **out)
{
    if (!w || !out) return SQ25_ERR_INVALID_ARG;
    *out = NULL;
    sq25_field *f = NULL;
    int rc = sq25_field_create(w->ctx, w->width, w->height, w->grid->projdef, w->grid->gt,
                               w->issue_time + w->opt.horizon_s, &f);
    if (rc) return rc;
    size_t n = (size_t)w->width * (size_t)w->height;
    for (size_t c = 0; c < n; c++) f->data[c] = (float)sq25__warn_cell_state(w, c);
    *out = f;
    return SQ25_OK;
}

int sq25_warning_target_state(const sq25_warning *w, size_t i, int *state)
{
    if (!w || !w->targets || i >= w->targets->count || !state) return SQ25_ERR_RANGE;
    *state = sq25__warn_target_state(w, i);
    return SQ25_OK;
}
