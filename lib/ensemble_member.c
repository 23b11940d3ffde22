/* ensemble_member.c -- grid-point steps of an ensemble member: probability (CDF) matching
 * with a radix sort, the incremental precipitation mask (chamfer distances) and the
 * sorting helpers. */
#include "ensemble_internal.h"

#include <math.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* Float bits mapped so that unsigned order is numeric order (no NaN). */
static inline uint32_t float_key(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

static inline float key_float(uint32_t k)
{
    uint32_t u = (k & 0x80000000u) ? (k & 0x7fffffffu) : ~k;
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* Stable LSD radix sort of n keys (with optional payload, NULL for none) by digits of 11, 11
 * and 10 bits, the three digits' counts made in one pass; a digit that all keys share needs
 * no pass. Returns the array holding the sorted keys (keys or keys2; the payload then sits in
 * the matching one of payload, payload2); the other pair was scratch. */
static uint32_t *radix_sort(uint32_t *keys, uint32_t *payload, size_t n, uint32_t *keys2,
                            uint32_t *payload2, uint32_t **sorted_payload)
{
    static const int shift[3] = {0, 11, 22};
    static size_t zero[3][2048];
    size_t count[3][2048];
    memcpy(count, zero, sizeof count);
    for (size_t i = 0; i < n; i++) {
        const uint32_t k = keys[i];
        count[0][k & 2047u]++;
        count[1][(k >> 11) & 2047u]++;
        count[2][k >> 22]++;
    }
    uint32_t *src_k = keys, *src_p = payload, *dst_k = keys2, *dst_p = payload2;
    for (int pass = 0; pass < 3; pass++) {
        size_t *c = count[pass];
        const int s = shift[pass];
        if (n == 0 || c[(keys[0] >> s) & 2047u] == n) continue; /* one digit: the order stands */
        size_t sum = 0;
        for (int b = 0; b < 2048; b++) {
            const size_t here = c[b];
            c[b] = sum;
            sum += here;
        }
        for (size_t i = 0; i < n; i++) {
            const size_t at = c[(src_k[i] >> s) & 2047u]++;
            dst_k[at] = src_k[i];
            if (payload) dst_p[at] = src_p[i];
        }
        uint32_t *t = src_k;
        src_k = dst_k;
        dst_k = t;
        t = src_p;
        src_p = dst_p;
        dst_p = t;
    }
    if (sorted_payload) *sorted_payload = src_p;
    return src_k;
}

void sq25__ens_sort_floats(float *v, size_t n, uint32_t *scratch)
{
    uint32_t *keys = scratch, *keys2 = scratch + n;
    for (size_t i = 0; i < n; i++) keys[i] = float_key(v[i]);
    const uint32_t *sorted = radix_sort(keys, NULL, n, keys2, NULL, NULL);
    for (size_t i = 0; i < n; i++) v[i] = key_float(sorted[i]);
}

void sq25__ens_sort_small(float *v, int n)
{
    for (int i = 1; i < n; i++) {
        const float x = v[i];
        int j = i - 1;
        while (j >= 0 && v[j] > x) {
            v[j + 1] = v[j];
            j--;
        }
        v[j + 1] = x;
    }
}

/* Target index of forecast rank r among valid forecast cells, m target values. */
static inline size_t target_index(size_t r, size_t valid, size_t m)
{
    if (valid == m || valid < 2) return r < m ? r : m - 1;
    return (size_t)llround((double)r * (double)(m - 1) / (double)(valid - 1));
}

void sq25__ens_match_cdf(float *x, size_t n, const float *sorted_target, size_t m,
                         uint32_t *keys, uint32_t *idx, uint32_t *keys2, uint32_t *idx2)
{
    size_t valid = 0;
    size_t hist[SQ25__ENS_CDF_BUCKETS] = {0};
    for (size_t i = 0; i < n; i++) {
        if (isnan(x[i])) continue;
        hist[float_key(x[i]) >> 21]++;
        valid++;
    }
    sq25__ens_match_cdf_counted(x, n, hist, valid, sorted_target, m, keys, idx, keys2, idx2);
}

/* The first index of the ascending v (m >= 1 values) whose value is not v[0] (m if none):
 * a binary search, as the target's dry minimum often fills most of it. */
static size_t first_above_minimum(const float *v, size_t m)
{
    size_t lo = 1, hi = m;
    while (lo < hi) {
        const size_t mid = lo + (hi - lo) / 2;
        if (v[mid] == v[0]) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

/* Cells of select_above's chunks (stack arrays, in L1), and of its groups. */
#define SELECT_CHUNK 512
#define SELECT_GROUP 8

/* The chosen cells of a chunk (take[k] = 1; key[k], index i0 + k) appended to keys, idx from
 * c on; returns the new count. Groups of SELECT_GROUP cells all chosen or none (the usual
 * case: wet and dry areas are wide) are copied or skipped whole, the others appended without
 * branches (the slot written for a cell not chosen lies below i0 + len <= the arrays' length,
 * and the next chosen cell takes it). */
static size_t append_chosen(const uint32_t *key, const uint32_t *take, int len, size_t i0,
                            uint32_t *restrict keys, uint32_t *restrict idx, size_t c)
{
    enum { group = SELECT_GROUP };
    int k = 0;
    for (; k + group <= len; k += group) {
        uint32_t count = 0;
        for (int j = 0; j < group; j++) count += take[k + j];
        if (count == 0) continue;
        if (count == group) {
            for (int j = 0; j < group; j++) {
                keys[c + j] = key[k + j];
                idx[c + j] = (uint32_t)(i0 + (size_t)(k + j));
            }
            c += group;
            continue;
        }
        for (int j = 0; j < group; j++) {
            keys[c] = key[k + j];
            idx[c] = (uint32_t)(i0 + (size_t)(k + j));
            c += take[k + j];
        }
    }
    for (; k < len; k++) {
        keys[c] = key[k];
        idx[c] = (uint32_t)(i0 + (size_t)k);
        c += take[k];
    }
    return c;
}

/* The valid cells of x (n, NaN = not valid) whose key lies in bucket `bucket` or above: their
 * keys and indices into keys, idx (ascending index), their number returned; the other valid
 * cells set to low. Per chunk: the keys, the choice and the low values in a vectorised loop,
 * then the chosen cells appended (a chunk with none is skipped). */
static size_t select_above(float *restrict x, size_t n, int32_t bucket, float low,
                           uint32_t *restrict keys, uint32_t *restrict idx)
{
    uint32_t key[SELECT_CHUNK], take[SELECT_CHUNK];
    size_t c = 0;
    for (size_t i0 = 0; i0 < n; i0 += SELECT_CHUNK) {
        const int len = (int)(n - i0 < SELECT_CHUNK ? n - i0 : SELECT_CHUNK);
        float *restrict v = x + i0;
        uint32_t any = 0;
        for (int k = 0; k < len; k++) {
            const uint32_t kk = float_key(v[k]);
            const uint32_t valid = !isunordered(v[k], v[k]);
            /* the bucket (11 bits) compared as a signed number: SSE2 has that compare */
            const uint32_t chosen = valid & ((int32_t)(kk >> 21) >= bucket);
            key[k] = kk;
            take[k] = chosen;
            v[k] = (valid & !chosen) ? low : v[k];
            any |= chosen;
        }
        if (any) c = append_chosen(key, take, len, i0, keys, idx, c);
    }
    return c;
}

void sq25__ens_match_cdf_counted(float *x, size_t n, const size_t *hist, size_t valid,
                                 const float *sorted_target, size_t m, uint32_t *keys,
                                 uint32_t *idx, uint32_t *keys2, uint32_t *idx2)
{
    if (m == 0 || valid == 0) return;
    /* Ranks whose target value is the target minimum need no order among themselves: only
     * the cells above the cut rank are sorted. */
    size_t low = first_above_minimum(sorted_target, m);
    /* the smallest rank mapping to a target index >= low (target_index grows with the rank) */
    size_t cut = 0, cut_end = valid;
    while (cut < cut_end) {
        const size_t mid = cut + (cut_end - cut) / 2;
        if (target_index(mid, valid, m) < low) cut = mid + 1;
        else cut_end = mid;
    }
    const size_t above = valid - cut;
    /* the lowest bucket from which on at least `above` cells lie */
    int bucket = 2047;
    size_t from_bucket = 0;
    while (bucket > 0 && from_bucket + hist[bucket] < above) from_bucket += hist[bucket--];
    if (above == 0) bucket = 2048;
    const size_t c = select_above(x, n, bucket, sorted_target[0], keys, idx);
    uint32_t *order = idx;
    radix_sort(keys, idx, c, keys2, idx2, &order);
    for (size_t p = 0; p < c; p++) {
        const size_t r = valid - c + p;
        x[order[p]] = r < cut ? sorted_target[0] : sorted_target[target_index(r, valid, m)];
    }
}

/* ---- incremental mask ------------------------------------------------------------------ */

static inline float min2(float a, float b) { return b < a ? b : a; }
static inline uint16_t min16(uint16_t a, uint16_t b) { return b < a ? b : a; }

/* The mask weight of a 3-4 chamfer distance d (thirds of a pixel). */
static inline float mask_weight(float d, float buffer, float inv_span)
{
    const sq25__ens_mask_params p = {buffer, inv_span};
    return sq25__ens_mask_weight(d, &p);
}

/* The chamfer transform in float (distances of any size). */
static void mask_float(const unsigned char *wet, int width, int height, float buffer,
                       float inv_span, float *dist, float *mask)
{
    /* distances in thirds of a pixel on a grid padded by one cell (no edge tests) */
    const float far = 1e30f;
    const int pw = width + 2;
    for (int c = 0; c < pw; c++) dist[c] = dist[(size_t)(height + 1) * pw + c] = far;
    for (int r = 0; r < height; r++) {
        float *d = dist + (size_t)(r + 1) * pw;
        const size_t i0 = (size_t)r * width;
        d[0] = d[width + 1] = far;
        for (int c = 0; c < width; c++) {
            const size_t i = i0 + (size_t)c;
            d[c + 1] = (wet[i >> 3] >> (i & 7)) & 1u ? 0.0f : far;
        }
    }
    /* forward: the row above (independent per cell), then the left neighbour in order */
    for (int r = 1; r <= height; r++) {
        float *d = dist + (size_t)r * pw;
        const float *up = d - pw;
        for (int c = 1; c <= width; c++) {
            float v = min2(up[c] + 3, min2(up[c - 1], up[c + 1]) + 4);
            d[c] = min2(d[c], v);
        }
        for (int c = 1; c <= width; c++) d[c] = min2(d[c], d[c - 1] + 3);
    }
    /* backward: the row below, then the right neighbour */
    for (int r = height; r >= 1; r--) {
        float *d = dist + (size_t)r * pw;
        const float *dn = d + pw;
        for (int c = 1; c <= width; c++) {
            float v = min2(dn[c] + 3, min2(dn[c - 1], dn[c + 1]) + 4);
            d[c] = min2(d[c], v);
        }
        for (int c = width; c >= 1; c--) d[c] = min2(d[c], d[c + 1] + 3);
    }
    for (int r = 0; r < height; r++) {
        const float *d = dist + (size_t)(r + 1) * pw + 1;
        float *m = mask + (size_t)r * width;
        for (int c = 0; c < width; c++) m[c] = mask_weight(d[c], buffer, inv_span);
    }
}

/* One row's vertical step of the 16-bit transform (from the neighbouring row nb); returns
 * the row's minimum. */
static uint16_t chamfer_row16(uint16_t *d, const uint16_t *nb, int width)
{
    uint16_t low = UINT16_MAX;
    for (int c = 1; c <= width; c++) {
        const uint16_t v = min16((uint16_t)(nb[c] + 3), (uint16_t)(min16(nb[c - 1], nb[c + 1]) + 4));
        d[c] = min16(d[c], v);
        low = min16(low, d[c]);
    }
    return low;
}

/* chamfer_row16 for values under 0x8000 - 4, in signed lanes. */
static int16_t chamfer_row_s16(int16_t *d, const int16_t *nb, int width)
{
    int16_t low = INT16_MAX;
    for (int c = 1; c <= width; c++) {
        const int16_t side = nb[c - 1] < nb[c + 1] ? nb[c - 1] : nb[c + 1];
        const int16_t up = (int16_t)(nb[c] + 3), diagonal = (int16_t)(side + 4);
        const int16_t v = diagonal < up ? diagonal : up;
        d[c] = v < d[c] ? v : d[c];
        low = d[c] < low ? d[c] : low;
    }
    return low;
}

/* The horizontal step d[c] = min(d[c], d[c - step] + 3) along a row of n values from d on
 * (step 1: left to right from d[0]; -1: right to left from d[0] down to d[1 - n]). A value
 * at quiet or above cannot lower its neighbour (quiet + 3 >= the cap): the scan only runs
 * from each value under quiet until its carried distance reaches quiet again. */
/* Whether the four 16-bit values at p all lie at quiet or above, for values under 0x8000:
 * adding 0x8000 - quiet to each sets its top bit exactly then, without a carry between them
 * (the values stay under quiet + 0x8000). */
static inline bool four_quiet(const uint16_t *p, uint64_t to_top)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    const uint64_t tops = 0x8000800080008000u;
    return ((v + to_top) & tops) == tops;
}

static void scan16(uint16_t *d, int n, int step, uint16_t quiet)
{
    /* quiet runs four values at a time where the caps leave the top bit free */
    const bool swar = quiet < 0x8000 - 3;
    const uint64_t to_top = 0x0001000100010001u * (uint64_t)(0x8000u - quiet);
    int c = 0;
    while (c < n) {
        if (swar)
            while (c + 4 <= n && four_quiet(step > 0 ? d + c : d - c - 3, to_top)) c += 4;
        while (c < n && d[c * step] >= quiet) c++;
        if (c >= n) return;
        uint16_t carry = d[c * step];
        for (c++; c < n && carry < quiet; c++) {
            carry = min16(d[c * step], (uint16_t)(carry + 3));
            d[c * step] = carry;
        }
    }
}

#ifdef __SSE2__
/* The lanes of a vector of 16-bit values that a shift by `lanes` toward the row's other end
 * empties, set to INT16_MAX (no neighbour there). */
static inline __m128i pad_low(__m128i x, int lanes)
{
    const __m128i top = _mm_set1_epi16(INT16_MAX);
    return lanes == 1 ? _mm_or_si128(x, _mm_srli_si128(top, 14))
           : lanes == 2 ? _mm_or_si128(x, _mm_srli_si128(top, 12))
                        : _mm_or_si128(x, _mm_srli_si128(top, 8));
}
static inline __m128i pad_high(__m128i x, int lanes)
{
    const __m128i top = _mm_set1_epi16(INT16_MAX);
    return lanes == 1 ? _mm_or_si128(x, _mm_slli_si128(top, 14))
           : lanes == 2 ? _mm_or_si128(x, _mm_slli_si128(top, 12))
                        : _mm_or_si128(x, _mm_slli_si128(top, 8));
}

/* scan16 for values under 0x8000 - 4, eight at a time: the scan leaves each value at the
 * minimum over the values before it (in the scan's order) of value + 3 x their distance, a
 * prefix minimum made in three shifted steps (1, 2, 4 lanes) per vector and the carry of the
 * vector before (saturating sums: a sum past INT16_MAX is past every value, so it never wins,
 * exactly as the serial sum that does not overflow). Vectors at quiet or above with a carry at
 * quiet or above are left alone (they cannot change). Step 1: left to right over d[0 .. n-1];
 * -1: right to left over the same n values. Exact: the same integers as scan16. */
static void scan16_sse2(int16_t *d, int n, int step, int16_t quiet)
{
    const __m128i three = _mm_set1_epi16(3), six = _mm_set1_epi16(6), twelve = _mm_set1_epi16(12);
    const __m128i below_quiet = _mm_set1_epi16((int16_t)(quiet - 1));
    int carry = INT16_MAX; /* the value before the scan's next one (none yet) */
    const int whole = n / 8 * 8;
    if (step > 0) {
        const __m128i ramp = _mm_setr_epi16(3, 6, 9, 12, 15, 18, 21, 24);
        for (int c = 0; c < whole; c += 8) {
            __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(d + c));
            if (carry >= quiet && _mm_movemask_epi8(_mm_cmpgt_epi16(x, below_quiet)) == 0xffff) {
                carry = d[c + 7];
                continue;
            }
            x = _mm_min_epi16(x, _mm_adds_epi16(pad_low(_mm_slli_si128(x, 2), 1), three));
            x = _mm_min_epi16(x, _mm_adds_epi16(pad_low(_mm_slli_si128(x, 4), 2), six));
            x = _mm_min_epi16(x, _mm_adds_epi16(pad_low(_mm_slli_si128(x, 8), 4), twelve));
            x = _mm_min_epi16(x, _mm_adds_epi16(_mm_set1_epi16((int16_t)carry), ramp));
            _mm_storeu_si128((__m128i *)(void *)(d + c), x);
            carry = (int16_t)_mm_extract_epi16(x, 7);
        }
        for (int c = whole; c < n; c++) {
            carry = carry + 3 < d[c] ? carry + 3 : d[c];
            d[c] = (int16_t)carry;
        }
    } else {
        const __m128i ramp = _mm_setr_epi16(24, 21, 18, 15, 12, 9, 6, 3);
        for (int c = n - 8; c >= n - whole; c -= 8) {
            __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(d + c));
            if (carry >= quiet && _mm_movemask_epi8(_mm_cmpgt_epi16(x, below_quiet)) == 0xffff) {
                carry = d[c];
                continue;
            }
            x = _mm_min_epi16(x, _mm_adds_epi16(pad_high(_mm_srli_si128(x, 2), 1), three));
            x = _mm_min_epi16(x, _mm_adds_epi16(pad_high(_mm_srli_si128(x, 4), 2), six));
            x = _mm_min_epi16(x, _mm_adds_epi16(pad_high(_mm_srli_si128(x, 8), 4), twelve));
            x = _mm_min_epi16(x, _mm_adds_epi16(_mm_set1_epi16((int16_t)carry), ramp));
            _mm_storeu_si128((__m128i *)(void *)(d + c), x);
            carry = (int16_t)_mm_extract_epi16(x, 0);
        }
        for (int c = n - whole - 1; c >= 0; c--) {
            carry = carry + 3 < d[c] ? carry + 3 : d[c];
            d[c] = (int16_t)carry;
        }
    }
}
#endif

/* The horizontal step of a row's n values d[0 .. n-1] in the scan's direction (step 1 or -1):
 * scan16, or its SSE2 form for values under 0x8000 - 4 (narrow). */
static void scan_row(uint16_t *d, int n, int step, uint16_t quiet, bool narrow)
{
#ifdef __SSE2__
    if (narrow) {
        scan16_sse2((int16_t *)d, n, step, (int16_t)quiet);
        return;
    }
#else
    (void)narrow;
#endif
    scan16(step > 0 ? d : d + n - 1, n, step, quiet);
}

/* The same transform in 16 bits, every distance capped at cap (thirds; cap + 4 < 65536):
 * the 3-4 chamfer distance is a minimum of sums along paths, so capping every value at cap
 * gives min(true distance, cap) exactly. Rows whose values all lie at cap - 3 or above need
 * no horizontal step (nothing can lower a neighbour), the usual case far from rain. */
static void chamfer_u16(const unsigned char *wet, int width, int height, uint16_t cap,
                        uint16_t *dist)
{
    const int pw = width + 2;
    const size_t padded = (size_t)pw * (size_t)(height + 2);
    for (size_t i = 0; i < padded; i++) dist[i] = cap;
    /* the wet cells: only the non-zero bytes of the bit array, their row followed along (a
     * cell i of row r sits at i + pw + 1 + 2 r on the padded grid) */
    const size_t n = (size_t)width * (size_t)height;
    size_t row = 0, row_end = (size_t)width; /* cells [row_end - width, row_end) */
    for (size_t b = 0; b * 8 < n; b++) {
        unsigned bits = wet[b];
        while (bits) {
            const size_t i = b * 8 + (size_t)__builtin_ctz(bits);
            bits &= bits - 1;
            if (i >= n) break;
            while (i >= row_end) row++, row_end += (size_t)width;
            dist[i + (size_t)pw + 1 + 2 * row] = 0;
        }
    }
    const uint16_t quiet = (uint16_t)(cap - 3);
    /* under 0x8000 - 4 every value and sum fits a signed 16-bit lane (SSE2 has its minimum) */
    const bool narrow = cap < 0x8000 - 4;
    for (int r = 1; r <= height; r++) {
        uint16_t *d = dist + (size_t)r * pw;
        const int low = narrow ? chamfer_row_s16((int16_t *)d, (const int16_t *)(d - pw), width)
                               : chamfer_row16(d, d - pw, width);
        if (low < quiet) scan_row(d + 1, width, 1, quiet, narrow);
    }
    for (int r = height; r >= 1; r--) {
        uint16_t *d = dist + (size_t)r * pw;
        const int low = narrow ? chamfer_row_s16((int16_t *)d, (const int16_t *)(d + pw), width)
                               : chamfer_row16(d, d + pw, width);
        if (low < quiet) scan_row(d + 1, width, -1, quiet, narrow);
    }
}

/* The cap of the 16-bit distances (thirds): beyond buffer + rim + 1 px the weight is 0; 3
 * thirds more keep the float rounding of the weight at the cap clear of 0. */
static double mask_cap(double buffer_px, double rim_px)
{
    return ceil(3 * (buffer_px + rim_px + 1)) + 3;
}

bool sq25__ens_mask_u16(const unsigned char *wet, int width, int height, double buffer_px,
                        double rim_px, uint16_t *dist, sq25__ens_mask_params *p)
{
    const double cap = mask_cap(buffer_px, rim_px);
    if (!(cap + 4 < 65536)) return false;
    *p = (sq25__ens_mask_params){(float)buffer_px, (float)(1.0 / (rim_px + 1))};
    chamfer_u16(wet, width, height, (uint16_t)cap, dist);
    return true;
}

void sq25__ens_mask(const unsigned char *wet, int width, int height, double buffer_px,
                    double rim_px, float *dist, float *mask)
{
    const float inv_span = (float)(1.0 / (rim_px + 1)), buffer = (float)buffer_px;
    sq25__ens_mask_params p;
    uint16_t *d16 = (uint16_t *)(void *)dist;
    if (!sq25__ens_mask_u16(wet, width, height, buffer_px, rim_px, d16, &p)) {
        mask_float(wet, width, height, buffer, inv_span, dist, mask);
        return;
    }
    for (int r = 0; r < height; r++) {
        const uint16_t *d = d16 + (size_t)(r + 1) * (width + 2) + 1;
        float *m = mask + (size_t)r * width;
        for (int c = 0; c < width; c++) m[c] = sq25__ens_mask_weight((float)d[c], &p);
    }
}

/* ---- member trajectories ----------------------------------------------------------------- */

void sq25__ens_nodes_init(const sq25__ens_flow *fl, float *node_xy)
{
    for (int i = 0; i < fl->nodes_y; i++)
        for (int j = 0; j < fl->nodes_x; j++) {
            node_xy[2 * ((size_t)i * fl->nodes_x + j)] = (float)(j * SQ25__ENS_NODE_STEP);
            node_xy[2 * ((size_t)i * fl->nodes_x + j) + 1] = (float)(i * SQ25__ENS_NODE_STEP);
        }
}

static inline float clampf(float x, float lo, float hi) { return x < lo ? lo : x > hi ? hi : x; }

/* Motion (pixels per step) at (x, y), bilinear, clamped at the edges. */
static inline void flow_at(const sq25__ens_flow *fl, float x, float y, float *mu, float *mv)
{
    const int w = fl->width, h = fl->height;
    x = clampf(x, 0, (float)(w - 1));
    y = clampf(y, 0, (float)(h - 1));
    int x0 = (int)x, y0 = (int)y;
    x0 = x0 > w - 2 ? w - 2 : x0;
    y0 = y0 > h - 2 ? h - 2 : y0;
    const float fx = x - (float)x0, fy = y - (float)y0;
    const size_t i = (size_t)y0 * (size_t)w + (size_t)x0;
    if (fl->uv) {
        const float *a = fl->uv + 2 * i, *b = a + 2 * (size_t)w;
        const float ua = a[0] + fx * (a[2] - a[0]), ub = b[0] + fx * (b[2] - b[0]);
        const float va = a[1] + fx * (a[3] - a[1]), vb = b[1] + fx * (b[3] - b[1]);
        *mu = ua + fy * (ub - ua);
        *mv = va + fy * (vb - va);
        return;
    }
    const float *u = fl->u, *v = fl->v;
    float ua = u[i] + fx * (u[i + 1] - u[i]), ub = u[i + w] + fx * (u[i + w + 1] - u[i + w]);
    float va = v[i] + fx * (v[i + 1] - v[i]), vb = v[i + w] + fx * (v[i + w + 1] - v[i + w]);
    *mu = ua + fy * (ub - ua);
    *mv = va + fy * (vb - va);
}

/* Nodes of a node row advanced together by sq25__ens_departures: their positions, stencils
 * and motion live on the stack, in L1. */
#define NODE_CHUNK 128

typedef struct {
    float x[NODE_CHUNK], y[NODE_CHUNK], fx[NODE_CHUNK], fy[NODE_CHUNK];
    float mu[NODE_CHUNK], mv[NODE_CHUNK];
    int32_t ix[NODE_CHUNK], iy[NODE_CHUNK];
} node_chunk;

/* The motion's stencils at the n points (x, y): flow_at's clamping and weights, without
 * branches (a loop GCC vectorises; the integer clamp at 0 only matters for NaN). */
static void flow_stencils(int w, int h, int n, node_chunk *restrict s)
{
    const float x_hi = (float)(w - 1), y_hi = (float)(h - 1);
    for (int k = 0; k < n; k++) {
        float x = s->x[k] < 0.0f ? 0.0f : s->x[k], y = s->y[k] < 0.0f ? 0.0f : s->y[k];
        x = x > x_hi ? x_hi : x;
        y = y > y_hi ? y_hi : y;
        int32_t x0 = (int32_t)x, y0 = (int32_t)y;
        x0 = x0 > w - 2 ? w - 2 : x0 < 0 ? 0 : x0;
        y0 = y0 > h - 2 ? h - 2 : y0 < 0 ? 0 : y0;
        s->ix[k] = x0;
        s->iy[k] = y0;
        s->fx[k] = x - (float)x0;
        s->fy[k] = y - (float)y0;
    }
}

/* The motion at the n stencils (flow_at's arithmetic), into mu, mv. */
static void flow_gather(const sq25__ens_flow *fl, int n, node_chunk *s)
{
    const size_t w = (size_t)fl->width;
    for (int k = 0; k < n; k++) {
        const float fx = s->fx[k], fy = s->fy[k];
        const size_t i = (size_t)s->iy[k] * w + (size_t)s->ix[k];
        float ua, ub, va, vb;
        if (fl->uv) {
            const float *a = fl->uv + 2 * i, *b = a + 2 * w;
            ua = a[0] + fx * (a[2] - a[0]), ub = b[0] + fx * (b[2] - b[0]);
            va = a[1] + fx * (a[3] - a[1]), vb = b[1] + fx * (b[3] - b[1]);
        } else {
            const float *u = fl->u, *v = fl->v;
            ua = u[i] + fx * (u[i + 1] - u[i]), ub = u[i + w] + fx * (u[i + w + 1] - u[i + w]);
            va = v[i] + fx * (v[i + 1] - v[i]), vb = v[i + w] + fx * (v[i + w + 1] - v[i + w]);
        }
        s->mu[k] = ua + fy * (ub - ua);
        s->mv[k] = va + fy * (vb - va);
    }
}

/* The departure points of n nodes from node column j0 of node row ni, from their motion:
 * p = start - (tau V + par e + perp e_perp), e the unit vector of the motion (none where it
 * is under 1e-6 px per step). */
static void departure_points(int ni, int j0, int n, float tau, float par, float perp,
                             node_chunk *restrict s)
{
    const int step = SQ25__ENS_NODE_STEP;
    const float sy = (float)(ni * step);
    for (int k = 0; k < n; k++) {
        const float mu = s->mu[k], mv = s->mv[k];
        const float speed = sqrtf(mu * mu + mv * mv);
        const float ex = mu / speed, ey = mv / speed; /* used only where speed > 1e-6 */
        float dx = tau * mu, dy = tau * mv;
        dx = speed > 1e-6f ? dx + (par * ex - perp * ey) : dx;
        dy = speed > 1e-6f ? dy + (par * ey + perp * ex) : dy;
        s->x[k] = (float)((j0 + k) * step) - dx;
        s->y[k] = sy - dy;
    }
}

void sq25__ens_departures(const sq25__ens_flow *fl, float *node_xy, double tau_prev, double tau,
                          double par_px, double perp_px)
{
    const int step = SQ25__ENS_NODE_STEP, iterations = tau_prev > 0 ? 1 : 2;
    const float scale = tau_prev > 0 ? (float)(tau / tau_prev) : 0.0f;
    node_chunk s;
    for (int ni = 0; ni < fl->nodes_y; ni++)
        for (int j0 = 0; j0 < fl->nodes_x; j0 += NODE_CHUNK) {
            const int n = fl->nodes_x - j0 < NODE_CHUNK ? fl->nodes_x - j0 : NODE_CHUNK;
            float *p = node_xy + 2 * ((size_t)ni * fl->nodes_x + j0);
            const float sy = (float)(ni * step);
            /* the previous departure points scaled to the new time (fresh: the nodes) */
            for (int k = 0; k < n; k++) {
                const float sx = (float)((j0 + k) * step);
                s.x[k] = sx + (p[2 * k] - sx) * scale;
                s.y[k] = sy + (p[2 * k + 1] - sy) * scale;
            }
            for (int it = 0; it < iterations; it++) {
                flow_stencils(fl->width, fl->height, n, &s);
                flow_gather(fl, n, &s);
                departure_points(ni, j0, n, (float)tau, (float)par_px, (float)perp_px, &s);
            }
            for (int k = 0; k < n; k++) {
                p[2 * k] = s.x[k];
                p[2 * k + 1] = s.y[k];
            }
        }
}

/* Bilinear sample with nodata rules: NaN outside the grid or when a cell with a non-zero
 * weight is NaN. */
static inline float sample_at(const float *f, int w, int h, float x, float y)
{
    if (!(x >= 0 && y >= 0 && x <= (float)(w - 1) && y <= (float)(h - 1))) return NAN;
    int x0 = (int)x, y0 = (int)y;
    x0 = x0 > w - 2 ? w - 2 : x0;
    y0 = y0 > h - 2 ? h - 2 : y0;
    const float fx = x - (float)x0, fy = y - (float)y0;
    const float *p = f + (size_t)y0 * (size_t)w + (size_t)x0;
    float top = (1 - fx) * p[0] + fx * p[1], bottom = (1 - fx) * p[w] + fx * p[w + 1];
    float value = (1 - fy) * top + fy * bottom;
    if (!isnan(value)) return value;
    const float wts[4] = {(1 - fx) * (1 - fy), fx * (1 - fy), (1 - fx) * fy, fx * fy};
    const float vals[4] = {p[0], p[1], p[w], p[w + 1]};
    float sum = 0;
    for (int k = 0; k < 4; k++) {
        if (wts[k] <= 0) continue;
        if (isnan(vals[k])) return NAN;
        sum += wts[k] * vals[k];
    }
    return sum;
}

void sq25__ens_dry_blocks(const float *field, int width, int height, unsigned char *dry)
{
    const int side = 1 << SQ25__ENS_DRY_SHIFT;
    const int bx = (width + side - 1) / side, by = (height + side - 1) / side;
    /* per block: bit 1 = some cell is not exactly 0, bit 2 = some cell is not NaN */
    unsigned char *seen = dry;
    memset(seen, 0, (size_t)bx * (size_t)by);
    for (int r = 0; r < height; r++) {
        const float *row = field + (size_t)r * width;
        const int b_r = r >> SQ25__ENS_DRY_SHIFT;
        for (int c = 0; c < width; c++) {
            const unsigned char bits = (unsigned char)((row[c] != 0.0f) | (isnan(row[c]) ? 0 : 2));
            /* a cell serves the samples of its block and of the blocks before it */
            const int b_c = c >> SQ25__ENS_DRY_SHIFT;
            seen[(size_t)b_r * bx + b_c] |= bits;
            if ((c & (side - 1)) == 0 && b_c > 0) seen[(size_t)b_r * bx + b_c - 1] |= bits;
            if ((r & (side - 1)) == 0 && b_r > 0) {
                seen[(size_t)(b_r - 1) * bx + b_c] |= bits;
                if ((c & (side - 1)) == 0 && b_c > 0) seen[(size_t)(b_r - 1) * bx + b_c - 1] |= bits;
            }
        }
    }
    /* seen 2: every cell exactly 0 (dry); seen 1: every cell NaN (NaN != 0 sets bit 1) */
    for (size_t i = 0; i < (size_t)bx * (size_t)by; i++)
        dry[i] = seen[i] == 2 ? SQ25__ENS_BLOCK_DRY : seen[i] == 1 ? SQ25__ENS_BLOCK_NODATA : 0;
}

/* 9 bits of a bit array from bit p on (fewer at the end of the array: n bits in all). */
static inline unsigned bits9(const unsigned char *bits, size_t p, size_t n)
{
    const size_t byte = p >> 3, last = (n - 1) >> 3;
    unsigned v = bits[byte];
    if (byte + 1 <= last) v |= (unsigned)bits[byte + 1] << 8;
    if (byte + 2 <= last) v |= (unsigned)bits[byte + 2] << 16;
    return (v >> (p & 7)) & 0x1ffu;
}

void sq25__ens_dry_blocks_wet(const unsigned char *wet, const unsigned char *kinds, int width,
                              int height, unsigned char *dry)
{
    const int side = 1 << SQ25__ENS_DRY_SHIFT;
    const int bx = (width + side - 1) / side, by = (height + side - 1) / side;
    const size_t n = (size_t)width * (size_t)height;
    memset(dry, 0, (size_t)bx * (size_t)by); /* first: 1 where a sampled cell is wet */
    /* blocks whose 9 cells of a row lie inside the row: their bits start at bit r width + 8 b,
     * at the row's offset in the byte (r width) & 7, so two bytes hold them */
    const int whole = width >= side + 1 ? (width - side - 1) / side + 1 : 0;
    for (int r = 0; r < height; r++) {
        const int b_r = r >> SQ25__ENS_DRY_SHIFT;
        const int above = (r & (side - 1)) == 0 && b_r > 0; /* the row serves the block above */
        const size_t first = (size_t)r * width;
        const unsigned char *restrict bytes = wet + (first >> 3);
        const unsigned shift = (unsigned)(first & 7);
        unsigned char *restrict row = dry + (size_t)b_r * bx;
        for (int b = 0; b < whole; b++) {
            const unsigned two = (unsigned)bytes[b] | (unsigned)bytes[b + 1] << 8;
            row[b] |= (unsigned char)(((two >> shift) & 0x1ffu) != 0);
        }
        if (above) { /* the row is its block row's first: row[] holds its own cells alone */
            unsigned char *restrict up = dry + (size_t)(b_r - 1) * bx;
            for (int b = 0; b < whole; b++) up[b] |= row[b];
        }
        for (int b = whole; b < bx; b++) {
            const int c0 = b * side, len = width - c0 < side + 1 ? width - c0 : side + 1;
            const unsigned any = bits9(wet, (size_t)r * width + (size_t)c0, n) & ((1u << len) - 1);
            if (!any) continue;
            dry[(size_t)b_r * bx + b] = 1;
            if (above) dry[(size_t)(b_r - 1) * bx + b] = 1;
        }
    }
    for (size_t i = 0; i < (size_t)bx * (size_t)by; i++)
        dry[i] = dry[i] && kinds[i] == SQ25__ENS_BLOCK_DRY ? 0 : kinds[i];
}

#define TILE_MARGIN_PX 0.01f
/* A tile kind beside SQ25__ENS_BLOCK_DRY and _NODATA: sampled, every departure point of its
 * cells inside [0, w-1) x [0, h-1) (no edge rules to apply). 0: sampled, maybe at the edges. */
#define TILE_INSIDE 4
/* The kind of dry blocks under the box [x_lo, x_hi] x [y_lo, y_hi] (pixels): that of its
 * blocks when they are all of one kind and the box is inside the grid, else TILE_INSIDE when
 * the box lies inside [0, w-1) x [0, h-1), else 0. */
static unsigned char box_kind(const unsigned char *dry, int w, int h, float x_lo, float x_hi,
                              float y_lo, float y_hi)
{
    if (!(x_lo >= 0 && y_lo >= 0 && x_hi <= (float)(w - 1) && y_hi <= (float)(h - 1))) return 0;
    const int bx = (w + (1 << SQ25__ENS_DRY_SHIFT) - 1) >> SQ25__ENS_DRY_SHIFT;
    const int bx0 = (int)x_lo >> SQ25__ENS_DRY_SHIFT, bx1 = (int)x_hi >> SQ25__ENS_DRY_SHIFT;
    const int by0 = (int)y_lo >> SQ25__ENS_DRY_SHIFT, by1 = (int)y_hi >> SQ25__ENS_DRY_SHIFT;
    const unsigned char inside = x_hi < (float)(w - 1) && y_hi < (float)(h - 1) ? TILE_INSIDE : 0;
    const unsigned char kind = dry[(size_t)by0 * bx + bx0];
    if (!kind) return inside;
    for (int byy = by0; byy <= by1; byy++)
        for (int bxx = bx0; bxx <= bx1; bxx++)
            if (dry[(size_t)byy * bx + bxx] != kind) return inside;
    return kind;
}

/* Tiles of a node row whose boxes are made together (stack arrays). */
#define TILE_CHUNK 128

static inline float min2f(float a, float b) { return b < a ? b : a; }
static inline float max2f(float a, float b) { return b > a ? b : a; }

/* tiles[j] for every tile of node row i (the cells between node rows i, i+1 and node
 * columns j, j+1): SQ25__ENS_BLOCK_DRY or _NODATA when the departure points of all its cells
 * lie in dry blocks of that kind inside the grid, else TILE_INSIDE when they all lie inside
 * [0, w-1) x [0, h-1), else 0. A cell's displacement is a
 * bilinear mix of the tile's corner displacements, so its departure point lies in their
 * bounding box shifted by the cell's position; the box is widened by TILE_MARGIN_PX, far
 * more than the float rounding of the per-row arithmetic (under 1e-3 px). The boxes of a
 * chunk of tiles come from a vectorised loop, their blocks from box_kind. */
static void tile_kinds(const sq25__ens_flow *fl, const float *node_xy, const unsigned char *dry,
                       int i, unsigned char *tiles)
{
    const int w = fl->width, h = fl->height, step = SQ25__ENS_NODE_STEP;
    const int tiles_x = (w + step - 1) / step, i1 = i + 1 < fl->nodes_y ? i + 1 : i;
    const float *restrict n0 = node_xy + 2 * (size_t)i * fl->nodes_x;
    const float *restrict n1 = node_xy + 2 * (size_t)i1 * fl->nodes_x;
    const float y0 = (float)(i * step), y1 = (float)(i1 * step);
    const int r0 = i * step, r1 = (r0 + step < h ? r0 + step : h) - 1;
    /* tiles with a node column to their right (all, or all but the last) */
    const int paired = tiles_x < fl->nodes_x - 1 ? tiles_x : fl->nodes_x - 1;
    float x_lo[TILE_CHUNK], x_hi[TILE_CHUNK], y_lo[TILE_CHUNK], y_hi[TILE_CHUNK];
    for (int j0 = 0; j0 < paired; j0 += TILE_CHUNK) {
        const int n = paired - j0 < TILE_CHUNK ? paired - j0 : TILE_CHUNK;
        for (int t = 0; t < n; t++) {
            const int j = j0 + t, c0 = j * step, c1 = (c0 + step < w ? c0 + step : w) - 1;
            const float xa = (float)(j * step), xb = (float)((j + 1) * step);
            const float a = n0[2 * j] - xa, b = n0[2 * j + 2] - xb;
            const float c = n1[2 * j] - xa, d = n1[2 * j + 2] - xb;
            const float e = n0[2 * j + 1] - y0, f = n0[2 * j + 3] - y0;
            const float g = n1[2 * j + 1] - y1, k = n1[2 * j + 3] - y1;
            x_lo[t] = (float)c0 + min2f(min2f(a, b), min2f(c, d)) - TILE_MARGIN_PX;
            x_hi[t] = (float)c1 + max2f(max2f(a, b), max2f(c, d)) + TILE_MARGIN_PX;
            y_lo[t] = (float)r0 + min2f(min2f(e, f), min2f(g, k)) - TILE_MARGIN_PX;
            y_hi[t] = (float)r1 + max2f(max2f(e, f), max2f(g, k)) + TILE_MARGIN_PX;
        }
        for (int t = 0; t < n; t++)
            tiles[j0 + t] = box_kind(dry, w, h, x_lo[t], x_hi[t], y_lo[t], y_hi[t]);
    }
    for (int j = paired; j < tiles_x; j++) { /* a last tile on the last node column */
        const int c0 = j * step, c1 = w - 1;
        const float a = n0[2 * j] - (float)c0, c = n1[2 * j] - (float)c0;
        const float e = n0[2 * j + 1] - y0, g = n1[2 * j + 1] - y1;
        tiles[j] = box_kind(dry, w, h, (float)c0 + min2f(a, c) - TILE_MARGIN_PX,
                            (float)c1 + max2f(a, c) + TILE_MARGIN_PX,
                            (float)r0 + min2f(e, g) - TILE_MARGIN_PX,
                            (float)r1 + max2f(e, g) + TILE_MARGIN_PX);
    }
}

/* Cells of a row sampled together by sq25__ens_sample (a multiple of the node step): their
 * departure points and bilinear stencils live on the stack, in L1. */
#define SAMPLE_CHUNK 256

/* One chunk's departure points and stencils: cell k's point (x[k], y[k]), its stencil's
 * top-left cell (at) and weights (fx, fy); edge[k] = 1 where the point is not inside
 * [0, w-1) x [0, h-1) (then sample_at decides, with its edge rules). */
typedef struct {
    float x[SAMPLE_CHUNK], y[SAMPLE_CHUNK], fx[SAMPLE_CHUNK], fy[SAMPLE_CHUNK];
    int32_t at[SAMPLE_CHUNK], edge[SAMPLE_CHUNK]; /* at: the top-left cell's index, iy w + ix */
    /* the stencils' values in pairs (left, right: one 8-byte move each): top row, bottom row */
    float top[2 * SAMPLE_CHUNK], bottom[2 * SAMPLE_CHUNK];
} sample_chunk;

/* Departure points of the tiles cells c0 .. c0 + tiles * step - 1 of row `row` (c0 on a node
 * column), the displacements dxy (per node column, interleaved) interpolated along the row:
 * (c + dx_a) + k/step (dx_b - dx_a), term by term as sample_at's callers always did, so
 * that the points are the same floats. The step cells of a tile make one vector. */
typedef struct {
    float ax, ddx, ay, ddy; /* x displacement at the tile's left and its change across it; y */
} tile_motion;

/* The row's displacements at node column j and the next (the same at the last column), the
 * row's index folded into y. */
static inline tile_motion motion_of_tile(const float *dxy, int nodes_x, int j, float row)
{
    const float *a = dxy + 2 * j, *b = j + 1 < nodes_x ? a + 2 : a;
    return (tile_motion){a[0], b[0] - a[0], row + a[1], b[1] - a[1]};
}

static void chunk_points(const float *dxy, int nodes_x, int c0, int tiles, float row,
                         sample_chunk *s)
{
    const int step = SQ25__ENS_NODE_STEP, j0 = c0 / step;
    for (int t = 0; t < tiles; t++) {
        const tile_motion m = motion_of_tile(dxy, nodes_x, j0 + t, row);
        const float ax = m.ax, ddx = m.ddx, ay = m.ay, ddy = m.ddy;
        const int c = c0 + t * step;
        for (int k = 0; k < step; k++) {
            const float frac = (float)k / (float)step;
            s->x[t * step + k] = ((float)(c + k) + ax) + frac * ddx;
            s->y[t * step + k] = ay + frac * ddy;
        }
    }
}

/* The stencils of n points, without branches (a loop GCC vectorises). Inside the grid the
 * stencil is sample_at's; elsewhere the point is clamped to a stencil inside the grid (x_top,
 * y_top: the largest floats under w - 1, h - 1; integer clamp for NaN), whose value
 * fix_samples replaces. */
static void chunk_stencils(int w, int h, int n, float x_top, float y_top,
                           sample_chunk *restrict s)
{
    const float x_end = (float)(w - 1), y_end = (float)(h - 1);
    for (int k = 0; k < n; k++) {
        const float x = s->x[k], y = s->y[k];
        s->edge[k] = ((x >= 0.0f) & (x < x_end) & (y >= 0.0f) & (y < y_end)) ^ 1;
        float xs = x < 0.0f ? 0.0f : x, ys = y < 0.0f ? 0.0f : y;
        xs = xs > x_top ? x_top : xs;
        ys = ys > y_top ? y_top : ys;
        int32_t xi = (int32_t)xs, yi = (int32_t)ys;
        xi = xi < 0 ? 0 : xi;
        yi = yi < 0 ? 0 : yi;
        s->at[k] = yi * w + xi;
        s->fx[k] = xs - (float)xi;
        s->fy[k] = ys - (float)yi;
    }
}

/* chunk_stencils for points all inside [0, w-1) x [0, h-1), where its clamps change nothing
 * and no point is at an edge (edge[] is left as it was). */
static void chunk_stencils_inside(int w, int n, sample_chunk *restrict s)
{
    for (int k = 0; k < n; k++) {
        const float x = s->x[k], y = s->y[k];
        const int32_t xi = (int32_t)x, yi = (int32_t)y;
        s->at[k] = yi * w + xi;
        s->fx[k] = x - (float)xi;
        s->fy[k] = y - (float)yi;
    }
}

/* chunk_points then chunk_stencils_inside in one pass, for grids of at most 2^24 cells: the
 * points are the same floats, kept in registers (inside tiles need them for nothing else),
 * and the stencil's index is made in float, exact under 2^24 (SSE2 has no 32-bit integer
 * product). */
static void chunk_stencils_direct(const float *dxy, int nodes_x, int c0, int tiles, float row,
                                  int w, sample_chunk *restrict s)
{
    const int step = SQ25__ENS_NODE_STEP, j0 = c0 / step;
    const float wf = (float)w;
    for (int t = 0; t < tiles; t++) {
        const tile_motion m = motion_of_tile(dxy, nodes_x, j0 + t, row);
        const float ax = m.ax, ddx = m.ddx, ay = m.ay, ddy = m.ddy;
        const int c = c0 + t * step;
        for (int k = 0; k < step; k++) {
            const float frac = (float)k / (float)step;
            const float x = ((float)(c + k) + ax) + frac * ddx, y = ay + frac * ddy;
            const float xf = (float)(int32_t)x, yf = (float)(int32_t)y;
            s->at[t * step + k] = (int32_t)(yf * wf + xf);
            s->fx[t * step + k] = x - xf;
            s->fy[t * step + k] = y - yf;
        }
    }
}

/* Bilinear samples of the n stencils, sample_at's arithmetic without its tests: the values
 * gathered in a scalar loop, the weights applied in a vectorised one. */
static int32_t gather_samples(const float *f, int w, sample_chunk *restrict s, int n,
                              float *restrict out)
{
    int32_t nans = 0;
    for (int k = 0; k < n; k++) {
        const float *p = f + s->at[k];
        memcpy(s->top + 2 * k, p, 2 * sizeof *p);
        memcpy(s->bottom + 2 * k, p + w, 2 * sizeof *p);
    }
    for (int k = 0; k < n; k++) {
        const float fx = s->fx[k], fy = s->fy[k];
        const float top = (1 - fx) * s->top[2 * k] + fx * s->top[2 * k + 1];
        const float bottom = (1 - fx) * s->bottom[2 * k] + fx * s->bottom[2 * k + 1];
        const float value = (1 - fy) * top + fy * bottom;
        out[k] = value;
        nans |= isunordered(value, value);
    }
    return nans;
}

/* sample_at's rule for a NaN sample at a point inside the grid, on the chunk's stencils: the
 * weighted sum of the values of non-zero weight in sample_at's order, NaN when one of them
 * is NaN. Vectorised: out[k], k0 <= k < k1, replaced where it is NaN (edge points are redone
 * after). */
static void fix_nan_samples(sample_chunk *restrict s, int k0, int k1, float *restrict out)
{
    for (int k = k0; k < k1; k++) {
        const float fx = s->fx[k], fy = s->fy[k];
        const float w0 = (1 - fx) * (1 - fy), w1 = fx * (1 - fy), w2 = (1 - fx) * fy, w3 = fx * fy;
        const float v0 = s->top[2 * k], v1 = s->top[2 * k + 1];
        const float v2 = s->bottom[2 * k], v3 = s->bottom[2 * k + 1];
        const int32_t bad = ((w0 > 0) & isunordered(v0, v0)) | ((w1 > 0) & isunordered(v1, v1)) |
                            ((w2 > 0) & isunordered(v2, v2)) | ((w3 > 0) & isunordered(v3, v3));
        float sum = 0;
        sum = w0 > 0 ? sum + w0 * v0 : sum;
        sum = w1 > 0 ? sum + w1 * v1 : sum;
        sum = w2 > 0 ? sum + w2 * v2 : sum;
        sum = w3 > 0 ? sum + w3 * v3 : sum;
        const float fixed = bad ? NAN : sum;
        out[k] = isunordered(out[k], out[k]) ? fixed : out[k];
    }
}

/* The cells the plain stencil cannot decide: NaN samples (a NaN neighbour of weight 0 does
 * not count there) by fix_nan_samples, points at or beyond the edges by sample_at with its
 * rules (inside: no point at the edges; nans: some sample in out is NaN). */
static void fix_samples(const float *f, int w, int h, sample_chunk *s, int n, bool inside,
                        int32_t nans, float *out)
{
    int32_t edges = 0;
    if (!inside)
        for (int k = 0; k < n; k++) edges |= s->edge[k];
    /* NaN samples gather where the rain's domain ends: only the node step's groups of cells
     * that hold one are redone (a whole group tested in a loop of known length) */
    enum { step = SQ25__ENS_NODE_STEP };
    for (int k0 = 0; nans && k0 < n; k0 += step) {
        const int k1 = k0 + step < n ? k0 + step : n;
        int32_t here = 0;
        if (k1 - k0 == step)
            for (int k = 0; k < step; k++) here |= isunordered(out[k0 + k], out[k0 + k]);
        else
            for (int k = k0; k < k1; k++) here |= isunordered(out[k], out[k]);
        if (here) fix_nan_samples(s, k0, k1, out);
    }
    if (edges)
        for (int k = 0; k < n; k++)
            if (s->edge[k]) out[k] = sample_at(f, w, h, s->x[k], s->y[k]);
}

/* Cells c0 .. c0 + n - 1 of row r (n <= SAMPLE_CHUNK, c0 on a node column) sampled; inside:
 * their tiles are TILE_INSIDE. */
static void sample_cells(const sq25__ens_flow *fl, const float *row_dxy, const float *field,
                         int r, int c0, int n, bool inside, float x_top, float y_top,
                         sample_chunk *s, float *o)
{
    const int w = fl->width, h = fl->height, step = SQ25__ENS_NODE_STEP;
    const int tiles = (n + step - 1) / step;
    if (inside && (size_t)w * (size_t)h <= (size_t)1 << 24)
        chunk_stencils_direct(row_dxy, fl->nodes_x, c0, tiles, (float)r, w, s);
    else {
        chunk_points(row_dxy, fl->nodes_x, c0, tiles, (float)r, s);
        if (inside) chunk_stencils_inside(w, n, s);
        else chunk_stencils(w, h, n, x_top, y_top, s);
    }
    const int32_t nans = gather_samples(field, w, s, n, o + c0);
    fix_samples(field, w, h, s, n, inside, nans, o + c0);
}

/* acc[c] += dt * now[c] (before NULL) or dt * before[c] + dt * now[c], over one row: the
 * expression move_member's own pass had, so the sums are the same floats. */
static void accumulate_row(float *restrict acc, const float *restrict before,
                           const float *restrict now, int n, float dt)
{
    if (before)
        for (int c = 0; c < n; c++) acc[c] += dt * before[c] + dt * now[c];
    else
        for (int c = 0; c < n; c++) acc[c] += dt * now[c];
}

void sq25__ens_sample(const sq25__ens_flow *fl, const float *node_xy, const float *field,
                      const unsigned char *dry, float *row_dxy, float *out)
{
    sq25__ens_sample_acc(fl, node_xy, field, dry, row_dxy, out, NULL);
}

void sq25__ens_sample_acc(const sq25__ens_flow *fl, const float *node_xy, const float *field,
                          const unsigned char *dry, float *row_dxy, float *out,
                          const sq25__ens_accum *acc)
{
    const int w = fl->width, h = fl->height, step = SQ25__ENS_NODE_STEP;
    const int tiles_x = (w + step - 1) / step, chunk_tiles = SAMPLE_CHUNK / step;
    /* per node column of the current node row: the tile's kind (after the displacements) */
    unsigned char *tiles = (unsigned char *)(row_dxy + 2 * (size_t)fl->nodes_x);
    /* a grid under 2 x 2 has no bilinear stencil, and the stencils' 32-bit indices need fewer
     * than 2^31 cells: else every cell by sample_at's rules */
    const int stencils = w >= 2 && h >= 2 && (size_t)w * (size_t)h <= (size_t)INT32_MAX;
    const float x_top = nextafterf((float)(w - 1), 0.0f), y_top = nextafterf((float)(h - 1), 0.0f);
    sample_chunk s;
    for (int r = 0; r < h; r++) {
        if (r % step == 0 && stencils) tile_kinds(fl, node_xy, dry, r / step, tiles);
        else if (r % step == 0) memset(tiles, 0, (size_t)tiles_x);
        /* node displacements interpolated to this row, per node column */
        const int i = r / step;
        const float fy = (float)(r % step) / (float)step;
        const float *n0 = node_xy + 2 * (size_t)i * fl->nodes_x;
        const float *n1 = i + 1 < fl->nodes_y ? n0 + 2 * fl->nodes_x : n0;
        const float y0 = (float)(i * step), y1 = n1 == n0 ? y0 : (float)((i + 1) * step);
        for (int j = 0; j < fl->nodes_x; j++) {
            const float x0 = (float)(j * step);
            const float dx0 = n0[2 * j] - x0, dx1 = n1[2 * j] - x0;
            const float dy0 = n0[2 * j + 1] - y0, dy1 = n1[2 * j + 1] - y1;
            row_dxy[2 * j] = dx0 + fy * (dx1 - dx0);
            row_dxy[2 * j + 1] = dy0 + fy * (dy1 - dy0);
        }
        float *o = out + (size_t)r * w;
        /* runs of tiles of one kind: uniform ones filled with what sampling gives there (0 or
         * NaN), the others sampled a chunk at a time */
        for (int j = 0; j < tiles_x;) {
            const unsigned char kind = tiles[j];
            const bool fill = kind == SQ25__ENS_BLOCK_DRY || kind == SQ25__ENS_BLOCK_NODATA;
            int end = j + 1;
            while (end < tiles_x && tiles[end] == kind && (fill || end - j < chunk_tiles)) end++;
            const int c0 = j * step, c1 = end * step < w ? end * step : w;
            if (fill) {
                const float v = kind == SQ25__ENS_BLOCK_DRY ? 0.0f : NAN;
                for (int c = c0; c < c1; c++) o[c] = v;
            } else if (stencils)
                sample_cells(fl, row_dxy, field, r, c0, c1 - c0, kind == TILE_INSIDE, x_top, y_top,
                             &s, o);
            else
                for (int c = c0; c < c1; c++) {
                    const float fx = (float)(c % step) / (float)step;
                    const float *a = row_dxy + 2 * (c / step), *b = c / step + 1 < fl->nodes_x ? a + 2 : a;
                    o[c] = sample_at(field, w, h, (float)c + a[0] + fx * (b[0] - a[0]),
                                     (float)r + a[1] + fx * (b[1] - a[1]));
                }
            j = end;
        }
        if (acc) /* the row just written, still in L1 */
            accumulate_row(acc->acc_mm + (size_t)r * w,
                           acc->before ? acc->before + (size_t)r * w : NULL, o, w, acc->dt_h);
    }
}

/* Mean of the valid values of in over a (2r+1)^2 window around every cell (summed-area
 * tables), NaN where the cell itself is NaN. */
int sq25__ens_window_mean(sq25_ctx *ctx, const float *in, int w, int h, int r, float *out)
{
    const size_t stride = (size_t)w + 1;
    double *sum = sq25__calloc(ctx, stride * ((size_t)h + 1), sizeof *sum);
    double *cnt = sq25__calloc(ctx, stride * ((size_t)h + 1), sizeof *cnt);
    if (!sum || !cnt) {
        sq25__free(ctx, sum);
        sq25__free(ctx, cnt);
        return SQ25_ERR_NOMEM;
    }
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            const float v = in[(size_t)y * w + x];
            const size_t i = (size_t)(y + 1) * stride + x + 1;
            sum[i] = (isnan(v) ? 0 : v) + sum[i - 1] + sum[i - stride] - sum[i - stride - 1];
            cnt[i] = (isnan(v) ? 0 : 1) + cnt[i - 1] + cnt[i - stride] - cnt[i - stride - 1];
        }
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            const int x0 = x - r < 0 ? 0 : x - r, x1 = x + r + 1 > w ? w : x + r + 1;
            const int y0 = y - r < 0 ? 0 : y - r, y1 = y + r + 1 > h ? h : y + r + 1;
            const size_t a = (size_t)y1 * stride + x1, b = (size_t)y0 * stride + x1;
            const size_t c = (size_t)y1 * stride + x0, d = (size_t)y0 * stride + x0;
            const double n = cnt[a] - cnt[b] - cnt[c] + cnt[d];
            out[(size_t)y * w + x] = isnan(in[(size_t)y * w + x]) || n <= 0
                                         ? NAN
                                         : (float)((sum[a] - sum[b] - sum[c] + sum[d]) / n);
        }
    sq25__free(ctx, sum);
    sq25__free(ctx, cnt);
    return SQ25_OK;
}
