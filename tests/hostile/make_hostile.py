#!/usr/bin/env python3
"""Write the small hostile inputs of tests/hostile/ (committed; run again only to change them).

Each file is tiny on disk but declares sizes that a reader trusting its metadata would
allocate gigabytes for, or holds values that overflow time arithmetic (issue 11). Written with
h5py / plain Python, independently of libsq25.  Usage: make_hostile.py [OUTDIR]"""
import os
import sys

import h5py
import numpy as np

out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
HEADER = "station_id,lon,lat,time_utc,mm\n"


def text(name, body):
    with open(os.path.join(out, name), "w") as f:
        f.write(body)


def s(group, name, value):
    group.attrs.create(name, np.bytes_(value))


def odim(name, xsize, ysize, quantity="RATE", start=("20210704", "164500"),
         end=("20210704", "165000")):
    """ODIM_H5 composite whose data array is declared xsize x ysize, chunked and gzip
    compressed, with no chunk ever written (a few KB on disk)."""
    with h5py.File(os.path.join(out, name), "w") as f:
        s(f, "Conventions", "ODIM_H5/V2_2")
        w = f.create_group("what")
        s(w, "object", "COMP"); s(w, "date", end[0]); s(w, "time", end[1])
        s(w, "source", "hostile")
        g = f.create_group("where")
        s(g, "projdef", "+proj=eqc +a=6371000 +b=6371000 +units=m")
        g.attrs["xsize"] = np.int64(xsize); g.attrs["ysize"] = np.int64(ysize)
        g.attrs["xscale"] = 250.0; g.attrs["yscale"] = 250.0
        g.attrs["UL_x"] = 0.0; g.attrs["UL_y"] = 0.0
        dw = f.create_group("dataset1/what")
        s(dw, "startdate", start[0]); s(dw, "starttime", start[1])
        s(dw, "enddate", end[0]); s(dw, "endtime", end[1])
        d = f.create_group("dataset1/data1")
        s(d.create_group("what"), "quantity", quantity)
        d.create_dataset("data", shape=(ysize, xsize), dtype="f4",
                         chunks=(min(ysize, 256), min(xsize, 256)), compression="gzip")


def opensense(name, n_times, time_dtype="i8"):
    """OpenSense-like netCDF-4 (HDF5) with one station and n_times declared time steps, time
    and rain chunked and never written."""
    with h5py.File(os.path.join(out, name), "w") as f:
        f.create_dataset("latitude", data=np.array([52.3]))
        f.create_dataset("longitude", data=np.array([4.9]))
        t = f.create_dataset("time", shape=(n_times,), dtype=time_dtype, chunks=(1024,),
                             maxshape=(None,))
        s(t, "units", "seconds since 1970-01-01 00:00:00")
        r = f.create_dataset("rainfall", shape=(1, n_times), dtype="f4", chunks=(1, 1024),
                             maxshape=(1, None))
        s(r, "units", "mm")


# ODIM: 20000 x 20000 declared in a few KB (issue: 4.7 GB for info, 6.3 GB for nowcast).
odim("odim_20000x20000.h5", 20000, 20000)
# ODIM ACRR whose accumulation window (1900 to 2199) is longer than an int of seconds.
odim("odim_acrr_window.h5", 4, 3, "ACRR", ("19000101", "000000"), ("21991231", "000000"))
# OpenSense netCDF: 1e9 time steps (7.8 GB for qc), and 2^61+1 (n * 8 bytes wraps to 8).
opensense("nc_1e9_times.nc", 10**9)
opensense("nc_2e61_times.nc", 2**61 + 1, "i1")
# CSV: a row at INT64_MAX seconds (67 bytes), three rows spanning all of int64 (--step 900),
# two rows 4000 years apart (103 bytes).
text("csv_int64max.csv", HEADER + "a,4.9,52.3,@9223372036854775807,1\n")
text("csv_span.csv", HEADER + "a,4.9,52.3,@9223372036854775807,1\n"
     "a,4.9,52.3,@-9223372036854775808,1\na,4.9,52.3,@0,1\n")
text("csv_4000_years.csv", HEADER + "st1,4.90,52.30,2021-07-04T16:50Z,1.5\n"
     "st1,4.90,52.30,6021-07-04T16:50Z,0.5\n")
