/* warn_targets.c -- named points and lines to warn: the list, CSV and GeoJSON readers. */
#include "warn_internal.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TARGET_FILE_MAX_BYTES ((long)64 * 1024 * 1024)
#define CSV_MAX_COLUMNS 8

/* ---- the list ---- */

int sq25_targets_create(sq25_ctx *ctx, sq25_targets **out)
{
    if (!ctx) return SQ25_ERR_INVALID_ARG;
    if (!out) return sq25__fail(ctx, SQ25_ERR_INVALID_ARG, "sq25_targets_create: NULL out");
    *out = sq25__calloc(ctx, 1, sizeof **out);
    if (!*out) return SQ25_ERR_NOMEM;
    (*out)->ctx = ctx;
    return sq25__ok(ctx);
}

static void target_clear(sq25_ctx *ctx, sq25__target *t)
{
    sq25__free(ctx, t->id);
    sq25__free(ctx, t->name);
    sq25__free(ctx, t->lonlat);
}

void sq25_targets_destroy(sq25_targets *t)
{
    if (!t) return;
    for (size_t i = 0; i < t->count; i++) target_clear(t->ctx, &t->items[i]);
    for (size_t i = 0; i < t->problem_count; i++) sq25__free(t->ctx, t->problems[i]);
    sq25__free(t->ctx, t->items);
    sq25__free(t->ctx, t->problems);
    sq25__free(t->ctx, t);
}

/* Grow an array of elem_size-byte items to hold at least need items. */
static int grow(sq25_ctx *ctx, void **items, size_t *cap, size_t need, size_t elem_size)
{
    if (need <= *cap) return SQ25_OK;
    size_t new_cap = *cap ? *cap * 2 : 8;
    while (new_cap < need) new_cap *= 2;
    void *bigger = sq25__malloc(ctx, new_cap * elem_size);
    if (!bigger) return SQ25_ERR_NOMEM;
    if (*cap) memcpy(bigger, *items, *cap * elem_size);
    sq25__free(ctx, *items);
    *items = bigger;
    *cap = new_cap;
    return SQ25_OK;
}

/* Why a target is not acceptable, or NULL if it is. */
static const char *target_problem(const char *id, size_t n, const double *lonlat, double p)
{
    if (!id || !id[0]) return "empty id";
    if (n < 1) return "no coordinates";
    for (size_t k = 0; k < n; k++) {
        if (!isfinite(lonlat[2 * k]) || lonlat[2 * k] < -180 || lonlat[2 * k] > 180)
            return "longitude outside -180..180";
        if (!isfinite(lonlat[2 * k + 1]) || lonlat[2 * k + 1] < -90 || lonlat[2 * k + 1] > 90)
            return "latitude outside -90..90";
    }
    if (!isnan(p) && !(p > 0 && p <= 1)) return "prob_threshold outside (0, 1]";
    return NULL;
}

static int add_target(sq25_targets *t, const char *id, const char *name, size_t n,
                      const double *lonlat, double p)
{
    const char *why = target_problem(id, n, lonlat, p);
    if (why) return sq25__fail(t->ctx, SQ25_ERR_RANGE, "target \"%.60s\": %s", id ? id : "", why);
    int rc = grow(t->ctx, (void **)&t->items, &t->cap, t->count + 1, sizeof *t->items);
    if (rc) return rc;
    sq25__target item = {0};
    item.id = sq25__strdup(t->ctx, id);
    item.name = sq25__strdup(t->ctx, name ? name : "");
    item.lonlat = sq25__malloc(t->ctx, 2 * n * sizeof(double));
    if (!item.id || !item.name || !item.lonlat) {
        target_clear(t->ctx, &item);
        return SQ25_ERR_NOMEM;
    }
    memcpy(item.lonlat, lonlat, 2 * n * sizeof(double));
    item.vertex_count = n;
    item.prob_threshold = p;
    t->items[t->count++] = item;
    return sq25__ok(t->ctx);
}

