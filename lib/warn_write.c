/* warn_write.c -- warning outputs: GeoJSON areas and targets (RFC 7946), CSV per target, JSON
 * summary. Every output carries the issue time, the valid period, the levels and the inputs. */
#include "warn_internal.h"

#include <errno.h>
#include <math.h>
#include <string.h>

/* Outputs are whole (sq25__output): written to a temporary file beside path, renamed over
 * path only when complete. */
static FILE *open_output(sq25_ctx *ctx, const char *path, sq25__output *o)
{
    if (sq25__output_begin(ctx, path, o) != SQ25_OK) return NULL;
    FILE *fp = sq25__output_fopen(ctx, o);
    if (!fp) sq25__output_abort(ctx, o);
    return fp;
}

static int close_output(sq25_ctx *ctx, FILE *fp, sq25__output *o, int rc)
{
    int rc_close = sq25__output_fclose(ctx, o, fp);
    if (!rc) rc = rc_close;
    if (!rc) rc = sq25__output_commit(ctx, o);
    else sq25__output_abort(ctx, o);
    return rc ? rc : sq25__ok(ctx);
}

/* Numbers rounded for reading: probabilities to 4 significant digits, amounts and leads to
 * 0.01 (mm, min); NaN as null. */
static void write_rounded(FILE *out, double v, const char *format)
{
    if (isfinite(v)) fprintf(out, format, v);
    else fputs("null", out);
}
#define write_probability(out, v) write_rounded(out, v, "%.4g")
#define write_amount(out, v) write_rounded(out, (v) == 0 ? 0.0 : (v), "%.2f")

static void write_time(FILE *out, int64_t t)
{
    char buf[32];
    sq25__format_utc(t, buf, sizeof buf);
    sq25__json_write_string(out, buf);
}

/* "issue_time", "valid_from", "valid_to", "horizon_min", "levels", "inputs" members. */
static void write_common_members(FILE *out, const sq25_warning *w)
{
    fputs("\"issue_time\":", out);
    write_time(out, w->issue_time);
    fputs(",\"valid_from\":", out);
    write_time(out, w->issue_time);
    fputs(",\"valid_to\":", out);
    write_time(out, w->issue_time + w->opt.horizon_s);
    fprintf(out, ",\"horizon_min\":%g,\"lead_step_min\":%g,\"levels\":[",
            w->opt.horizon_s / 60.0, w->lead_step_s / 60.0);
    for (int k = 0; k < w->opt.level_count; k++) {
        fprintf(out, "%s{\"level\":%d,\"name\":", k ? "," : "", k + 1);
        sq25__json_write_string(out, w->opt.level_name[k]);
        fputs(",\"threshold_mm\":", out);
        sq25__json_write_number(out, w->opt.threshold_mm[k]);
        fputc('}', out);
    }
    fputs("],\"inputs\":[", out);
    for (size_t i = 0; i < w->input_count; i++) {
        if (i) fputc(',', out);
        sq25__json_write_string(out, w->inputs[i]);
    }
    fputc(']', out);
}

/* ---- areas ---- */

typedef struct {
    long cells;
    double max_probability, max_amount_mm, min_onset_min;
} area_stats;

static area_stats level_stats(const sq25_warning *w, int level)
{
    size_t n = (size_t)w->width * w->height;
    const float *prob = w->probability + (size_t)(level - 1) * n;
    const float *onset = w->onset_min + (size_t)(level - 1) * n;
    const float *amount = w->cum_mm + (size_t)(w->lead_count - 1) * n;
    area_stats s = {0, NAN, NAN, NAN};
    for (size_t c = 0; c < n; c++) {
        if (w->level[c] != level) continue;
        s.cells++;
        if (!(prob[c] <= s.max_probability)) s.max_probability = prob[c];
        if (!(amount[c] <= s.max_amount_mm)) s.max_amount_mm = amount[c];
        if (!isnan(onset[c]) && !(onset[c] >= s.min_onset_min)) s.min_onset_min = onset[c];
    }
    return s;
}

/* One polygon (exterior ring counter-clockwise in lon/lat) per run of cells in a row. */
static int write_row_runs(FILE *out, sq25_warning *w, int level, bool *first)
{
    for (int r = 0; r < w->height; r++) {
        const float *row = w->level + (size_t)r * w->width;
        for (int c = 0; c < w->width;) {
            if (row[c] != level) { c++; continue; }
            int end = c;
            while (end < w->width && row[end] == level) end++;
            /* lower-left, lower-right, upper-right, upper-left */
            const double cols[4] = {c, end, end, c}, rows[4] = {r + 1, r + 1, r, r};
            double lon[4], lat[4];
            int rc = sq25_field_pixel_to_lonlat(w->grid, 4, cols, sizeof(double), rows,
                                                sizeof(double), lon, sizeof(double), lat,
                                                sizeof(double));
            if (rc) return rc;
            fprintf(out, "%s[[", *first ? "" : ",");
            for (int k = 0; k <= 4; k++)
                fprintf(out, "%s[%.7f,%.7f]", k ? "," : "", lon[k % 4], lat[k % 4]);
            fputs("]]", out);
            *first = false;
            c = end;
        }
    }
    return SQ25_OK;
}

