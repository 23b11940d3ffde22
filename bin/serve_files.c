/* serve_files.c -- the array of kept inbox files that serve_sensors.c and serve_links.c share:
 * elements of one kind (serve_file_kind: size, first allocation, release), each beginning
 * with its file name, in the order read. */
#include "serve.h"

#include <stdlib.h>
#include <string.h>

/* Element i: every element type begins with char name[256]. */
static char *element(const serve_file_kind *k, void *files, size_t i)
{
    return (char *)files + i * k->elem_size;
}

size_t serve_files_find(const serve_file_kind *k, const void *files, size_t count,
                        const char *name)
{
    for (size_t i = 0; i < count; i++)
        if (strcmp((const char *)files + i * k->elem_size, name) == 0) return i;
    return count;
}

void serve_files_drop(const serve_file_kind *k, void *files, size_t *count, size_t i)
{
    char *at = element(k, files, i);
    k->release(at);
    memmove(at, at + k->elem_size, (*count - i - 1) * k->elem_size);
    (*count)--;
}

void serve_files_release_all(const serve_file_kind *k, void *files, size_t count)
{
    for (size_t i = 0; i < count; i++) k->release(element(k, files, i));
    free(files);
}

void *serve_files_reserve(const serve_file_kind *k, void *files, size_t count, size_t *cap)
{
    if (count < *cap) return files;
    size_t grown = *cap ? 2 * *cap : k->first_cap;
    void *more = realloc(files, grown * k->elem_size);
    if (more) *cap = grown;
    return more;
}
