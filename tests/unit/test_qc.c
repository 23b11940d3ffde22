/* test_qc.c -- PWS quality control: synthetic cases with known answers, and faults injected
 * into the real Amsterdam series (faulty zeros in the heavy-rain hour of 2017-08-30, a spike
 * in a dry hour, an uncorrelated station, a constant offset) that the filters must catch,
 * while the same steps pass in the untouched data. */
#include "support.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Six stations 1 km apart on a line near Amsterdam, 20 steps. */
static sq25_series *line_of_stations(sq25_ctx *ctx, int nt)
{
    sq25_series *s = NULL;
    assert_int_equal(sq25_series_create(ctx, 6, nt, 1500000000, 300, &s), SQ25_OK);
    for (int i = 0; i < 6; i++) {
        char id[16];
        snprintf(id, sizeof id, "s%d", i);
        /* 0.0147 degrees of longitude at 52.3 N is about 1 km */
        assert_int_equal(sq25_series_set_station(s, i, id, 4.9 + 0.0147 * i, 52.3), SQ25_OK);
    }
    return s;
}

static void test_options(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_qc_options *o = NULL;
    assert_int_equal(sq25_qc_options_create(ctx, &o), SQ25_OK);
    assert_float_equal(sq25_qc_options_get(o, SQ25_QC_NEIGHBOUR_RANGE_M), 10000, 0);
    assert_float_equal(sq25_qc_options_get(o, SQ25_QC_MIN_NEIGHBOURS), 5, 0);
    assert_float_equal(sq25_qc_options_get(o, SQ25_QC_FZ_INTERVALS), 6, 0);
    assert_float_equal(sq25_qc_options_get(o, SQ25_QC_HI_THRESHOLD_A), 0.4, 0);
    assert_float_equal(sq25_qc_options_get(o, SQ25_QC_HI_THRESHOLD_B), 10, 0);
    assert_float_equal(sq25_qc_options_get(o, SQ25_QC_SO_WINDOW), 4032, 0);
    assert_float_equal(sq25_qc_options_get(o, SQ25_QC_SO_GAMMA), 0.15, 0);
    assert_float_equal(sq25_qc_options_get(o, SQ25_QC_BIAS_START), 1.24, 0);
    assert_int_equal(sq25_qc_options_set(o, SQ25_QC_NEIGHBOUR_RANGE_M, -1), SQ25_ERR_RANGE);
    assert_int_equal(sq25_qc_options_set(o, SQ25_QC_FZ_INTERVALS, 2.5), SQ25_ERR_RANGE);
    assert_int_equal(sq25_qc_options_set(o, 99, 1), SQ25_ERR_INVALID_ARG);
    assert_true(isnan(sq25_qc_options_get(o, 99)));
    sq25_qc_options_destroy(o);
    sq25_ctx_destroy(ctx);
}

/* Station 0 reports 0 while the five others report 1 mm each step: the faulty-zero state
 * starts once 7 (= 6 + 1) dry steps with a wet reference have passed, i.e. at step 6. A
 * 12 mm value at step 15 of station 1 is > 1 * 10 / 0.4 = 25? no; with a reference of 1 mm
 * the limit is 25 mm, so 30 mm is flagged and 12 mm is not. */
static void test_synthetic_fz_hi(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_series *s = line_of_stations(ctx, 20);
    float *v = sq25_series_data(s);
    for (int i = 0; i < 6; i++)
        for (int t = 0; t < 20; t++) v[i * 20 + t] = i == 0 ? 0.0f : 1.0f;
    v[1 * 20 + 15] = 30.0f;
    v[2 * 20 + 15] = 12.0f;
    v[3 * 20 + 4] = NAN;
    sq25_qc_result *r = NULL;
    assert_int_equal(sq25_qc_run(s, NULL, &r), SQ25_OK);
    const uint8_t *f = sq25_qc_flags(r);
    for (int t = 0; t < 20; t++)
        assert_int_equal((f[t] & SQ25_QC_FLAG_FAULTY_ZERO) != 0, t >= 6);
    assert_true(f[1 * 20 + 15] & SQ25_QC_FLAG_HIGH_INFLUX);
    assert_false(f[2 * 20 + 15] & SQ25_QC_FLAG_HIGH_INFLUX);
    assert_true(f[3 * 20 + 4] & SQ25_QC_FLAG_MISSING);
    assert_int_equal(sq25_qc_neighbour_count(r, 0), 5);
    /* too few neighbours with a 1.5 km range: not judged */
    sq25_qc_options *o = NULL;
    sq25_qc_options_create(ctx, &o);
    sq25_qc_options_set(o, SQ25_QC_NEIGHBOUR_RANGE_M, 1500);
    sq25_qc_result *r2 = NULL;
    assert_int_equal(sq25_qc_run(s, o, &r2), SQ25_OK);
    assert_true(sq25_qc_flags(r2)[10] & SQ25_QC_FLAG_FEW_NEIGHBOURS);
    assert_false(sq25_qc_flags(r2)[10] & SQ25_QC_FLAG_FAULTY_ZERO);
    /* apply: rejected values become NaN, others stay */
    sq25_series *clean = NULL;
    assert_int_equal(sq25_qc_apply(s, r, SQ25_QC_REJECT, &clean), SQ25_OK);
    assert_true(isnan(sq25_series_data(clean)[10]));
    assert_float_equal(sq25_series_data(clean)[2], 0, 0);
    assert_true(isnan(sq25_series_data(clean)[1 * 20 + 15]));
    assert_float_equal(sq25_series_data(clean)[2 * 20 + 15], 12, 0);
    sq25_series_destroy(clean);
    sq25_qc_result_destroy(r2);
    sq25_qc_options_destroy(o);
    sq25_qc_result_destroy(r);
    sq25_series_destroy(s);
    sq25_ctx_destroy(ctx);
}