static int write_area_feature(FILE *out, sq25_warning *w, int level, bool *first_feature)
{
    area_stats s = level_stats(w, level);
    if (s.cells == 0) return SQ25_OK;
    fprintf(out, "%s\n{\"type\":\"Feature\",\"properties\":{\"level\":%d,\"name\":",
            *first_feature ? "" : ",", level);
    *first_feature = false;
    sq25__json_write_string(out, w->opt.level_name[level - 1]);
    fputs(",\"threshold_mm\":", out);
    sq25__json_write_number(out, w->opt.threshold_mm[level - 1]);
    fprintf(out, ",\"cells\":%ld,\"max_probability\":", s.cells);
    write_probability(out, s.max_probability);
    fputs(",\"max_amount_mm\":", out);
    write_amount(out, s.max_amount_mm);
    fputs(",\"min_onset_min\":", out);
    write_amount(out, s.min_onset_min);
    fputs(",\"issue_time\":", out);
    write_time(out, w->issue_time);
    fputs(",\"valid_to\":", out);
    write_time(out, w->issue_time + w->opt.horizon_s);
    fputs("},\"geometry\":{\"type\":\"MultiPolygon\",\"coordinates\":[", out);
    bool first = true;
    int rc = write_row_runs(out, w, level, &first);
    fputs("]}}", out);
    return rc;
}

int sq25_warning_write_areas_geojson(sq25_warning *w, const char *path)
{
    if (!w) return SQ25_ERR_INVALID_ARG;
    sq25__output o;
    FILE *out = open_output(w->ctx, path, &o);
    if (!out) return sq25_errcode(w->ctx);
    fputs("{\"type\":\"FeatureCollection\",", out);
    write_common_members(out, w);
    fprintf(out, ",\"probability_threshold\":%g,\"features\":[", w->opt.probability_threshold);
    bool first = true;
    int rc = SQ25_OK;
    for (int level = 1; rc == SQ25_OK && level <= w->opt.level_count; level++)
        rc = write_area_feature(out, w, level, &first);
    fputs("\n]}\n", out);
    return close_output(w->ctx, out, &o, rc);
}

/* ---- targets ---- */

static int need_targets(const sq25_warning *w)
{
    if (w->targets) return SQ25_OK;
    return sq25__fail(w->ctx, SQ25_ERR_INVALID_ARG,
                      "no targets evaluated (call sq25_warning_evaluate_targets first)");
}

static void write_target_properties(FILE *out, const sq25_warning *w, size_t i)
{
    const sq25__target *t = &w->targets->items[i];
    const sq25__target_result *r = &w->results[i];
    int k = r->level ? r->level - 1 : 0;
    fputs("\"id\":", out);
    sq25__json_write_string(out, t->id);
    fputs(",\"name\":", out);
    sq25__json_write_string(out, t->name);
    fprintf(out, ",\"level\":%d,\"level_name\":", r->level);
    sq25__json_write_string(out, r->level ? w->opt.level_name[k] : "");
    fputs(",\"probability\":", out);
    write_probability(out, r->probability[k]);
    fputs(",\"prob_threshold\":", out);
    sq25__json_write_number(out, r->prob_threshold);
    fputs(",\"amount_mm\":", out);
    write_amount(out, r->amount_mm);
    fputs(",\"peak_mmh\":", out);
    write_amount(out, r->peak_mmh);
    fputs(",\"onset_min\":", out);
    write_amount(out, r->level ? r->onset_min[k] : NAN);
    fputs(",\"probabilities\":[", out);
    for (int l = 0; l < w->opt.level_count; l++) {
        if (l) fputc(',', out);
        write_probability(out, r->probability[l]);
    }
    fprintf(out, "],\"sampled_cells\":%d", r->sampled_cells);
}

static void write_target_geometry(FILE *out, const sq25__target *t)
{
    if (t->vertex_count == 1) {
        fprintf(out, "{\"type\":\"Point\",\"coordinates\":[%.7f,%.7f]}", t->lonlat[0],
                t->lonlat[1]);
        return;
    }
    fputs("{\"type\":\"LineString\",\"coordinates\":[", out);
    for (size_t k = 0; k < t->vertex_count; k++)
        fprintf(out, "%s[%.7f,%.7f]", k ? "," : "", t->lonlat[2 * k], t->lonlat[2 * k + 1]);
    fputs("]}", out);
}

int sq25_warning_write_targets_geojson(sq25_warning *w, const char *path)
{
    if (!w) return SQ25_ERR_INVALID_ARG;
    int rc = need_targets(w);
    if (rc) return rc;
    sq25__output o;
    FILE *out = open_output(w->ctx, path, &o);
    if (!out) return sq25_errcode(w->ctx);
    fputs("{\"type\":\"FeatureCollection\",", out);
    write_common_members(out, w);
    fputs(",\"features\":[", out);
    for (size_t i = 0; i < w->targets->count; i++) {
        fprintf(out, "%s\n{\"type\":\"Feature\",\"properties\":{", i ? "," : "");
        write_target_properties(out, w, i);
        fputs("},\"geometry\":", out);
        write_target_geometry(out, &w->targets->items[i]);
        fputc('}', out);
    }
    fputs("\n]}\n", out);
    return close_output(w->ctx, out, &o, SQ25_OK);
}

