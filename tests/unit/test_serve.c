/* test_serve.c -- the parts of `sq25 serve` (bin/serve_*.c) that need no running service.
 * 1. The warning state machine on scripted level sequences (the expected actions follow from
 *    the rule: raise at once, lower only on the hysteresis-th cycle below, never cancel on
 *    missing data).
 * 2. The state file: round trip, missing file, bad file.
 * 3. CAP: the mapping table of docs/warnings.md, the element order of the CAP 1.2 schema
 *    (OASIS CAP 1.2 section 3.4, written out below), a closed polygon ring in lat,lon order.
 * 4. An analytic storm through the real pipeline: a Gaussian cell moved across a target by a
 *    known vector gives one Alert, Updates that reference it, a level raised and lowered, and
 *    one Cancel, at the cycles the analytic accumulation predicts (within the neighbourhood
 *    radius, see below).
 * 5. The config file parser: keys, comments, quotes, bad lines with their line number. */
#include "support.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve.h"

static serve_target_now level_now(int level)
{
    serve_target_now n = {.level = level, .no_data = false, .probability = level ? 0.6 : 0.1,
                          .amount_mm = 10, .onset_min = level ? 20 : NAN};
    return n;
}

static void test_hysteresis_sequence(void **state)
{
    (void)state;
    serve_track t;
    memset(&t, 0, sizeof t);
    snprintf(t.target_id, sizeof t.target_id, "u 1");
    const int levels[] = {0, 1, 1, 2, 1, 1, 0, 0, 0, 1};
    const serve_action expected[] = {SERVE_ACT_NONE,   SERVE_ACT_RAISE, SERVE_ACT_UPDATE,
                                     SERVE_ACT_UPGRADE, SERVE_ACT_HOLD, SERVE_ACT_LOWER,
                                     SERVE_ACT_HOLD,   SERVE_ACT_CANCEL, SERVE_ACT_NONE,
                                     SERVE_ACT_RAISE};
    const int level_after[] = {0, 1, 1, 2, 2, 1, 1, 0, 0, 1};
    char first_id[SERVE_ID_CAP] = "";
    for (int k = 0; k < 10; k++) {
        serve_target_now now = level_now(levels[k]);
        serve_action a = serve_track_step(&t, &now, 2, 1625400000 + 300 * k, 1700000000 + k);
        assert_int_equal(a, expected[k]);
        if (t.active || a == SERVE_ACT_CANCEL) assert_int_equal(t.level, level_after[k]);
        if (k == 1) {
            /* the warning id: target (sanitised: no space) and the raise time */
            assert_string_equal(t.warning_id, "u_1-20210704T1205Z");
            assert_string_equal(t.last_ident, "sq25-u_1-20210704T1205Z-1");
            snprintf(first_id, sizeof first_id, "%s", t.warning_id);
        }
        if (k >= 2 && k <= 7) {
            assert_string_equal(t.warning_id, first_id); /* identity kept */
            assert_int_equal(t.seq, k);
            assert_string_equal(t.first_ident, "sq25-u_1-20210704T1205Z-1");
        }
    }
    assert_true(t.active);
    assert_string_not_equal(t.warning_id, first_id); /* a new warning after the cancel */
    assert_int_equal(t.seq, 1);
    assert_string_equal(t.prev_ident, "");
}