/* The PWSQC definition of the outlier filter and the bias timeline, on six stations 1 km
 * apart over three weeks of 5-minute steps. Rain falls in 3 % of the steps (a fixed
 * pattern), the same amount at stations 0..3; station 4 reports twice as much; station 5
 * reports the same amounts shifted by half the period (uncorrelated in time).
 * - Window: 4032 steps, extended until 100 wet steps: from step 4031 on it can be formed,
 *   and a neighbour counts because both report in all 4032 steps (> 200), although fewer
 *   than 200 steps are wet at both (about 121): the old wet-match rule could not judge.
 * - Station 5: median correlation near 0 < 0.15: outlier at every judged step.
 * - Bias: bias_j = mean(s - d n) / mean(d n) with d = 1.24. Station 4 (s = 2n) against the
 *   four equal stations: (2 - 1.24) / 1.24, so the new factor is 1 / (1 + that) = 1.24 / 2
 *   = 0.62 (its neighbour 5 gives another value but the median of the five is one of the
 *   equal four). Station 0 against its equals: 1 / (1 + (1 - 1.24) / 1.24) = 1.24: kept.
 * - 1-minute data with the same configuration: the faulty-zero window is 6 x 5 = 30 steps. */
static bool wet_step(int t) { return (t * 7919) % 100 < 3; }

static void test_pwsqc_definition(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    int nt = 6048;
    sq25_series *s = line_of_stations(ctx, nt);
    float *v = sq25_series_data(s);
    for (int i = 0; i < 6; i++)
        for (int t = 0; t < nt; t++) {
            int tt = i == 5 ? (t + nt / 2) % nt : t;
            float mm = wet_step(tt) ? 0.2f + 0.1f * (float)(tt % 5) : 0.0f;
            v[i * nt + t] = i == 4 ? 2 * mm : mm;
        }
    sq25_qc_result *r = NULL;
    assert_int_equal(sq25_qc_run(s, NULL, &r), SQ25_OK);
    const uint8_t *f = sq25_qc_flags(r);
    for (int t = 0; t < 4031; t++) assert_true(f[0 * nt + t] & SQ25_QC_FLAG_SO_UNKNOWN);
    int judged0 = 0, outlier5 = 0, judged5 = 0;
    for (int t = 4031; t < nt; t++) {
        judged0 += !(f[0 * nt + t] & (SQ25_QC_FLAG_SO_UNKNOWN | SQ25_QC_FLAG_OUTLIER));
        judged5 += !(f[5 * nt + t] & SQ25_QC_FLAG_SO_UNKNOWN);
        outlier5 += (f[5 * nt + t] & SQ25_QC_FLAG_OUTLIER) != 0;
    }
    assert_int_equal(judged0, nt - 4031);
    assert_int_equal(judged5, nt - 4031);
    assert_int_equal(outlier5, nt - 4031);
    assert_float_equal(sq25_qc_bias_factor(r, 0), 1.24, 1e-6);
    assert_float_equal(sq25_qc_bias_factor(r, 4), 0.62, 1e-5);
    /* the factor applies from the step after the first judgement */
    assert_float_equal(sq25_qc_bias_factor_at(r, 4, 4031), 1.24, 1e-6);
    assert_float_equal(sq25_qc_bias_factor_at(r, 4, 4032), 0.62, 1e-5);
    sq25_series *corrected = NULL;
    assert_int_equal(sq25_qc_apply_corrected(s, r, SQ25_QC_REJECT, &corrected), SQ25_OK);
    int t_wet = 4100;
    while (!wet_step(t_wet)) t_wet++;
    assert_float_equal(sq25_series_data(corrected)[4 * nt + t_wet], 0.62 * v[4 * nt + t_wet], 1e-5);
    assert_true(isnan(sq25_series_data(corrected)[5 * nt + t_wet])); /* outlier */
    sq25_series_destroy(corrected);
    sq25_qc_result_destroy(r);
    sq25_series_destroy(s);
    /* 1-minute steps, same options: faulty zeros after 30 + 1 dry steps with wet neighbours */
    assert_int_equal(sq25_series_create(ctx, 6, 60, 1500000000, 60, &s), SQ25_OK);
    for (int i = 0; i < 6; i++) {
        char id[16];
        snprintf(id, sizeof id, "s%d", i);
        assert_int_equal(sq25_series_set_station(s, i, id, 4.9 + 0.0147 * i, 52.3), SQ25_OK);
        for (int t = 0; t < 60; t++) sq25_series_data(s)[i * 60 + t] = i == 0 ? 0.0f : 0.1f;
    }
    assert_int_equal(sq25_qc_run(s, NULL, &r), SQ25_OK);
    for (int t = 0; t < 60; t++)
        assert_int_equal((sq25_qc_flags(r)[t] & SQ25_QC_FLAG_FAULTY_ZERO) != 0, t >= 30);
    sq25_qc_result_destroy(r);
    sq25_series_destroy(s);
    sq25_ctx_destroy(ctx);
}

