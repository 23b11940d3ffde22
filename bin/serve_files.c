/* serve_files.c -- the array of kept inbox files that serve_sensors.c and serve_links.c share:
 * elements of one size, each beginning with its file name, in the order read. */
#include "serve.h"

#include <stdlib.h>
#include <string.h>

/* The name of element i: every element type begins with char name[256]. */
static const char *name_of(const void *files, size_t elem_size, size_t i)
{
    return (const char *)files + i * elem_size;
}

size_t serve_files_find(const void *files, size_t count, size_t elem_size, const char *name)
{
    for (size_t i = 0; i < count; i++)
        if (strcmp(name_of(files, elem_size, i), name) == 0) return i;
    return count;
}

void serve_files_remove(void *files, size_t *count, size_t elem_size, size_t i)
{
    char *at = (char *)files + i * elem_size;
    memmove(at, at + elem_size, (*count - i - 1) * elem_size);
    (*count)--;
}

void *serve_files_reserve(void *files, size_t count, size_t *cap, size_t elem_size,
                          size_t first_cap)
{
    if (count < *cap) return files;
    size_t grown = *cap ? 2 * *cap : first_cap;
    void *more = realloc(files, grown * elem_size);
    if (more) *cap = grown;
    return more;
}
