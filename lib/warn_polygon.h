/* warn_polygon.h -- dissolved polygons of a cell mask (lib/warn_polygon.c). Not API. */
#ifndef SQ25_WARN_POLYGON_H
#define SQ25_WARN_POLYGON_H

#include "internal.h"

/* A closed ring on the lattice of cell corners: X = column, Y = height - row (Y up, north),
 * first vertex repeated at the end. Outer rings run counter-clockwise, holes clockwise. */
typedef struct {
    int *xy;            /* 2 * count lattice coordinates */
    size_t count, cap;
    long long area2;    /* twice the enclosed area, cells */
    bool is_hole;
    size_t outer;       /* for a hole: index of the outer ring around it */
    int first_dir;      /* direction of the first edge (internal) */
    int x_min, x_max, y_min, y_max; /* bounding box, lattice units */
} sq25__ring;

typedef struct {
    sq25__ring *rings;
    size_t ring_count, ring_cap;
} sq25__polygons;

/* The rings of the cells where mask (width*height bytes, row 0 north) is non-zero. */
int sq25__mask_polygons(sq25_ctx *ctx, const unsigned char *mask, int width, int height,
                        sq25__polygons *out);
void sq25__polygons_free(sq25_ctx *ctx, sq25__polygons *p);

#endif
