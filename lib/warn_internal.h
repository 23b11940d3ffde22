/* warn_internal.h -- declarations shared by the warn and render modules (lib/warn*.c,
 * lib/render*.c). Not API. */
#ifndef SQ25_WARN_INTERNAL_H
#define SQ25_WARN_INTERNAL_H

#include "internal.h"

#include <stdio.h>

#define SQ25__WARN_MAX_LEVELS 8
#define SQ25__WARN_NAME_CAP 32

struct sq25_warn_options {
    sq25_ctx *ctx;
    int level_count;
    double threshold_mm[SQ25__WARN_MAX_LEVELS];   /* accumulation over the horizon, mm */
    char level_name[SQ25__WARN_MAX_LEVELS][SQ25__WARN_NAME_CAP];
    double radius_at_issue_m;                     /* neighbourhood radius at lead 0, m */
    double radius_growth_m_per_min;               /* added per minute of lead, m/min */
    double probability_threshold;                 /* issue a level when P >= this */
    int horizon_s;                                /* accumulation horizon, s */
    double target_radius_m;                       /* sampling radius around targets, m */
    int calibration_count;                        /* 0 = raw neighbourhood probabilities */
    double calibration_raw[SQ25_WARN_MAX_CALIBRATION];   /* increasing, in [0, 1] */
    double calibration_p[SQ25_WARN_MAX_CALIBRATION];     /* non-decreasing, in [0, 1] */
};

/* One target: a point (vertex_count 1) or a line. */
typedef struct {
    char *id;
    char *name;
    size_t vertex_count;
    double *lonlat;          /* 2 * vertex_count: lon, lat, lon, lat ... (degrees) */
    double prob_threshold;   /* NaN = the warning's default */
} sq25__target;

struct sq25_targets {
    sq25_ctx *ctx;
    sq25__target *items;
    size_t count, cap;
    char **problems;         /* "file:line: reason" for each rejected row or feature */
    size_t problem_count, problem_cap;
};

/* The result of sampling the warning at one target. */
typedef struct {
    int level;                                    /* highest issued level, 0 = none */
    double probability[SQ25__WARN_MAX_LEVELS];    /* max over leads and sampled cells */
    double onset_min[SQ25__WARN_MAX_LEVELS];      /* first lead where P >= threshold, NaN */
    double amount_mm;                             /* max accumulation over the horizon */
    double peak_mmh;                              /* max rate over the horizon */
    double prob_threshold;                        /* the threshold used for this target */
    int sampled_cells;                            /* grid cells inside the sampling radius */
    int data_state;                               /* SQ25_STATE_* from the data alone */
} sq25__target_result;

struct sq25_warning {
    sq25_ctx *ctx;
    sq25_warn_options opt;     /* a copy of the options used */
    sq25_field *grid;          /* the grid (data = accumulation over the horizon, mm) */
    int width, height;
    int lead_step_s;
    int lead_count;            /* leads used: horizon / step */
    int64_t issue_time;
    double pixel_x_m, pixel_y_m;
    float *cum_mm;             /* lead_count grids: accumulation from issue to each lead */
    float *peak_mmh;           /* max rate over the horizon */
    float *probability;        /* level_count grids: max over leads of the neighbourhood P */
    float *onset_min;          /* level_count grids: first lead where cum >= threshold */
    float *level;              /* highest issued level, 0 = none, NaN = no data */
    char **inputs;
    size_t input_count;
    sq25_targets *targets;     /* a copy of the evaluated targets, or NULL */
    sq25__target_result *results;
    unsigned char *cell_state; /* SQ25_STATE_* per cell from the data alone (OK, DEGRADED,
                                  NO_DATA); the input state raises it when read */
    int input_state;           /* SQ25_STATE_OK, _DEGRADED or _STALE, set by the producer */
    int64_t data_time;         /* valid time of the newest input data, UTC s */
    char state_reason[160];
};

/* The per-cell data states of a computed warning (w->cell_state, allocated here). */
int sq25__warn_cell_states(sq25_warning *w);
/* The state of cell c / target i with the input state applied. */
int sq25__warn_cell_state(const sq25_warning *w, size_t c);
int sq25__warn_target_state(const sq25_warning *w, size_t i);

/* Neighbourhood probability at lead index j for level index k (0-based): the fraction of
 * valid cells within the lead's radius whose accumulation reaches the threshold, NaN where
 * the cell itself has no data. out has width*height floats. */
int sq25__warn_neighbourhood(const sq25_warning *w, int k, int j, float *out);
/* Half sizes of the neighbourhood window in cells at lead index j. */
void sq25__warn_window(const sq25_warning *w, int j, int *half_cols, int *half_rows);
/* Duplicate the targets (new object). */
int sq25__targets_clone(const sq25_targets *src, sq25_targets **out);

/* Minimal JSON tree used to read GeoJSON. */
typedef enum { SQ25__JNULL, SQ25__JBOOL, SQ25__JNUM, SQ25__JSTR, SQ25__JARR, SQ25__JOBJ } sq25__jtype;
typedef struct sq25__json sq25__json;
struct sq25__json {
    sq25__jtype type;
    int line;            /* 1-based line where the value starts */
    double num;
    char *str;           /* JSTR value; for object members the key is in key */
    char *key;
    sq25__json *child;   /* first element / member */
    sq25__json *next;    /* next sibling */
};
/* Parse text; on error returns NULL and sets SQ25_ERR_PARSE with "what:line: reason". */
sq25__json *sq25__json_parse(sq25_ctx *ctx, const char *text, const char *what);
void sq25__json_free(sq25_ctx *ctx, sq25__json *j);
const sq25__json *sq25__json_get(const sq25__json *obj, const char *key);
size_t sq25__json_length(const sq25__json *arr);

/* JSON output helpers. */
void sq25__json_write_string(FILE *out, const char *s);
void sq25__json_write_number(FILE *out, double v);

/* Bitmap font: 5x7 glyphs in a 6x8 cell. */
#define SQ25__GLYPH_W 5
#define SQ25__GLYPH_H 7
/* Rows of a glyph (bit 4 = leftmost column); unknown characters give a box. */
const unsigned char *sq25__glyph(char c);

/* Render layout: where the map lies in the image (pixels), for a grid and a scale option. */
typedef struct {
    int scale;          /* image pixels per grid cell */
    int map_x, map_y;   /* upper-left pixel of the map */
    int map_w, map_h;
    int legend_x;
    int width, height;  /* the whole image */
} sq25__render_layout;
sq25__render_layout sq25__render_layout_for(int grid_w, int grid_h, int scale_option);

#endif
