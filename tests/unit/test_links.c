/* test_links.c -- microwave links: ITU-R P.838-3 against the ITU's validation examples, the
 * processing chain on synthetic links with a known rain rate, a baseline step that is not
 * rain, quality flags, and the OpenSense CML reader on the bundled real files (values read
 * independently with h5py). */
#include "support.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- ITU-R P.838-3 ---------------------------------------------------------------------- */

/* The ITU-R Study Group 3 validation examples for P.838-3 (CG-3M3J-13-ValEx, as shipped in
 * ITU-Rpy's test/test_data/838/ITURP838-3_rain_specific_attenuation.csv): elevation (deg),
 * frequency (GHz), tilt (deg), k, alpha. */
static void test_p838_itu_validation(void **state)
{
    (void)state;
    static const double cases[][5] = {
        {31.07699124, 14.25, 0, 0.03975488, 1.12418043},
        {40.232036, 29, 0, 0.22031404, 0.9504446},
        {46.35969261, 14.25, 0, 0.04030344, 1.11376017},
        {48.24117054, 14.25, 90, 0.04226474, 1.07871664},
        {20.14335809, 29, 90, 0.21298877, 0.92265917},
        {85.80459566, 29, 90, 0.21737148, 0.93950825},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double k, a;
        assert_int_equal(sq25_p838_coefficients(cases[i][1], cases[i][0], cases[i][2], &k, &a),
                         SQ25_OK);
        assert_true(fabs(k / cases[i][3] - 1) < 2e-6);
        assert_true(fabs(a / cases[i][4] - 1) < 2e-6);
    }
    double k, a;
    assert_int_equal(sq25_p838_coefficients(0.5, 0, 0, &k, &a), SQ25_ERR_RANGE);
    assert_int_equal(sq25_p838_coefficients(NAN, 0, 0, &k, &a), SQ25_ERR_RANGE);
    assert_int_equal(sq25_p838_coefficients_pol(25, 7, &k, &a), SQ25_ERR_RANGE);
    /* unknown polarisation: the mean of the H and V k (equation (4) with cos 2 tau = 0) */
    double kh, ah, kv, av, ku, au;
    sq25_p838_coefficients_pol(25, SQ25_POL_HORIZONTAL, &kh, &ah);
    sq25_p838_coefficients_pol(25, SQ25_POL_VERTICAL, &kv, &av);
    sq25_p838_coefficients_pol(25, SQ25_POL_UNKNOWN, &ku, &au);
    assert_true(fabs(ku - 0.5 * (kh + kv)) < 1e-12);
}

/* ---- synthetic links ------------------------------------------------------------------- */

/* k and alpha at 25 GHz, vertical, horizontal path, computed from P.838-3 Tables 2 and 4 by an
 * independent Python evaluation of equations (2) and (3). */
#define K25V 0.15326853494332046
#define A25V 0.9491316935589024
#define T0 1660435200 /* 2022-08-14T00:00Z */

/* Rain (mm/h) of the synthetic storm at minute m: 3 hours of 10 +- 6 mm/h with a 20-minute
 * period, from minute 180 to 360; none elsewhere. */
static double storm_mmh(int m)
{
    if (m < 180 || m >= 360) return 0;
    return 10 + 6 * sin(2 * 3.14159265358979 * (m - 180) / 20.0);
}

/* One 5-km, 25-GHz vertical link, 8 hours at 1-minute steps: TSL 15 dBm, a dry loss of
 * 120 dB plus the rain's path attenuation k R^alpha L, plus `step_db` from minute 240 on. */
static sq25_links *synthetic_link(sq25_ctx *ctx, bool rain, double step_db)
{
    sq25_links *l = NULL;
    assert_int_equal(sq25_links_create(ctx, 1, 480, T0, 60, 1, 0, &l), SQ25_OK);
    assert_int_equal(sq25_links_set_link(l, 0, "syn/1", 11.0, 44.0, 11.0634, 44.0, 5000, 25,
                                         SQ25_POL_VERTICAL),
                     SQ25_OK);
    float *tsl = sq25_links_tsl(l), *rsl = sq25_links_rsl(l);
    for (int m = 0; m < 480; m++) {
        double r = rain ? storm_mmh(m) : 0, att = r > 0 ? K25V * pow(r, A25V) * 5.0 : 0;
        tsl[m] = 15;
        rsl[m] = (float)(15 - 120 - att - (m >= 240 ? step_db : 0));
    }
    return l;
}

