/* geo.c -- georeference through PROJ: every coordinate transform of the library is here. */
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* A proj-string that defines a projection but not "+type=crs" is a coordinate operation for
 * PROJ, not a CRS; radar files write them that way, so add it. WKT and "EPSG:n" pass as is. */
PJ *sq25__proj_crs(sq25_ctx *ctx, const char *projdef)
{
    char buf[2048];
    const char *def = projdef;
    while (*def == ' ') def++;
    if (def[0] == '+' && !strstr(def, "+type=crs")) {
        int n = snprintf(buf, sizeof buf, "%s +type=crs", def);
        if (n < 0 || (size_t)n >= sizeof buf) {
            sq25__fail(ctx, SQ25_ERR_PROJ, "projection definition too long (%zu chars)",
                       strlen(def));
            return NULL;
        }
        def = buf;
    }
    PJ *crs = proj_create(ctx->pj_ctx, def);
    if (!crs) {
        int e = proj_context_errno(ctx->pj_ctx);
        sq25__fail(ctx, SQ25_ERR_PROJ, "PROJ cannot read the projection \"%.200s\": %s",
                   projdef, proj_context_errno_string(ctx->pj_ctx, e));
        return NULL;
    }
    if (!proj_is_crs(crs)) {
        proj_destroy(crs);
        sq25__fail(ctx, SQ25_ERR_PROJ, "projection \"%.200s\" is not a coordinate reference system",
                   projdef);
        return NULL;
    }
    return crs;
}

/* EPSG:4326 -> the CRS of projdef, with PROJ's own choice among the candidate operations
 * (proj_create_crs_to_crs keeps every candidate; proj_trans uses, point by point, the most
 * accurate one whose area holds the point and whose grids are available), axis order east,
 * north. Radar projections without a datum (a bare ellipsoid) get PROJ's ballpark: no shift. */
static PJ *make_lonlat_op(sq25_ctx *ctx, const char *projdef, bool to_grid)
{
    PJ *grid_crs = sq25__proj_crs(ctx, projdef);
    if (!grid_crs) return NULL;
    PJ *wgs84 = proj_create(ctx->pj_ctx, "EPSG:4326");
    PJ *from = to_grid ? wgs84 : grid_crs, *to = to_grid ? grid_crs : wgs84;
    PJ *op = wgs84 ? proj_create_crs_to_crs_from_pj(ctx->pj_ctx, from, to, NULL, NULL) : NULL;
    PJ *norm = op ? proj_normalize_for_visualization(ctx->pj_ctx, op) : NULL;
    proj_destroy(op);
    proj_destroy(wgs84);
    proj_destroy(grid_crs);
    if (!norm)
        sq25__fail(ctx, SQ25_ERR_PROJ,
                   "PROJ cannot build the WGS84 lon/lat transform for \"%.200s\"", projdef);
    return norm;
}

PJ *sq25__lonlat_op(sq25_ctx *ctx, const char *projdef)
{
    for (int k = 0; k < SQ25_LONLAT_OPS; k++) {
        struct sq25__lonlat_op *e = &ctx->lonlat_ops[k];
        if (e->projdef && strcmp(e->projdef, projdef) == 0) return e->op;
    }
    char *key = sq25__strdup(ctx, projdef);
    if (!key) return NULL;
    PJ *op = make_lonlat_op(ctx, projdef, true);
    if (!op) {
        sq25__free(ctx, key);
        return NULL;
    }
    int slot = -1;
    for (int k = 0; k < SQ25_LONLAT_OPS && slot < 0; k++)
        if (!ctx->lonlat_ops[k].projdef) slot = k;
    if (slot < 0) { /* full: replace round robin (callers never keep the pointer across calls) */
        slot = ctx->lonlat_next;
        ctx->lonlat_next = (ctx->lonlat_next + 1) % SQ25_LONLAT_OPS;
        proj_destroy(ctx->lonlat_ops[slot].op);
        sq25__free(ctx, ctx->lonlat_ops[slot].projdef);
    }
    ctx->lonlat_ops[slot].projdef = key;
    ctx->lonlat_ops[slot].op = op;
    return op;
}