/* A CSV field: quoted when it holds a comma, quote or line break. */
static void csv_text(FILE *out, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"') fputc('"', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

static void csv_number(FILE *out, double v)
{
    if (isfinite(v)) fprintf(out, "%.6g", v);
}

int sq25_warning_write_targets_csv(sq25_warning *w, const char *path)
{
    if (!w) return SQ25_ERR_INVALID_ARG;
    int rc = need_targets(w);
    if (rc) return rc;
    sq25__output o;
    FILE *out = open_output(w->ctx, path, &o);
    if (!out) return sq25_errcode(w->ctx);
    char issue[32], to[32];
    sq25__format_utc(w->issue_time, issue, sizeof issue);
    sq25__format_utc(w->issue_time + w->opt.horizon_s, to, sizeof to);
    fputs("id,name,lon,lat,level,level_name,probability,prob_threshold,amount_mm,peak_mmh,"
          "onset_min,issue_time,valid_from,valid_to,inputs", out);
    for (int k = 0; k < w->opt.level_count; k++) fprintf(out, ",p_level%d", k + 1);
    fputc('\n', out);
    for (size_t i = 0; i < w->targets->count; i++) {
        const sq25__target *t = &w->targets->items[i];
        const sq25__target_result *r = &w->results[i];
        int k = r->level ? r->level - 1 : 0;
        csv_text(out, t->id);
        fputc(',', out);
        csv_text(out, t->name);
        fprintf(out, ",%.7f,%.7f,%d,", t->lonlat[0], t->lonlat[1], r->level);
        csv_text(out, r->level ? w->opt.level_name[k] : "");
        fputc(',', out);
        csv_number(out, r->probability[k]);
        fputc(',', out);
        csv_number(out, r->prob_threshold);
        fputc(',', out);
        csv_number(out, r->amount_mm);
        fputc(',', out);
        csv_number(out, r->peak_mmh);
        fputc(',', out);
        csv_number(out, r->level ? r->onset_min[k] : NAN);
        fprintf(out, ",%s,%s,%s,", issue, issue, to);
        char inputs[1024] = "";
        for (size_t n = 0; n < w->input_count; n++) {
            size_t used = strlen(inputs);
            snprintf(inputs + used, sizeof inputs - used, "%s%s", n ? ";" : "", w->inputs[n]);
        }
        csv_text(out, inputs);
        for (int l = 0; l < w->opt.level_count; l++) {
            fputc(',', out);
            csv_number(out, r->probability[l]);
        }
        fputc('\n', out);
    }
    return close_output(w->ctx, out, &o, SQ25_OK);
}

/* ---- summary ---- */

int sq25_warning_write_summary_json(sq25_warning *w, const char *path)
{
    if (!w) return SQ25_ERR_INVALID_ARG;
    sq25__output o;
    FILE *out = open_output(w->ctx, path, &o);
    if (!out) return sq25_errcode(w->ctx);
    fputc('{', out);
    write_common_members(out, w);
    fprintf(out, ",\n\"options\":{\"probability_threshold\":%g,\"radius_at_issue_m\":%g,"
                 "\"radius_growth_m_per_min\":%g,\"target_radius_m\":%g,"
                 "\"neighbourhood\":\"square\",\"calibration\":[",
            w->opt.probability_threshold, w->opt.radius_at_issue_m,
            w->opt.radius_growth_m_per_min, w->opt.target_radius_m);
    for (int i = 0; i < w->opt.calibration_count; i++)
        fprintf(out, "%s[%g,%g]", i ? "," : "", w->opt.calibration_raw[i],
                w->opt.calibration_p[i]);
    fprintf(out, "]},\n\"grid\":{\"width\":%d,\"height\":%d,\"pixel_x_m\":%g,"
                 "\"pixel_y_m\":%g},\n\"areas\":[",
            w->width, w->height, w->pixel_x_m, w->pixel_y_m);
    for (int level = 1; level <= w->opt.level_count; level++) {
        area_stats s = level_stats(w, level);
        fprintf(out, "%s{\"level\":%d,\"cells\":%ld,\"max_probability\":", level > 1 ? "," : "",
                level, s.cells);
        write_probability(out, s.max_probability);
        fputs(",\"max_amount_mm\":", out);
        write_amount(out, s.max_amount_mm);
        fputs(",\"min_onset_min\":", out);
        write_amount(out, s.min_onset_min);
        fputc('}', out);
    }
    fputs("],\n\"targets\":[", out);
    for (size_t i = 0; w->targets && i < w->targets->count; i++) {
        fprintf(out, "%s\n{", i ? "," : "");
        write_target_properties(out, w, i);
        fputc('}', out);
    }
    fputs("]}\n", out);
    return close_output(w->ctx, out, &o, SQ25_OK);
}
