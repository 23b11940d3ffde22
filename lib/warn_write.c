/* warn_write.c -- warning outputs: GeoJSON areas and targets (RFC 7946), CSV per target, JSON
 * summary. Every output carries the issue time, the valid period, the levels and the inputs. */
#include "warn_internal.h"
#include "warn_polygon.h"

#include <errno.h>
#include <math.h>
#include <string.h>

static FILE *open_output(sq25_ctx *ctx, const char *path)
{
    if (!path) {
        sq25__fail(ctx, SQ25_ERR_INVALID_ARG, "output path is NULL");
        return NULL;
    }
    FILE *fp = fopen(path, "w");
    if (!fp) sq25__fail(ctx, SQ25_ERR_WRITE, "%s: cannot write: %s", path, strerror(errno));
    return fp;
}

static int close_output(sq25_ctx *ctx, FILE *fp, const char *path, int rc)
{
    bool bad = ferror(fp) != 0;
    if (fclose(fp) != 0) bad = true;
    if (rc) {
        remove(path);
        return rc;
    }
    if (bad) {
        remove(path);
        return sq25__fail(ctx, SQ25_ERR_WRITE, "%s: write failed (disk full?)", path);
    }
    return sq25__ok(ctx);
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

/* "issue_time", "valid_from", "valid_to", "horizon_min", "levels", "inputs", "state",
 * "data_time", "state_reason" members. */
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
    fputs("],\"state\":", out);
    sq25__json_write_string(out, sq25_state_name(sq25_warning_state(w)));
    fputs(",\"data_time\":", out);
    write_time(out, w->data_time);
    fputs(",\"state_reason\":", out);
    sq25__json_write_string(out, w->state_reason);
}

/* The name written beside a level: the level's own, "" for none, "no data" for no data. */
static const char *level_label(const sq25_warning *w, int level)
{
    if (level > 0) return w->opt.level_name[level - 1];
    return level == SQ25_LEVEL_NO_DATA ? "no data" : "";
}

/* ---- areas ---- */

typedef struct {
    long cells;
    double max_probability, max_amount_mm, min_onset_min;
    int worst_state; /* SQ25_STATE_* of the least trustworthy cell */
} area_stats;

static area_stats level_stats(const sq25_warning *w, int level)
{
    size_t n = (size_t)w->width * w->height;
    const float *prob = w->probability + (size_t)(level - 1) * n;
    const float *onset = w->onset_min + (size_t)(level - 1) * n;
    const float *amount = w->cum_mm + (size_t)(w->lead_count - 1) * n;
    area_stats s = {0, NAN, NAN, NAN, SQ25_STATE_OK};
    for (size_t c = 0; c < n; c++) {
        if (w->level[c] != level) continue;
        s.cells++;
        int state = sq25__warn_cell_state(w, c);
        if (state > s.worst_state) s.worst_state = state;
        if (!(prob[c] <= s.max_probability)) s.max_probability = prob[c];
        if (!(amount[c] <= s.max_amount_mm)) s.max_amount_mm = amount[c];
        if (!isnan(onset[c]) && !(onset[c] >= s.min_onset_min)) s.min_onset_min = onset[c];
    }
    return s;
}

/* Write one ring in lon/lat, counter-clockwise for an outer ring and clockwise for a hole
 * (RFC 7946): the lattice ring has that orientation north-up; a grid whose geotransform flips
 * it gets the ring reversed. */
static int write_ring(FILE *out, sq25_warning *w, const sq25__ring *r)
{
    size_t n = r->count;
    double *lonlat = sq25__malloc(w->ctx, 2 * n * sizeof *lonlat);
    double *colrow = sq25__malloc(w->ctx, 2 * n * sizeof *colrow);
    int rc = lonlat && colrow ? SQ25_OK : SQ25_ERR_NOMEM;
    for (size_t i = 0; rc == SQ25_OK && i < n; i++) {
        colrow[2 * i] = r->xy[2 * i];
        colrow[2 * i + 1] = w->height - r->xy[2 * i + 1];
    }
    if (rc == SQ25_OK)
        rc = sq25_field_pixel_to_lonlat(w->grid, n, colrow, 2 * sizeof(double), colrow + 1,
                                        2 * sizeof(double), lonlat, 2 * sizeof(double),
                                        lonlat + 1, 2 * sizeof(double));
    if (rc == SQ25_OK) {
        double area2 = 0; /* shoelace in degrees: only its sign is used */
        for (size_t i = 0; i + 1 < n; i++)
            area2 += lonlat[2 * i] * lonlat[2 * i + 3] - lonlat[2 * i + 2] * lonlat[2 * i + 1];
        bool reverse = r->is_hole ? area2 > 0 : area2 < 0;
        fputc('[', out);
        for (size_t k = 0; k < n; k++) {
            size_t i = reverse ? n - 1 - k : k;
            fprintf(out, "%s[%.7f,%.7f]", k ? "," : "", lonlat[2 * i], lonlat[2 * i + 1]);
        }
        fputc(']', out);
    }
    sq25__free(w->ctx, lonlat);
    sq25__free(w->ctx, colrow);
    return rc;
}