static void test_known_rain_comes_back(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_links *l = synthetic_link(ctx, true, 0);
    sq25_cml_options *o = NULL;
    assert_int_equal(sq25_cml_options_create(ctx, &o), SQ25_OK);
    assert_int_equal(sq25_cml_options_set(o, SQ25_CML_WAA_METHOD, SQ25_WAA_NONE), SQ25_OK);
    sq25_series *rain = NULL, *flagged = NULL;
    assert_int_equal(sq25_links_process(l, o, T0 + 900, T0 + 480 * 60 - 60, 900, &rain, &flagged),
                     SQ25_OK);
    assert_int_equal(sq25_series_step_count(rain), 31);
    const float *v = sq25_series_data_const(rain);
    double total = 0;
    for (int j = 0; j < 31; j++) {
        /* the interval ending at minute 15 (j + 1) holds the samples of minutes 15 j + 1 ..
         * 15 (j + 1); each sample's rate lasts one minute */
        double want = 0;
        for (int m = 15 * j + 1; m <= 15 * (j + 1); m++) want += storm_mmh(m) / 60;
        assert_true(fabs(v[j] - want) < 1e-3);
        assert_true(sq25_series_data_const(flagged)[j] == 0);
        total += v[j];
    }
    assert_true(fabs(total - 30.0) < 0.05); /* 10 mm/h for 3 hours */
    sq25_series_destroy(rain), sq25_series_destroy(flagged);
    /* with the default wet antenna (Schleiss, up to 2.3 dB) the rain is lower, never higher */
    assert_int_equal(sq25_cml_options_set(o, SQ25_CML_WAA_METHOD, SQ25_WAA_SCHLEISS2013), SQ25_OK);
    assert_int_equal(sq25_links_process(l, o, T0 + 900, T0 + 480 * 60 - 60, 900, &rain, NULL),
                     SQ25_OK);
    double total_waa = 0;
    for (int j = 0; j < 31; j++) total_waa += sq25_series_data_const(rain)[j];
    assert_true(total_waa < total - 1 && total_waa > 0.5 * total);
    sq25_series_destroy(rain);
    sq25_cml_options_destroy(o);
    sq25_links_destroy(l);
    sq25_ctx_destroy(ctx);
}

static void test_baseline_step_is_not_rain(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_links *l = synthetic_link(ctx, false, 5.0);
    sq25_series *rain = NULL, *flagged = NULL;
    assert_int_equal(sq25_links_process(l, NULL, T0 + 3600, T0 + 8 * 3600 - 3600, 900, &rain,
                                        &flagged),
                     SQ25_OK);
    double total = 0, share = 0;
    for (int64_t j = 0; j < sq25_series_step_count(rain); j++) {
        assert_false(isnan(sq25_series_data_const(rain)[j]));
        total += sq25_series_data_const(rain)[j];
        share += sq25_series_data_const(flagged)[j];
    }
    assert_true(total == 0);
    assert_true(share > 0); /* the spell is reported as a step */
    sq25_series_destroy(rain), sq25_series_destroy(flagged);
    /* without the step test the same series would give rain: the test can fail */
    double loss[480], base[480];
    uint8_t wet[480];
    float *rsl = sq25_links_rsl(l), *tsl = sq25_links_tsl(l);
    sq25_cml_total_loss(480, tsl, rsl, loss);
    sq25_cml_wet_dry_std(480, loss, 60, 0.8, wet);
    int wet_count = 0;
    for (int m = 0; m < 480; m++) wet_count += wet[m] == 1;
    assert_true(wet_count > 30);
    sq25_cml_baseline(480, loss, wet, 1, base);
    assert_true(loss[250] - base[250] > 4.9); /* excess the k-R law would turn into rain */
    assert_int_equal(sq25_cml_reject_steps(480, loss, wet, 10, NULL), 1);
    sq25_links_destroy(l);
    sq25_ctx_destroy(ctx);
}

