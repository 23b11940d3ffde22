/* grid.c -- street grids in a metric CRS and resampling of any field onto them (PROJ). */
#include "spatial.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

PJ *sq25__proj_between(sq25_ctx *ctx, const char *from, const char *to)
{
    PJ *a = sq25__proj_crs(ctx, from);
    PJ *b = a ? sq25__proj_crs(ctx, to) : NULL;
    PJ *op = b ? proj_create_crs_to_crs_from_pj(ctx->pj_ctx, a, b, NULL, NULL) : NULL;
    PJ *norm = op ? proj_normalize_for_visualization(ctx->pj_ctx, op) : NULL;
    proj_destroy(op);
    proj_destroy(b);
    proj_destroy(a);
    if (!norm && sq25_errcode(ctx) == SQ25_OK)
        sq25__fail(ctx, SQ25_ERR_PROJ, "PROJ cannot transform from \"%.120s\" to \"%.120s\"",
                   from, to);
    return norm;
}

int sq25__crs_is_metric(sq25_ctx *ctx, const char *projdef)
{
    PJ *crs = sq25__proj_crs(ctx, projdef);
    if (!crs) return sq25_errcode(ctx);
    PJ *cs = proj_crs_get_coordinate_system(ctx->pj_ctx, crs);
    bool metric = false;
    if (cs && proj_cs_get_axis_count(ctx->pj_ctx, cs) >= 2) {
        double factor = 0;
        proj_cs_get_axis_info(ctx->pj_ctx, cs, 0, NULL, NULL, NULL, &factor, NULL, NULL, NULL);
        metric = fabs(factor - 1.0) < 1e-12;
    }
    int type = proj_get_type(crs);
    if (type == PJ_TYPE_GEOGRAPHIC_2D_CRS || type == PJ_TYPE_GEOGRAPHIC_3D_CRS) metric = false;
    proj_destroy(cs);
    proj_destroy(crs);
    return metric ? 1 : 0;
}

void sq25__utm_projdef(double lon, double lat, char *buf, size_t cap)
{
    int zone = (int)floor((lon + 180.0) / 6.0) + 1;
    if (zone < 1) zone = 1;
    if (zone > 60) zone = 60;
    snprintf(buf, cap, "EPSG:%d", (lat >= 0 ? 32600 : 32700) + zone);
}

int sq25__lonlat_to_xy(sq25_ctx *ctx, const char *projdef, size_t n, const double *lon,
                       size_t lon_stride, const double *lat, size_t lat_stride, double *x,
                       double *y)
{
    PJ *op = sq25__lonlat_op(ctx, projdef);
    if (!op) return sq25_errcode(ctx);
    for (size_t i = 0; i < n; i++) {
        double lo = SQ25__AT(lon, lon_stride, i), la = SQ25__AT(lat, lat_stride, i);
        x[i] = y[i] = NAN;
        if (!isfinite(lo) || !isfinite(la)) continue;
        PJ_COORD p = proj_trans(op, PJ_FWD, proj_coord(lo, la, 0, 0));
        if (isfinite(p.xy.x) && isfinite(p.xy.y) && p.xy.x != HUGE_VAL) {
            x[i] = p.xy.x;
            y[i] = p.xy.y;
        }
    }
    proj_errno_reset(op);
    return SQ25_OK;
}