static void test_no_flapping_and_no_data(void **state)
{
    (void)state;
    serve_track t;
    memset(&t, 0, sizeof t);
    snprintf(t.target_id, sizeof t.target_id, "b1");
    /* 1,0,1,0,...: with hysteresis 2 the warning never drops */
    for (int k = 0; k < 8; k++) {
        serve_target_now now = level_now(k % 2 == 0);
        serve_action a = serve_track_step(&t, &now, 2, 1625400000 + 300 * k, 1700000000 + k);
        assert_int_equal(a, k == 0 ? SERVE_ACT_RAISE : k % 2 ? SERVE_ACT_HOLD : SERVE_ACT_UPDATE);
    }
    /* no data: kept at its level, no cancel however long, and no count towards lowering */
    serve_target_now none = {.level = 0, .no_data = true, .probability = NAN, .amount_mm = NAN,
                             .onset_min = NAN};
    for (int k = 0; k < 5; k++) {
        assert_int_equal(serve_track_step(&t, &none, 2, 1625500000 + 300 * k, 1700001000), SERVE_ACT_NODATA);
        assert_true(t.active);
        assert_int_equal(t.level, 1);
    }
    /* the cycle below before the outage (k = 7) still counts: one more below cancels */
    serve_target_now zero = level_now(0);
    assert_int_equal(serve_track_step(&t, &zero, 2, 1625600300, 1700002300), SERVE_ACT_CANCEL);
    /* no data on an inactive target never raises */
    assert_int_equal(serve_track_step(&t, &none, 2, 1625600600, 1700002600), SERVE_ACT_NONE);
    /* stale input (an older forecast carried forward): raised, never lowered */
    serve_target_now stale2 = level_now(2), stale0 = level_now(0);
    stale2.keep_level = stale0.keep_level = true;
    assert_int_equal(serve_track_step(&t, &stale2, 2, 1625650000, 1700002700), SERVE_ACT_RAISE);
    for (int k = 0; k < 4; k++)
        assert_int_equal(serve_track_step(&t, &stale0, 2, 1625650300 + 300 * k, 1700002800), SERVE_ACT_HOLD);
    assert_int_equal(t.level, 2);
    assert_int_equal(t.below, 0);
    serve_track_step(&t, &zero, 2, 1625660000, 1700003000);
    assert_int_equal(serve_track_step(&t, &zero, 2, 1625660300, 1700003100), SERVE_ACT_CANCEL);
    /* hysteresis 1: lowered at once */
    serve_target_now two = level_now(2), one = level_now(1);
    serve_track_step(&t, &two, 1, 1625700000, 1700003000);
    assert_int_equal(serve_track_step(&t, &one, 1, 1625700300, 1700003300), SERVE_ACT_LOWER);
}

static void test_state_file(void **state)
{
    (void)state;
    char path[4096], err[512];
    snprintf(path, sizeof path, "%s/serve.state", test_tmpdir());
    serve_state s;
    serve_state_init(&s);
    s.last_frame_time = 1625421900;
    s.nominal_step_s = 300;
    s.cycles = 42;
    serve_target_now now = level_now(2);
    serve_track_step(serve_state_track(&s, "u1"), &now, 2, 1625421900, 1700000000);
    serve_track_step(serve_state_track(&s, "u1"), &now, 2, 1625422200, 1700000300);
    serve_state_track(&s, "t1");
    assert_int_equal(serve_state_save(&s, path, err, sizeof err), 0);
    serve_state r;
    assert_int_equal(serve_state_load(&r, path, err, sizeof err), 0);
    assert_int_equal(r.count, 2);
    assert_int_equal(r.last_frame_time, 1625421900);
    assert_int_equal(r.nominal_step_s, 300);
    assert_int_equal(r.cycles, 42);
    const serve_track *a = &s.tracks[0], *b = &r.tracks[0];
    assert_string_equal(b->target_id, "u1");
    assert_true(b->active);
    assert_int_equal(b->level, 2);
    assert_int_equal(b->seq, 2);
    assert_string_equal(b->warning_id, a->warning_id);
    assert_string_equal(b->first_ident, a->first_ident);
    assert_string_equal(b->last_ident, a->last_ident);
    assert_int_equal(b->first_sent, 1700000000);
    assert_int_equal(b->last_sent, 1700000300);
    assert_false(r.tracks[1].active);
    assert_string_equal(r.tracks[1].warning_id, "");
    serve_state_free(&r);
    serve_state_free(&s);
    /* missing: empty state; bad: an error naming the file and line */
    char missing[4096];
    snprintf(missing, sizeof missing, "%s/none.state", test_tmpdir());
    assert_int_equal(serve_state_load(&r, missing, err, sizeof err), 0);
    assert_int_equal(r.count, 0);
    const char *bad = test_write_file("bad.state", "sq25-serve-state 1\ncycles 3\ntrack\tx\n");
    assert_int_equal(serve_state_load(&r, bad, err, sizeof err), -1);
    assert_non_null(strstr(err, "bad.state:3"));
    const char *other = test_write_file("other.state", "hello\n");
    assert_int_equal(serve_state_load(&r, other, err, sizeof err), -1);
}

