/* field.c -- georeferenced rain-rate grids: creation, copies, accessors, statistics. */
#include "internal.h"

#include <math.h>
#include <string.h>

int sq25_field_create(sq25_ctx *ctx, int width, int height, const char *projdef,
                      const double geotransform[6], int64_t valid_time, sq25_field **out)
{
    if (!ctx) return SQ25_ERR_INVALID_ARG;
    if (!out || !projdef || !geotransform)
        return sq25__fail(ctx, SQ25_ERR_INVALID_ARG, "sq25_field_create: NULL argument");
    *out = NULL;
    int rc = sq25__check_grid_size(ctx, width, height, "sq25_field_create");
    if (rc) return rc;
    if (!(geotransform[1] != 0 && geotransform[5] != 0) || !isfinite(geotransform[0]) ||
        !isfinite(geotransform[3]))
        return sq25__fail(ctx, SQ25_ERR_INVALID_ARG,
                          "sq25_field_create: geotransform has zero pixel size or non-finite "
                          "origin");
    /* Validate the projection now, so that a bad definition fails at creation. */
    PJ *crs = sq25__proj_crs(ctx, projdef);
    if (!crs) return sq25_errcode(ctx);
    proj_destroy(crs);

    sq25_field *f = sq25__calloc(ctx, 1, sizeof *f);
    if (!f) return SQ25_ERR_NOMEM;
    f->ctx = ctx;
    f->width = width;
    f->height = height;
    f->valid_time = valid_time;
    memcpy(f->gt, geotransform, sizeof f->gt);
    f->projdef = sq25__strdup(ctx, projdef);
    f->data = sq25__malloc(ctx, (size_t)width * (size_t)height * sizeof(float));
    if (!f->projdef || !f->data) {
        sq25_field_destroy(f);
        return SQ25_ERR_NOMEM;
    }
    for (size_t i = 0, n = (size_t)width * (size_t)height; i < n; i++) f->data[i] = NAN;
    *out = f;
    return sq25__ok(ctx);
}

int sq25_field_clone(const sq25_field *src, sq25_field **out)
{
    if (!src || !out) return SQ25_ERR_INVALID_ARG;
    sq25_field *f = NULL;
    int rc = sq25_field_create(src->ctx, src->width, src->height, src->projdef, src->gt,
                               src->valid_time, &f);
    if (rc) return rc;
    memcpy(f->data, src->data, (size_t)src->width * (size_t)src->height * sizeof(float));
    f->accumulation_s = src->accumulation_s;
    for (int k = 0; k < SQ25_META_COUNT; k++) {
        if (src->meta[k] && (rc = sq25_field_set_meta(f, k, src->meta[k])) != SQ25_OK) {
            sq25_field_destroy(f);
            return rc;
        }
    }
    *out = f;
    return SQ25_OK;
}

int sq25__field_clone_shape(const sq25_field *src, sq25_field **out)
{
    sq25_ctx *ctx = src->ctx;
    sq25_field *f = sq25__calloc(ctx, 1, sizeof *f);
    if (!f) return SQ25_ERR_NOMEM;
    *f = (sq25_field){.ctx = ctx, .width = src->width, .height = src->height,
                      .valid_time = src->valid_time, .accumulation_s = src->accumulation_s};
    memcpy(f->gt, src->gt, sizeof f->gt);
    f->projdef = sq25__strdup(ctx, src->projdef);
    f->data = sq25__malloc(ctx, (size_t)src->width * (size_t)src->height * sizeof(float));
    int ok = f->projdef && f->data;
    for (int k = 0; ok && k < SQ25_META_COUNT; k++)
        if (src->meta[k] && !(f->meta[k] = sq25__strdup(ctx, src->meta[k]))) ok = 0;
    if (!ok) {
        sq25_field_destroy(f);
        return SQ25_ERR_NOMEM;
    }
    *out = f;
    return SQ25_OK;
}

void sq25_field_destroy(sq25_field *f)
{
    if (!f) return;
    sq25_ctx *ctx = f->ctx;
    for (int k = 0; k < SQ25_META_COUNT; k++) sq25__free(ctx, f->meta[k]);
    sq25__free(ctx, f->projdef);
    sq25__free(ctx, f->data);
    sq25__free(ctx, f);
}

int sq25_field_width(const sq25_field *f) { return f ? f->width : 0; }
int sq25_field_height(const sq25_field *f) { return f ? f->height : 0; }
float *sq25_field_data(sq25_field *f) { return f ? f->data : NULL; }
const float *sq25_field_data_const(const sq25_field *f) { return f ? f->data : NULL; }
const char *sq25_field_projdef(const sq25_field *f) { return f ? f->projdef : ""; }

void sq25_field_geotransform(const sq25_field *f, double gt[6])
{
    if (f && gt) memcpy(gt, f->gt, sizeof f->gt);
}

int64_t sq25_field_valid_time(const sq25_field *f) { return f ? f->valid_time : 0; }
void sq25_field_set_valid_time(sq25_field *f, int64_t t)
{
    if (f) f->valid_time = t;
}
int sq25_field_accumulation_s(const sq25_field *f) { return f ? f->accumulation_s : 0; }
void sq25_field_set_accumulation_s(sq25_field *f, int seconds)
{
    if (f) f->accumulation_s = seconds;
}

const char *sq25_field_meta(const sq25_field *f, int key)
{
    if (!f || key < 0 || key >= SQ25_META_COUNT || !f->meta[key]) return "";
    return f->meta[key];
}

int sq25_field_set_meta(sq25_field *f, int key, const char *value)
{
    if (!f || key < 0 || key >= SQ25_META_COUNT || !value) return SQ25_ERR_INVALID_ARG;
    char *copy = sq25__strdup(f->ctx, value);
    if (!copy) return SQ25_ERR_NOMEM;
    sq25__free(f->ctx, f->meta[key]);
    f->meta[key] = copy;
    return SQ25_OK;
}

void sq25_field_stats(const sq25_field *f, double wet_threshold_mmh, double *max_mmh,
                      double *mean_mmh, double *wet_fraction, double *nodata_fraction)
{
    size_t n = f ? (size_t)f->width * (size_t)f->height : 0, valid = 0, wet = 0;
    double max = NAN, sum = 0;
    for (size_t i = 0; i < n; i++) {
        float v = f->data[i];
        if (isnan(v)) continue;
        valid++;
        sum += v;
        if (v > wet_threshold_mmh) wet++;
        if (!(v <= max)) max = v;
    }
    if (max_mmh) *max_mmh = max;
    if (mean_mmh) *mean_mmh = valid ? sum / (double)valid : NAN;
    if (wet_fraction) *wet_fraction = valid ? (double)wet / (double)valid : NAN;
    if (nodata_fraction) *nodata_fraction = n ? (double)(n - valid) / (double)n : NAN;
}