/* MultiPolygon coordinates of the dissolved cells of mask: each outer ring with its holes. */
static int write_mask_polygons(FILE *out, sq25_warning *w, const unsigned char *mask)
{
    sq25__polygons polys;
    int rc = sq25__mask_polygons(w->ctx, mask, w->width, w->height, &polys);
    bool first = true;
    for (size_t k = 0; rc == SQ25_OK && k < polys.ring_count; k++) {
        if (polys.rings[k].is_hole) continue;
        fputs(first ? "[" : ",[", out);
        first = false;
        rc = write_ring(out, w, &polys.rings[k]);
        for (size_t h = 0; rc == SQ25_OK && h < polys.ring_count; h++) {
            if (!polys.rings[h].is_hole || polys.rings[h].outer != k) continue;
            fputc(',', out);
            rc = write_ring(out, w, &polys.rings[h]);
        }
        fputc(']', out);
    }
    sq25__polygons_free(w->ctx, &polys);
    return rc;
}

/* The cells whose highest issued level is `level` (SQ25_LEVEL_NO_DATA: the cells without
 * data), as a mask; NULL when out of memory. */
static unsigned char *level_mask(const sq25_warning *w, int level)
{
    size_t n = (size_t)w->width * w->height;
    unsigned char *mask = sq25__malloc(w->ctx, n);
    for (size_t c = 0; mask && c < n; c++)
        mask[c] = level == SQ25_LEVEL_NO_DATA ? isnan(w->level[c]) : w->level[c] == level;
    return mask;
}

static int write_geometry(FILE *out, sq25_warning *w, int level)
{
    unsigned char *mask = level_mask(w, level);
    if (!mask) return SQ25_ERR_NOMEM;
    fputs("\"geometry\":{\"type\":\"MultiPolygon\",\"coordinates\":[", out);
    int rc = write_mask_polygons(out, w, mask);
    fputs("]}", out);
    sq25__free(w->ctx, mask);
    return rc;
}

/* The last properties (issue_time, valid_to) and the geometry of an area Feature. */
static int finish_area_feature(FILE *out, sq25_warning *w, int level)
{
    fputs(",\"issue_time\":", out);
    write_time(out, w->issue_time);
    fputs(",\"valid_to\":", out);
    write_time(out, w->issue_time + w->opt.horizon_s);
    fputs("},", out);
    int rc = write_geometry(out, w, level);
    fputc('}', out);
    return rc;
}

/* The cells without data as one Feature (level -1, state no_data), so that a map or a service
 * reading the areas sees where nothing is known instead of taking it for "no warning". */
static int write_no_data_feature(FILE *out, sq25_warning *w, bool *first_feature)
{
    long cells = 0;
    for (size_t c = 0, n = (size_t)w->width * w->height; c < n; c++) cells += isnan(w->level[c]);
    if (cells == 0) return SQ25_OK;
    fprintf(out, "%s\n{\"type\":\"Feature\",\"properties\":{\"level\":%d,\"name\":\"no data\","
                 "\"cells\":%ld,\"state\":\"no_data\"",
            *first_feature ? "" : ",", SQ25_LEVEL_NO_DATA, cells);
    *first_feature = false;
    return finish_area_feature(out, w, SQ25_LEVEL_NO_DATA);
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
    fprintf(out, ",\"cells\":%ld,\"state\":\"%s\",\"max_probability\":", s.cells,
            sq25_state_name(s.worst_state));
    write_probability(out, s.max_probability);
    fputs(",\"max_amount_mm\":", out);
    write_amount(out, s.max_amount_mm);
    fputs(",\"min_onset_min\":", out);
    write_amount(out, s.min_onset_min);
    return finish_area_feature(out, w, level);
}

