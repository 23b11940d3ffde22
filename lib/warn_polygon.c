/* warn_polygon.c -- dissolved polygons of a cell mask for the warning GeoJSON: the boundary
 * between cells in and out of the mask, traced into rings on the lattice of cell corners,
 * outer rings counter-clockwise and holes clockwise (RFC 7946), each hole with the outer ring
 * around it. Where two cells of the mask touch only at a corner (a "pinch"), the ring must not
 * pass that corner twice (OGC simple features, as GEOS and QGIS check them): if the two cells
 * are connected through other cells, the corner joins them and the cells out of the mask
 * there become a hole touching the shell at that point; otherwise they stay two polygons
 * touching at that point. Both are valid. */
#include "warn_polygon.h"

#include <stdlib.h>
#include <string.h>

/* Directions on the lattice, Y up (north): bits of a vertex's outgoing boundary edges. */
enum { DIR_E = 0, DIR_N = 1, DIR_W = 2, DIR_S = 3 };
static const int DX[4] = {1, 0, -1, 0}, DY[4] = {0, 1, 0, -1};
/* A straight run keeps a vertex every so many cells, so that the lon/lat of long edges follow
 * the projection's curvature. */
#define RUN_VERTEX_EVERY 16

static int turn_left(int d) { return (d + 1) & 3; }
static int turn_right(int d) { return (d + 3) & 3; }

typedef struct {
    int width, height;      /* cells; the lattice is (width+1) x (height+1) */
    unsigned char *out_dirs; /* per lattice vertex: bits 1 << DIR_* of untraced edges */
    int *component;         /* per cell: root of its 4-connected set of mask cells */
} lattice;