/* Two days of a link whose loss swings by 4 dB every other minute after 6 quiet hours: the
 * rolling std calls it wet in 87 % of the record, so the whole link is flagged NOISY and gives no rain (NaN), never rain. */
static void test_noisy_link_is_flagged(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_links *l = NULL;
    assert_int_equal(sq25_links_create(ctx, 1, 2 * 1440, T0, 60, 1, 0, &l), SQ25_OK);
    sq25_links_set_link(l, 0, "noisy/1", 11.0, 44.0, 11.0634, 44.0, 5000, 25, SQ25_POL_VERTICAL);
    for (int m = 0; m < 2 * 1440; m++) {
        sq25_links_tsl(l)[m] = 15;
        sq25_links_rsl(l)[m] = (float)(15 - 120 - (m >= 360 ? 4 * (m % 2) : 0));
    }
    sq25_series *rain = NULL, *flagged = NULL;
    assert_int_equal(sq25_links_process(l, NULL, T0 + 7 * 3600, T0 + 86400, 3600, &rain, &flagged), SQ25_OK);
    for (int64_t j = 0; j < sq25_series_step_count(rain); j++) {
        assert_true(isnan(sq25_series_data_const(rain)[j]));
        assert_true(sq25_series_data_const(flagged)[j] == 1);
    }
    sq25_series_destroy(rain), sq25_series_destroy(flagged);
    /* with the check off (share 1) the same link turns its noise into rain */
    sq25_cml_options *o = NULL;
    sq25_cml_options_create(ctx, &o);
    assert_int_equal(sq25_cml_options_set(o, SQ25_CML_MAX_WET_SHARE, 1.0), SQ25_OK);
    assert_int_equal(sq25_links_process(l, o, T0 + 7 * 3600, T0 + 86400, 3600, &rain, NULL), SQ25_OK);
    assert_true(sq25_series_data_const(rain)[5] > 1);
    sq25_series_destroy(rain);
    sq25_cml_options_destroy(o);
    sq25_links_destroy(l);
    sq25_ctx_destroy(ctx);
}

static void test_wet_antenna_schleiss(void **state)
{
    (void)state;
    double excess[20], waa[20];
    uint8_t wet[20];
    for (int i = 0; i < 20; i++) excess[i] = 10, wet[i] = 1;
    wet[0] = 0;
    assert_int_equal(sq25_cml_wet_antenna(20, excess, wet, SQ25_WAA_SCHLEISS2013, 2.3, 900, 60,
                                          waa),
                     SQ25_OK);
    /* w_k = w_{k-1} + (2.3 - w_{k-1}) * 3 * 60 / 900 from w_0 = 0: w_k = 2.3 (1 - 0.8^k) */
    for (int i = 0; i < 20; i++) assert_true(fabs(waa[i] - 2.3 * (1 - pow(0.8, i))) < 1e-12);
    excess[5] = 0.3; /* never above the excess */
    sq25_cml_wet_antenna(20, excess, wet, SQ25_WAA_SCHLEISS2013, 2.3, 900, 60, waa);
    assert_true(fabs(waa[5] - 0.3) < 1e-12);
    sq25_cml_wet_antenna(20, excess, wet, SQ25_WAA_CONSTANT, 2.3, 900, 60, waa);
    assert_true(waa[0] == 0 && waa[1] == 2.3 && fabs(waa[5] - 0.3) < 1e-12);
    assert_int_equal(sq25_cml_wet_antenna(20, excess, wet, 9, 2.3, 900, 60, waa), SQ25_ERR_RANGE);
}