int sq25_warning_write_areas_geojson(sq25_warning *w, const char *path)
{
    if (!w) return SQ25_ERR_INVALID_ARG;
    FILE *out = open_output(w->ctx, path);
    if (!out) return sq25_errcode(w->ctx);
    fputs("{\"type\":\"FeatureCollection\",", out);
    write_common_members(out, w);
    fprintf(out, ",\"probability_threshold\":%g,\"features\":[", w->opt.probability_threshold);
    bool first = true;
    int rc = SQ25_OK;
    for (int level = 1; rc == SQ25_OK && level <= w->opt.level_count; level++)
        rc = write_area_feature(out, w, level, &first);
    if (rc == SQ25_OK) rc = write_no_data_feature(out, w, &first);
    fputs("\n]}\n", out);
    return close_output(w->ctx, out, path, rc);
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
    int k = r->level > 0 ? r->level - 1 : 0;
    fputs("\"id\":", out);
    sq25__json_write_string(out, t->id);
    fputs(",\"name\":", out);
    sq25__json_write_string(out, t->name);
    fprintf(out, ",\"level\":%d,\"state\":\"%s\",\"level_name\":", r->level,
            sq25_state_name(sq25__warn_target_state(w, i)));
    sq25__json_write_string(out, level_label(w, r->level));
    fputs(",\"probability\":", out);
    write_probability(out, r->probability[k]);
    fputs(",\"prob_threshold\":", out);
    sq25__json_write_number(out, r->prob_threshold);
    fputs(",\"amount_mm\":", out);
    write_amount(out, r->amount_mm);
    fputs(",\"peak_mmh\":", out);
    write_amount(out, r->peak_mmh);
    fputs(",\"onset_min\":", out);
    write_amount(out, r->level > 0 ? r->onset_min[k] : NAN);
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
    FILE *out = open_output(w->ctx, path);
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
    return close_output(w->ctx, out, path, SQ25_OK);
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
    FILE *out = open_output(w->ctx, path);
    if (!out) return sq25_errcode(w->ctx);
    char issue[32], to[32];
    sq25__format_utc(w->issue_time, issue, sizeof issue);
    sq25__format_utc(w->issue_time + w->opt.horizon_s, to, sizeof to);
    fputs("id,name,lon,lat,level,level_name,state,probability,prob_threshold,amount_mm,"
          "peak_mmh,onset_min,issue_time,valid_from,valid_to,inputs", out);
    for (int k = 0; k < w->opt.level_count; k++) fprintf(out, ",p_level%d", k + 1);
    fputc('\n', out);
    for (size_t i = 0; i < w->targets->count; i++) {
        const sq25__target *t = &w->targets->items[i];
        const sq25__target_result *r = &w->results[i];
        int k = r->level > 0 ? r->level - 1 : 0;
        csv_text(out, t->id);
        fputc(',', out);
        csv_text(out, t->name);
        fprintf(out, ",%.7f,%.7f,%d,", t->lonlat[0], t->lonlat[1], r->level);
        csv_text(out, level_label(w, r->level));
        fprintf(out, ",%s,", sq25_state_name(sq25__warn_target_state(w, i)));
        csv_number(out, r->probability[k]);
        fputc(',', out);
        csv_number(out, r->prob_threshold);
        fputc(',', out);
        csv_number(out, r->amount_mm);
        fputc(',', out);
        csv_number(out, r->peak_mmh);
        fputc(',', out);
        csv_number(out, r->level > 0 ? r->onset_min[k] : NAN);
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
    return close_output(w->ctx, out, path, SQ25_OK);
}

/* ---- summary ---- */

int sq25_warning_write_summary_json(sq25_warning *w, const char *path)
{
    if (!w) return SQ25_ERR_INVALID_ARG;
    FILE *out = open_output(w->ctx, path);
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
    long per_state[4] = {0, 0, 0, 0};
    for (size_t c = 0, n = (size_t)w->width * w->height; c < n; c++)
        per_state[sq25__warn_cell_state(w, c)]++;
    fprintf(out, "]},\n\"grid\":{\"width\":%d,\"height\":%d,\"pixel_x_m\":%g,"
                 "\"pixel_y_m\":%g},\n\"cells_per_state\":{\"ok\":%ld,\"degraded\":%ld,"
                 "\"stale\":%ld,\"no_data\":%ld},\n\"areas\":[",
            w->width, w->height, w->pixel_x_m, w->pixel_y_m, per_state[0], per_state[1],
            per_state[2], per_state[3]);
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
    return close_output(w->ctx, out, path, SQ25_OK);
}