static void test_cap_mapping(void **state)
{
    (void)state;
    /* docs/warnings.md, CAP mapping table */
    assert_string_equal(serve_cap_severity(1, 3), "Moderate");
    assert_string_equal(serve_cap_severity(2, 3), "Severe");
    assert_string_equal(serve_cap_severity(3, 3), "Extreme");
    assert_string_equal(serve_cap_severity(1, 1), "Extreme");
    assert_string_equal(serve_cap_severity(0, 3), "Minor");
    assert_string_equal(serve_cap_certainty(0.5), "Likely");
    assert_string_equal(serve_cap_certainty(0.49), "Possible");
    assert_string_equal(serve_cap_certainty(0), "Unlikely");
    assert_string_equal(serve_cap_urgency(15), "Immediate");
    assert_string_equal(serve_cap_urgency(20), "Expected");
    assert_string_equal(serve_cap_urgency(NAN), "Immediate");
    assert_string_equal(serve_cap_msg_type(SERVE_ACT_RAISE), "Alert");
    assert_string_equal(serve_cap_msg_type(SERVE_ACT_HOLD), "Update");
    assert_string_equal(serve_cap_msg_type(SERVE_ACT_CANCEL), "Cancel");
    assert_null(serve_cap_msg_type(SERVE_ACT_NONE));
    char t[40];
    serve_cap_time(1625420700, t, sizeof t);
    assert_string_equal(t, "2021-07-04T17:45:00-00:00"); /* CAP 1.2 3.3.2: UTC as -00:00 */
}

/* Positions of the child elements of the first <parent> block, in document order. */
static void assert_order(const char *xml, const char *parent, const char *const *order, int n)
{
    char open[64], close[64];
    snprintf(open, sizeof open, "<%s", parent);
    snprintf(close, sizeof close, "</%s>", parent);
    const char *start = strstr(xml, open), *end = strstr(xml, close);
    assert_non_null(start);
    assert_non_null(end);
    const char *last = start;
    for (int i = 0; i < n; i++) {
        char tag[64];
        snprintf(tag, sizeof tag, "<%s>", order[i]);
        const char *at = strstr(start, tag);
        if (!at || at > end) continue; /* optional element not written */
        if (at < last) fail_msg("<%s> comes before an element the schema puts first", order[i]);
        last = at;
    }
}

static char *cap_text(const serve_cap_message *m)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(serve_cap_write(f, m), 0);
    fclose(f);
    return buf;
}

