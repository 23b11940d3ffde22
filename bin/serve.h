/* serve.h -- the parts of `sq25 serve`, the reference warning service (docs/serve.md): its
 * configuration, the warning state kept between cycles, the CAP 1.2 writer and the atomic
 * publisher. Built on the public API of libsq25 only. */
#ifndef SQ25_SERVE_H
#define SQ25_SERVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sq25.h"

/* ---- configuration (serve_config.c) ---- */
/* Every key is both a line "key = value" of the config file and a flag "--key value" (boolean
 * keys also "--key" / "--no-key"); the names of `sq25 run` are kept (grid, targets, levels,
 * probability, calibration, method, frames, horizon). */
typedef struct {
    char *inbox, *outbox, *state_path;
    char *grid_spec, *targets_path, *levels, *calibration, *method;
    int frames, horizon_min;
    double probability; /* < 0: the warn module's default */
    double outage_min;  /* no radar for longer than this: every target no-data */
    int hysteresis;     /* cycles below a level before it is lowered */
    double max_file_mb; /* inbox files larger than this are refused */
    int max_files;      /* inbox entries considered per scan (flood guard) */
    int poll_ms;        /* polling interval, and the longest wait with inotify */
    int settle_ms;      /* a file younger than this that does not read is retried later */
    int retry_s;        /* wait before retrying a cycle whose publication failed */
    char *watch;        /* auto, inotify or poll */
    char *sender, *cap_status, *instruction_de, *instruction_en;
    double cap_radius_km; /* CAP circle radius around point targets */
    bool forecast, maps, quiet;
    char *tz, *credit; /* maps: local time zone, credit line (as `sq25 run`) */
    long max_cycles; /* stop after this many cycles (0 = run until SIGTERM) */
    int keep_cycles; /* cycle folders kept in OUTBOX/cycles (the current one included) */
    /* sensors, with the names of `sq25 run` */
    char *merge, *sensor_stamp;
    int sensor_lag_s, sensor_step_s; /* sensor_step_s: the CSV step ("step") */
    bool qc, bias_correct;
    double sensor_window_h; /* hours of sensor data pushed each cycle (QC history) */
    /* microwave links, with the names of `sq25 run` (links-step ...); NaN: the library's
     * default */
    char *links_waa;
    int links_step_s;
    double links_window_s, links_threshold_db, links_waa_max_db, links_tau_s;
    long replay;     /* soak: replay the inbox frames this many cycles, shifted in time */
} serve_config;

/* Defaults into cfg (no strings owned yet). */
void serve_config_defaults(serve_config *cfg);
/* Free the strings cfg owns and reset it to the defaults. */
void serve_config_clear(serve_config *cfg);
/* Set key (without "--") to value (copied). Returns 0, or -1 with a message in err. */
int serve_config_set(serve_config *cfg, const char *key, const char *value, char *err,
                     size_t err_cap);
/* Read a config file: "key = value" lines, '#' comments, blank lines. 0 or -1 (err names the
 * file and line). */
int serve_config_read_file(serve_config *cfg, const char *path, char *err, size_t err_cap);
/* The config file named by --config in argv (NULL if none), then the flags on top: 0, or -1
 * (err), or 1 for a usage error (err). */
int serve_config_load(serve_config *cfg, int argc, char **argv, char *err, size_t err_cap);
/* Check the combination (inbox/outbox given, ranges). 0 or -1 with err. */
int serve_config_check(const serve_config *cfg, char *err, size_t err_cap);
/* Whether s is a boolean key, for the flag parser. */
bool serve_config_is_bool(const char *key);

/* ---- warning state between cycles (serve_state.c) ---- */
/* The states of libsq25 (SQ25_STATE_*): ok, degraded (a bridged gap, part of the cells without
 * data), stale (the newest frames without data: an older forecast carried forward), no data. */
typedef enum {
    SERVE_DATA_OK = 0,
    SERVE_DATA_DEGRADED = 1,
    SERVE_DATA_STALE = 2,
    SERVE_DATA_NONE = 3
} serve_data_state;
const char *serve_data_state_name(serve_data_state s);