/* Leijnse et al. (2008) wet antenna against its closed-form three-layer transmission (the
 * expression of pycomlink's waa_leijnse_2008, a different derivation from our transfer
 * matrices), evaluated with numpy: 25 GHz at 0.5, 2, 10, 50 mm/h and 15 GHz at 10 mm/h. */
static void test_wet_antenna_leijnse(void **state)
{
    (void)state;
    static const double r[5] = {0.5, 2, 10, 50, 10}, f[5] = {25, 25, 25, 25, 15};
    static const double want[5] = {1.0843, 1.4776, 2.0942, 2.9234, 1.8939};
    for (int i = 0; i < 5; i++) assert_true(fabs(sq25_cml_waa_leijnse(r[i], f[i]) - want[i]) < 1e-4);
    assert_true(sq25_cml_waa_leijnse(0, 25) == 0);
    /* the chain with it returns the rain of a link whose excess is k R^alpha L + waa(R) */
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_links *l = synthetic_link(ctx, true, 0);
    float *rsl = sq25_links_rsl(l);
    for (int m = 0; m < 480; m++)
        if (storm_mmh(m) > 0) rsl[m] -= (float)sq25_cml_waa_leijnse(storm_mmh(m), 25);
    sq25_cml_options *o = NULL;
    sq25_cml_options_create(ctx, &o);
    assert_int_equal(sq25_cml_options_set(o, SQ25_CML_WAA_METHOD, SQ25_WAA_LEIJNSE2008), SQ25_OK);
    sq25_series *rain = NULL;
    assert_int_equal(sq25_links_process(l, o, T0 + 900, T0 + 480 * 60 - 60, 900, &rain, NULL), SQ25_OK);
    for (int j = 0; j < 31; j++) {
        double want_mm = 0;
        for (int m = 15 * j + 1; m <= 15 * (j + 1); m++) want_mm += storm_mmh(m) / 60;
        assert_true(fabs(sq25_series_data_const(rain)[j] - want_mm) < 2e-3);
    }
    sq25_series_destroy(rain);
    sq25_cml_options_destroy(o);
    sq25_links_destroy(l);
    sq25_ctx_destroy(ctx);
}

static void test_rain_rate_inverts_power_law(void **state)
{
    (void)state;
    /* 20 mm/h on 3 km: A = k 20^alpha 3 dB; plus 1 dB of wet antenna removed first */
    double excess[3] = {K25V * pow(20, A25V) * 3 + 1, 2.0, NAN}, waa[3] = {1, 0, 0}, r[3];
    uint8_t wet[3] = {1, 0, 1};
    assert_int_equal(sq25_cml_rain_rate(3, excess, waa, wet, 3.0, K25V, A25V, r), SQ25_OK);
    assert_true(fabs(r[0] - 20) < 1e-9);
    assert_true(r[1] == 0 && isnan(r[2]));
    assert_int_equal(sq25_cml_rain_rate(3, excess, waa, wet, 0, K25V, A25V, r), SQ25_ERR_RANGE);
}

static void test_quality_flags(void **state)
{
    (void)state;
    enum { N = 600 };
    double loss[N];
    uint8_t f[N];
    for (int i = 0; i < N; i++) loss[i] = 100 + 0.1 * (i % 7); /* a live, noisy signal */
    for (int i = 100; i < 500; i++) loss[i] = 104.0;          /* 400 min frozen (> 6 h) */
    loss[300] = NAN;                                           /* a gap inside does not break it */
    loss[550] = 130;                                           /* a 30-dB spike */
    assert_int_equal(sq25_cml_quality_flags(N, loss, 60, 10, 21600, f), SQ25_OK);
    assert_true(f[300] == SQ25_CML_FLAG_MISSING);
    assert_true(f[100] & SQ25_CML_FLAG_CONSTANT && f[499] & SQ25_CML_FLAG_CONSTANT);
    assert_false(f[99] & SQ25_CML_FLAG_CONSTANT || f[500] & SQ25_CML_FLAG_CONSTANT);
    assert_true(f[550] & SQ25_CML_FLAG_JUMP && f[551] & SQ25_CML_FLAG_JUMP);
    assert_false(f[549] & SQ25_CML_FLAG_JUMP);
    /* a shorter frozen run is not flagged */
    assert_int_equal(sq25_cml_quality_flags(N, loss, 60, 10, 30000, f), SQ25_OK);
    assert_false(f[200] & SQ25_CML_FLAG_CONSTANT);
}

