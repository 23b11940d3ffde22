/* io_cf.h -- internal declarations shared by the CF-1.x reader's files (io_cf.c: variable
 * choice, decoding, entry points; io_cf_time.c: time coordinates and intervals; io_cf_grid.c:
 * coordinates, grid mappings, the 2-D lat/lon check). Not API. HDF5 lock held by the caller. */
#ifndef SQ25_IO_CF_H
#define SQ25_IO_CF_H

#include "io.h"

#define CF_MAX_VARS 256
#define CF_NAME_CAP 64
#define CF_MAX_TIMES 10000000
/* Accepted accumulation or bounds intervals: one second to one year, in seconds. A shorter
 * one would turn an amount into an absurd rate (1 mm in 1e-300 s is no rain) and is no whole
 * second for the field's accumulation_s. */
#define CF_MIN_INTERVAL_S 1.0
#define CF_MAX_INTERVAL_S (366.0 * 86400.0)

typedef struct {
    char names[CF_MAX_VARS][CF_NAME_CAP];
    int count;
} cf_var_list;

/* The chosen rain variable and what its units imply. */
typedef struct {
    char name[CF_NAME_CAP];
    int rank;
    hsize_t dims[4];
    char units[64];
    sq25__rain_unit unit;
    double units_window_s; /* window stated in the units ("sum 5min", "mm/5min"), else 0 */
    bool units_defaulted;  /* no units attribute: the OpenSense default (mm per interval) */
} cf_rain_var;

/* The time of one frame, and where it came from. */
typedef struct {
    bool found;           /* false: the file has no time at all for this variable */
    int64_t valid;        /* UTC seconds: the coordinate value, or the bounds' upper end */
    double step_s;        /* spacing of the time axis around the frame (0 if unknown) */
    double window_s;      /* from bounds or a start/end pair (0 if none) */
    char source[128];     /* "time coordinate time", "scalar coordinate t", ... */
} cf_time_info;

/* Lower case, runs of spaces and dots as one space, "**" and "^" dropped. */
void sq25__cf_normalise_units(const char *in, char *out, size_t cap);
bool sq25__cf_in_list(const char *s, const char *const *list);
/* Seconds from "N unit" text ("5 minutes", "1 hour", "5min") or ISO "PT5M"; 0 if none. */
double sq25__cf_duration_s(const char *text);
/* Names of the datasets directly below the root. */
void sq25__cf_list_root(hid_t fid, cf_var_list *list);
bool sq25__cf_is_dimension_only(hid_t fid, const char *name);
bool sq25__cf_attr_is(hid_t fid, const char *var, const char *attr, const char *value);

/* Parse CF time units "<unit> since YYYY-M-D[(T| )hh[:mm[:ss[.fff]]]][Z|UTC|+hh:mm]" (any
 * origin, seconds to days): seconds per unit and the origin in UTC seconds. 0 or -1. */
int sq25__cf_parse_time_units(const char *units, double *unit_s, double *origin);

/* Time of frame index of v (see cf_time_info). Fails only on a time that is present but
 * unreadable, unparsable or out of range; a file without time returns SQ25_OK, found false. */
int sq25__cf_time(sq25_ctx *ctx, const char *path, hid_t fid, const cf_var_list *vars,
                  const cf_rain_var *v, int index, cf_time_info *t);

/* Georeference of v: geotransform, PROJ definition, row flip; a note on what was assumed
 * (missing x/y units, 2-D lat/lon disagreeing) is written into note (may stay empty). */
int sq25__cf_georeference(sq25_ctx *ctx, const char *path, hid_t fid, const cf_var_list *vars,
                          const cf_rain_var *v, double gt[6], bool *flip_rows, char *projdef,
                          size_t proj_cap, char *note, size_t note_cap);

#endif
