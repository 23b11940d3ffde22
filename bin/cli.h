/* cli.h -- shared helpers of the sq25 command-line tool. */
#ifndef SQ25_CLI_H
#define SQ25_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "sq25.h"

/* One sub-command: name, one-line summary, usage text, entry point (argv[0] = command name). */
typedef struct {
    const char *name;
    const char *summary;
    const char *usage;
    int (*run)(int argc, char **argv);
} cli_command;

/* Exit statuses: 0 success, 1 failure of the work (bad file, ...), 2 usage error. */
enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

/* Print "sq25 <cmd>: <message>" on stderr as one line; returns CLI_FAIL. */
int cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Print the library's last error of ctx for command cmd; returns CLI_FAIL. */
int cli_lib_error(const char *cmd, sq25_ctx *ctx, int code);
/* Usage error: message plus "see 'sq25 help <cmd>'"; returns CLI_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Write s as a JSON string literal (with quotes) to out. */
void cli_json_string(FILE *out, const char *s);
/* Write a double as JSON: a number, or null when not finite. */
void cli_json_number(FILE *out, double v);

/* Parse a whole decimal integer (or number) within [min, max]; false on any other text,
 * overflow or out-of-range value (option values never reach arithmetic unchecked). */
bool cli_parse_int(const char *text, long min, long max, int *out);
bool cli_parse_double(const char *text, double min, double max, double *out);

/* "a,b,c" into values (at most cap): the count, or -1 for an empty or bad item, a value that
 * is not finite, or more than cap items. */
int cli_parse_number_list(const char *text, double *values, int cap);
/* "a:b,c:d" into first/second (at most cap pairs): the count, or -1 as above. */
int cli_parse_pair_list(const char *text, double *first, double *second, int cap);

/* True when a and b name the same existing file (same device and inode). */
bool cli_same_file(const char *a, const char *b);
/* CLI_USAGE with a message when out is one of the n inputs (never overwrite an input). */
int cli_refuse_input_as_output(const char *cmd, const char *out, const char *const *inputs,
                               int n);
/* "700x700 cells of 1000x1000 at (x, y) in \"projdef\"" for messages about grids. */
void cli_grid_text(const sq25_field *f, char *buf, size_t cap);
/* True when a and b have the same size, geotransform and projection. */
bool cli_same_grid(const sq25_field *a, const sq25_field *b);
/* A warning line on stderr when every cell of f is NaN ("what" names it); true then. */
bool cli_warn_if_no_data(const char *cmd, const char *what, const sq25_field *f);

/* A context for one command run; NULL on out-of-memory (message printed). */
sq25_ctx *cli_ctx(const char *cmd);
/* Map options shared by render and run: local time beside UTC for zone tz (an IANA name such
 * as "Europe/Brussels", through the C library's zone database; NULL = none) at time t, and the
 * credit line (NULL = the library's default). A usage error for an unknown zone. */
int cli_map_options(const char *cmd, sq25_render_options *opt, const char *tz, int64_t t,
                    const char *credit);
/* Maps shared by run and serve (bin/cli_maps.c). A new field *out for a map of f: f on the
 * street grid (bilinear, f's valid time) when street is given, else a copy of f; the caller
 * destroys *out (also on error). @return the library's code. */
int cli_map_field(const sq25_field *f, const sq25_field *street, sq25_field **out);
/* The maps' credit line: credit, else "DATA: " and the producer the radar file names (in buf,
 * cap bytes), else NULL (also for radar NULL). */
const char *cli_map_credit(const sq25_field *radar, const char *credit, char *buf, size_t cap);
/* The forecast leads the maps show, of n leads step_min minutes apart: the indices of +30 and
 * +60 minutes, or the nearest there are, each once (one for 60-minute frames), into idx;
 * returns how many (0 when step_min or n is not positive). */
int cli_map_leads(int step_min, int n, int idx[2]);
/* The title and file name of the map of lead i (0-based), e.g. "Forecast +30 min rain rate
 * mm/h" and "forecast_30.png". */
void cli_map_lead_names(int i, int step_min, char *title, size_t title_cap, char *name,
                        size_t name_cap);
/* The field the map of forecast lead i shows, and in *grid the grid to put it on (NULL: drawn
 * as it is). The leads the warnings used are on the street grid already (merged, or the radar
 * leads the pipeline resampled with the pixel map sq25_resample would build) and are drawn
 * as they are, not resampled a second time; else the radar lead goes onto street. */
const sq25_field *cli_map_lead_field(const sq25_pipeline *p, int i, bool merged,
                                     const sq25_field *street, const sq25_field **grid);