static void test_wet_dry_std(void **state)
{
    (void)state;
    enum { N = 200 };
    double loss[N];
    uint8_t wet[N];
    for (int i = 0; i < N; i++) loss[i] = i >= 80 && i < 120 ? 100 + 3 * (i % 2) : 100;
    assert_int_equal(sq25_cml_wet_dry_std(N, loss, 10, 0.8, wet), SQ25_OK);
    /* std of alternating 100/103 is 1.5 dB > 0.8 inside; 0 far from the spell */
    assert_true(wet[100] == 1 && wet[40] == 0 && wet[160] == 0);
    for (int i = 0; i < 30; i++) loss[i] = NAN;
    sq25_cml_wet_dry_std(N, loss, 10, 0.8, wet);
    assert_true(wet[10] == 255);
    assert_int_equal(sq25_cml_wet_dry_std(N, loss, 1, 0.8, wet), SQ25_ERR_RANGE);
}

/* ---- the reader, on the bundled real files ---------------------------------------------- */

/* Values read with h5py (/usr/bin/python3, h5py 3.7): time[0] = 1660435200, 11412 times with
 * one 6540-s gap after index 6105; rsl[0,0,0] = -369 and tsl[0,0,0] = 170 (x 0.1 dBm);
 * cml_id[5] = "227", frequency[5,1] = 25560.5 (no units), length[5] = 2892.0751817034547,
 * polarization[5,1] = "vertical", rsl[5,1,100] = -420; rsl[0,0,6106] = -999 (fill),
 * rsl[0,0,6107] = -370 at time 1660808100. */
static void test_read_openrainer(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_links *l = NULL;
    int rc = sq25_links_read_netcdf(ctx, test_data_path("sensors/openrainer_8d/openrainer_cml_8d.nc"), &l);
    assert_int_equal(rc, SQ25_OK);
    assert_int_equal(sq25_links_count(l), 302);
    assert_int_equal(sq25_links_step_s(l), 60);
    assert_int_equal(sq25_links_time(l, 0), 1660435200);
    int64_t nt = sq25_links_step_count(l);
    assert_int_equal(nt, (1660435200 + 60 * 11411 + 6540 - 60 - 1660435200) / 60 + 1);
    assert_string_equal(sq25_links_id(l, 0), "412/channel1");
    assert_string_equal(sq25_links_id(l, 11), "227/channel2");
    const float *rsl = sq25_links_rsl(l), *tsl = sq25_links_tsl(l);
    assert_true(fabs(rsl[0] + 36.9) < 1e-4 && fabs(tsl[0] - 17.0) < 1e-4);
    assert_true(fabs(rsl[11 * nt + 100] + 42.0) < 1e-4);
    int64_t after = (1660808100 - 1660435200) / 60; /* slot of the first value after the gap */
    assert_true(isnan(rsl[after - 1]) && fabs(rsl[after] + 37.0) < 1e-4);
    assert_true(isnan(rsl[6200])); /* inside the gap */
    double len, f;
    int pol;
    assert_int_equal(sq25_links_geometry(l, 11, NULL, NULL, NULL, NULL, &len, &f, &pol), SQ25_OK);
    assert_true(fabs(len - 2892.0751817034547) < 1e-6 && fabs(f - 25.5605) < 1e-9);
    assert_int_equal(pol, SQ25_POL_VERTICAL);
    assert_int_equal(sq25_links_geometry(l, 302, NULL, NULL, NULL, NULL, &len, &f, &pol),
                     SQ25_ERR_RANGE);
    sq25_links_destroy(l);
    sq25_ctx_destroy(ctx);
}

