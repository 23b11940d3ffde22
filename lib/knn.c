/* knn.c -- points bucketed on a regular grid: k-nearest and radius queries in O(k) buckets. */
#include "interp_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int sq25__buckets_build(sq25_ctx *ctx, size_t n, const double *x, const double *y,
                        sq25__buckets *b)
{
    memset(b, 0, sizeof *b);
    b->n = n;
    b->x = x;
    b->y = y;
    double xmin = INFINITY, ymin = INFINITY, xmax = -INFINITY, ymax = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        xmin = fmin(xmin, x[i]), xmax = fmax(xmax, x[i]);
        ymin = fmin(ymin, y[i]), ymax = fmax(ymax, y[i]);
    }
    if (n == 0) xmin = ymin = 0, xmax = ymax = 1;
    double area = fmax((xmax - xmin) * (ymax - ymin), 1.0);
    /* About two points per bucket. */
    b->cell = fmax(sqrt(2.0 * area / (double)(n ? n : 1)), 1.0);
    b->x0 = xmin;
    b->y0 = ymin;
    b->nx = (int)fmin(floor((xmax - xmin) / b->cell) + 1, 4096);
    b->ny = (int)fmin(floor((ymax - ymin) / b->cell) + 1, 4096);
    b->cell = fmax(b->cell, fmax((xmax - xmin) / b->nx, (ymax - ymin) / b->ny) * 1.000001);
    size_t nb = (size_t)b->nx * (size_t)b->ny;
    b->start = sq25__calloc(ctx, nb + 1, sizeof(int));
    b->order = sq25__malloc(ctx, (n + 1) * sizeof(int));
    int *fill = sq25__calloc(ctx, nb + 1, sizeof(int));
    if (!b->start || !b->order || !fill) {
        sq25__free(ctx, fill);
        sq25__buckets_free(ctx, b);
        return SQ25_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        int bx = (int)((x[i] - b->x0) / b->cell), by = (int)((y[i] - b->y0) / b->cell);
        b->start[(size_t)by * b->nx + bx + 1]++;
    }
    for (size_t k = 0; k < nb; k++) b->start[k + 1] += b->start[k];
    for (size_t i = 0; i < n; i++) {
        int bx = (int)((x[i] - b->x0) / b->cell), by = (int)((y[i] - b->y0) / b->cell);
        size_t k = (size_t)by * b->nx + bx;
        b->order[b->start[k] + fill[k]++] = (int)i;
    }
    sq25__free(ctx, fill);
    return SQ25_OK;
}

void sq25__buckets_free(sq25_ctx *ctx, sq25__buckets *b)
{
    sq25__free(ctx, b->start);
    sq25__free(ctx, b->order);
    b->start = b->order = NULL;
}

/* Insert (i, d2) into the sorted top-k list of length *m. */
static void topk_insert(int *idx, double *d2s, int *m, int k, int i, double d2)
{
    if (*m == k && d2 >= d2s[k - 1]) return;
    int pos = *m < k ? (*m)++ : k - 1;
    while (pos > 0 && d2s[pos - 1] > d2) {
        idx[pos] = idx[pos - 1];
        d2s[pos] = d2s[pos - 1];
        pos--;
    }
    idx[pos] = i;
    d2s[pos] = d2;
}

/* Squared distance from (qx,qy) to the nearest point of bucket (bx,by). */
static double bucket_d2(const sq25__buckets *b, int bx, int by, double qx, double qy)
{
    double x0 = b->x0 + bx * b->cell, y0 = b->y0 + by * b->cell;
    double dx = qx < x0 ? x0 - qx : (qx > x0 + b->cell ? qx - x0 - b->cell : 0);
    double dy = qy < y0 ? y0 - qy : (qy > y0 + b->cell ? qy - y0 - b->cell : 0);
    return dx * dx + dy * dy;
}

int sq25__knn(const sq25__buckets *b, double qx, double qy, int k, double radius_m, long exclude,
              int *idx, double *d2)
{
    if (k <= 0 || b->n == 0) return 0;
    double r2 = radius_m > 0 ? radius_m * radius_m : INFINITY;
    int m = 0;
    int cx = (int)floor((qx - b->x0) / b->cell), cy = (int)floor((qy - b->y0) / b->cell);
    int max_ring = b->nx + b->ny + abs(cx) + abs(cy) + 2;
    for (int ring = 0; ring <= max_ring; ring++) {
        /* Stop when every bucket of this ring is farther than the current k-th or radius. */
        double ring_d = (ring - 1) * b->cell;
        double limit = m == k ? d2[k - 1] : r2;
        if (ring > 0 && ring_d > 0 && ring_d * ring_d > limit) break;
        for (int by = cy - ring; by <= cy + ring; by++) {
            if (by < 0 || by >= b->ny) continue;
            bool edge_row = by == cy - ring || by == cy + ring;
            for (int bx = cx - ring; bx <= cx + ring; bx += edge_row ? 1 : 2 * ring) {
                if (bx >= 0 && bx < b->nx && bucket_d2(b, bx, by, qx, qy) <= limit) {
                    size_t kb = (size_t)by * b->nx + bx;
                    for (int e = b->start[kb]; e < b->start[kb + 1]; e++) {
                        int i = b->order[e];
                        if (i == exclude) continue;
                        double dx = b->x[i] - qx, dy = b->y[i] - qy, dd = dx * dx + dy * dy;
                        if (dd <= r2) topk_insert(idx, d2, &m, k, i, dd);
                    }
                }
                if (ring == 0) break;
            }
        }
    }
    return m;
}

int sq25__within(const sq25__buckets *b, double qx, double qy, double radius_m, int *idx,
                 int cap)
{
    double r2 = radius_m * radius_m;
    int bx0 = (int)floor((qx - radius_m - b->x0) / b->cell), bx1 = (int)floor((qx + radius_m - b->x0) / b->cell);
    int by0 = (int)floor((qy - radius_m - b->y0) / b->cell), by1 = (int)floor((qy + radius_m - b->y0) / b->cell);
    if (bx0 < 0) bx0 = 0;
    if (by0 < 0) by0 = 0;
    if (bx1 >= b->nx) bx1 = b->nx - 1;
    if (by1 >= b->ny) by1 = b->ny - 1;
    int m = 0;
    for (int by = by0; by <= by1; by++)
        for (int bx = bx0; bx <= bx1; bx++) {
            size_t kb = (size_t)by * b->nx + bx;
            for (int e = b->start[kb]; e < b->start[kb + 1] && m < cap; e++) {
                int i = b->order[e];
                double dx = b->x[i] - qx, dy = b->y[i] - qy;
                if (dx * dx + dy * dy <= r2) idx[m++] = i;
            }
        }
    return m;
}
