/* warn_json.c -- a small JSON reader (for GeoJSON target files) and JSON writing helpers.
 * The reader builds a tree of sq25__json nodes, each remembering the line it starts on so
 * that errors can name it. Depth is limited to keep hostile input from exhausting the stack. */
#include "warn_internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define JSON_MAX_DEPTH 64

typedef struct {
    sq25_ctx *ctx;
    const char *p;
    int line;
    const char *what;
    bool failed;
} json_reader;

static void json_error(json_reader *r, const char *reason)
{
    if (r->failed) return;
    r->failed = true;
    sq25__fail(r->ctx, SQ25_ERR_PARSE, "%s:%d: %s", r->what, r->line, reason);
}

static void skip_space(json_reader *r)
{
    for (;;) {
        char c = *r->p;
        if (c == '\n') r->line++;
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') r->p++;
        else break;
    }
}

static sq25__json *new_node(json_reader *r, sq25__jtype type)
{
    sq25__json *j = sq25__calloc(r->ctx, 1, sizeof *j);
    if (!j) {
        r->failed = true;
        return NULL;
    }
    j->type = type;
    j->line = r->line;
    return j;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Append the UTF-8 encoding of code point cp to out; returns the bytes written. */
static size_t put_utf8(char *out, unsigned cp)
{
    if (cp < 0x80) { out[0] = (char)cp; return 1; }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    out[0] = (char)(0xE0 | (cp >> 12));
    out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
}

/* Read a string literal at r->p (which points at the opening quote). */
static char *read_string(json_reader *r)
{
    const char *start = ++r->p;
    size_t len = 0;
    while (start[len] && start[len] != '"') len += start[len] == '\\' && start[len + 1] ? 2 : 1;
    if (start[len] != '"') {
        json_error(r, "unterminated string");
        return NULL;
    }
    char *out = sq25__malloc(r->ctx, len + 1);
    if (!out) {
        r->failed = true;
        return NULL;
    }
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = start[i];
        if ((unsigned char)c < 0x20) {
            sq25__free(r->ctx, out);
            json_error(r, "control character in string");
            return NULL;
        }
        if (c != '\\') { out[o++] = c; continue; }
        char e = start[++i];
        switch (e) {
        case 'n': out[o++] = '\n'; break;
        case 't': out[o++] = '\t'; break;
        case 'r': out[o++] = '\r'; break;
        case 'b': out[o++] = '\b'; break;
        case 'f': out[o++] = '\f'; break;
        case 'u': {
            unsigned cp = 0;
            for (int k = 1; k <= 4; k++) {
                int h = i + k < len ? hex_value(start[i + k]) : -1;
                if (h < 0) {
                    sq25__free(r->ctx, out);
                    json_error(r, "bad \\u escape in string");
                    return NULL;
                }
                cp = cp * 16 + (unsigned)h;
            }
            i += 4;
            o += put_utf8(out + o, cp); /* 6 escaped bytes give at most 3 */
            break;
        }
        default: out[o++] = e; break; /* \" \\ \/ */
        }
    }
    out[o] = '\0';
    r->p = start + len + 1;
    return out;
}

static sq25__json *read_value(json_reader *r, int depth);

static sq25__json *read_container(json_reader *r, int depth, bool is_object)
{
    sq25__json *node = new_node(r, is_object ? SQ25__JOBJ : SQ25__JARR);
    if (!node) return NULL;
    char close = is_object ? '}' : ']';
    r->p++;
    skip_space(r);
    if (*r->p == close) {
        r->p++;
        return node;
    }
    sq25__json **tail = &node->child;
    for (;;) {
        skip_space(r);
        char *key = NULL;
        if (is_object) {
            if (*r->p != '"') { json_error(r, "expected a member name"); break; }
            if (!(key = read_string(r))) break;
            skip_space(r);
            if (*r->p != ':') { sq25__free(r->ctx, key); json_error(r, "expected ':'"); break; }
            r->p++;
        }
        sq25__json *child = read_value(r, depth + 1);
        if (!child) { sq25__free(r->ctx, key); break; }
        child->key = key;
        *tail = child;
        tail = &child->next;
        skip_space(r);
        if (*r->p == ',') { r->p++; continue; }
        if (*r->p == close) { r->p++; return node; }
        json_error(r, is_object ? "expected ',' or '}'" : "expected ',' or ']'");
        break;
    }
    sq25__json_free(r->ctx, node);
    return NULL;
}