int sq25_targets_add_point(sq25_targets *t, const char *id, const char *name, double lon,
                           double lat, double prob_threshold)
{
    if (!t || !id) return SQ25_ERR_INVALID_ARG;
    const double lonlat[2] = {lon, lat};
    return add_target(t, id, name, 1, lonlat, prob_threshold);
}

int sq25_targets_add_line(sq25_targets *t, const char *id, const char *name,
                          size_t vertex_count, const double *lonlat, double prob_threshold)
{
    if (!t || !id || !lonlat || vertex_count < 2) return SQ25_ERR_INVALID_ARG;
    return add_target(t, id, name, vertex_count, lonlat, prob_threshold);
}

size_t sq25_targets_count(const sq25_targets *t) { return t ? t->count : 0; }

const char *sq25_targets_id(const sq25_targets *t, size_t i)
{
    return t && i < t->count ? t->items[i].id : "";
}

const char *sq25_targets_name(const sq25_targets *t, size_t i)
{
    return t && i < t->count ? t->items[i].name : "";
}

size_t sq25_targets_vertex_count(const sq25_targets *t, size_t i)
{
    return t && i < t->count ? t->items[i].vertex_count : 0;
}

int sq25_targets_vertex(const sq25_targets *t, size_t i, size_t k, double *lon, double *lat)
{
    if (!t || i >= t->count || k >= t->items[i].vertex_count) return SQ25_ERR_RANGE;
    if (lon) *lon = t->items[i].lonlat[2 * k];
    if (lat) *lat = t->items[i].lonlat[2 * k + 1];
    return SQ25_OK;
}

size_t sq25_targets_problem_count(const sq25_targets *t) { return t ? t->problem_count : 0; }

const char *sq25_targets_problem(const sq25_targets *t, size_t i)
{
    return t && i < t->problem_count ? t->problems[i] : "";
}

int sq25__targets_clone(const sq25_targets *src, sq25_targets **out)
{
    int rc = sq25_targets_create(src->ctx, out);
    for (size_t i = 0; rc == SQ25_OK && i < src->count; i++) {
        const sq25__target *s = &src->items[i];
        rc = add_target(*out, s->id, s->name, s->vertex_count, s->lonlat, s->prob_threshold);
    }
    if (rc) {
        sq25_targets_destroy(*out);
        *out = NULL;
    }
    return rc;
}

int sq25_targets_select(const sq25_targets *t, size_t n, const size_t *indices,
                        sq25_targets **out)
{
    if (!t || !out || (n && !indices)) return SQ25_ERR_INVALID_ARG;
    *out = NULL;
    for (size_t k = 0; k < n; k++)
        if (indices[k] >= t->count)
            return sq25__fail(t->ctx, SQ25_ERR_RANGE, "target index %zu of %zu targets",
                              indices[k], t->count);
    int rc = sq25_targets_create(t->ctx, out);
    for (size_t k = 0; rc == SQ25_OK && k < n; k++) {
        const sq25__target *s = &t->items[indices[k]];
        rc = add_target(*out, s->id, s->name, s->vertex_count, s->lonlat, s->prob_threshold);
    }
    if (rc) {
        sq25_targets_destroy(*out);
        *out = NULL;
    }
    return rc;
}

/* Record a rejected row: "path:line: reason", also logged as a warning. */
static int add_problem(sq25_targets *t, const char *path, int line, const char *reason)
{
    int rc = grow(t->ctx, (void **)&t->problems, &t->problem_cap, t->problem_count + 1,
                  sizeof *t->problems);
    if (rc) return rc;
    size_t cap = strlen(path) + strlen(reason) + 32;
    char *text = sq25__malloc(t->ctx, cap);
    if (!text) return SQ25_ERR_NOMEM;
    snprintf(text, cap, "%s:%d: %s", path, line, reason);
    t->problems[t->problem_count++] = text;
    sq25__log(t->ctx, SQ25_LOG_WARNING, "%s", text);
    return SQ25_OK;
}