/* What a cycle does to a target's warning. */
typedef enum {
    SERVE_ACT_NONE = 0, /* no warning, none issued */
    SERVE_ACT_RAISE,    /* new warning (CAP Alert) */
    SERVE_ACT_UPGRADE,  /* level raised (CAP Update) */
    SERVE_ACT_UPDATE,   /* same level, new forecast (CAP Update) */
    SERVE_ACT_HOLD,     /* below the level, kept by the hysteresis (CAP Update) */
    SERVE_ACT_LOWER,    /* level lowered (CAP Update) */
    SERVE_ACT_CANCEL,   /* warning ended (CAP Cancel) */
    SERVE_ACT_NODATA    /* no data: kept, certainty unknown (CAP Update) */
} serve_action;
const char *serve_action_name(serve_action a);

#define SERVE_ID_CAP 160

/* One target's warning across cycles. */
typedef struct {
    char target_id[64];
    bool active;
    int level;  /* issued level while active */
    int below;  /* consecutive cycles below the issued level */
    int seq;    /* messages sent for this warning */
    char warning_id[SERVE_ID_CAP];  /* stable while the warning persists */
    char first_ident[SERVE_ID_CAP]; /* the Alert's identifier */
    int64_t first_sent;
    char last_ident[SERVE_ID_CAP];  /* the previous message */
    int64_t last_sent;
    char prev_ident[SERVE_ID_CAP];  /* the message before it (this cycle's reference) */
    int64_t prev_sent;
    serve_action last_action;
} serve_track;

/* The target as this cycle sees it. */
typedef struct {
    int level;            /* issued level now (0 = none) */
    bool no_data;         /* no usable value at the target */
    bool keep_level;      /* stale input: the level may rise but is not lowered */
    double probability;   /* of the level (of level 1 when none) */
    double amount_mm;     /* over the horizon */
    double onset_min;     /* lead to onset, NaN if none */
} serve_target_now;

typedef struct {
    serve_track *tracks;
    size_t count, cap;
    int64_t last_frame_time; /* newest radar frame used (UTC s), 0 = none */
    int nominal_step_s;      /* the usual radar step, learnt from the data */
    long cycles;             /* cycles published in total */
} serve_state;

void serve_state_init(serve_state *s);
void serve_state_free(serve_state *s);
/* The track of target_id, created inactive if new; NULL on out-of-memory. */
serve_track *serve_state_track(serve_state *s, const char *target_id);
/* Advance a track by one cycle (hysteresis: a lower level is taken only on the hysteresis-th
 * consecutive cycle below). Sets the identifiers of the message to send (sender, issue time).
 * Returns the action. */
serve_action serve_track_step(serve_track *t, const serve_target_now *now, int hysteresis,
                              int64_t issue_time, int64_t sent);
/* Write the state atomically (temporary file, fsync, rename, fsync of the folder). 0 or -1
 * with err. */
int serve_state_save(const serve_state *s, const char *path, char *err, size_t err_cap);
/* Read a state file; a missing file gives an empty state (0). -1 with err on a bad file. */
int serve_state_load(serve_state *s, const char *path, char *err, size_t err_cap);

/* ---- CAP 1.2 (serve_cap.c) ---- */
typedef struct {
    const serve_track *track;
    serve_action action;
    const char *sender, *status; /* status: Actual, Exercise, System, Test, Draft */
    int64_t sent;                /* message time, UTC s */
    const char *target_id, *target_name;
    const double *lonlat; /* vertices lon0,lat0,lon1,lat1... */
    size_t vertex_count;
    double radius_km;
    int level, level_count;
    const char *level_name;
    double threshold_mm;
    serve_target_now now;
    int64_t issue_time, expires; /* UTC s */
    int horizon_min;
    serve_data_state data_state;
    const char *instruction_de, *instruction_en;
} serve_cap_message;

