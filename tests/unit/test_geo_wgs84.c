/* test_geo_wgs84.c -- every lon/lat the library takes or gives is WGS84 (EPSG:4326), whatever
 * the datum of the grid's CRS. Expected values are PROJ's own, obtained independently of the
 * code under test with python3-pyproj 3.4.1 over PROJ 9.1.1 (Debian 12), network off and only
 * the grids of Debian's proj-data 9.1.1 (the package libproj25 depends on, so a fresh Debian
 * machine has the same set):
 *   PROJ_NETWORK=OFF /usr/bin/python3 -c 'from pyproj import Transformer
 *   t = Transformer.from_crs(4326, CODE, always_xy=True); print(t.transform(LON, LAT))'
 * pyproj's Transformer.from_crs is proj_create_crs_to_crs + proj_normalize_for_visualization:
 * PROJ's own choice of the best available operation. `projinfo -s EPSG:4326 -t EPSG:CODE`
 * lists the first (chosen) candidates as: 31370 BD72 to WGS 84 (3); 28992 Amersfoort to
 * WGS 84 (4); 2056 CH1903+ to WGS 84 (1); 31467 DHDN to WGS 84 (4); 25832 ETRS89 to WGS 84
 * (1); 27700 OSGB36 to WGS 84 (6); 32631 UTM zone 31N (no datum change). None of these needs
 * a grid file, so the values hold on any machine with PROJ 9.1 and network off (the test
 * sets PROJ_NETWORK=OFF itself). Before the fix the library was off by (metres, largest of
 * the three points): 31370 108, 28992 116, 2056 174, 31467 157 (see the closing note). */
#include "support.h"

#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *crs;
    double lon, lat; /* degrees WGS84 */
    double x, y;     /* metres, easting then northing */
} ref_point;

static const ref_point REFS[] = {
    {"EPSG:31370", 4.3517, 50.8503, 148799.1702, 171100.1548},  /* Brussels */
    {"EPSG:31370", 5.5797, 50.6326, 235666.8360, 147582.9338},  /* Liege */
    {"EPSG:31370", 3.2247, 51.2093, 70053.4760, 211652.9159},   /* Bruges */
    {"EPSG:28992", 4.9041, 52.3676, 122096.8093, 486744.8610},  /* Amsterdam */
    {"EPSG:28992", 5.1214, 52.0907, 136783.7257, 455860.1394},  /* Utrecht */
    {"EPSG:28992", 6.5665, 53.2194, 233769.7049, 582065.4167},  /* Groningen */
    {"EPSG:2056", 8.5417, 47.3769, 2683303.8937, 1247925.6279}, /* Zurich */
    {"EPSG:2056", 6.1432, 46.2044, 2500016.0161, 1117821.0697}, /* Geneva */
    {"EPSG:2056", 9.8451, 46.4983, 2784709.8459, 1152497.8773}, /* St. Moritz */
    {"EPSG:31467", 8.6821, 50.1109, 3477335.3297, 5552790.8711}, /* Frankfurt */
    {"EPSG:31467", 9.1829, 48.7758, 3513518.4349, 5404271.4214}, /* Stuttgart */
    {"EPSG:31467", 10.0000, 53.5500, 3566350.2787, 5935856.6448}, /* Hamburg */
    {"EPSG:25832", 6.9603, 50.9375, 356689.0737, 5644855.7336},  /* Cologne */
    {"EPSG:25832", 9.9937, 53.5511, 565834.3640, 5934037.9510},  /* Hamburg */
    {"EPSG:25832", 11.5820, 48.1351, 692095.1452, 5334540.6360}, /* Munich */
    {"EPSG:27700", -0.1276, 51.5072, 530043.1950, 180358.2086},  /* London */
    {"EPSG:27700", -2.2426, 53.4808, 383997.4338, 398258.3158},  /* Manchester */
    {"EPSG:27700", -3.1883, 55.9533, 325897.2181, 674001.2016},  /* Edinburgh */
    {"EPSG:32631", 4.3517, 50.8503, 595151.3500, 5634048.3802},  /* Brussels */
    {"EPSG:32631", 2.3522, 48.8566, 452482.5327, 5411717.1769},  /* Paris */
    {"EPSG:32631", 4.9041, 52.3676, 629638.0387, 5803631.2302},  /* Amsterdam */
};
#define N_REFS (sizeof REFS / sizeof REFS[0])
#define TOLERANCE_M 0.01