/* Add a target read from a file, or record why not. Only out-of-memory is fatal. */
static int add_or_record(sq25_targets *t, const char *path, int line, const char *id,
                         const char *name, size_t n, const double *lonlat, double p)
{
    for (size_t i = 0; id && i < t->count; i++) {
        if (strcmp(t->items[i].id, id) == 0) {
            char why[160];
            snprintf(why, sizeof why, "duplicate id \"%.60s\"", id);
            return add_problem(t, path, line, why);
        }
    }
    const char *why = target_problem(id, n, lonlat, p);
    if (why) return add_problem(t, path, line, why);
    return add_target(t, id, name, n, lonlat, p);
}

/* ---- file reading ---- */

static int slurp(sq25_ctx *ctx, const char *path, char **text)
{
    *text = NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return sq25__fail(ctx, errno == ENOENT   ? SQ25_ERR_FILE_NOT_FOUND
                               : errno == EACCES ? SQ25_ERR_PERMISSION
                                                 : SQ25_ERR_READ,
                          "%s: cannot open: %s", path, strerror(errno));
    long size = -1;
    if (fseek(fp, 0, SEEK_END) == 0) size = ftell(fp);
    if (size < 0 || size > TARGET_FILE_MAX_BYTES || fseek(fp, 0, SEEK_SET) != 0) {
        fclose(fp);
        return sq25__fail(ctx, size < 0 ? SQ25_ERR_READ : SQ25_ERR_SIZE_ABSURD,
                          "%s: cannot read (size %ld bytes)", path, size);
    }
    if (size == 0) {
        fclose(fp);
        return sq25__fail(ctx, SQ25_ERR_FILE_EMPTY, "%s: file is empty", path);
    }
    char *buf = sq25__malloc(ctx, (size_t)size + 1);
    if (!buf) {
        fclose(fp);
        return SQ25_ERR_NOMEM;
    }
    size_t got = fread(buf, 1, (size_t)size, fp);
    fclose(fp);
    if (got != (size_t)size) {
        sq25__free(ctx, buf);
        return sq25__fail(ctx, SQ25_ERR_READ, "%s: short read", path);
    }
    buf[size] = '\0';
    if (strlen(buf) != (size_t)size) {
        sq25__free(ctx, buf);
        return sq25__fail(ctx, SQ25_ERR_PARSE, "%s: binary data (NUL byte) in a text file",
                          path);
    }
    *text = buf;
    return SQ25_OK;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s)) s++;
    char *end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1])) *--end = '\0';
    return s;
}

/* Split one CSV line in place into at most CSV_MAX_COLUMNS fields; double-quoted fields may
 * hold commas and "" for a quote. Returns the number of fields, or -1 for a bad quote. */
static int csv_split(char *line, char **fields)
{
    int n = 0;
    char *p = line;
    for (;;) {
        if (n == CSV_MAX_COLUMNS) return n + 1;
        while (*p == ' ' || *p == '\t') p++;
        if (*p == '"') {
            char *out = ++p, *start = out;
            for (;;) {
                if (!*p) return -1;
                if (*p == '"' && p[1] == '"') { *out++ = '"'; p += 2; continue; }
                if (*p == '"') { p++; break; }
                *out++ = *p++;
            }
            while (*p == ' ' || *p == '\t') p++;
            if (*p && *p != ',') return -1;
            char *next = *p ? p + 1 : p;
            bool more = *p == ',';
            *out = '\0';
            fields[n++] = start;
            if (!more) return n;
            p = next;
        } else {
            char *comma = strchr(p, ',');
            fields[n++] = p;
            if (!comma) { trim(p); return n; }
            *comma = '\0';
            trim(p);
            p = comma + 1;
        }
    }
}

static bool parse_double(const char *s, double *v)
{
    char *end = NULL;
    errno = 0;
    *v = strtod(s, &end);
    return end != s && *trim(end) == '\0' && errno != ERANGE;
}