/* h5py: R[3, 0] = 0.15387972343495684, R[10, 7] = 0.7772982922634478 (time, cml_id);
 * frequency[0] = 28206.5 MHz, length[0] = 691.44, site_0_lon[0] = 11.99507; time in minutes
 * since 2015-07-25 12:30:00, 0, 5, 10, ... */
static void test_read_openmrg(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_links *l = NULL;
    assert_int_equal(sq25_links_read_netcdf(ctx, test_data_path("sensors/openmrg_20150725_2h/openmrg_cml_5min_2h.nc"), &l),
                     SQ25_OK);
    assert_int_equal(sq25_links_count(l), 359);
    assert_int_equal(sq25_links_step_count(l), 31);
    assert_int_equal(sq25_links_step_s(l), 300);
    int64_t t0;
    sq25_time_parse("2015-07-25T12:30", &t0);
    assert_int_equal(sq25_links_time(l, 0), t0);
    assert_null(sq25_links_rsl(l));
    const float *r = sq25_links_rain(l);
    assert_true(fabs(r[0 * 31 + 3] - 0.15387972) < 1e-6 && fabs(r[7 * 31 + 10] - 0.77729829) < 1e-6);
    double lon0, len, f;
    sq25_links_geometry(l, 0, &lon0, NULL, NULL, NULL, &len, &f, NULL);
    assert_true(fabs(lon0 - 11.99507) < 1e-9 && fabs(len - 691.44) < 1e-9 && fabs(f - 28.2065) < 1e-9);
    assert_string_equal(sq25_links_id(l, 0), "10001/sublink_1");
    /* processed rain is summed: 3 steps of 5 min ending 12:45 are steps 1..3 */
    sq25_series *rain = NULL;
    assert_int_equal(sq25_links_process(l, NULL, t0 + 900, t0 + 900, 900, &rain, NULL), SQ25_OK);
    double want = r[1] + r[2] + r[3];
    assert_true(fabs(sq25_series_data_const(rain)[0] - want) < 1e-5);
    sq25_series_destroy(rain);
    sq25_links_destroy(l);
    sq25_ctx_destroy(ctx);
}

static void test_read_bad_files(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_links *l = NULL;
    char path[4096];
    snprintf(path, sizeof path, "%s/none.nc", test_tmpdir());
    assert_int_equal(sq25_links_read_netcdf(ctx, path, &l), SQ25_ERR_FILE_NOT_FOUND);
    assert_null(l);
    assert_int_equal(sq25_links_read_netcdf(ctx, test_write_file("empty.nc", ""), &l),
                     SQ25_ERR_FILE_EMPTY);
    assert_int_equal(sq25_links_read_netcdf(ctx, test_write_file("text.nc", "not hdf5\n"), &l),
                     SQ25_ERR_NOT_HDF5);
    /* a gauge file is not a link file */
    int rc = sq25_links_read_netcdf(ctx, test_data_path("gauges/amsterdam_pws_2017/test_dataset.nc"), &l);
    assert_int_equal(rc, SQ25_ERR_MISSING_DATASET);
    assert_non_null(strstr(sq25_errmsg(ctx), "site_0_lat"));
    /* the real file cut at every 10 % gives an error, never a crash */
    FILE *in = fopen(test_data_path("sensors/openmrg_20150725_2h/openmrg_cml_5min_2h.nc"), "rb");
    assert_non_null(in);
    static char buf[200000];
    size_t n = fread(buf, 1, sizeof buf, in);
    fclose(in);
    for (int pct = 10; pct < 100; pct += 10) {
        snprintf(path, sizeof path, "%s/cut%d.nc", test_tmpdir(), pct);
        FILE *out = fopen(path, "wb");
        fwrite(buf, 1, n * (size_t)pct / 100, out);
        fclose(out);
        assert_true(sq25_links_read_netcdf(ctx, path, &l) < 0);
        assert_null(l);
    }
    sq25_ctx_destroy(ctx);
}

/* A small raw-signal file (2 links x 2 sub-links, 6 times with a 2-minute gap, a fill value),
 * the same as tests/fuzz/corpus/cml/raw.nc, written with ncgen -k nc4 at test time. */