static int setup(void **state)
{
    (void)state;
    setenv("PROJ_NETWORK", "OFF", 1);
    return 0;
}

/* A 1 m grid whose pixel coordinates are the CRS coordinates: col = x, row = -y. */
static sq25_field *unit_grid(sq25_ctx *ctx, const char *crs)
{
    const double gt[6] = {0, 1, 0, 0, 0, -1};
    sq25_field *f = NULL;
    assert_int_equal(sq25_field_create(ctx, 1, 1, crs, gt, 0, &f), SQ25_OK);
    return f;
}

static double metres_between(double lon1, double lat1, double lon2, double lat2)
{
    const double m_per_deg = 111320.0; /* close enough to turn a 1 cm check into degrees */
    double dx = (lon2 - lon1) * m_per_deg * cos(lat1 * M_PI / 180.0);
    double dy = (lat2 - lat1) * m_per_deg;
    return sqrt(dx * dx + dy * dy);
}

static void test_lonlat_to_grid_within_1cm(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    double worst = 0;
    for (size_t i = 0; i < N_REFS; i++) {
        const ref_point *r = &REFS[i];
        sq25_field *f = unit_grid(ctx, r->crs);
        double col, row;
        assert_int_equal(sq25_field_lonlat_to_pixel(f, 1, &r->lon, 0, &r->lat, 0, &col, 0, &row,
                                                    0), SQ25_OK);
        double off = hypot(col - r->x, -row - r->y);
        print_message("%s lon/lat %.4f %.4f -> grid: %.4f m off\n", r->crs, r->lon, r->lat, off);
        if (off > worst) worst = off;
        assert_true(off < TOLERANCE_M);
        sq25_field_destroy(f);
    }
    print_message("worst lon/lat -> grid: %.4f m\n", worst);
    sq25_ctx_destroy(ctx);
}

static void test_grid_to_lonlat_within_1cm(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    for (size_t i = 0; i < N_REFS; i++) {
        const ref_point *r = &REFS[i];
        sq25_field *f = unit_grid(ctx, r->crs);
        double col = r->x, row = -r->y, lon, lat;
        assert_int_equal(sq25_field_pixel_to_lonlat(f, 1, &col, 0, &row, 0, &lon, 0, &lat, 0),
                         SQ25_OK);
        double off = metres_between(r->lon, r->lat, lon, lat);
        print_message("%s grid -> lon/lat: %.4f m off\n", r->crs, off);
        assert_true(off < TOLERANCE_M);
        sq25_field_destroy(f);
    }
    sq25_ctx_destroy(ctx);
}

/* A street grid made from a lon/lat box must hold the box's corner at the place PROJ puts it:
 * sq25_grid_create_lonlat, the targets and the GeoJSON all go through the same transform. */
static void test_street_grid_corner_is_wgs84(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_field *g = NULL;
    /* The Amsterdam point above as the box's south-west corner, in RD New, 10 m cells. */
    assert_int_equal(sq25_grid_create_lonlat(ctx, "EPSG:28992", 4.9041, 52.3676, 4.9141,
                                             52.3776, 10, 0, &g), SQ25_OK);
    double lon = 4.9041, lat = 52.3676, col, row;
    assert_int_equal(sq25_field_lonlat_to_pixel(g, 1, &lon, 0, &lat, 0, &col, 0, &row, 0),
                     SQ25_OK);
    double gt[6];
    sq25_field_geotransform(g, gt);
    double x = gt[0] + col * gt[1], y = gt[3] + row * gt[5];
    assert_true(hypot(x - 122096.8093, y - 486744.8610) < TOLERANCE_M);
    sq25_field_destroy(g);
    sq25_ctx_destroy(ctx);
}

/* A radar file placed from its corner lon/lat: an ODIM_H5 IMAGE in the Swiss CH1903/LV03
 * projection of the MeteoSwiss composite (a proj-string with its +towgs84) whose /where gives
 * only UL_lon/UL_lat = 3.169, 49.362 (WGS84, as ODIM says). PROJ puts that corner at
 *   PROJ_NETWORK=OFF python3 -c 'from pyproj import Transformer; print(Transformer.from_crs(
 *   "EPSG:4326", SOMERC + " +type=crs", always_xy=True).transform(3.169, 49.362))'
 * = (289728.7601, 476619.1748) m. 1.0 took the corner on the projection's own Bessel datum
 * (no shift): (289696.6105, 476438.6448), 183 m off, the composite landed south. */
