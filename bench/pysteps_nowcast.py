#!/usr/bin/python3
"""pysteps_nowcast.py -- the reference's whole nowcast process, for bench/bench_speed.c to run
beside `sq25 nowcast` on the same frames: read the ODIM_H5 frames (pysteps' own importer),
Lucas-Kanade motion on the last three, extrapolation of the latest to N leads, forecast
written as netCDF (pysteps' own exporter). The chain is the one the reference figures use
(../shared/reference/README.md): dB_transform(threshold=0.1, zerovalue=-15) on mm/h, NaN set
to -15, motion.get_method("lucaskanade"), nowcasts.get_method("extrapolation").

usage: pysteps_nowcast.py OUT_DIR N_LEADS COMPLEVEL FILE1 FILE2 FILE3
COMPLEVEL is the netCDF deflate level of the exporter (its default is 9; 1 compares with
sq25's default). Prints one line of JSON with the CPU seconds of each stage. Exit 3 when pysteps cannot be
imported (the caller says so and skips the comparison)."""
import datetime
import json
import os
import sys
import time

t_start = time.process_time()
try:
    import numpy as np
    from pysteps import motion, nowcasts
    from pysteps.io import exporters, importers
    from pysteps.utils import transformation
except ImportError as e:  # pysteps or one of its dependencies is missing
    print(json.dumps({"error": "pysteps not importable: %s" % e}))
    sys.exit(3)


def main():
    out_dir, n_leads, complevel = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    files = sys.argv[4:]
    t_import = time.process_time()
    frames, metadata = [], None
    for f in files:
        precip, _, metadata = importers.import_odim_hdf5(f, qty="RATE")
        frames.append(precip)
    rates = np.stack(frames)
    t_read = time.process_time()
    db, _ = transformation.dB_transform(rates, metadata, threshold=0.1, zerovalue=-15.0)
    db[~np.isfinite(db)] = -15.0
    velocity = motion.get_method("lucaskanade")(db[-3:])
    t_motion = time.process_time()
    forecast = nowcasts.get_method("extrapolation")(rates[-1], velocity, n_leads)
    t_extrapolate = time.process_time()
    meta = dict(metadata)
    meta.setdefault("unit", "mm/h")
    meta.setdefault("accutime", 5)
    # a source tree run in place has no package metadata, which the exporter asks for
    exporters.get_version = lambda name: "(source tree)"
    issue = datetime.datetime(2021, 7, 4)
    exporter = exporters.initialize_forecast_exporter_netcdf(
        out_dir, "pysteps_forecast", issue, 5, n_leads, rates.shape[1:], meta,
        n_ens_members=1, incremental=None, complevel=complevel)
    exporters.export_forecast_dataset(forecast, exporter)
    exporters.close_forecast_files(exporter)
    t_write = time.process_time()
    print(json.dumps({
        "import_s": t_import - t_start, "read_s": t_read - t_import,
        "motion_s": t_motion - t_read, "extrapolation_s": t_extrapolate - t_motion,
        "write_s": t_write - t_extrapolate, "total_s": t_write - t_start}))


if __name__ == "__main__":
    main()