static void test_cap_order_and_area(void **state)
{
    (void)state;
    serve_track t;
    memset(&t, 0, sizeof t);
    snprintf(t.target_id, sizeof t.target_id, "road7");
    serve_target_now now = level_now(2);
    serve_track_step(&t, &now, 2, 1625420700, 1700000000);
    serve_action a = serve_track_step(&t, &now, 2, 1625421000, 1700000300);
    const double line[4] = {6.10, 50.10, 6.12, 50.10}; /* an east-west road */
    serve_cap_message m = {.track = &t, .action = a, .sender = "city@example.org",
                           .status = "Test", .sent = 1700000300, .target_id = "road7",
                           .target_name = "Route & <7>", .lonlat = line, .vertex_count = 2,
                           .radius_km = 0.25, .level = 2, .level_count = 3,
                           .level_name = "Unwetter", .threshold_mm = 25, .now = now,
                           .issue_time = 1625421000, .expires = 1625424600, .horizon_min = 60,
                           .data_state = SERVE_DATA_OK};
    char *xml = cap_text(&m);
    static const char *const alert[] = {"identifier", "sender", "sent", "status", "msgType",
                                        "source", "scope", "restriction", "addresses", "code",
                                        "note", "references", "incidents", "info"};
    static const char *const info[] = {"language", "category", "event", "responseType",
                                       "urgency", "severity", "certainty", "audience",
                                       "eventCode", "effective", "onset", "expires",
                                       "senderName", "headline", "description", "instruction",
                                       "web", "contact", "parameter", "resource", "area"};
    static const char *const area[] = {"areaDesc", "polygon", "circle", "geocode"};
    assert_order(xml, "alert", alert, 14);
    assert_order(xml, "info", info, 21);
    assert_order(xml, "area", area, 4);
    assert_non_null(strstr(xml, "<msgType>Update</msgType>"));
    assert_non_null(strstr(xml, "<status>Test</status>"));
    assert_non_null(strstr(xml, "<severity>Severe</severity>"));
    assert_non_null(strstr(xml, "<certainty>Likely</certainty>"));
    assert_non_null(strstr(xml, "<urgency>Expected</urgency>"));
    /* references: sender,identifier,sent of the Alert */
    char ref[256];
    snprintf(ref, sizeof ref, "<references>city@example.org,%s,2023-11-14T22:13:20-00:00</references>",
             t.first_ident);
    assert_non_null(strstr(xml, ref));
    /* the name is escaped; German and English texts */
    assert_non_null(strstr(xml, "Route &amp; &lt;7&gt;"));
    assert_non_null(strstr(xml, "<language>de-DE</language>"));
    assert_non_null(strstr(xml, "<language>en-GB</language>"));
    assert_non_null(strstr(xml, "Starkregenwarnung (Stufe 2, Unwetter)"));
    assert_non_null(strstr(xml, "Heavy-rain warning (level 2, Unwetter)"));
    /* the polygon: lat,lon pairs, 5 points, closed; 0.25 km either side of the road is
     * 0.25 / 110.574 = 0.00226 degrees of latitude (WGS84 metres per degree near 50 N) */
    const char *p = strstr(xml, "<polygon>");
    assert_non_null(p);
    double la[5], lo[5];
    assert_int_equal(sscanf(p, "<polygon>%lf,%lf %lf,%lf %lf,%lf %lf,%lf %lf,%lf", &la[0], &lo[0],
                            &la[1], &lo[1], &la[2], &lo[2], &la[3], &lo[3], &la[4], &lo[4]), 10);
    assert_true(la[0] == la[4] && lo[0] == lo[4]);
    assert_float_equal(la[0], 50.10 + 0.00226, 2e-5);
    assert_float_equal(la[2], 50.10 - 0.00226, 2e-5);
    assert_float_equal(lo[0], 6.10, 1e-9);
    assert_float_equal(lo[1], 6.12, 1e-9);
    free(xml);
    /* a point target: a circle "lat,lon radius_km" */
    const double pt[2] = {6.2, 50.16};
    m.lonlat = pt;
    m.vertex_count = 1;
    xml = cap_text(&m);
    assert_non_null(strstr(xml, "<circle>50.160000,6.200000 0.250</circle>"));
    free(xml);
}

/* ---- the analytic storm ---- */
#define W 128
#define H 48
#define PEAK_MMH 60.0
#define SIGMA_PX 4.0
#define SPEED_PX 2.0 /* per 5-minute step, eastwards */
#define X0 10.5
#define TARGET_COL 90.5
#define ROW 24.5
static const double GT_1KM[6] = {500000, 1000, 0, 5600000, 0, -1000};

static sq25_field *storm_frame(sq25_ctx *ctx, int k, int64_t t0)
{
    sq25_field *f = NULL;
    assert_int_equal(sq25_field_create(ctx, W, H, "EPSG:32631", GT_1KM, t0 + 300 * k, &f), SQ25_OK);
    float *d = sq25_field_data(f);
    double cx = X0 + SPEED_PX * k;
    for (int r = 0; r < H; r++)
        for (int c = 0; c < W; c++) {
            double dx = c + 0.5 - cx, dy = r + 0.5 - ROW;
            d[r * W + c] = (float)(PEAK_MMH * exp(-(dx * dx + dy * dy) / (2 * SIGMA_PX * SIGMA_PX)));
        }
    return f;
}

/* The exact forecast amount at the target over the next hour at cycle k: the cell moved on by
 * SPEED_PX per step, lead i holding the rate at its end, 5/60 h per lead. */
static double analytic_amount_mm(int k)
{
    double sum = 0;
    for (int i = 1; i <= 12; i++) {
        double dx = X0 + SPEED_PX * (k + i) - TARGET_COL;
        sum += PEAK_MMH * exp(-dx * dx / (2 * SIGMA_PX * SIGMA_PX)) * 5.0 / 60.0;
    }
    return sum;
}