static bool csv_header_ok(char **f, int n)
{
    static const char *const want[4] = {"id", "lon", "lat", "name"};
    if (n < 4 || n > 5) return false;
    for (int i = 0; i < 4; i++)
        if (strcasecmp(trim(f[i]), want[i]) != 0) return false;
    return n == 4 || strcasecmp(trim(f[4]), "prob_threshold") == 0;
}

static int csv_row(sq25_targets *t, const char *path, int line, char **f, int n, int columns)
{
    double lon, lat, p = NAN;
    char why[160];
    if (n < 0) return add_problem(t, path, line, "unbalanced double quote");
    if (n != columns) {
        snprintf(why, sizeof why, "%d columns, expected %d", n, columns);
        return add_problem(t, path, line, why);
    }
    if (!parse_double(f[1], &lon)) {
        snprintf(why, sizeof why, "longitude \"%.40s\" is not a number", f[1]);
        return add_problem(t, path, line, why);
    }
    if (!parse_double(f[2], &lat)) {
        snprintf(why, sizeof why, "latitude \"%.40s\" is not a number", f[2]);
        return add_problem(t, path, line, why);
    }
    if (columns == 5 && f[4][0] && !parse_double(f[4], &p)) {
        snprintf(why, sizeof why, "prob_threshold \"%.40s\" is not a number", f[4]);
        return add_problem(t, path, line, why);
    }
    const double lonlat[2] = {lon, lat};
    return add_or_record(t, path, line, f[0], f[3], 1, lonlat, p);
}

static int read_csv(sq25_targets *t, const char *path, char *text)
{
    int line = 0, columns = 0, rc = SQ25_OK;
    char *next = text;
    while (next && rc == SQ25_OK) {
        char *s = next;
        char *nl = strchr(s, '\n');
        next = nl ? nl + 1 : NULL;
        if (nl) *nl = '\0';
        line++;
        s = trim(s);
        if (!*s || *s == '#') continue;
        char *f[CSV_MAX_COLUMNS];
        int n = csv_split(s, f);
        if (!columns) {
            if (!csv_header_ok(f, n))
                return sq25__fail(t->ctx, SQ25_ERR_PARSE,
                                  "%s:%d: header must be id,lon,lat,name[,prob_threshold]", path,
                                  line);
            columns = n;
            continue;
        }
        rc = csv_row(t, path, line, f, n, columns);
    }
    return rc;
}

/* ---- GeoJSON ---- */

static bool json_lonlat(const sq25__json *pos, double *lon, double *lat)
{
    if (!pos || pos->type != SQ25__JARR || sq25__json_length(pos) < 2) return false;
    const sq25__json *a = pos->child, *b = a->next;
    if (a->type != SQ25__JNUM || b->type != SQ25__JNUM) return false;
    *lon = a->num;
    *lat = b->num;
    return true;
}

/* The id property as text: a string, or a number printed as an integer when it is one. */
static const char *feature_id(const sq25__json *props, char *buf, size_t cap)
{
    const sq25__json *id = sq25__json_get(props, "id");
    if (id && id->type == SQ25__JSTR) return id->str;
    if (id && id->type == SQ25__JNUM) {
        snprintf(buf, cap, "%.15g", id->num);
        return buf;
    }
    return NULL;
}

/* Coordinates of a Point or LineString into a new array; returns the reason when bad. */
static const char *feature_coordinates(sq25_ctx *ctx, const sq25__json *geom, double **lonlat,
                                       size_t *n)
{
    *lonlat = NULL;
    *n = 0;
    const sq25__json *type = sq25__json_get(geom, "type");
    const sq25__json *coords = sq25__json_get(geom, "coordinates");
    if (!type || type->type != SQ25__JSTR || !coords) return "geometry without type or coordinates";
    bool point = strcmp(type->str, "Point") == 0;
    if (!point && strcmp(type->str, "LineString") != 0) return "geometry is not a Point or LineString";
    size_t count = point ? 1 : sq25__json_length(coords);
    if (!point && (coords->type != SQ25__JARR || count < 2)) return "LineString needs 2 or more positions";
    double *ll = sq25__malloc(ctx, 2 * count * sizeof(double));
    if (!ll) return "out of memory";
    const sq25__json *pos = point ? coords : coords->child;
    for (size_t k = 0; k < count; k++, pos = point ? NULL : pos->next) {
        if (!json_lonlat(pos, &ll[2 * k], &ll[2 * k + 1])) {
            sq25__free(ctx, ll);
            return "position is not [lon, lat]";
        }
    }
    *lonlat = ll;
    *n = count;
    return NULL;
}

