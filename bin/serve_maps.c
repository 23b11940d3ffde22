/* serve_maps.c -- the maps a `sq25 serve` cycle publishes, the same as `sq25 run` draws
 * them: the observation (the merged analysis when sensors were merged, else the newest radar
 * frame on the street grid), the forecast at +30 and +60 minutes, and the warning map. */
#include "cli.h"
#include "serve.h"

#include <stdio.h>

static int options(const serve_map_job *job, const char *title, int64_t t, sq25_render_options **ro)
{
    int rc = sq25_render_options_create(job->ctx, ro);
    if (rc == SQ25_OK) rc = sq25_render_options_set_title(*ro, title);
    if (rc == SQ25_OK && cli_map_options("serve", *ro, job->tz, t, job->credit) != CLI_OK)
        rc = SQ25_ERR_INVALID_ARG;
    return rc;
}

static int field_map(const serve_map_job *job, const sq25_field *f, const sq25_field *street,
                     const char *title, const char *path)
{
    sq25_field *m = NULL;
    sq25_render_options *ro = NULL;
    int rc = cli_map_field(f, street, &m);
    if (rc == SQ25_OK) rc = options(job, title, sq25_field_valid_time(f), &ro);
    if (rc == SQ25_OK) rc = sq25_render_field_png(m, job->targets, ro, path);
    sq25_render_options_destroy(ro);
    sq25_field_destroy(m);
    return rc;
}

/* The staged path of a map (NULL when the publication holds too many files). */
static const char *path_of(serve_publish *pub, const char *name)
{
    static char buf[4096];
    return serve_publish_path(pub, name, buf, sizeof buf);
}

int serve_write_maps(const serve_map_job *job, sq25_warning *w, serve_publish *pub)
{
    const sq25_field *merged = sq25_pipeline_analysis(job->p);
    const sq25_field *street = merged ? NULL : job->street; /* merged leads are on it already */
    const char *path = path_of(pub, "observation.png");
    int rc = path ? SQ25_OK : SQ25_ERR_INVALID_ARG;
    if (rc == SQ25_OK)
        rc = field_map(job, merged ? merged : job->latest, street,
                       merged ? "Observed rain rate mm/h radar+sensors" : "Observed rain rate mm/h", path);
    int step_min = sq25_pipeline_step_s(job->p) / 60, n = sq25_pipeline_forecast_count(job->p);
    int leads[2], n_maps = cli_map_leads(step_min, n, leads);
    for (int k = 0; rc == SQ25_OK && k < n_maps; k++) {
        int i = leads[k];
        char title[64], name[64];
        cli_map_lead_names(i, step_min, title, sizeof title, name, sizeof name);
        const sq25_field *grid,
            *lead = cli_map_lead_field(job->p, i, merged != NULL, job->street, &grid);
        if (!(path = path_of(pub, name))) rc = SQ25_ERR_INVALID_ARG;
        else rc = field_map(job, lead, grid, title, path);
    }
    sq25_render_options *ro = NULL;
    if (rc == SQ25_OK && !(path = path_of(pub, "warning.png"))) rc = SQ25_ERR_INVALID_ARG;
    if (rc == SQ25_OK) rc = options(job, "Heavy-rain warning next 60 min", sq25_warning_issue_time(w), &ro);
    if (rc == SQ25_OK) rc = sq25_render_warning_png(w, ro, path);
    sq25_render_options_destroy(ro);
    return rc;
}