int sq25_grid_create(sq25_ctx *ctx, const char *projdef, double xmin_m, double ymin_m,
                     double xmax_m, double ymax_m, double cell_m, int64_t valid_time,
                     sq25_field **out)
{
    if (!ctx) return SQ25_ERR_INVALID_ARG;
    if (!out || !projdef)
        return sq25__fail(ctx, SQ25_ERR_INVALID_ARG, "sq25_grid_create: NULL argument");
    *out = NULL;
    if (!(xmax_m > xmin_m) || !(ymax_m > ymin_m) || !isfinite(xmax_m - xmin_m) ||
        !isfinite(ymax_m - ymin_m))
        return sq25__fail(ctx, SQ25_ERR_INVALID_ARG,
                          "sq25_grid_create: empty or non-finite box [%g,%g]x[%g,%g]", xmin_m,
                          xmax_m, ymin_m, ymax_m);
    if (!(cell_m >= SQ25_GRID_MIN_CELL_M) || !isfinite(cell_m))
        return sq25__fail(ctx, SQ25_ERR_RANGE,
                          "sq25_grid_create: cell size %g m (must be >= %g m)", cell_m,
                          SQ25_GRID_MIN_CELL_M);
    int metric = sq25__crs_is_metric(ctx, projdef);
    if (metric < 0) return metric;
    if (metric == 0) {
        return sq25__fail(ctx, SQ25_ERR_PROJ, "sq25_grid_create: CRS \"%.200s\" is not metric",
                          projdef);
    }
    double width = ceil((xmax_m - xmin_m) / cell_m - 1e-9);
    double height = ceil((ymax_m - ymin_m) / cell_m - 1e-9);
    int rc = sq25__check_grid_size(ctx, (int64_t)fmin(width, 1e12), (int64_t)fmin(height, 1e12),
                                   "street grid");
    if (rc) return rc;
    const double gt[6] = {xmin_m, cell_m, 0, ymax_m, 0, -cell_m};
    return sq25_field_create(ctx, (int)width, (int)height, projdef, gt, valid_time, out);
}

/* Projected bounding box of a lon/lat box, from 9 points along each edge. */
static int lonlat_box_bounds(sq25_ctx *ctx, const char *projdef, const double box[4],
                             double bounds[4])
{
    enum { PER_EDGE = 9, N = 4 * PER_EDGE };
    double lon[N], lat[N], x[N], y[N];
    for (int i = 0; i < PER_EDGE; i++) {
        double f = (double)i / (PER_EDGE - 1);
        double lo = box[0] + f * (box[2] - box[0]), la = box[1] + f * (box[3] - box[1]);
        lon[4 * i] = lo, lat[4 * i] = box[1];
        lon[4 * i + 1] = lo, lat[4 * i + 1] = box[3];
        lon[4 * i + 2] = box[0], lat[4 * i + 2] = la;
        lon[4 * i + 3] = box[2], lat[4 * i + 3] = la;
    }
    int rc = sq25__lonlat_to_xy(ctx, projdef, N, lon, sizeof(double), lat, sizeof(double), x, y);
    if (rc) return rc;
    bounds[0] = bounds[1] = INFINITY;
    bounds[2] = bounds[3] = -INFINITY;
    for (int i = 0; i < N; i++) {
        if (!isfinite(x[i]) || !isfinite(y[i]))
            return sq25__fail(ctx, SQ25_ERR_PROJ,
                              "lon/lat box point (%g, %g) cannot be transformed to %.120s",
                              lon[i], lat[i], projdef);
        bounds[0] = fmin(bounds[0], x[i]);
        bounds[1] = fmin(bounds[1], y[i]);
        bounds[2] = fmax(bounds[2], x[i]);
        bounds[3] = fmax(bounds[3], y[i]);
    }
    return SQ25_OK;
}

int sq25_grid_create_lonlat(sq25_ctx *ctx, const char *projdef, double lon_min, double lat_min,
                            double lon_max, double lat_max, double cell_m, int64_t valid_time,
                            sq25_field **out)
{
    if (!ctx) return SQ25_ERR_INVALID_ARG;
    if (!out) return sq25__fail(ctx, SQ25_ERR_INVALID_ARG, "sq25_grid_create_lonlat: NULL");
    *out = NULL;
    if (!(lon_max > lon_min) || !(lat_max > lat_min) || lon_min < -180 || lon_max > 180 ||
        lat_min < -90 || lat_max > 90)
        return sq25__fail(ctx, SQ25_ERR_INVALID_ARG,
                          "lon/lat box %g,%g,%g,%g is empty or outside -180..180, -90..90",
                          lon_min, lat_min, lon_max, lat_max);
    char utm[32];
    if (!projdef || !projdef[0]) {
        sq25__utm_projdef(0.5 * (lon_min + lon_max), 0.5 * (lat_min + lat_max), utm, sizeof utm);
        projdef = utm;
    }
    const double box[4] = {lon_min, lat_min, lon_max, lat_max};
    double b[4];
    int rc = lonlat_box_bounds(ctx, projdef, box, b);
    if (rc) return rc;
    return sq25_grid_create(ctx, projdef, b[0], b[1], b[2], b[3], cell_m, valid_time, out);
}