static const char *amsterdam_path(void)
{
    const char *p = test_data_path("gauges/amsterdam_pws_2017/test_dataset.nc");
    FILE *fp = fopen(p, "rb");
    if (fp) {
        fclose(fp);
        return p;
    }
    return test_shared_path("gauges/amsterdam_pws_2017/test_dataset.nc");
}

static int count_flag(const uint8_t *f, int64_t nt, int station, int64_t t0, int64_t t1, int bit)
{
    int c = 0;
    for (int64_t t = t0; t <= t1; t++) c += (f[station * nt + t] & bit) != 0;
    return c;
}

/* A station with complete data in [t0,t1] and no rejection flag there, with the most
 * neighbours: the victim of the injected faults. */
static int pick_clean_station(const sq25_series *s, const sq25_qc_result *r, int64_t t0,
                              int64_t t1)
{
    int best = -1, n = sq25_series_station_count(s);
    int64_t nt = sq25_series_step_count(s);
    const float *v = sq25_series_data_const(s);
    for (int i = 0; i < n; i++) {
        bool ok = true;
        for (int64_t t = t0; t <= t1 && ok; t++)
            ok = !isnan(v[i * nt + t]) && !(sq25_qc_flags(r)[i * nt + t] & SQ25_QC_REJECT);
        if (ok && (best < 0 || sq25_qc_neighbour_count(r, i) > sq25_qc_neighbour_count(r, best)))
            best = i;
    }
    return best;
}

