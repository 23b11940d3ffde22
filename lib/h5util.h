/* h5util.h -- internal HDF5 helpers shared by the readers and writers. Not API.
 * Every function here must be called between sq25__h5_enter() and sq25__h5_leave(). */
#ifndef SQ25_H5UTIL_H
#define SQ25_H5UTIL_H

#include "internal.h"

#include <hdf5.h>

/* Open a file read-only after checking that it exists, is not empty and is HDF5. On failure
 * sets a distinct code (FILE_NOT_FOUND, PERMISSION, FILE_EMPTY, NOT_HDF5, FILE_TRUNCATED) with
 * a one-line message naming the file, and returns a negative id. */
hid_t sq25__h5_open_read(sq25_ctx *ctx, const char *path);

/* True if the object (group or dataset) at path exists below loc. */
bool sq25__h5_exists(hid_t loc, const char *path);
/* True if object obj_path below loc has the attribute name. */
bool sq25__h5_attr_exists(hid_t loc, const char *obj_path, const char *name);

/* Read a string attribute (fixed or variable length, scalar or first element of a 1-element
 * array) into buf (caller-owned, cap bytes, always terminated). Returns 0 or -1. */
int sq25__h5_attr_string(hid_t loc, const char *obj_path, const char *name, char *buf,
                         size_t cap);
/* Read a numeric attribute (any integer or float type, scalar or element 0 of an array) as
 * double. Returns 0 or -1. A string attribute holding a number is accepted too. */
int sq25__h5_attr_double(hid_t loc, const char *obj_path, const char *name, double *out);
/* Read up to cap numeric elements of an attribute into out; *n receives the count.
 * Returns 0 or -1. */
int sq25__h5_attr_doubles(hid_t loc, const char *obj_path, const char *name, double *out,
                          size_t cap, size_t *n);

/* Dimensions of a dataset: rank and up to 4 dims. Returns 0 or -1. */
int sq25__h5_dataset_dims(hid_t loc, const char *path, int *rank, hsize_t dims[4]);

/* Read a whole 2-D dataset, or one 2-D slab of a 3-D dataset (index along dim 0; -1 for a
 * 2-D dataset), converted by HDF5 to double, into out (caller-owned, ny*nx).
 * Sets the error (READ or FILE_TRUNCATED) with file and dataset in the message. */
int sq25__h5_read_2d_double(sq25_ctx *ctx, const char *file, hid_t loc, const char *path,
                            long index, size_t ny, size_t nx, double *out);

/* Check, before anything is allocated for it, that the dataset at path below loc can really
 * hold what its dataspace declares: its stored bytes are not more than the file has, not
 * fewer than declared when stored plain, and not fewer than 1/SQ25__H5_MAX_EXPANSION of the
 * declared bytes when compressed (deflate cannot expand more than about 1032 times). Sets
 * FILE_TRUNCATED or SIZE_ABSURD (or MISSING_DATASET) naming file and dataset. */
#define SQ25__H5_MAX_EXPANSION 1100
int sq25__h5_check_storage(sq25_ctx *ctx, const char *file, hid_t loc, const char *path);

#endif