static const char raw_cdl[] =
    "netcdf raw {\n"
    "dimensions:\n"
    "  time = 6 ;\n"
    "  sublink_id = 2 ;\n"
    "  cml_id = 2 ;\n"
    "variables:\n"
    "  int64 time(time) ;\n"
    "    time:units = \"seconds since 1970-01-01\" ;\n"
    "  string sublink_id(sublink_id) ;\n"
    "  string cml_id(cml_id) ;\n"
    "  short rsl(cml_id, sublink_id, time) ;\n"
    "    rsl:_FillValue = -999s ;\n"
    "    rsl:units = \"dBm\" ;\n"
    "    rsl:scale_factor = 0.1 ;\n"
    "  short tsl(cml_id, sublink_id, time) ;\n"
    "    tsl:_FillValue = -999s ;\n"
    "    tsl:units = \"dBm\" ;\n"
    "    tsl:scale_factor = 0.1 ;\n"
    "  double length(cml_id) ;\n"
    "    length:units = \"m\" ;\n"
    "  double site_0_lat(cml_id) ;\n"
    "  double site_0_lon(cml_id) ;\n"
    "  double site_1_lat(cml_id) ;\n"
    "  double site_1_lon(cml_id) ;\n"
    "  double frequency(cml_id, sublink_id) ;\n"
    "  string polarization(cml_id, sublink_id) ;\n"
    "data:\n"
    " time = 1660435200, 1660435260, 1660435320, 1660435380, 1660435500, 1660435560 ;\n"
    " sublink_id = \"channel1\", \"channel2\" ;\n"
    " cml_id = \"412\", \"154\" ;\n"
    " rsl = -369, -360, -380, -420, -999, -365, -500, -501, -520, -560, -530, -505,\n"
    "       -369, -360, -380, -420, -999, -365, -500, -501, -520, -560, -530, -505 ;\n"
    " tsl = 170, 170, 170, 170, 170, 170, 100, 100, 100, 100, 100, 100,\n"
    "       170, 170, 170, 170, 170, 170, 100, 100, 100, 100, 100, 100 ;\n"
    " length = 6114.8, 2107.4 ;\n"
    " site_0_lat = 44.15947, 44.2 ;\n"
    " site_0_lon = 11.0121, 11.1 ;\n"
    " site_1_lat = 44.16902, 44.21 ;\n"
    " site_1_lon = 11.08739, 11.12 ;\n"
    " frequency = 24556, 25564, 25585, 24577 ;\n"
    " polarization = \"vertical\", \"vertical\", \"horizontal\", \"h\" ;\n"
    "}\n";

static void test_read_allocation_failures(void **state)
{
    (void)state;
    if (system("command -v ncgen >/dev/null 2>&1") != 0) {
        printf("test_read_allocation_failures: skipped, ncgen (Debian netcdf-bin) is not installed\n");
        return;
    }
    char cdl_path[600], nc_path[600], cmd[1400];
    snprintf(cdl_path, sizeof cdl_path, "%s/raw.cdl", test_tmpdir());
    snprintf(nc_path, sizeof nc_path, "%s/raw.nc", test_tmpdir());
    FILE *f = fopen(cdl_path, "w");
    assert_non_null(f);
    fputs(raw_cdl, f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "ncgen -k nc4 -o '%s' '%s'", nc_path, cdl_path);
    assert_int_equal(system(cmd), 0);
    /* h5dump of the file: rsl[0,0,:] = -369 -360 -380 -420 -999 -365 (x 0.1 dBm), times
     * 0, 60, 120, 180, 300, 360 s after 2022-08-14T00:00: 7 slots, slot 5 empty */
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_links *l = NULL;
    assert_int_equal(sq25_links_read_netcdf(ctx, nc_path, &l), SQ25_OK);
    assert_int_equal(sq25_links_count(l), 4);
    assert_int_equal(sq25_links_step_count(l), 7);
    assert_true(isnan(sq25_links_rsl(l)[4]) && isnan(sq25_links_rsl(l)[5]));
    assert_true(fabs(sq25_links_rsl(l)[6] + 36.5) < 1e-4);
    assert_string_equal(sq25_links_id(l, 3), "154/channel2");
    int pol;
    sq25_links_geometry(l, 3, NULL, NULL, NULL, NULL, NULL, NULL, &pol);
    assert_int_equal(pol, SQ25_POL_HORIZONTAL);
    sq25_links_destroy(l);
    sq25_ctx_destroy(ctx);
    for (long fail = 1; fail < 400; fail++) {
        test_alloc_state st = {fail, 0, 0};
        ctx = test_ctx_failing(&st);
        if (!ctx) continue; /* the context itself was the failed allocation */
        l = NULL;
        int rc = sq25_links_read_netcdf(ctx, nc_path, &l);
        sq25_series *rain = NULL, *flagged = NULL;
        if (rc == SQ25_OK) rc = sq25_links_process(l, NULL, 1660435200, 1660435800, 120, &rain, &flagged);
        assert_true(rc == SQ25_OK || rc == SQ25_ERR_NOMEM);
        sq25_series_destroy(rain), sq25_series_destroy(flagged);
        sq25_links_destroy(l);
        sq25_ctx_destroy(ctx);
        assert_int_equal(st.live, 0);
        if (st.calls < fail) return; /* every allocation has been failed once */
    }
    fail(); /* 400 allocations were not enough to reach a successful run */
}