static void test_analytic_storm_chain(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_pipeline *p = NULL;
    assert_int_equal(sq25_pipeline_create(ctx, &p), SQ25_OK);
    const double thr[2] = {10, 20};
    assert_int_equal(sq25_warn_options_set_levels(sq25_pipeline_warn_options(p), 2, thr, NULL), SQ25_OK);
    sq25_targets *targets = NULL;
    assert_int_equal(sq25_targets_create(ctx, &targets), SQ25_OK);
    sq25_field *grid = storm_frame(ctx, 0, 0);
    double col = TARGET_COL, row = ROW, lon = 0, lat = 0;
    assert_int_equal(sq25_field_pixel_to_lonlat(grid, 1, &col, 0, &row, 0, &lon, 0, &lat, 0), SQ25_OK);
    sq25_field_destroy(grid);
    assert_int_equal(sq25_targets_add_point(targets, "x1", "Crossing", lon, lat, NAN), SQ25_OK);
    sq25_pipeline_set_targets(p, targets);

    /* The analytic levels: the first and last cycle with >= 10 mm and >= 20 mm in the hour. */
    int k1_first = -1, k1_last = -1, k2_first = -1, k2_last = -1;
    for (int k = 0; k < 60; k++) {
        double a = analytic_amount_mm(k);
        if (a >= 10 && k1_first < 0) k1_first = k;
        if (a >= 10) k1_last = k;
        if (a >= 20 && k2_first < 0) k2_first = k;
        if (a >= 20) k2_last = k;
    }
    assert_true(k1_first > 5 && k2_first > k1_first && k1_last > k2_last);

    const int hysteresis = 2;
    serve_track t;
    memset(&t, 0, sizeof t);
    snprintf(t.target_id, sizeof t.target_id, "x1");
    int k_alert = -1, k_upgrade = -1, k_lower = -1, k_cancel = -1, alerts = 0, cancels = 0;
    char alert_ident[SERVE_ID_CAP] = "", warning_id[SERVE_ID_CAP] = "";
    const int64_t t0 = 1625400000;
    for (int k = 0; k < 50; k++) {
        sq25_field *f = storm_frame(ctx, k, t0);
        assert_int_equal(sq25_pipeline_push_frame(p, f), SQ25_OK);
        sq25_field_destroy(f);
        if (k < 2) continue;
        sq25_warning *w = NULL;
        assert_int_equal(sq25_pipeline_run(p, &w), SQ25_OK);
        serve_target_now now = {0};
        assert_int_equal(sq25_warning_target_result(w, 0, &now.level, &now.probability,
                                                    &now.amount_mm, NULL, &now.onset_min), SQ25_OK);
        serve_action a = serve_track_step(&t, &now, hysteresis, t0 + 300 * k, 1700000000 + k);
        if (a == SERVE_ACT_RAISE) {
            alerts++;
            k_alert = k;
            snprintf(alert_ident, sizeof alert_ident, "%s", t.last_ident);
            snprintf(warning_id, sizeof warning_id, "%s", t.warning_id);
        }
        if (a == SERVE_ACT_UPGRADE && k_upgrade < 0) k_upgrade = k;
        if (a == SERVE_ACT_LOWER && k_lower < 0) k_lower = k;
        if (a == SERVE_ACT_CANCEL) {
            cancels++;
            k_cancel = k;
        }
        if (a != SERVE_ACT_NONE) {
            const double pt[2] = {lon, lat};
            serve_cap_message m = {.track = &t, .action = a, .sender = "test", .status = "Test",
                                   .sent = 1700000000 + k, .target_id = "x1",
                                   .target_name = "Crossing", .lonlat = pt, .vertex_count = 1,
                                   .radius_km = 0.25, .level = a == SERVE_ACT_CANCEL ? 0 : t.level,
                                   .level_count = 2, .level_name = "", .threshold_mm = 10,
                                   .now = now, .issue_time = t0 + 300 * k,
                                   .expires = t0 + 300 * k + 3600, .horizon_min = 60,
                                   .data_state = SERVE_DATA_OK};
            char *xml = cap_text(&m);
            if (a != SERVE_ACT_RAISE) {
                /* every Update and the Cancel reference the Alert and keep the warning id */
                char ref[256];
                snprintf(ref, sizeof ref, "test,%s,", alert_ident);
                assert_non_null(strstr(xml, ref));
                assert_string_equal(t.warning_id, warning_id);
                assert_non_null(strstr(xml, a == SERVE_ACT_CANCEL ? "<msgType>Cancel" : "<msgType>Update"));
            } else {
                assert_null(strstr(xml, "<references>"));
                assert_non_null(strstr(xml, "<msgType>Alert"));
            }
            free(xml);
        }
        sq25_warning_destroy(w);
    }
    print_message("analytic: >=10 mm at cycles %d..%d, >=20 mm at %d..%d; service: alert %d, "
                  "upgrade %d, lower %d, cancel %d\n", k1_first, k1_last, k2_first, k2_last,
                  k_alert, k_upgrade, k_lower, k_cancel);
    /* One warning over the whole passage: one Alert, one Cancel, the level raised once to 2
     * and lowered before the end. The cycles match the analytic ones within the neighbourhood:
     * at the last lead its radius is 6 km = 6 px = 3 cycles of motion, and the probability is
     * the fraction of the window that exceeds, so a level may come up to 3 cycles (+1 for the
     * discrete leads) early or late; it leaves after the hysteresis, within the same margin. */
    assert_int_equal(alerts, 1);
    assert_int_equal(cancels, 1);
    assert_true(k_alert >= k1_first - 4 && k_alert <= k1_first + 4);
    assert_true(k_upgrade >= k2_first - 4 && k_upgrade <= k2_first + 4);
    assert_true(k_lower > k_upgrade && k_cancel > k_lower);
    assert_true(k_lower >= k2_last + hysteresis - 4 && k_lower <= k2_last + hysteresis + 4);
    assert_true(k_cancel >= k1_last + hysteresis - 4 && k_cancel <= k1_last + hysteresis + 4);
    sq25_pipeline_destroy(p);
    sq25_targets_destroy(targets);
    sq25_ctx_destroy(ctx);
}