static void test_injected_faults_in_real_series(void **state)
{
    (void)state;
    const char *path = amsterdam_path();
    if (!path) skip();
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_series *all = NULL, *s = NULL;
    assert_int_equal(sq25_series_read_netcdf(ctx, path, &all), SQ25_OK);
    int64_t from, to, hour0, dry;
    sq25_time_parse("2017-08-14T00:05", &from);
    sq25_time_parse("2017-09-04T00:00", &to);
    assert_int_equal(sq25_series_window(all, from, to, &s), SQ25_OK);
    sq25_series_destroy(all);
    int64_t nt = sq25_series_step_count(s);
    /* Heavy rain: the median over all stations is > 0 from 03:35 to past 04:30 (h5py:
     * np.nanmedian(v[:, k:k+12], axis=0) for k at 03:35 gives 0.1 0.3 0.3 0.5 1.16 0.76
     * 0.71 0.81 0.61 0.5 0.3 0.2 mm). */
    sq25_time_parse("2017-08-30T03:35", &hour0);
    int64_t h0 = sq25_series_step_at(s, hour0), h1 = h0 + 11;
    /* Two weeks of 5-minute data rarely hold 200 steps where both stations of a pair are
     * wet (the published default); 100 lets the outlier filter judge most stations here. */
    sq25_qc_options *o = NULL;
    assert_int_equal(sq25_qc_options_create(ctx, &o), SQ25_OK);
    assert_int_equal(sq25_qc_options_set(o, SQ25_QC_SO_MIN_MATCHES, 100), SQ25_OK);
    sq25_qc_result *ref = NULL;
    assert_int_equal(sq25_qc_run(s, o, &ref), SQ25_OK);
    int victim = pick_clean_station(s, ref, h0, h1);
    assert_true(victim >= 0);
    float *v = sq25_series_data(s);
    /* its own data were wet in that hour */
    double hour_sum = 0;
    for (int64_t t = h0; t <= h1; t++) hour_sum += v[victim * nt + t];
    assert_true(hour_sum > 1.0);

    /* 1. faulty zeros through the heavy-rain hour */
    for (int64_t t = h0; t <= h1; t++) v[victim * nt + t] = 0.0f;
    /* 2. a 15 mm spike in a dry step (every station reports 0 or nothing) */
    sq25_time_parse("2017-08-20T12:00", &dry);
    int64_t kd = sq25_series_step_at(s, dry);
    for (; kd < nt; kd++) {
        bool all_dry = true;
        for (int i = 0; i < sq25_series_station_count(s) && all_dry; i++)
            all_dry = !(v[i * nt + kd] > 0);
        if (all_dry) break;
    }
    int spike_station = (victim + 1) % sq25_series_station_count(s);
    while (isnan(v[spike_station * nt + kd])) spike_station++;
    v[spike_station * nt + kd] = 15.0f;
    /* 3. an uncorrelated station: another station's series shuffled in time (fixed seed) */
    int noisy = -1;
    for (int i = 0; i < sq25_series_station_count(s) && noisy < 0; i++)
        if (i != victim && i != spike_station && sq25_qc_neighbour_count(ref, i) >= 20 &&
            count_flag(sq25_qc_flags(ref), nt, i, nt - 288, nt - 1, SQ25_QC_FLAG_SO_UNKNOWN) == 0 &&
            count_flag(sq25_qc_flags(ref), nt, i, nt - 288, nt - 1, SQ25_QC_FLAG_OUTLIER) == 0)
            noisy = i;
    assert_true(noisy >= 0);
    srand(12345);
    for (int64_t t = nt - 1; t > 0; t--) {
        int64_t u = rand() % (t + 1);
        float tmp = v[noisy * nt + t];
        v[noisy * nt + t] = v[noisy * nt + u];
        v[noisy * nt + u] = tmp;
    }
    /* 4. a station that over-reads by a constant factor 2 (a miscalibrated bucket) */
    int offset_station = -1;
    for (int i = 0; i < sq25_series_station_count(s) && offset_station < 0; i++)
        if (i != victim && i != spike_station && i != noisy &&
            isfinite(sq25_qc_bias_factor(ref, i)) && sq25_qc_neighbour_count(ref, i) >= 20 &&
            sq25_qc_bias_factor(ref, i) != 1.24)
            offset_station = i;
    assert_true(offset_station >= 0);
    for (int64_t t = 0; t < nt; t++) v[offset_station * nt + t] *= 2.0f;

    sq25_qc_result *r = NULL;
    assert_int_equal(sq25_qc_run(s, o, &r), SQ25_OK);
    const uint8_t *f = sq25_qc_flags(r), *f0 = sq25_qc_flags(ref);
    /* 1: flagged from the 7th zero on (h0+6 .. h1), not before injection */
    assert_int_equal(count_flag(f, nt, victim, h0 + 6, h1, SQ25_QC_FLAG_FAULTY_ZERO), 6);
    assert_int_equal(count_flag(f0, nt, victim, h0, h1, SQ25_QC_FLAG_FAULTY_ZERO), 0);
    /* 2 */
    assert_true(f[spike_station * nt + kd] & SQ25_QC_FLAG_HIGH_INFLUX);
    assert_false(f0[spike_station * nt + kd] & SQ25_QC_FLAG_HIGH_INFLUX);
    /* 3: over the last day (the window then holds two weeks of shuffled data) the station no
     * longer passes: its rain rarely coincides with the neighbours' any more, so it is an
     * outlier, or cannot be judged, at every step; before, it was judged and passed. */
    int so_out = count_flag(f, nt, noisy, nt - 288, nt - 1, SQ25_QC_FLAG_OUTLIER);
    int so_unk = count_flag(f, nt, noisy, nt - 288, nt - 1, SQ25_QC_FLAG_SO_UNKNOWN);
    printf("shuffled %s over the last day: %d outlier, %d not judged\n",
           sq25_series_station_id(s, noisy), so_out, so_unk);
    assert_int_equal(so_out + so_unk, 288);
    /* 4: the bias factor falls towards half the untouched station's */
    printf("bias factor of %s: %.3f untouched, %.3f reading twice the rain\n",
           sq25_series_station_id(s, offset_station), sq25_qc_bias_factor(ref, offset_station),
           sq25_qc_bias_factor(r, offset_station));
    assert_true(sq25_qc_bias_factor(r, offset_station) <
                0.7 * sq25_qc_bias_factor(ref, offset_station));
    sq25_qc_result_destroy(r);
    sq25_qc_result_destroy(ref);
    sq25_qc_options_destroy(o);
    sq25_series_destroy(s);
    sq25_ctx_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_synthetic_fz_hi),
        cmocka_unit_test(test_pwsqc_definition),
        cmocka_unit_test(test_injected_faults_in_real_series),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