/* CAP msgType of an action: "Alert", "Update", "Cancel" (NULL for SERVE_ACT_NONE). */
const char *serve_cap_msg_type(serve_action a);
/* CAP severity for level of level_count: Moderate, Severe, Extreme (level 0: Minor). */
const char *serve_cap_severity(int level, int level_count);
/* CAP certainty for a probability: Likely (>= 0.5), Possible (> 0), Unlikely. */
const char *serve_cap_certainty(double probability);
/* CAP urgency for a lead to onset in minutes: Immediate (<= 15), Expected (later). */
const char *serve_cap_urgency(double onset_min);
/* Write one alert message to out. Returns 0, or -1 if writing failed. */
int serve_cap_write(FILE *out, const serve_cap_message *m);
/* CAP date-time: "YYYY-MM-DDThh:mm:ss-00:00" (CAP 1.2 writes UTC as -00:00). */
void serve_cap_time(int64_t t, char *buf, size_t cap);

/* ---- the kept inbox files of one kind (serve_files.c): an array of elements, each beginning
 * with its file name (char name[256]), in the order read ---- */
typedef struct {
    size_t elem_size;            /* bytes of one element */
    size_t first_cap;            /* elements of the first allocation (then doubled) */
    void (*release)(void *elem); /* frees what one element owns */
} serve_file_kind;

/* The index of the element named name; count when none is. */
size_t serve_files_find(const serve_file_kind *k, const void *files, size_t count,
                        const char *name);
/* Release element i and take it out, the others kept in order. */
void serve_files_drop(const serve_file_kind *k, void *files, size_t *count, size_t i);
/* Release every element and free the array. */
void serve_files_release_all(const serve_file_kind *k, void *files, size_t count);
/* Room for one more element: files when it has room, else the array grown (*cap updated).
 * NULL on out-of-memory, files kept. */
void *serve_files_reserve(const serve_file_kind *k, void *files, size_t count, size_t *cap);

/* ---- sensor files of the inbox (serve_sensors.c) ---- */
/* Each sensor file read is kept as it was read; a cycle asks for the window of steps ending
 * at its time, built from every file: the stations of all files (by id, in the order first
 * seen), the value of the file read last where several give one. */
typedef struct {
    char name[256];
    sq25_series *series;
    int64_t first_time, last_time; /* end times of its first and last step, UTC s */
} serve_sensor_file;

typedef struct {
    serve_sensor_file *files; /* in the order read */
    size_t count, cap;
    int step_s; /* the step of every file: the first file's */
} serve_sensors;

void serve_sensors_init(serve_sensors *s);
void serve_sensors_free(serve_sensors *s);
/* Keep series (taking ownership) read from file name, replacing an earlier read of that name.
 * Returns 0; -1 (err) when its step or step grid is not the store's (the series is destroyed
 * then, as on out-of-memory). */
int serve_sensors_add(serve_sensors *s, const char *name, sq25_series *series, char *err,
                      size_t err_cap);
/* Forget the files whose last step ends before t (UTC s). */
void serve_sensors_prune(serve_sensors *s, int64_t before);
/* The steps ending in (to - span_s, to] of every file, their end times moved by shift_s (0
 * in service; the soak replays old files), as a new series. SQ25_OK; SQ25_ERR_NO_DATA when no
 * file is held; the errors of sq25_series_create. */
int serve_sensors_window(const serve_sensors *s, sq25_ctx *ctx, int64_t to, int64_t span_s,
                         int64_t shift_s, sq25_series **out);

/* ---- microwave-link files of the inbox (serve_links.c) ---- */
/* Each links file is kept as read (the newest read of a name replaces the earlier one); a
 * cycle processes every file into path rain over its window and pushes them as one. */
typedef struct {
    char name[256];
    sq25_links *links;
    int64_t last_time; /* time of its last sample, UTC s */
} serve_links_file;

typedef struct {
    serve_links_file *files; /* in the order read */
    size_t count, cap;
} serve_links;