static void test_config(void **state)
{
    (void)state;
    serve_config c;
    serve_config_defaults(&c);
    char err[512];
    const char *path = test_write_file("serve.conf",
                                       "# comment\n\ninbox = /srv/in\nlevels = \"5,10,15\"\n"
                                       "hysteresis=3\nmaps = no\noutage-min = 7.5\n");
    assert_int_equal(serve_config_read_file(&c, path, err, sizeof err), 0);
    assert_string_equal(c.inbox, "/srv/in");
    assert_string_equal(c.levels, "5,10,15");
    assert_int_equal(c.hysteresis, 3);
    assert_false(c.maps);
    assert_float_equal(c.outage_min, 7.5, 0);
    /* flags on top of the file */
    char *argv[] = {"serve", "--config", (char *)path, "--hysteresis", "4", "--no-forecast", "--outbox", "/srv/out"};
    serve_config d;
    serve_config_defaults(&d);
    assert_int_equal(serve_config_load(&d, 8, argv, err, sizeof err), 0);
    assert_int_equal(d.hysteresis, 4);
    assert_false(d.forecast);
    assert_string_equal(d.outbox, "/srv/out");
    assert_int_equal(serve_config_check(&d, err, sizeof err), 0);
    serve_config_clear(&d);
    /* errors name the file and the line */
    const char *bad = test_write_file("bad.conf", "inbox = x\nhysteresis = 0\n");
    assert_int_equal(serve_config_read_file(&c, bad, err, sizeof err), -1);
    assert_non_null(strstr(err, "bad.conf:2"));
    const char *unknown = test_write_file("unknown.conf", "colour = red\n");
    assert_int_equal(serve_config_read_file(&c, unknown, err, sizeof err), -1);
    assert_non_null(strstr(err, "unknown option 'colour'"));
    assert_int_equal(serve_config_set(&c, "frames", "2.5", err, sizeof err), -1);
    assert_int_equal(serve_config_set(&c, "sender", "a b", err, sizeof err), 0);
    assert_int_equal(serve_config_check(&c, err, sizeof err), -1); /* no outbox, bad sender */
    serve_config_clear(&c);
}

/* A series of the given stations (ids, lon = 5 + index) and steps; value(station i, step k) =
 * base + 10 i + k (mm), so every number below is written out by hand from that rule. */