/* ---- frames of the inputs and the readers' options (bin/cli_frames.c) ---- */
typedef struct {
    sq25_field **fields;
    const char **paths; /* the file each frame came from (borrowed from argv) */
    int count, cap;
} cli_frames;
enum { CLI_FRAMES_ALL = 0, CLI_FRAMES_AT = 1, CLI_FRAMES_UNTIL = 2 };
/* Every frame of every file in order (select ALL), or only those valid at t (AT) or at or
 * before t (UNTIL). Prints the error; *out is empty on failure. */
int cli_read_frames(const char *cmd, sq25_ctx *ctx, const char *const *paths, int n_paths,
                    int select, int64_t t, cli_frames *out);
void cli_frames_free(cli_frames *f);
/* The frame of path valid at t; a file of one frame gives it (with a note when its time
 * differs). Prints the error. */
int cli_read_frame_at(const char *cmd, sq25_ctx *ctx, const char *path, int64_t t,
                      sq25_field **out);
/* --zr A,B, --ceiling MMH[:clip|:nodata], --assume-time T: returns 1 (and advances *i) when argv[*i] is
 * one of them, with *status CLI_OK or the usage error; 0 otherwise. cli_ctx applies them. */
int cli_reader_option(int argc, char **argv, int *i, int *status);
int cli_apply_reader_options(const char *cmd, sq25_ctx *ctx);
extern const char cli_reader_options_usage[];

/* The command table (bin/sq25.c) and the entry points, one file each (bin/cmd_<name>.c). */
const cli_command *cli_find_command(const char *name);
int cmd_info(int argc, char **argv);
extern const char cmd_info_usage[];
int cmd_nowcast(int argc, char **argv);
extern const char cmd_nowcast_usage[];
int cmd_verify(int argc, char **argv);
extern const char cmd_verify_usage[];
/* sq25 verify --ensemble (bin/cmd_verify_ensemble.c), entered from cmd_verify. */
int cmd_verify_ensemble(int argc, char **argv);
int cmd_qc(int argc, char **argv);
extern const char cmd_qc_usage[];
int cmd_interpolate(int argc, char **argv);
extern const char cmd_interpolate_usage[];
int cmd_render(int argc, char **argv);
extern const char cmd_render_usage[];
int cmd_run(int argc, char **argv);
extern const char cmd_run_usage[];
int cmd_links(int argc, char **argv);
extern const char cmd_links_usage[];
/* ---- microwave-link processing options (bin/cli_links.c) ---- */
typedef struct {
    const char *waa;  /* wet-antenna method name */
    int step_s;       /* output interval, seconds */
    double window_s, threshold_db, waa_max_db, tau_s; /* NaN: the library's default */
} cli_links_opts;
/* Usage lines of the options; printf with (prefix, default step, prefix x 5). */
extern const char cli_links_options_usage[];
void cli_links_defaults(cli_links_opts *o, int step_s);
int cli_links_waa_from_name(const char *s); /* SQ25_WAA_*, -1 when unknown */
/* If argv[*i] is one of the options --PREFIXstep/waa/window/threshold/waa-max/tau, take it
 * (and its value; *status CLI_OK or the usage error) and return 1; 0 otherwise. */
int cli_links_option(int argc, char **argv, int *i, const char *prefix, cli_links_opts *o,
                     int *status);
/* The library's options from these (CLI_OK, or the error reported). */
int cli_links_make_options(const char *cmd, sq25_ctx *ctx, const cli_links_opts *a,
                           sq25_cml_options **out);
/* Read an OpenSense CML file and process it into path rain per link (intervals of step_s
 * ending in [from, to]) and the links' end points (4 per link, new arrays: release with
 * sq25_series_destroy and free). CLI_OK or the error reported; no interval in the window
 * (SQ25_ERR_NO_DATA, sq25_errcode tells) is CLI_FAIL, left for the caller to report. */
int cli_links_path_rain(const char *cmd, sq25_ctx *ctx, const char *path,
                        const cli_links_opts *a, int64_t from, int64_t to, sq25_series **rain,
                        double **lonlat);
/* Shared by run and serve (bin/cmd_run.c): --calibration "raw:p,..." into wo (errors name
 * cmd), and forecast.h5 from the pipeline's last run (leads, then motion u and v). */
int cli_set_calibration(const char *cmd, sq25_ctx *ctx, sq25_warn_options *wo, const char *text);
int cli_write_forecast(sq25_ctx *ctx, const sq25_pipeline *p, const char *path);
int cmd_serve(int argc, char **argv);
extern const char cmd_serve_usage[];

#endif