static int geojson_feature(sq25_targets *t, const char *path, const sq25__json *feat)
{
    const sq25__json *props = sq25__json_get(feat, "properties");
    const sq25__json *geom = sq25__json_get(feat, "geometry");
    char idbuf[40];
    const char *id = feature_id(props, idbuf, sizeof idbuf);
    if (!id) return add_problem(t, path, feat->line, "feature without properties.id");
    if (!geom || geom->type != SQ25__JOBJ)
        return add_problem(t, path, feat->line, "feature without geometry");
    const sq25__json *name = sq25__json_get(props, "name");
    const sq25__json *pt = sq25__json_get(props, "prob_threshold");
    double p = NAN;
    if (pt && pt->type == SQ25__JNUM) p = pt->num;
    else if (pt && pt->type != SQ25__JNULL)
        return add_problem(t, path, feat->line, "prob_threshold is not a number");
    double *lonlat = NULL;
    size_t n = 0;
    const char *why = feature_coordinates(t->ctx, geom, &lonlat, &n);
    if (why && !strcmp(why, "out of memory")) return SQ25_ERR_NOMEM;
    if (why) return add_problem(t, path, geom->line, why);
    int rc = add_or_record(t, path, feat->line, id,
                           name && name->type == SQ25__JSTR ? name->str : "", n, lonlat, p);
    sq25__free(t->ctx, lonlat);
    return rc;
}

static int read_geojson(sq25_targets *t, const char *path, const char *text)
{
    sq25__json *root = sq25__json_parse(t->ctx, text, path);
    if (!root) return sq25_errcode(t->ctx);
    const sq25__json *type = sq25__json_get(root, "type");
    const sq25__json *features = sq25__json_get(root, "features");
    int rc = SQ25_OK;
    if (!type || type->type != SQ25__JSTR || strcmp(type->str, "FeatureCollection") != 0 ||
        !features || features->type != SQ25__JARR)
        rc = sq25__fail(t->ctx, SQ25_ERR_PARSE, "%s:%d: not a GeoJSON FeatureCollection", path,
                        root->line);
    for (const sq25__json *f = rc ? NULL : features->child; f && rc == SQ25_OK; f = f->next)
        rc = geojson_feature(t, path, f);
    sq25__json_free(t->ctx, root);
    return rc;
}

int sq25_targets_read(sq25_ctx *ctx, const char *path, sq25_targets **out)
{
    if (!ctx) return SQ25_ERR_INVALID_ARG;
    if (!path || !out) return sq25__fail(ctx, SQ25_ERR_INVALID_ARG, "sq25_targets_read: NULL");
    *out = NULL;
    char *text = NULL;
    int rc = slurp(ctx, path, &text);
    if (rc) return rc;
    sq25_targets *t = NULL;
    if ((rc = sq25_targets_create(ctx, &t)) == SQ25_OK) {
        const char *first = text;
        while (isspace((unsigned char)*first)) first++;
        rc = *first == '{' ? read_geojson(t, path, text) : read_csv(t, path, text);
    }
    sq25__free(ctx, text);
    if (rc == SQ25_OK && t->count == 0)
        rc = t->problem_count
                 ? sq25__fail(ctx, SQ25_ERR_PARSE, "no good target; first problem: %s",
                              t->problems[0])
                 : sq25__fail(ctx, SQ25_ERR_PARSE, "%s: no targets", path);
    if (rc) {
        sq25_targets_destroy(t);
        return rc;
    }
    *out = t;
    return sq25__ok(ctx);
}
