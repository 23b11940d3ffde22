/* support.h -- helpers shared by the unit tests (cmocka). */
#ifndef SQ25_TEST_SUPPORT_H
#define SQ25_TEST_SUPPORT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sq25.h"

/* Path of a file in the bundled sample data (data/ of the repository, or $SQ25_TEST_DATA).
 * Returns a static buffer. */
const char *test_data_path(const char *relative);
/* Path of a file in the larger shared data set ($SQ25_DATA or ../shared/data), or NULL when
 * that set is not on this machine (tests that need it then skip). Static buffer. */
const char *test_shared_path(const char *relative);
/* A fresh temporary directory for this test process (created once). Static buffer. */
const char *test_tmpdir(void);

/* Write text to a file of that name in test_tmpdir(); returns its path (static buffer, valid
 * until the next call). Fails the test if the file cannot be written. */
const char *test_write_file(const char *name, const char *text);

/* NAME.nc in test_tmpdir() from CDL text, by ncgen -k nc4 (netCDF-C, Debian netcdf-bin);
 * NULL (and a line saying the test skipped) when ncgen is missing. Fails the test if ncgen
 * refuses the CDL. Static buffer, valid until the next call. */
const char *test_ncgen(const char *name, const char *cdl);

/* An allocator that fails the Nth allocation (counting from 1; 0 = never) and counts live
 * blocks, to prove every error path releases what it took. */
typedef struct {
    long fail_at;
    long calls;
    long live;
} test_alloc_state;
sq25_ctx *test_ctx_failing(test_alloc_state *st);

/* Three 96 x 80 frames (1 km cells, EPSG:32631, 5 min apart) of two Gaussian rain cells
 * drifting east by 2 cells a step, values below 0.05 mm/h set to 0, a nodata corner (cell 0):
 * the ensemble tests' analytic case. Fails the test if a field cannot be made. */
void test_ensemble_frames(sq25_ctx *ctx, sq25_field *frames[3]);

#endif