static sq25__json *read_number(json_reader *r)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(r->p, &end);
    if (end == r->p || errno == ERANGE || !isfinite(v)) {
        json_error(r, "bad number");
        return NULL;
    }
    sq25__json *j = new_node(r, SQ25__JNUM);
    if (!j) return NULL;
    j->num = v;
    r->p = end;
    return j;
}

static sq25__json *read_literal(json_reader *r, const char *word, sq25__jtype type, double v)
{
    size_t n = strlen(word);
    if (strncmp(r->p, word, n) != 0) {
        json_error(r, "unexpected character");
        return NULL;
    }
    sq25__json *j = new_node(r, type);
    if (!j) return NULL;
    j->num = v;
    r->p += n;
    return j;
}

static sq25__json *read_value(json_reader *r, int depth)
{
    if (depth > JSON_MAX_DEPTH) {
        json_error(r, "nesting too deep");
        return NULL;
    }
    skip_space(r);
    char c = *r->p;
    if (c == '{' || c == '[') return read_container(r, depth, c == '{');
    if (c == '"') {
        sq25__json *j = new_node(r, SQ25__JSTR);
        if (j && !(j->str = read_string(r))) {
            sq25__json_free(r->ctx, j);
            return NULL;
        }
        return j;
    }
    if (c == '-' || (c >= '0' && c <= '9')) return read_number(r);
    if (c == 't') return read_literal(r, "true", SQ25__JBOOL, 1);
    if (c == 'f') return read_literal(r, "false", SQ25__JBOOL, 0);
    if (c == 'n') return read_literal(r, "null", SQ25__JNULL, 0);
    json_error(r, c ? "unexpected character" : "unexpected end of text");
    return NULL;
}

sq25__json *sq25__json_parse(sq25_ctx *ctx, const char *text, const char *what)
{
    json_reader r = {ctx, text, 1, what, false};
    sq25__json *root = read_value(&r, 0);
    if (root) {
        skip_space(&r);
        if (*r.p) {
            json_error(&r, "text after the end of the JSON value");
            sq25__json_free(ctx, root);
            return NULL;
        }
    } else if (!r.failed || sq25_errcode(ctx) == SQ25_OK) {
        sq25__fail(ctx, SQ25_ERR_NOMEM, "%s: out of memory reading JSON", what);
    }
    return root;
}

void sq25__json_free(sq25_ctx *ctx, sq25__json *j)
{
    while (j) {
        sq25__json *next = j->next;
        sq25__json_free(ctx, j->child);
        sq25__free(ctx, j->str);
        sq25__free(ctx, j->key);
        sq25__free(ctx, j);
        j = next;
    }
}

const sq25__json *sq25__json_get(const sq25__json *obj, const char *key)
{
    if (!obj || obj->type != SQ25__JOBJ) return NULL;
    for (const sq25__json *m = obj->child; m; m = m->next)
        if (m->key && strcmp(m->key, key) == 0) return m;
    return NULL;
}

size_t sq25__json_length(const sq25__json *arr)
{
    size_t n = 0;
    if (arr && (arr->type == SQ25__JARR || arr->type == SQ25__JOBJ))
        for (const sq25__json *m = arr->child; m; m = m->next) n++;
    return n;
}

void sq25__json_write_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (const unsigned char *c = (const unsigned char *)(s ? s : ""); *c; c++) {
        switch (*c) {
        case '"': fputs("\\\"", out); break;
        case '\\': fputs("\\\\", out); break;
        case '\n': fputs("\\n", out); break;
        case '\r': fputs("\\r", out); break;
        case '\t': fputs("\\t", out); break;
        default:
            if (*c < 0x20) fprintf(out, "\\u%04x", *c);
            else fputc(*c, out);
        }
    }
    fputc('"', out);
}

void sq25__json_write_number(FILE *out, double v)
{
    if (isfinite(v)) fprintf(out, "%.10g", v);
    else fputs("null", out);
}