#define SOMERC                                                                              \
    "+proj=somerc +lat_0=46.9524055555556 +lon_0=7.43958333333333 +k_0=1 +x_0=600000 "     \
    "+y_0=200000 +ellps=bessel +towgs84=674.374,15.056,405.346,0,0,0,0 +units=m +no_defs"

static void h5_attr_string(hid_t fid, const char *obj, const char *name, const char *value)
{
    hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, strlen(value) + 1);
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate_by_name(fid, obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT,
                                H5P_DEFAULT);
    assert_true(a >= 0 && H5Awrite(a, type, value) >= 0);
    H5Aclose(a);
    H5Sclose(space);
    H5Tclose(type);
}

static void h5_attr_double(hid_t fid, const char *obj, const char *name, double v)
{
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate_by_name(fid, obj, name, H5T_NATIVE_DOUBLE, space, H5P_DEFAULT,
                                H5P_DEFAULT, H5P_DEFAULT);
    assert_true(a >= 0 && H5Awrite(a, H5T_NATIVE_DOUBLE, &v) >= 0);
    H5Aclose(a);
    H5Sclose(space);
}

static void h5_group(hid_t fid, const char *path)
{
    hid_t g = H5Gcreate2(fid, path, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(g >= 0);
    H5Gclose(g);
}

static void test_radar_corner_lonlat_is_wgs84(void **state)
{
    (void)state;
    char path[600];
    snprintf(path, sizeof path, "%s/swiss.h5", test_tmpdir());
    hid_t fid = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(fid >= 0);
    h5_attr_string(fid, "/", "Conventions", "ODIM_H5/V2_2");
    h5_group(fid, "what");
    h5_attr_string(fid, "what", "object", "IMAGE");
    h5_attr_string(fid, "what", "date", "20210704");
    h5_attr_string(fid, "what", "time", "170000");
    h5_attr_string(fid, "what", "source", "ORG:215");
    h5_group(fid, "where");
    h5_attr_string(fid, "where", "projdef", SOMERC);
    h5_attr_double(fid, "where", "xsize", 2);
    h5_attr_double(fid, "where", "ysize", 2);
    h5_attr_double(fid, "where", "xscale", 1000);
    h5_attr_double(fid, "where", "yscale", 1000);
    h5_attr_double(fid, "where", "UL_lon", 3.169);
    h5_attr_double(fid, "where", "UL_lat", 49.362);
    h5_group(fid, "dataset1");
    h5_group(fid, "dataset1/data1");
    h5_group(fid, "dataset1/data1/what");
    h5_attr_string(fid, "dataset1/data1/what", "quantity", "RATE");
    const hsize_t dims[2] = {2, 2};
    const float rate[4] = {0, 1, 2, 3};
    hid_t space = H5Screate_simple(2, dims, NULL);
    hid_t d = H5Dcreate2(fid, "dataset1/data1/data", H5T_IEEE_F32LE, space, H5P_DEFAULT,
                         H5P_DEFAULT, H5P_DEFAULT);
    assert_true(d >= 0 && H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, rate) >= 0);
    H5Dclose(d);
    H5Sclose(space);
    H5Fclose(fid);

    sq25_ctx *ctx = sq25_ctx_create();
    sq25_field *f = NULL;
    assert_int_equal(sq25_read_field(ctx, path, &f), SQ25_OK);
    double gt[6];
    sq25_field_geotransform(f, gt);
    print_message("UL corner placed at %.4f %.4f (pyproj 289728.7601 476619.1748)\n", gt[0],
                  gt[3]);
    assert_true(hypot(gt[0] - 289728.7601, gt[3] - 476619.1748) < TOLERANCE_M);
    /* and back: the corner reads as the file's lon/lat */
    double corners[8];
    assert_int_equal(sq25_field_corners_lonlat(f, corners), SQ25_OK);
    assert_true(metres_between(3.169, 49.362, corners[0], corners[1]) < TOLERANCE_M);
    sq25_field_destroy(f);
    sq25_ctx_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lonlat_to_grid_within_1cm),
        cmocka_unit_test(test_grid_to_lonlat_within_1cm),
        cmocka_unit_test(test_street_grid_corner_is_wgs84),
        cmocka_unit_test(test_radar_corner_lonlat_is_wgs84),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
