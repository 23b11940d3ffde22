/* test_io_opensense.c -- OpenSense netCDF-4 files of the OpenMRG set (data/sensors/): the
 * radar grid read as frames, the city gauges read as a series. Expected numbers were read
 * independently with netCDF4-python (Debian python3-netcdf4):
 *   d = netCDF4.Dataset('openmrg_rad_5min_2h.nc'); r = d['rainfall_amount'][:]
 *   np.nanmax(r[0]) = 0.7205681634935323, np.nanmax(r[30]) = 0.12096926960369872 (mm/5 min),
 *   r[5,47,0] = 0.04546477562354409, r[5,0,36] = 4.052051968608637e-05, time[0] = 1437827400
 *   g = netCDF4.Dataset('openmrg_municp_gauge_5min_2h.nc'); a = g['rainfall_amount'][:]
 *   a.shape = (31, 10), np.nanmax(a) = 0.9 at (13, 6), station_id = 0..9,
 *   lon[3] = 11.785332, lat[3] = 57.712069, a[:8, 3] = 0 0 .1 .1 .2 .1 .1 .1
 * and the grid from the file's own crs:GeoTransform (-155199.322908943, 2000, 0,
 * -3411560.83300758, 0, -2000), which ncdump -h prints. */
#include "support.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define RAD "sensors/openmrg_20150725_2h/openmrg_rad_5min_2h.nc"
#define GAUGES "sensors/openmrg_20150725_2h/openmrg_municp_gauge_5min_2h.nc"

static void test_openmrg_radar_frames(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    const char *path = test_data_path(RAD);
    int count = 0;
    assert_int_equal(sq25_file_frame_count(ctx, path, &count), SQ25_OK);
    assert_int_equal(count, 31);
    sq25_field *f0 = NULL, *f5 = NULL, *f30 = NULL;
    assert_int_equal(sq25_read_field_frame(ctx, path, 0, &f0), SQ25_OK);
    assert_int_equal(sq25_read_field_frame(ctx, path, 5, &f5), SQ25_OK);
    assert_int_equal(sq25_read_field_frame(ctx, path, 30, &f30), SQ25_OK);
    /* units "sum 5min": mm per 5 minutes, times 12 to mm/h */
    double max0, max30;
    sq25_field_stats(f0, 0.1, &max0, NULL, NULL, NULL);
    sq25_field_stats(f30, 0.1, &max30, NULL, NULL, NULL);
    assert_float_equal(max0, 0.7205681634935323 * 12, 1e-5);
    assert_float_equal(max30, 0.12096926960369872 * 12, 1e-5);
    assert_int_equal(sq25_field_accumulation_s(f0), 300);
    /* y decreases in the file (it says row 0 is the north), but the file's 2-D latitudes
     * put row 0 at 57.21 N and row 47 at 58.04 N (ncdump -v latitudes), and the gauges agree
     * with them (r = 0.61 against 0.08 as y says: bench/bench_links.c): the rows follow the
     * latitudes, so the output's first (north) row is the file's last */
    assert_float_equal(sq25_field_data(f5)[0], 0.04546477562354409 * 12, 1e-8);
    assert_float_equal(sq25_field_data(f5)[47 * 37 + 36], 4.052051968608637e-05 * 12, 1e-9);
    assert_int_equal(sq25_field_valid_time(f0), 1437827400);
    assert_int_equal(sq25_field_valid_time(f5), 1437827400 + 5 * 300);
    double gt[6];
    sq25_field_geotransform(f0, gt);
    const double expected[6] = {-155199.322908943, 2000, 0, -3411560.83300758, 0, -2000};
    for (int k = 0; k < 6; k++) assert_float_equal(gt[k], expected[k], 1e-3);
    /* the file's 2-D latitudes run against its y axis: the reader says so, follows them */
    assert_non_null(strstr(sq25_field_meta(f0, SQ25_META_CONVERSION), "rows follow the 2-D"));
    assert_non_null(strstr(sq25_field_meta(f0, SQ25_META_CONVERSION), "sum 5min"));
    sq25_field_destroy(f0);
    sq25_field_destroy(f5);
    sq25_field_destroy(f30);
    sq25_ctx_destroy(ctx);
}

static int notes;
static void count_notes(void *user, int level, const char *line)
{
    (void)user;
    if (level == SQ25_LOG_INFO && strstr(line, "OpenSense default")) notes++;
}

static void test_openmrg_gauges(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_ctx_set_log(ctx, count_notes, NULL, SQ25_LOG_INFO);
    sq25_series *s = NULL;
    notes = 0;
    /* (time, id) order, "minutes since 2015-07-25 12:30:00", int64 ids, no units */
    assert_int_equal(sq25_series_read_netcdf(ctx, test_data_path(GAUGES), &s), SQ25_OK);
    assert_int_equal(notes, 1);
    assert_int_equal(sq25_series_station_count(s), 10);
    assert_int_equal(sq25_series_step_count(s), 31);
    assert_int_equal(sq25_series_step_s(s), 300);
    assert_int_equal(sq25_series_time(s, 0), 1437827400); /* 2015-07-25T12:30:00Z */
    assert_string_equal(sq25_series_station_id(s, 3), "3");
    double lon, lat;
    sq25_series_station_lonlat(s, 3, &lon, &lat);
    assert_float_equal(lon, 11.785332, 1e-6);
    assert_float_equal(lat, 57.712069, 1e-6);
    const float *d = sq25_series_data_const(s);
    const double a3[8] = {0, 0, 0.1, 0.1, 0.2, 0.1, 0.1, 0.1};
    for (int k = 0; k < 8; k++) assert_float_equal(d[3 * 31 + k], a3[k], 1e-6);
    assert_float_equal(d[6 * 31 + 13], 0.9, 1e-6);
    sq25_series_destroy(s);
    sq25_ctx_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_openmrg_radar_frames),
        cmocka_unit_test(test_openmrg_gauges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