static sq25_series *made_series(sq25_ctx *ctx, const char *const *ids, int n, int64_t t0,
                                int steps, int step_s, float base)
{
    sq25_series *s = NULL;
    assert_int_equal(sq25_series_create(ctx, n, steps, t0, step_s, &s), SQ25_OK);
    float *v = sq25_series_data(s);
    for (int i = 0; i < n; i++) {
        assert_int_equal(sq25_series_set_station(s, i, ids[i], 5.0 + i, 50.0), SQ25_OK);
        for (int k = 0; k < steps; k++) v[i * steps + k] = base + 10.0f * (float)i + (float)k;
    }
    return s;
}

static float at(const sq25_series *w, int station, int step)
{
    return sq25_series_data_const(w)[(size_t)station * (size_t)sq25_series_step_count(w) + (size_t)step];
}

/* The sensor store of the inbox: the union of the stations by id (first seen first), the
 * file read last winning, the window on the step grid, time shift, step checks, pruning. */
static void test_sensor_store(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    serve_sensors st;
    serve_sensors_init(&st);
    char err[200];
    const int64_t t0 = 1625418000; /* 2021-07-04T17:00:00Z */
    /* a: stations x, y; 6 steps ending 17:00..17:25; values 0..5 (x), 10..15 (y) */
    const char *ab[] = {"x", "y"}, *yz[] = {"y", "z"};
    assert_int_equal(serve_sensors_add(&st, "a.csv", made_series(ctx, ab, 2, t0, 6, 300, 0), err, sizeof err), 0);
    /* b: stations y, z; 3 steps ending 17:20..17:30; values 100..102 (y), 110..112 (z) */
    assert_int_equal(serve_sensors_add(&st, "b.csv", made_series(ctx, yz, 2, t0 + 1200, 3, 300, 100), err, sizeof err), 0);
    sq25_series *w = NULL;
    /* the window of 4 steps ending at 17:27 (not on the grid: the last step is 17:25) */
    assert_int_equal(serve_sensors_window(&st, ctx, t0 + 1620, 1200, 0, &w), SQ25_OK);
    assert_int_equal(sq25_series_station_count(w), 3);
    assert_string_equal(sq25_series_station_id(w, 0), "x");
    assert_string_equal(sq25_series_station_id(w, 1), "y");
    assert_string_equal(sq25_series_station_id(w, 2), "z");
    assert_int_equal(sq25_series_step_count(w), 4);
    assert_true(sq25_series_time(w, 0) == t0 + 600 && sq25_series_time(w, 3) == t0 + 1500);
    /* x: a's steps 2..5 */
    assert_true(at(w, 0, 0) == 2.0f && at(w, 0, 3) == 5.0f);
    /* y: a's 12, 13 at 17:10, 17:15; b (read last) 100, 101 at 17:20, 17:25 */
    assert_true(at(w, 1, 0) == 12.0f && at(w, 1, 1) == 13.0f && at(w, 1, 2) == 100.0f && at(w, 1, 3) == 101.0f);
    /* z: b only, from 17:20; NaN before */
    assert_true(isnan(at(w, 2, 0)) && isnan(at(w, 2, 1)) && at(w, 2, 2) == 110.0f && at(w, 2, 3) == 111.0f);
    double lon, lat;
    sq25_series_station_lonlat(w, 1, &lon, &lat); /* y: b's position (5 + 0), b read last */
    assert_true(lon == 5.0 && lat == 50.0);
    sq25_series_destroy(w);
    /* shifted by one day: the window ending a day later holds the same values */
    assert_int_equal(serve_sensors_window(&st, ctx, t0 + 1620 + 86400, 1200, 86400, &w), SQ25_OK);
    assert_true(sq25_series_time(w, 3) == t0 + 1500 + 86400 && at(w, 1, 3) == 101.0f && at(w, 0, 0) == 2.0f);
    sq25_series_destroy(w);
    /* another step, or times off the 5-minute grid: refused, the store unchanged */
    assert_int_equal(serve_sensors_add(&st, "c.csv", made_series(ctx, ab, 2, t0, 3, 600, 0), err, sizeof err), -1);
    assert_non_null(strstr(err, "time step differs"));
    assert_int_equal(serve_sensors_add(&st, "d.csv", made_series(ctx, ab, 2, t0 + 60, 3, 300, 0), err, sizeof err), -1);
    assert_non_null(strstr(err, "step grid"));
    assert_int_equal((int)st.count, 2);
    /* b rewritten (same name): replaces its earlier read, y's 17:20 value is now 7 */
    assert_int_equal(serve_sensors_add(&st, "b.csv", made_series(ctx, yz, 2, t0 + 1200, 1, 300, 7), err, sizeof err), 0);
    assert_int_equal((int)st.count, 2);
    assert_int_equal(serve_sensors_window(&st, ctx, t0 + 1500, 600, 0, &w), SQ25_OK);
    assert_true(at(w, 1, 0) == 7.0f && at(w, 1, 1) == 15.0f); /* 17:20 from b, 17:25 from a */
    sq25_series_destroy(w);
    /* prune: a ends 17:25, b 17:20; forgetting what ends before 17:22 drops b */
    serve_sensors_prune(&st, t0 + 1320);
    assert_int_equal((int)st.count, 1);
    assert_string_equal(st.files[0].name, "a.csv");
    serve_sensors_prune(&st, t0 + 86400);
    assert_int_equal(serve_sensors_window(&st, ctx, t0, 600, 0, &w), SQ25_ERR_NO_DATA);
    assert_null(w);
    serve_sensors_free(&st);
    sq25_ctx_destroy(ctx);
}