/* Union-find over the mask cells, 4-connected. */
static int find_root(int *parent, int i)
{
    while (parent[i] != i) {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    return i;
}

static void label_components(lattice *l, const unsigned char *mask)
{
    int w = l->width, h = l->height;
    for (int i = 0; i < w * h; i++) l->component[i] = i;
    for (int row = 0; row < h; row++) {
        for (int col = 0; col < w; col++) {
            int i = row * w + col;
            if (!mask[i]) continue;
            if (col + 1 < w && mask[i + 1])
                l->component[find_root(l->component, i + 1)] = find_root(l->component, i);
            if (row + 1 < h && mask[i + w])
                l->component[find_root(l->component, i + w)] = find_root(l->component, i);
        }
    }
    for (int i = 0; i < w * h; i++) l->component[i] = find_root(l->component, i);
}

static size_t vertex_id(const lattice *l, int x, int y) { return (size_t)y * (l->width + 1) + x; }

static bool in_mask(const unsigned char *mask, int w, int h, int col, int row)
{
    return col >= 0 && row >= 0 && col < w && row < h && mask[(size_t)row * w + col];
}

/* Every side between a cell in the mask and one out of it (or the grid's edge) becomes an edge
 * with the cell on its left. Cell (col, row) spans X in [col, col+1], Y in [y0, y0+1] with
 * y0 = height - 1 - row (row 0 is the northern row). */
static void collect_edges(lattice *l, const unsigned char *mask)
{
    int w = l->width, h = l->height;
    for (int row = 0; row < h; row++) {
        for (int col = 0; col < w; col++) {
            if (!mask[(size_t)row * w + col]) continue;
            int y0 = h - 1 - row;
            if (!in_mask(mask, w, h, col, row + 1)) l->out_dirs[vertex_id(l, col, y0)] |= 1 << DIR_E;
            if (!in_mask(mask, w, h, col + 1, row))
                l->out_dirs[vertex_id(l, col + 1, y0)] |= 1 << DIR_N;
            if (!in_mask(mask, w, h, col, row - 1))
                l->out_dirs[vertex_id(l, col + 1, y0 + 1)] |= 1 << DIR_W;
            if (!in_mask(mask, w, h, col - 1, row))
                l->out_dirs[vertex_id(l, col, y0 + 1)] |= 1 << DIR_S;
        }
    }
}

/* At a pinch vertex (both turns possible): true when its two mask cells (north-east and
 * south-west, or north-west and south-east of the vertex) are connected elsewhere. */
static bool pinch_cells_connected(const lattice *l, int x, int y, const unsigned char *mask)
{
    int w = l->width, h = l->height;
    int row_n = h - 1 - y, row_s = h - y;
    bool ne = in_mask(mask, w, h, x, row_n);
    int a = ne ? row_n * w + x : row_n * w + x - 1; /* NE, else NW */
    int b = ne ? row_s * w + x - 1 : row_s * w + x; /* SW, else SE */
    return l->component[a] == l->component[b];
}

/* The edge to follow after arriving in direction d at vertex (x, y) with edges `bits`. Only at
 * a pinch is there a choice: the left turn goes round one mask cell (keeps the two cells
 * apart), the right turn goes round the cell out of the mask (joins them). */
static int next_dir(const lattice *l, const unsigned char *mask, int x, int y, unsigned bits,
                    int d)
{
    int left = turn_left(d), right = turn_right(d);
    bool can_left = bits & (1u << left), can_right = bits & (1u << right);
    if (can_left && can_right) return pinch_cells_connected(l, x, y, mask) ? right : left;
    if (can_left) return left;
    if (bits & (1u << d)) return d;
    return can_right ? right : -1;
}

static int ring_push(sq25_ctx *ctx, sq25__ring *r, int x, int y)
{
    if (r->count == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 16;
        int *bigger = sq25__malloc(ctx, 2 * cap * sizeof *bigger);
        if (!bigger) return SQ25_ERR_NOMEM;
        if (r->count) memcpy(bigger, r->xy, 2 * r->count * sizeof *bigger);
        sq25__free(ctx, r->xy);
        r->xy = bigger;
        r->cap = cap;
    }
    r->xy[2 * r->count] = x;
    r->xy[2 * r->count + 1] = y;
    r->count++;
    return SQ25_OK;
}

/* Trace the ring that starts with the edge leaving (x0, y0) in direction d0. The ring closes
 * when, back at the start, the rule would take the first edge again. */
static int trace_ring(sq25_ctx *ctx, lattice *l, const unsigned char *mask, int x0, int y0,
                      int d0, sq25__ring *r)
{
    int x = x0, y = y0, d = d0, run = 0;
    l->out_dirs[vertex_id(l, x, y)] &= (unsigned char)~(1u << d);
    int rc = ring_push(ctx, r, x, y);
    for (;;) {
        x += DX[d], y += DY[d];
        unsigned bits = l->out_dirs[vertex_id(l, x, y)];
        if (x == x0 && y == y0 && next_dir(l, mask, x, y, bits | (1u << d0), d) == d0) break;
        int nd = next_dir(l, mask, x, y, bits, d);
        if (nd < 0) return SQ25_ERR_INTERNAL; /* an open boundary cannot happen on a mask */
        run = nd == d ? run + 1 : 0;
        if (rc == SQ25_OK && (nd != d || run % RUN_VERTEX_EVERY == 0)) rc = ring_push(ctx, r, x, y);
        l->out_dirs[vertex_id(l, x, y)] &= (unsigned char)~(1u << nd);
        d = nd;
    }
    if (rc == SQ25_OK) rc = ring_push(ctx, r, x0, y0); /* closed: first = last */
    r->first_dir = d0;
    return rc;
}

/* Twice the signed area (shoelace, lattice units): > 0 counter-clockwise; and the box. */
static long long ring_area2(sq25__ring *r)
{
    long long a = 0;
    r->x_min = r->x_max = r->xy[0];
    r->y_min = r->y_max = r->xy[1];
    for (size_t i = 0; i + 1 < r->count; i++) {
        int x = r->xy[2 * i + 2], y = r->xy[2 * i + 3];
        a += (long long)r->xy[2 * i] * y - (long long)x * r->xy[2 * i + 1];
        r->x_min = x < r->x_min ? x : r->x_min, r->x_max = x > r->x_max ? x : r->x_max;
        r->y_min = y < r->y_min ? y : r->y_min, r->y_max = y > r->y_max ? y : r->y_max;
    }
    return a;
}

/* Point in ring by ray casting; (px, py) are half-integers, never on a lattice edge. */
static bool ring_contains(const sq25__ring *r, double px, double py)
{
    if (px < r->x_min || px > r->x_max || py < r->y_min || py > r->y_max) return false;
    bool inside = false;
    for (size_t i = 0; i + 1 < r->count; i++) {
        double x1 = r->xy[2 * i], y1 = r->xy[2 * i + 1];
        double x2 = r->xy[2 * i + 2], y2 = r->xy[2 * i + 3];
        if ((y1 > py) != (y2 > py) && px < x1 + (py - y1) * (x2 - x1) / (y2 - y1))
            inside = !inside;
    }
    return inside;
}

static int add_ring(sq25_ctx *ctx, sq25__polygons *p, sq25__ring *r)
{
    if (p->ring_count == p->ring_cap) {
        size_t cap = p->ring_cap ? 2 * p->ring_cap : 8;
        sq25__ring *bigger = sq25__malloc(ctx, cap * sizeof *bigger);
        if (!bigger) return SQ25_ERR_NOMEM;
        if (p->ring_count) memcpy(bigger, p->rings, p->ring_count * sizeof *bigger);
        sq25__free(ctx, p->rings);
        p->rings = bigger;
        p->ring_cap = cap;
    }
    p->rings[p->ring_count++] = *r;
    return SQ25_OK;
}

/* Each hole goes to the smallest outer ring around the centre of the cell on its right (a
 * cell outside the mask, inside the hole). */
static void assign_holes(sq25__polygons *p)
{
    for (size_t i = 0; i < p->ring_count; i++) {
        sq25__ring *h = &p->rings[i];
        if (!h->is_hole) continue;
        int d = h->first_dir, rd = turn_right(d);
        double px = h->xy[0] + 0.5 * DX[d] + 0.5 * DX[rd];
        double py = h->xy[1] + 0.5 * DY[d] + 0.5 * DY[rd];
        long long best = 0;
        for (size_t k = 0; k < p->ring_count; k++) {
            const sq25__ring *o = &p->rings[k];
            if (o->is_hole || (best && o->area2 >= best) || !ring_contains(o, px, py)) continue;
            best = o->area2;
            h->outer = k;
        }
    }
}

int sq25__mask_polygons(sq25_ctx *ctx, const unsigned char *mask, int width, int height,
                        sq25__polygons *out)
{
    memset(out, 0, sizeof *out);
    lattice l = {width, height, NULL, NULL};
    l.out_dirs = sq25__calloc(ctx, (size_t)(width + 1) * (size_t)(height + 1), 1);
    l.component = sq25__malloc(ctx, (size_t)width * (size_t)height * sizeof *l.component);
    if (!l.out_dirs || !l.component) {
        sq25__free(ctx, l.out_dirs);
        sq25__free(ctx, l.component);
        return SQ25_ERR_NOMEM;
    }
    collect_edges(&l, mask);
    label_components(&l, mask);
    int rc = SQ25_OK;
    for (int y = 0; rc == SQ25_OK && y <= height; y++) {
        for (int x = 0; rc == SQ25_OK && x <= width; x++) {
            unsigned bits;
            while (rc == SQ25_OK && (bits = l.out_dirs[vertex_id(&l, x, y)]) != 0) {
                int d = 0;
                while (!(bits & (1u << d))) d++;
                sq25__ring r = {0};
                rc = trace_ring(ctx, &l, mask, x, y, d, &r);
                r.area2 = ring_area2(&r);
                r.is_hole = r.area2 < 0;
                if (r.is_hole) r.area2 = -r.area2;
                if (rc == SQ25_OK) rc = add_ring(ctx, out, &r);
                if (rc) sq25__free(ctx, r.xy);
            }
        }
    }
    sq25__free(ctx, l.out_dirs);
    sq25__free(ctx, l.component);
    if (rc == SQ25_OK) assign_holes(out);
    if (rc) sq25__polygons_free(ctx, out);
    return rc;
}

void sq25__polygons_free(sq25_ctx *ctx, sq25__polygons *p)
{
    for (size_t i = 0; i < p->ring_count; i++) sq25__free(ctx, p->rings[i].xy);
    sq25__free(ctx, p->rings);
    memset(p, 0, sizeof *p);
}