/* Parse "a,b,c,d" into 4 finite doubles. */
static bool parse_four(const char *text, size_t len, double v[4])
{
    char buf[256];
    if (len == 0 || len >= sizeof buf) return false;
    memcpy(buf, text, len);
    buf[len] = '\0';
    char *p = buf, *end;
    for (int i = 0; i < 4; i++) {
        v[i] = strtod(p, &end);
        if (end == p || !isfinite(v[i])) return false;
        if (i < 3 && *end != ',') return false;
        p = end + 1;
    }
    return *end == '\0';
}

static bool parse_number(const char *text, double *v)
{
    char *end;
    *v = strtod(text, &end);
    return end != text && *end == '\0' && isfinite(*v);
}

static int parse_lonlat_spec(sq25_ctx *ctx, const char *spec, const char *rest, int64_t t,
                             sq25_field **out)
{
    const char *colon = strchr(rest, ':');
    double box[4], cell;
    if (!colon || !parse_four(rest, (size_t)(colon - rest), box))
        return sq25__fail(ctx, SQ25_ERR_PARSE,
                          "grid spec \"%.200s\": expected lonlat:LONMIN,LATMIN,LONMAX,LATMAX:CELL_M",
                          spec);
    const char *cell_text = colon + 1, *crs = strchr(cell_text, ':');
    char cbuf[64];
    size_t clen = crs ? (size_t)(crs - cell_text) : strlen(cell_text);
    if (clen >= sizeof cbuf) clen = sizeof cbuf - 1;
    memcpy(cbuf, cell_text, clen);
    cbuf[clen] = '\0';
    if (!parse_number(cbuf, &cell))
        return sq25__fail(ctx, SQ25_ERR_PARSE, "grid spec \"%.200s\": bad cell size \"%s\"", spec,
                          cbuf);
    return sq25_grid_create_lonlat(ctx, crs ? crs + 1 : NULL, box[0], box[1], box[2], box[3],
                                   cell, t, out);
}

/* "<crs>:XMIN,YMIN,XMAX,YMAX:CELL" where crs_len is the length of <crs>. */
static int parse_projected_spec(sq25_ctx *ctx, const char *spec, const char *crs,
                                size_t crs_len, int64_t t, sq25_field **out)
{
    const char *box_text = crs + crs_len + 1, *colon = strchr(box_text, ':');
    double box[4], cell;
    char def[1024];
    if (crs_len == 0 || crs_len >= sizeof def || !colon ||
        !parse_four(box_text, (size_t)(colon - box_text), box) || !parse_number(colon + 1, &cell))
        return sq25__fail(ctx, SQ25_ERR_PARSE,
                          "grid spec \"%.200s\": expected CRS:XMIN,YMIN,XMAX,YMAX:CELL_M", spec);
    memcpy(def, crs, crs_len);
    def[crs_len] = '\0';
    return sq25_grid_create(ctx, def, box[0], box[1], box[2], box[3], cell, t, out);
}

int sq25_grid_parse(sq25_ctx *ctx, const char *spec, int64_t valid_time, sq25_field **out)
{
    if (!ctx) return SQ25_ERR_INVALID_ARG;
    if (!spec || !out) return sq25__fail(ctx, SQ25_ERR_INVALID_ARG, "sq25_grid_parse: NULL");
    *out = NULL;
    if (strncmp(spec, "lonlat:", 7) == 0) return parse_lonlat_spec(ctx, spec, spec + 7, valid_time, out);
    if (strncmp(spec, "EPSG:", 5) == 0 || strncmp(spec, "epsg:", 5) == 0) {
        const char *colon = strchr(spec + 5, ':');
        if (!colon) return sq25__fail(ctx, SQ25_ERR_PARSE, "grid spec \"%.200s\": no box", spec);
        return parse_projected_spec(ctx, spec, spec, (size_t)(colon - spec), valid_time, out);
    }
    if (strncmp(spec, "proj:", 5) == 0) {
        const char *crs = spec + 5, *colon = strchr(crs, ':');
        if (!colon) return sq25__fail(ctx, SQ25_ERR_PARSE, "grid spec \"%.200s\": no box", spec);
        return parse_projected_spec(ctx, spec, crs, (size_t)(colon - crs), valid_time, out);
    }
    return sq25__fail(ctx, SQ25_ERR_PARSE,
                      "grid spec \"%.200s\": must start with lonlat:, EPSG: or proj:", spec);
}