/* The kept-file array both inbox stores use: growth from empty (first_cap, then double),
 * lookup by name, removal that releases the element and keeps the order, release of all.
 * Expected values by hand from the calls. */
typedef struct {
    char name[256];
    int tag;
} named_item;

static int released_tags; /* sum of the tags release_item saw */
static void release_item(void *elem) { released_tags += ((named_item *)elem)->tag; }

static void test_file_array(void **state)
{
    (void)state;
    const serve_file_kind kind = {sizeof(named_item), 2, release_item};
    named_item *items = NULL;
    size_t count = 0, cap = 0;
    const char *names[] = {"a.csv", "b.csv", "c.csv", "d.csv", "e.csv"};
    const size_t cap_after[] = {2, 2, 4, 4, 8}; /* first_cap 2, doubled when full */
    for (int i = 0; i < 5; i++) {
        named_item *grown = serve_files_reserve(&kind, items, count, &cap);
        assert_non_null(grown);
        items = grown;
        assert_int_equal(cap, cap_after[i]);
        snprintf(items[count].name, sizeof items[count].name, "%s", names[i]);
        items[count++].tag = 1 << i; /* 1, 2, 4, 8, 16 */
    }
    assert_int_equal(serve_files_find(&kind, items, count, "c.csv"), 2);
    assert_int_equal(serve_files_find(&kind, items, count, "z.csv"), count);
    released_tags = 0;
    serve_files_drop(&kind, items, &count, 1); /* b.csv */
    assert_int_equal(released_tags, 2);
    assert_int_equal(count, 4);
    const int tags_left[] = {1, 4, 8, 16};
    for (size_t i = 0; i < count; i++) assert_int_equal(items[i].tag, tags_left[i]);
    assert_int_equal(serve_files_find(&kind, items, count, "b.csv"), count);
    assert_int_equal(serve_files_find(&kind, items, count, "e.csv"), 3);
    serve_files_drop(&kind, items, &count, 3); /* the last one */
    assert_int_equal(count, 3);
    assert_ptr_equal(serve_files_reserve(&kind, items, count, &cap), items);
    assert_int_equal(cap, 8); /* room left: nothing reallocated */
    released_tags = 0;
    serve_files_release_all(&kind, items, count);
    assert_int_equal(released_tags, 1 + 4 + 8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hysteresis_sequence), cmocka_unit_test(test_no_flapping_and_no_data),
        cmocka_unit_test(test_state_file),          cmocka_unit_test(test_cap_mapping),
        cmocka_unit_test(test_cap_order_and_area),  cmocka_unit_test(test_analytic_storm_chain),
        cmocka_unit_test(test_config),              cmocka_unit_test(test_sensor_store),
        cmocka_unit_test(test_file_array),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