void serve_links_init(serve_links *s);
void serve_links_free(serve_links *s);
/* Keep links (taking ownership) read from file name, replacing an earlier read of that name.
 * 0, or -1 on out-of-memory (links destroyed then). */
int serve_links_add(serve_links *s, const char *name, sq25_links *links);
/* Forget the files whose last sample is before t (UTC s). */
void serve_links_prune(serve_links *s, int64_t before);
/* Path rain of every file, intervals of step_s ending in [from, to] (as sq25_links_process),
 * their times moved by shift_s (0 in service; the soak replays old files), the files one
 * after the other in one series, with their end points (4 per link: new arrays, release with
 * sq25_series_destroy and free). A file without such an interval, or whose intervals are not
 * the first used file's, is left out and named in skipped (a short text, "" when none).
 * SQ25_OK; SQ25_ERR_NO_DATA when no file gives an interval; the errors of
 * sq25_links_process and sq25_series_create. */
int serve_links_path_rain(const serve_links *s, sq25_ctx *ctx, const sq25_cml_options *opt,
                          int64_t from, int64_t to, int step_s, int64_t shift_s,
                          sq25_series **rain, double **lonlat, char *skipped,
                          size_t skipped_cap);

/* ---- publishing (serve_publish.c) ---- */
/* One cycle's publication is one atomic step. Its files are written into OUTBOX/.staging,
 * synced, and the folder is renamed to OUTBOX/cycles/<name>; then the symbolic link
 * OUTBOX/current is switched to it by renaming a new link over it, so a reader that resolves
 * `current` once (or follows latest.json's "folder") sees one whole cycle. The fixed names
 * of earlier versions (OUTBOX/latest.json, OUTBOX/warnings.geojson, ...) stay, as links
 * through `current`. The oldest cycle folders beyond keep are removed. */
typedef struct {
    char outbox[2048];
    char staging[2304];
    char name[128];     /* the cycle folder: cycles/<name> */
    char names[64][96]; /* staged file names */
    int count;
    char error[8192];
} serve_publish;

/* Create an empty staging folder for the cycle folder cycles/<name> (made unique: ".2", ".3"
 * appended when a folder of that name exists, e.g. after a crash before the state was saved).
 * 0 or -1 (error). */
int serve_publish_begin(serve_publish *p, const char *outbox, const char *name);
/* Path of name inside the staging folder (registers it). NULL when too many files. */
const char *serve_publish_path(serve_publish *p, const char *name, char *buf, size_t cap);
/* Sync every staged file and the folder, rename it to cycles/<name>, switch OUTBOX/current
 * to it, make the top-level links, remove cycle folders beyond the newest keep. 0 or -1
 * (error; the previous cycle stays current when anything before the switch fails). */
int serve_publish_commit(serve_publish *p, int keep);
/* Remove the staging folder and what it holds. */
void serve_publish_abort(serve_publish *p);
/* Write a whole file atomically (temporary name in the same folder, fsync, rename, fsync of
 * the folder). 0 or -1 with err. */
int serve_write_atomic(const char *path, const char *data, size_t len, char *err, size_t err_cap);
/* fsync a file by path. 0 or -1 (errno set). */
int serve_fsync_path(const char *path);

/* ---- maps (serve_maps.c) ---- */
typedef struct {
    sq25_ctx *ctx;
    const sq25_pipeline *p;       /* after a run */
    const sq25_field *latest;     /* the newest radar frame */
    const sq25_field *street;     /* street grid, or NULL */
    const sq25_targets *targets;  /* or NULL */
    const char *tz, *credit;      /* local time zone and credit line of the maps, or NULL */
} serve_map_job;

/* observation.png, forecast_30.png, forecast_60.png and warning.png into the publication, as
 * `sq25 run` draws them. SQ25_OK or the error of the renderer (SQ25_ERR_INVALID_ARG: too many
 * files, or a bad time zone). */
int serve_write_maps(const serve_map_job *job, sq25_warning *w, serve_publish *pub);

#endif
