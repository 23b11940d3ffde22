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

/* A context for one command run; NULL on out-of-memory (message printed). */
sq25_ctx *cli_ctx(const char *cmd);
/* Map options shared by render and run: local time beside UTC for zone tz (an IANA name such
 * as "Europe/Brussels", through the C library's zone database; NULL = none) at time t, and the
 * credit line (NULL = the library's default). A usage error for an unknown zone. */
int cli_map_options(const char *cmd, sq25_render_options *opt, const char *tz, int64_t t,
                    const char *credit);

/* The command table (bin/sq25.c) and the entry points, one file each (bin/cmd_<name>.c). */
const cli_command *cli_find_command(const char *name);
int cmd_info(int argc, char **argv);
extern const char cmd_info_usage[];
int cmd_nowcast(int argc, char **argv);
extern const char cmd_nowcast_usage[];
int cmd_verify(int argc, char **argv);
extern const char cmd_verify_usage[];
int cmd_qc(int argc, char **argv);
extern const char cmd_qc_usage[];
int cmd_interpolate(int argc, char **argv);
extern const char cmd_interpolate_usage[];
int cmd_render(int argc, char **argv);
extern const char cmd_render_usage[];
int cmd_run(int argc, char **argv);
extern const char cmd_run_usage[];
/* Shared by run and serve (bin/cmd_run.c): --calibration "raw:p,..." into wo (errors name
 * cmd), and forecast.h5 from the pipeline's last run (leads, then motion u and v). */
int cli_set_calibration(const char *cmd, sq25_ctx *ctx, sq25_warn_options *wo, const char *text);
int cli_write_forecast(sq25_ctx *ctx, const sq25_pipeline *p, const char *path);
int cmd_serve(int argc, char **argv);
extern const char cmd_serve_usage[];

#endif
