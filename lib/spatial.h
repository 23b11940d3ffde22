/* spatial.h -- internal helpers of the grid, qc and interp modules: PROJ transforms between
 * two CRSs, lon/lat to metric coordinates, and the pixel map used by resampling. Not API. */
#ifndef SQ25_SPATIAL_H
#define SQ25_SPATIAL_H

#include "internal.h"

/* A transform from CRS `from` to CRS `to` (PROJ definitions or "EPSG:n"), axis order
 * normalised to east/north (lon/lat for geographic CRSs). NULL with the error set. */
PJ *sq25__proj_between(sq25_ctx *ctx, const char *from, const char *to);
/* 1 when the CRS of projdef has metre axes, 0 when not, a negative code on error. */
int sq25__crs_is_metric(sq25_ctx *ctx, const char *projdef);
/* "EPSG:326zz" (north) or "EPSG:327zz" (south) for the UTM zone of lon/lat degrees. */
void sq25__utm_projdef(double lon, double lat, char *buf, size_t cap);
/* Transform n lon/lat degrees (pointer + byte stride) to x/y metres (dense arrays) in the CRS
 * of projdef. Points PROJ cannot transform give NaN. */
int sq25__lonlat_to_xy(sq25_ctx *ctx, const char *projdef, size_t n, const double *lon,
                       size_t lon_stride, const double *lat, size_t lat_stride, double *x,
                       double *y);

/* Source pixel coordinates of the destination pixel grid: PROJ transforms a lattice of
 * control points (every `step` destination cells, plus the last edge) exactly, and positions
 * between them are interpolated bilinearly (as GDAL's approximate transformer does). */
typedef struct {
    int step, nx, ny;     /* lattice spacing (dst cells) and lattice size */
    double *src_col;      /* ny*nx source column of each lattice node (NaN = not mapped) */
    double *src_row;
    bool identity;        /* same CRS and geotransform: src = dst */
} sq25__pixmap;
int sq25__pixmap_build(sq25_ctx *ctx, const sq25_field *dst, const sq25_field *src, int step,
                       sq25__pixmap *pm);
/* Source (col, row) of the destination point (col, row), pixel-corner based coordinates. */
void sq25__pixmap_at(const sq25__pixmap *pm, double col, double row, double *src_col,
                     double *src_row);
void sq25__pixmap_free(sq25_ctx *ctx, sq25__pixmap *pm);
/* sq25_resample of n_fields sources sharing one grid onto n_fields destinations sharing
 * another, with a pixel map built for them (sq25__pixmap_build, SQ25_RESAMPLE_ALIGN_CELLS):
 * no PROJ, each target position mapped once for all fields (the leads of a forecast), rows
 * on the destinations' context's threads; every value as sq25_resample gives it. Does not
 * touch the context's error state. SQ25_OK. */
int sq25__resample_many(const sq25_field *const *src, sq25_field *const *dst, int n_fields,
                        const sq25__pixmap *pm, int method);
/* Bilinear value of src at pixel position (col, row) (corner-based); NaN outside the grid or
 * when one of the four cells is NaN. */
float sq25__sample_bilinear(const sq25_field *src, double col, double row);

#define SQ25__AT(ptr, stride, i) (*(const double *)((const char *)(ptr) + (size_t)(i) * (stride)))
#define SQ25__SET(ptr, stride, i) (*(double *)((char *)(ptr) + (size_t)(i) * (stride)))

#endif