void sq25__lonlat_ops_free(sq25_ctx *ctx)
{
    for (int k = 0; k < SQ25_LONLAT_OPS; k++) {
        struct sq25__lonlat_op *e = &ctx->lonlat_ops[k];
        if (!e->projdef) continue;
        proj_destroy(e->op);
        sq25__free(ctx, e->projdef);
        e->projdef = NULL;
        e->op = NULL;
    }
}

PJ *sq25__proj_to_lonlat(sq25_ctx *ctx, const char *projdef)
{
    return make_lonlat_op(ctx, projdef, false);
}

#define AT(ptr, stride, i) (*(double *)((char *)(ptr) + (size_t)(i) * (stride)))
#define CAT(ptr, stride, i) (*(const double *)((const char *)(ptr) + (size_t)(i) * (stride)))

/* Invert the 2x2 part of the geotransform: map (x,y) to (col,row). */
static void projected_to_pixel(const double gt[6], double x, double y, double *col, double *row)
{
    double det = gt[1] * gt[5] - gt[2] * gt[4];
    double dx = x - gt[0], dy = y - gt[3];
    *col = (gt[5] * dx - gt[2] * dy) / det;
    *row = (-gt[4] * dx + gt[1] * dy) / det;
}

int sq25_field_lonlat_to_pixel(sq25_field *f, size_t n, const double *lon, size_t lon_stride,
                               const double *lat, size_t lat_stride, double *col,
                               size_t col_stride, double *row, size_t row_stride)
{
    if (!f || (n && (!lon || !lat || !col || !row))) return SQ25_ERR_INVALID_ARG;
    PJ *op = sq25__lonlat_op(f->ctx, f->projdef);
    if (!op) return sq25_errcode(f->ctx);
    for (size_t i = 0; i < n; i++) {
        PJ_COORD c = proj_coord(CAT(lon, lon_stride, i), CAT(lat, lat_stride, i), 0, 0);
        PJ_COORD p = proj_trans(op, PJ_FWD, c);
        double cc = NAN, rr = NAN;
        if (isfinite(p.xy.x) && isfinite(p.xy.y) && p.xy.x != HUGE_VAL)
            projected_to_pixel(f->gt, p.xy.x, p.xy.y, &cc, &rr);
        AT(col, col_stride, i) = cc;
        AT(row, row_stride, i) = rr;
    }
    proj_errno_reset(op);
    return sq25__ok(f->ctx);
}

int sq25_field_pixel_to_lonlat(sq25_field *f, size_t n, const double *col, size_t col_stride,
                               const double *row, size_t row_stride, double *lon,
                               size_t lon_stride, double *lat, size_t lat_stride)
{
    if (!f || (n && (!lon || !lat || !col || !row))) return SQ25_ERR_INVALID_ARG;
    PJ *op = sq25__lonlat_op(f->ctx, f->projdef);
    if (!op) return sq25_errcode(f->ctx);
    const double *gt = f->gt;
    for (size_t i = 0; i < n; i++) {
        double cc = CAT(col, col_stride, i), rr = CAT(row, row_stride, i);
        double x = gt[0] + cc * gt[1] + rr * gt[2];
        double y = gt[3] + cc * gt[4] + rr * gt[5];
        PJ_COORD p = proj_trans(op, PJ_INV, proj_coord(x, y, 0, 0));
        bool ok = isfinite(p.lp.lam) && p.lp.lam != HUGE_VAL;
        AT(lon, lon_stride, i) = ok ? p.lp.lam : NAN;
        AT(lat, lat_stride, i) = ok ? p.lp.phi : NAN;
    }
    proj_errno_reset(op);
    return sq25__ok(f->ctx);
}

int sq25_field_corners_lonlat(sq25_field *f, double lonlat8[8])
{
    if (!f || !lonlat8) return SQ25_ERR_INVALID_ARG;
    const double cols[4] = {0, f->width, f->width, 0};
    const double rows[4] = {0, 0, f->height, f->height};
    return sq25_field_pixel_to_lonlat(f, 4, cols, sizeof(double), rows, sizeof(double), lonlat8,
                                      2 * sizeof(double), lonlat8 + 1, 2 * sizeof(double));
}