/* A file that declares 900 000 links x 400 samples of rsl (720 MB) but stores none: refused
 * before anything large is allocated (ncgen writes no data for a variable without values). */
static void test_read_declared_size(void **state)
{
    (void)state;
    if (system("command -v ncgen >/dev/null 2>&1") != 0) {
        printf("test_read_declared_size: skipped, ncgen (Debian netcdf-bin) is not installed\n");
        return;
    }
    char cdl_path[600], nc_path[600], cmd[1400];
    snprintf(cdl_path, sizeof cdl_path, "%s/big.cdl", test_tmpdir());
    snprintf(nc_path, sizeof nc_path, "%s/big.nc", test_tmpdir());
    FILE *f = fopen(cdl_path, "w");
    assert_non_null(f);
    fputs("netcdf big {\ndimensions:\n time = 400 ;\n cml_id = 900000 ;\nvariables:\n"
          " int64 time(time) ;\n  time:units = \"seconds since 1970-01-01\" ;\n"
          " double site_0_lat(cml_id) ;\n double site_0_lon(cml_id) ;\n"
          " double site_1_lat(cml_id) ;\n double site_1_lon(cml_id) ;\n"
          " short rsl(cml_id, time) ;\ndata:\n time = 0", f);
    for (int i = 1; i < 400; i++) fprintf(f, ", %d", 60 * i);
    fputs(" ;\n}\n", f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "ncgen -k nc4 -o '%s' '%s'", nc_path, cdl_path);
    assert_int_equal(system(cmd), 0);
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_links *l = NULL;
    assert_int_equal(sq25_links_read_netcdf(ctx, nc_path, &l), SQ25_ERR_SIZE_ABSURD);
    assert_non_null(strstr(sq25_errmsg(ctx), "rsl declares"));
    assert_null(l);
    sq25_ctx_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_p838_itu_validation),
        cmocka_unit_test(test_known_rain_comes_back),
        cmocka_unit_test(test_baseline_step_is_not_rain),
        cmocka_unit_test(test_noisy_link_is_flagged),
        cmocka_unit_test(test_wet_antenna_schleiss),
        cmocka_unit_test(test_wet_antenna_leijnse),
        cmocka_unit_test(test_rain_rate_inverts_power_law),
        cmocka_unit_test(test_quality_flags),
        cmocka_unit_test(test_wet_dry_std),
        cmocka_unit_test(test_read_openrainer),
        cmocka_unit_test(test_read_openmrg),
        cmocka_unit_test(test_read_bad_files),
        cmocka_unit_test(test_read_allocation_failures),
        cmocka_unit_test(test_read_declared_size),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
