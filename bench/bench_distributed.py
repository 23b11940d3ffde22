#!/usr/bin/env python3
"""Strong scaling of the Dask scale-out (python/sq25/distributed.py) on this machine.

    PYTHONPATH=python SQ25_LIB=build/libsq25.so python3 bench/bench_distributed.py [--quick]

1. A 10 m street grid of a 25 x 25 km city (2500 x 2500 = 6.25 M cells) under the Belgian
   storm of 2021-07-04 (bundled frames): `sq25 run` untiled (one process, the baseline) and
   the tiled run on 1 and 2 LocalCluster workers, wall seconds and the cells computed (tiles
   carry a halo, so they compute more cells than the grid has).
2. A hindcast of every issue time of the Belgian storm (../shared/data/radar/rmi_20210704 when
   present, else the 20 bundled frames), 12 leads: the serial loop (one process, the same
   per-case function) against 1 and 2 workers.
3. The overhead of one Dask task: the round trip of an empty task, and of a task that returns
   its input file name, averaged over 200.
Prints figures only; asserts nothing.
"""
import argparse
import glob
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))

from dask.distributed import Client, LocalCluster  # noqa: E402

import sq25  # noqa: E402
from sq25 import distributed as sd  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLI = os.environ.get("SQ25_CLI", os.path.join(ROOT, "build", "sq25"))
FRAMES = sorted(glob.glob(os.path.join(ROOT, "data", "radar", "rmi_20210704",
                                       "2021070417[2-4]*.hdf")))[-3:]
CITY_10M = "lonlat:5.9,50.05,6.25,50.275:10"  # about 25 x 25 km, UTM 31N/32N at 10 m


def _noop():
    return None


def _echo(path):
    return os.path.basename(path)


def load():
    with open("/proc/loadavg") as f:
        return f.read().split()[0]


def cluster(n):
    c = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None)
    return c, Client(c)


def bench_city(spec, tiles):
    cfg = sd.RunConfig(radar=FRAMES, grid=spec, levels_mm=[5, 10, 15])
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        subprocess.run([CLI, "run", "--radar", *FRAMES, "--grid", spec, "--levels", "5,10,15",
                        *(["--no-maps"] if _cli_has_no_maps() else []), "--quiet", "--out", out],
                       check=True, capture_output=True)
        base = time.perf_counter() - t0
    print(f"city grid {spec}: sq25 run untiled (1 process) {base:.2f} s wall (load {load()})")
    for n in (1, 2):
        c, client = cluster(n)
        try:
            with tempfile.TemporaryDirectory() as out:
                t0 = time.perf_counter()
                res = sd.run(cfg, out, tiles=tiles, client=client, keep_grids=False)
                wall = time.perf_counter() - t0
        finally:
            client.close()
            c.close()
        w, h = res["grid"]
        computed = sum((t.region[2] - t.region[0]) * (t.region[3] - t.region[1])
                       for t in res["plan"])
        print(f"  tiled {tiles[0]}x{tiles[1]}, {n} worker(s): {wall:.2f} s wall (nowcast "
              f"{res['nowcast_s']:.2f} s, tiles {res['tiles_s']:.2f} s), halo {res['halo']} "
              f"cells, {computed / (w * h):.2f} cells computed per grid cell (load {load()})")


def _cli_has_no_maps():
    out = subprocess.run([CLI, "help", "run"], capture_output=True, text=True).stdout
    return "--no-maps" in out


def bench_hindcast(files, leads):
    times = [sq25.read_field(f).valid_time for f in files]
    files = [f for _, f in sorted(zip(times, files))]
    issues = sd.issue_indices(sorted(times), leads)
    t0 = time.perf_counter()
    for i in issues:
        sd.hindcast_case(files, i, leads, "dense", (1, 5, 10, 20), 5.0, (5, 15))
    serial = time.perf_counter() - t0
    print(f"hindcast {len(issues)} issue times x {leads} leads: serial loop {serial:.2f} s "
          f"(load {load()})")
    for n in (1, 2):
        c, client = cluster(n)
        try:
            t0 = time.perf_counter()
            table, _ = sd.hindcast(files, leads=leads, client=client)
            wall = time.perf_counter() - t0
        finally:
            client.close()
            c.close()
        print(f"  {n} worker(s): {wall:.2f} s wall, {table['cases']} cases (load {load()})")


def bench_overhead(n_tasks=200):
    c, client = cluster(2)
    try:
        client.submit(_noop, pure=False).result()
        for fn, arg, what in ((_noop, None, "empty task"), (_echo, FRAMES[0], "file-name task")):
            t0 = time.perf_counter()
            if arg is None:
                client.gather([client.submit(fn, pure=False) for _ in range(n_tasks)])
            else:
                client.gather([client.submit(fn, arg, pure=False) for _ in range(n_tasks)])
            per = (time.perf_counter() - t0) / n_tasks
            print(f"overhead: {what}, {n_tasks} tasks on 2 workers: {per * 1e3:.2f} ms per task")
    finally:
        client.close()
        c.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="100 m city grid, 4 leads")
    a = ap.parse_args()
    print(f"bench_distributed: {os.cpu_count()} cores, load {load()}")
    bench_overhead()
    bench_city(CITY_10M.replace(":10", ":100") if a.quick else CITY_10M, (2, 2))
    shared = os.environ.get("SQ25_DATA", os.path.join(ROOT, "..", "shared", "data"))
    folder = os.path.join(shared, "radar", "rmi_20210704")
    if not os.path.isdir(folder):
        folder = os.path.join(ROOT, "data", "radar", "rmi_20210704")
    bench_hindcast(sorted(glob.glob(os.path.join(folder, "*.hdf"))), 4 if a.quick else 12)
    return 0


if __name__ == "__main__":
    sys.exit(main())
