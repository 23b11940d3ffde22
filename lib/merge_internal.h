/* merge_internal.h -- shared pieces of the merging methods (merge_methods.c, merge_ked.c).
 * Not API. */
#ifndef SQ25_MERGE_INTERNAL_H
#define SQ25_MERGE_INTERNAL_H

#include "interp_internal.h"

/* Sensors of one merge in the grid's metric CRS: only those with a valid value and a valid
 * radar value. z: sensor mm/h; r: radar mm/h at the sensor over the same interval. */
typedef struct {
    size_t n;
    double *x, *y, *z, *r;
} sq25__merge_points;

/* Kriging with external drift onto grid: per block of cells, the k nearest sensors of the
 * block centre give one system [C 1 r; 1 0 0; r 0 0]; the estimate at a cell uses the
 * background (radar on the grid, mm/h) as its drift value. Blocks whose sensors see one radar
 * value fall back to ordinary kriging. grid and background share the grid; variance may be
 * NULL. Cells without a system, or with NaN background, get NaN. */
int sq25__merge_ked(sq25_ctx *ctx, const sq25_interp_options *io, const sq25__variogram *v,
                    const sq25__merge_points *pts, const sq25_field *background,
                    sq25_field *grid, sq25_field *variance);

#endif
