"""Scale-out on Dask distributed: tiled street grids and archive hindcasts.

Two workloads outgrow one machine: a national street grid (Germany at 10 m is billions of
cells per cycle) and a hindcast over years of archive (a million cycles). Neither needs a
scheduler of its own: both are maps of independent tasks, run here on dask.distributed, which
runs on a laptop (LocalCluster, the default), on a cluster over SSH, under Slurm (dask-jobqueue)
or Kubernetes with the same client code.

Tiled street grids (`run`): the nowcast is computed once at radar resolution (it is small) and
written to forecast.h5 in the output folder; the street grid is cut into tiles, each widened by
a halo of sq25_warn_options_halo_cells cells (the widest neighbourhood the warnings and the
target sampling look at) and aligned to the resampling lattice (SQ25_RESAMPLE_ALIGN_CELLS), so
that every kept cell of a tile is computed from exactly the inputs an untiled run uses: the
stitched result is bit for bit that of `sq25 run`. Each tile task reads forecast.h5 itself
(file names and tile bounds travel, not arrays), resamples, warns, evaluates the targets
assigned to it (each target exactly once, on the tile that holds its centre) and writes its
outputs to the folder's tiles/ subfolder; the driver merges them (GeoJSON polygons dissolved
across tile edges with shapely).

Archive hindcasts (`hindcast`): one task per issue time that has three input frames and the
observations up to the horizon; each reads its own files, nowcasts, scores every lead as
`sq25 verify` does and keeps its scores in a results folder, so a restarted hindcast skips the
finished cases. The per-lead averages have the shape of `sq25 verify --json`.

    python3 -m sq25.distributed run --radar F1 F2 F3 --grid lonlat:5.8,49.95,6.4,50.35:100 \\
        --targets targets.csv --levels 5,10,15 --tiles 3x3 --out out/
    python3 -m sq25.distributed hindcast --radar data/radar/rmi_20210704/*.hdf --leads 12 --json

Workers need libsq25 and this package (SQ25_LIB / PYTHONPATH as for the driver) and the files
on a path they all see (a shared file system on a cluster).
"""
import argparse
import contextlib
import csv
import ctypes
import io
import json
import math
import os
import sys
import time
from dataclasses import dataclass, field as dc_field
from typing import List, Optional, Tuple

import numpy as np

from . import _lib
from ._lib import lib
from .core import Error, Field, _c_path, default_context, read_field
from .nowcast import extrapolate, motion, scores
from .sensors import RESAMPLE_BILINEAR, resample, street_grid
from .warn import Pipeline, Targets, Warning

ALIGN_CELLS = 8  # SQ25_RESAMPLE_ALIGN_CELLS in include/sq25.h
ACCUMULATION_MIN = (15, 30, 60)
TIME_GAP, GRID_MISMATCH = -301, -201  # SQ25_ERR_TIME_GAP, SQ25_ERR_GRID_MISMATCH
META_PATH = 4  # SQ25_META_PATH


# ---- configuration -------------------------------------------------------------------------

@dataclass
class RunConfig:
    """The options of `sq25 run` that a tiled run supports (radar-only, deterministic)."""
    radar: List[str]
    grid: str
    targets: Optional[str] = None
    levels_mm: Optional[List[float]] = None
    probability: Optional[float] = None
    calibration: Optional[List[Tuple[float, float]]] = None
    method: str = "dense"
    frames: int = 3
    horizon_min: int = 60


@dataclass(frozen=True)
class Tile:
    """One tile: its own cells [col0, col1) x [row0, row1) of the street grid and the region
    (tile + halo, clipped to the grid, aligned to the resampling lattice) it is computed on."""
    row: int
    col: int
    col0: int
    row0: int
    col1: int
    row1: int
    region: Tuple[int, int, int, int]  # rcol0, rrow0, rcol1, rrow1
    targets: Tuple[int, ...] = ()


def _warn_options(ctx, cfg):
    """A C sq25_warn_options handle set as `sq25 run` sets it (caller destroys it)."""
    opt = ctypes.c_void_p()
    ctx.check(lib.sq25_warn_options_create(ctx._ptr, ctypes.byref(opt)))
    try:
        ctx.check(lib.sq25_warn_options_set_horizon(opt, 3600))
        if cfg.probability is not None:
            ctx.check(lib.sq25_warn_options_set_probability_threshold(opt, cfg.probability))
        if cfg.levels_mm:
            thr = (ctypes.c_double * len(cfg.levels_mm))(*cfg.levels_mm)
            ctx.check(lib.sq25_warn_options_set_levels(opt, len(cfg.levels_mm), thr, None))
        if cfg.calibration:
            raw = (ctypes.c_double * len(cfg.calibration))(*[r for r, _ in cfg.calibration])
            cal = (ctypes.c_double * len(cfg.calibration))(*[p for _, p in cfg.calibration])
            ctx.check(lib.sq25_warn_options_set_calibration(opt, len(cfg.calibration), raw, cal))
    except Exception:
        lib.sq25_warn_options_destroy(opt)
        raise
    return opt


def required_halo(cfg, cell_m, ctx=None):
    """The smallest halo (cells) with which tiles reproduce the untiled run."""
    ctx = ctx or default_context()
    opt = _warn_options(ctx, cfg)
    try:
        cells = ctypes.c_int()
        ctx.check(lib.sq25_warn_options_halo_cells(opt, float(cell_m), ctypes.byref(cells)))
        return cells.value
    finally:
        lib.sq25_warn_options_destroy(opt)


# ---- tiles ---------------------------------------------------------------------------------

def _splits(n, parts):
    """parts+1 cut positions of 0..n into nearly equal whole pieces."""
    return [n * k // parts for k in range(parts + 1)]


def plan_tiles(width, height, rows, cols, halo):
    """Tiles of a width x height grid cut into rows x cols, each with its halo region."""
    if rows < 1 or cols < 1 or rows > height or cols > width:
        raise ValueError(f"cannot cut a {width} x {height} grid into {rows} x {cols} tiles")
    cs, rs = _splits(width, cols), _splits(height, rows)
    tiles = []
    for r in range(rows):
        for c in range(cols):
            c0, c1, r0, r1 = cs[c], cs[c + 1], rs[r], rs[r + 1]
            # The lower side is widened down to the lattice so the region resamples as the grid.
            rc0 = max(0, c0 - halo) // ALIGN_CELLS * ALIGN_CELLS
            rr0 = max(0, r0 - halo) // ALIGN_CELLS * ALIGN_CELLS
            region = (rc0, rr0, min(width, c1 + halo), min(height, r1 + halo))
            tiles.append(Tile(r, c, c0, r0, c1, r1, region))
    return tiles


def _pixel_bounds(grid_probe, targets):
    """Per target: (cmin, rmin, cmax, rmax) of its vertices in grid pixel coordinates."""
    out = []
    for i in range(len(targets)):
        n = lib.sq25_targets_vertex_count(targets._ptr, i)
        lon, lat = np.empty(n), np.empty(n)
        a, b = ctypes.c_double(), ctypes.c_double()
        for k in range(n):
            targets._ctx.check(lib.sq25_targets_vertex(targets._ptr, i, k, ctypes.byref(a),
                                                       ctypes.byref(b)))
            lon[k], lat[k] = a.value, b.value
        col, row = grid_probe.lonlat_to_pixel(lon, lat)
        out.append((np.nanmin(col), np.nanmin(row), np.nanmax(col), np.nanmax(row))
                   if np.isfinite(col).any() else (math.nan,) * 4)
    return out


def assign_targets(tiles, bounds, width, height, reach):
    """Give each target to the tile holding its centre; a target whose sampled cells would
    leave that tile's region gets a tile of its own (a region around it, no cells of its own)."""
    by_tile = {(t.row, t.col): [] for t in tiles}
    extra = []
    for i, (cmin, rmin, cmax, rmax) in enumerate(bounds):
        if not math.isfinite(cmin):  # PROJ cannot place it: any tile gives it no data
            by_tile[(tiles[0].row, tiles[0].col)].append(i)
            continue
        cc = min(max(int((cmin + cmax) / 2), 0), width - 1)
        rr = min(max(int((rmin + rmax) / 2), 0), height - 1)
        tile = next(t for t in tiles if t.col0 <= cc < t.col1 and t.row0 <= rr < t.row1)
        lo_c, lo_r = max(0, math.floor(cmin) - reach), max(0, math.floor(rmin) - reach)
        hi_c, hi_r = min(width, math.ceil(cmax) + reach), min(height, math.ceil(rmax) + reach)
        rc0, rr0, rc1, rr1 = tile.region
        if rc0 <= lo_c and rr0 <= lo_r and hi_c <= rc1 and hi_r <= rr1:
            by_tile[(tile.row, tile.col)].append(i)
        else:
            region = (lo_c // ALIGN_CELLS * ALIGN_CELLS, lo_r // ALIGN_CELLS * ALIGN_CELLS,
                      hi_c, hi_r)
            extra.append(Tile(-1, len(extra), 0, 0, 0, 0, region, (i,)))
    placed = [Tile(t.row, t.col, t.col0, t.row0, t.col1, t.row1, t.region,
                   tuple(by_tile[(t.row, t.col)])) for t in tiles]
    return placed + extra


# ---- worker tasks --------------------------------------------------------------------------

def _sorted_by_time(paths):
    return sorted(paths, key=lambda p: read_field(p).valid_time)


def nowcast_task(cfg, out_dir):
    """Motion and extrapolation on the radar grid, as `sq25 run` does; writes forecast.h5
    (leads, then motion u, v) and returns what the tiles need to know."""
    ctx = default_context()
    pipe = Pipeline(method=cfg.method, frames=cfg.frames, horizon_min=cfg.horizon_min, ctx=ctx)
    frames = [read_field(p) for p in _sorted_by_time(cfg.radar)]
    used = []
    for f in frames:  # as `sq25 run`: a gap or a changed grid starts a new sequence
        try:
            pipe.push(f)
        except Error as e:
            if e.code not in (TIME_GAP, GRID_MISMATCH):
                raise
            pipe.reset()
            used = []
            pipe.push(f)
        used.append(f.meta(META_PATH))
    pipe.run()
    forecasts = pipe.forecasts()
    u, v = pipe.motion()
    step_s = lib.sq25_pipeline_step_s(pipe._ptr)
    path = os.path.join(out_dir, "forecast.h5")
    _write_forecast(ctx, path, forecasts, u, v, step_s)
    return {"forecast": path, "n_leads": len(forecasts), "step_s": step_s,
            "issue_time": frames[-1].valid_time, "inputs": used[-cfg.frames:]}


def _write_forecast(ctx, path, forecasts, u, v, step_s):
    tmp = path + ".tmp"
    w = ctypes.c_void_p()
    ctx.check(lib.sq25_odim_writer_create(ctx._ptr, _c_path(tmp), ctypes.byref(w)))
    try:
        for f in forecasts:
            ctx.check(lib.sq25_odim_writer_add(w, f._ptr, b"RATE", f.valid_time - step_s,
                                               f.valid_time))
        first = forecasts[0]
        for name, comp in (("UMOTION", u), ("VMOTION", v)):
            m = Field.create(comp, first.projdef, first.geotransform, first.valid_time, ctx=ctx)
            ctx.check(lib.sq25_odim_writer_add(w, m._ptr, name.encode(),
                                               first.valid_time - step_s, first.valid_time))
    finally:
        rc = lib.sq25_odim_writer_close(w)
    ctx.check(rc)
    os.replace(tmp, path)


def _compute_warning(ctx, cfg, leads, step_s, issue_time, inputs):
    opt = _warn_options(ctx, cfg)
    try:
        ptrs = (ctypes.c_void_p * len(leads))(*[f._ptr for f in leads])
        out = ctypes.c_void_p()
        ctx.check(lib.sq25_warn_compute(ctx._ptr, opt, ptrs, len(leads), int(step_s),
                                        int(issue_time), ctypes.byref(out)))
    finally:
        lib.sq25_warn_options_destroy(opt)
    warning = Warning(out.value, ctx)
    for name in inputs:
        ctx.check(lib.sq25_warning_add_input(warning._ptr, name.encode()))
    return warning


def _select_targets(path, indices, ctx):
    whole = Targets(path, ctx)
    idx = (ctypes.c_size_t * len(indices))(*indices)
    out = ctypes.c_void_p()
    ctx.check(lib.sq25_targets_select(whole._ptr, len(indices), idx, ctypes.byref(out)))
    sub = Targets.__new__(Targets)
    sub._ptr, sub._ctx = out.value, ctx
    return sub


def _grids(warning, levels):
    """The warning's grids as arrays (copies): levels, probability/onset per level, amounts."""
    out = {"levels": warning.levels().data.copy()}
    for k in range(1, levels + 1):
        out[f"probability_{k}"] = warning.probability(k).data.copy()
        out[f"onset_{k}"] = warning.onset(k).data.copy()
    for m in ACCUMULATION_MIN:
        out[f"accumulation_{m}"] = warning.accumulation(m).data.copy()
    return out


def tile_task(tile, cfg, nowcast, grid, out_dir, keep_grids=True):
    """One tile: resample the leads onto its region, warn, evaluate its targets, keep its own
    cells. Writes tiles/<name>.* and returns their paths."""
    ctx = default_context()
    rc0, rr0, rc1, rr1 = tile.region
    gt = list(grid["geotransform"])
    gt[0] += rc0 * gt[1] + rr0 * gt[2]
    gt[3] += rc0 * gt[4] + rr0 * gt[5]
    region = Field.create(np.full((rr1 - rr0, rc1 - rc0), np.nan, np.float32), grid["projdef"],
                          gt, ctx=ctx)
    leads = []
    for i in range(nowcast["n_leads"]):
        lead = read_field(nowcast["forecast"], frame=i, ctx=ctx)
        dst = resample(lead, region.copy(), RESAMPLE_BILINEAR)
        dst.valid_time = lead.valid_time
        leads.append(dst)
    warning = _compute_warning(ctx, cfg, leads, nowcast["step_s"], nowcast["issue_time"],
                               nowcast["inputs"])
    del leads
    name = f"tile_{tile.row}_{tile.col}" if tile.row >= 0 else f"target_{tile.col}"
    folder = os.path.join(out_dir, "tiles")
    os.makedirs(folder, exist_ok=True)
    base = os.path.join(folder, name)
    result = {"name": name, "targets": list(tile.targets)}
    if tile.targets:
        warning.evaluate_targets(_select_targets(cfg.targets, list(tile.targets), ctx))
        for kind, ext in (("targets_csv", ".targets.csv"), ("targets_geojson", ".targets.geojson"),
                          ("summary_json", ".region.json")):
            warning.write(kind, base + ext)
            result[kind] = base + ext
    if tile.col1 > tile.col0:  # a tile of its own cells (not a target-only region)
        own = ctypes.c_void_p()
        ctx.check(lib.sq25_warning_crop(warning._ptr, tile.col0 - rc0, tile.row0 - rr0,
                                        tile.col1 - tile.col0, tile.row1 - tile.row0,
                                        ctypes.byref(own)))
        own_warning = Warning(own.value, ctx)
        for kind, ext in (("areas_geojson", ".areas.geojson"), ("summary_json", ".summary.json")):
            own_warning.write(kind, base + ext)
            result["own_" + kind] = base + ext
        if keep_grids:
            np.savez(base + ".grids.npz", **_grids(own_warning, own_warning.level_count))
            result["grids"] = base + ".grids.npz"
    return result


# ---- merging -------------------------------------------------------------------------------

def _max(values):
    vals = [v for v in values if v is not None]
    return max(vals) if vals else None


def _min(values):
    vals = [v for v in values if v is not None]
    return min(vals) if vals else None


def _rings_to_cells(probe, rings):
    """GeoJSON rings (lon/lat) back to the grid's cell corners (integer col, row)."""
    out = []
    for ring in rings:
        pts = np.asarray(ring, dtype=float)
        col, row = probe.lonlat_to_pixel(pts[:, 0], pts[:, 1])
        c, r = np.round(col), np.round(row)
        if not (np.abs(col - c).max() < 0.01 and np.abs(row - r).max() < 0.01):
            raise ValueError("warning polygon vertex is not on a cell corner of the grid")
        out.append(list(zip(c, r)))
    return out


def _cells_to_lonlat(probe, geom):
    """A cell-space (Multi)Polygon to GeoJSON MultiPolygon coordinates in lon/lat (exterior
    rings counter-clockwise, holes clockwise, as RFC 7946 wants)."""
    from shapely.geometry import Polygon
    from shapely.geometry.polygon import orient

    def ring_lonlat(coords):
        cr = np.asarray(coords, dtype=float)
        lon, lat = probe.pixel_to_lonlat(cr[:, 0], cr[:, 1])
        return [[round(float(x), 7), round(float(y), 7)] for x, y in zip(lon, lat)]

    polys = []
    for poly in getattr(geom, "geoms", [geom]):
        ll = Polygon(ring_lonlat(poly.exterior.coords),
                     [ring_lonlat(h.coords) for h in poly.interiors])
        ll = orient(ll, sign=1.0)
        polys.append([[list(p) for p in ll.exterior.coords]] +
                     [[list(p) for p in h.coords] for h in ll.interiors])
    return polys


def merge_areas(paths, probe):
    """One FeatureCollection from per-tile area GeoJSON files: per level, the polygons
    dissolved across tile edges and the statistics reduced. The union is done on the grid's
    cell corners (exact integers, shapely), not in lon/lat, where edges cut at different
    tile edges are not quite collinear; the result is taken back to lon/lat corner by corner."""
    from shapely.geometry import Polygon
    from shapely.ops import unary_union
    docs = [json.load(open(p)) for p in paths]
    merged = {k: v for k, v in docs[0].items() if k != "features"}
    by_level = {}
    for doc in docs:
        for feat in doc["features"]:
            by_level.setdefault(feat["properties"]["level"], []).append(feat)
    features = []
    for level in sorted(by_level):
        feats = by_level[level]
        props = dict(feats[0]["properties"])
        props["cells"] = sum(f["properties"]["cells"] for f in feats)
        for key, reduce in (("max_probability", _max), ("max_amount_mm", _max),
                            ("min_onset_min", _min)):
            if key in props:
                props[key] = reduce(f["properties"][key] for f in feats)
        cells = []
        for f in feats:
            g = f["geometry"]
            for rings in (g["coordinates"] if g["type"] == "MultiPolygon" else [g["coordinates"]]):
                corner_rings = _rings_to_cells(probe, rings)
                cells.append(Polygon(corner_rings[0], corner_rings[1:]).buffer(0))
        union = unary_union(cells)
        features.append({"type": "Feature", "properties": props,
                         "geometry": {"type": "MultiPolygon",
                                      "coordinates": _cells_to_lonlat(probe, union)}})
    merged["features"] = features
    return merged


def _merge_targets_csv(parts, count):
    """parts: (indices, csv path). Rows back in the targets' file order."""
    header, rows = None, [None] * count
    for indices, path in parts:
        with open(path, newline="") as f:
            lines = f.read().splitlines(keepends=True)
        header = header or lines[0]
        for i, line in zip(indices, lines[1:]):
            rows[i] = line
    return header + "".join(r for r in rows if r is not None)


def _merge_targets_geojson(parts, count):
    merged, feats = None, [None] * count
    for indices, path in parts:
        doc = json.load(open(path))
        merged = merged or {k: v for k, v in doc.items() if k != "features"}
        for i, feat in zip(indices, doc["features"]):
            feats[i] = feat
    merged["features"] = [f for f in feats if f is not None]
    return merged


def _merge_summary(own_paths, region_parts, count, width, height):
    docs = [json.load(open(p)) for p in own_paths]
    merged = dict(docs[0])
    merged["grid"] = dict(merged["grid"], width=width, height=height)
    areas = []
    for k, area in enumerate(merged["areas"]):
        parts = [d["areas"][k] for d in docs]
        areas.append(dict(area, cells=sum(p["cells"] for p in parts),
                          max_probability=_max(p["max_probability"] for p in parts),
                          max_amount_mm=_max(p["max_amount_mm"] for p in parts),
                          min_onset_min=_min(p["min_onset_min"] for p in parts)))
    merged["areas"] = areas
    if "cells_per_state" in merged:
        merged["cells_per_state"] = {k: sum(d["cells_per_state"][k] for d in docs)
                                     for k in merged["cells_per_state"]}
    if region_parts:
        targets = [None] * count
        for indices, path in region_parts:
            for i, t in zip(indices, json.load(open(path))["targets"]):
                targets[i] = t
        merged["targets"] = [t for t in targets if t is not None]
    return merged


def stitch_grids(results, tiles, width, height):
    """The tiles' own cells put back together: a dict of (height, width) float32 arrays."""
    out = {}
    for res, tile in zip(results, tiles):
        if "grids" not in res:
            continue
        with np.load(res["grids"]) as z:
            for key in z.files:
                if key not in out:
                    out[key] = np.full((height, width), np.nan, np.float32)
                out[key][tile.row0:tile.row1, tile.col0:tile.col1] = z[key]
    return out


def _write_atomic(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


# ---- the two workloads ---------------------------------------------------------------------

@contextlib.contextmanager
def _client(client=None, scheduler=None, scheduler_file=None, workers=None):
    """The given client; or one to a scheduler by address or file; or a LocalCluster."""
    from dask.distributed import Client, LocalCluster
    if client is not None:
        yield client
        return
    if scheduler or scheduler_file:
        with Client(scheduler, scheduler_file=scheduler_file) as c:
            yield c
        return
    n = workers or os.cpu_count() or 1
    with LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as c:
        yield c


def run(cfg, out_dir, tiles=(3, 3), halo=None, client=None, keep_grids=True, force_halo=False,
        **cluster):
    """A tiled `sq25 run`: forecast.h5, warnings.geojson, summary.json, targets.csv and
    targets.geojson in out_dir, plus the stitched grids (street_grids.npz) when keep_grids.
    halo: cells (default and minimum: required_halo); force_halo=True accepts a smaller one
    (only to show that it breaks the equality). Returns a dict of what was done."""
    os.makedirs(out_dir, exist_ok=True)
    grid_field = street_grid(cfg.grid)
    height, width = grid_field.shape
    gt = grid_field.geotransform
    grid = {"projdef": grid_field.projdef, "geotransform": tuple(gt)}
    need = required_halo(cfg, abs(gt[1]))
    halo = need if halo is None else int(halo)
    if halo < need and not force_halo:
        raise ValueError(f"halo of {halo} cells is too small: warnings at {abs(gt[1]):g} m "
                         f"cells look {need} cells around each cell")
    probe = Field.create(np.zeros((1, 1), np.float32), grid["projdef"], gt)
    del grid_field
    plan = plan_tiles(width, height, tiles[0], tiles[1], halo)
    count = 0
    if cfg.targets:
        targets = Targets(cfg.targets)
        count = len(targets)
        plan = assign_targets(plan, _pixel_bounds(probe, targets), width, height, halo)
    from sq25 import distributed as me  # tasks by module name, also when run as __main__
    t0 = time.perf_counter()
    with _client(client, **cluster) as c:
        nowcast = c.submit(me.nowcast_task, cfg, out_dir, pure=False).result()
        t1 = time.perf_counter()
        futures = [c.submit(me.tile_task, t, cfg, nowcast, grid, out_dir, keep_grids,
                            pure=False) for t in plan]
        results = c.gather(futures)
    t2 = time.perf_counter()
    own = [r for r in results if "own_areas_geojson" in r]
    with_targets = [r for r in results if r["targets"]]
    _write_atomic(os.path.join(out_dir, "warnings.geojson"),
                  json.dumps(merge_areas([r["own_areas_geojson"] for r in own], probe)) + "\n")
    _write_atomic(os.path.join(out_dir, "summary.json"), json.dumps(_merge_summary(
        [r["own_summary_json"] for r in own],
        [(r["targets"], r["summary_json"]) for r in with_targets], count, width,
        height), indent=1) + "\n")
    if with_targets:
        _write_atomic(os.path.join(out_dir, "targets.csv"), _merge_targets_csv(
            [(r["targets"], r["targets_csv"]) for r in with_targets], count))
        _write_atomic(os.path.join(out_dir, "targets.geojson"), json.dumps(
            _merge_targets_geojson([(r["targets"], r["targets_geojson"]) for r in with_targets],
                                   count)) + "\n")
    grids = None
    if keep_grids:
        grids = stitch_grids(results, plan, width, height)
        np.savez(os.path.join(out_dir, "street_grids.npz"), **grids)
    return {"grid": (width, height), "halo": halo, "tiles": len(plan), "results": results,
            "plan": plan, "grids": grids, "nowcast_s": t1 - t0, "tiles_s": t2 - t1}


def _valid_time(path):
    return read_field(path).valid_time


def hindcast_case(files, i, leads, method, thresholds, fss_threshold, fss_windows,
                  results_dir=None):
    """Nowcast from files[i-2..i] and score leads 1..leads against files[i+lead]: one case."""
    frames = [read_field(files[k]) for k in (i - 2, i - 1, i)]
    step_s = frames[-1].valid_time - frames[-2].valid_time
    u, v = motion(frames, method)
    forecasts = extrapolate(frames[-1], u, v, step_s, leads)
    rows = []
    for lead in range(1, leads + 1):
        s = scores(forecasts[lead - 1], read_field(files[i + lead]), thresholds,
                   fss_threshold, fss_windows)
        rows.append({"lead_min": lead * step_s // 60,
                     "pod": [s[f"pod_{t:g}"] for t in thresholds],
                     "far": [s[f"far_{t:g}"] for t in thresholds],
                     "csi": [s[f"csi_{t:g}"] for t in thresholds],
                     "fss": [s[f"fss_{fss_threshold:g}_{w}"] for w in fss_windows],
                     "mae_mmh": s["mae"]})
    case = {"issue_time": frames[-1].valid_time, "issue_file": files[i], "leads": rows}
    if results_dir:
        _write_atomic(os.path.join(results_dir, f"case_{frames[-1].valid_time}.json"),
                      json.dumps(case))
    return case


def _nanmean(values):
    vals = [v for v in values if v is not None and not math.isnan(v)]
    return sum(vals) / len(vals) if vals else math.nan


def reduce_cases(cases, thresholds, fss_threshold, fss_windows):
    """Per-lead means over the cases (NaN-aware), in the shape of `sq25 verify --json`."""
    leads = []
    for k in range(len(cases[0]["leads"])) if cases else []:
        rows = [c["leads"][k] for c in cases]
        leads.append({"lead_min": rows[0]["lead_min"], "cases": len(rows),
                      **{key: [_nanmean([r[key][j] for r in rows])
                               for j in range(len(rows[0][key]))]
                         for key in ("pod", "far", "csi", "fss")},
                      "mae_mmh": _nanmean([r["mae_mmh"] for r in rows])})
    return {"cases": len(cases), "thresholds_mmh": list(thresholds),
            "fss_threshold_mmh": fss_threshold, "fss_windows_px": list(fss_windows),
            "leads": leads}


def issue_indices(times, leads):
    """Indices i with frames i-2, i-1, i and observations i+1..i+leads at one spacing."""
    out = []
    for i in range(2, len(times) - leads):
        step = times[i] - times[i - 1]
        if step > 0 and all(times[k] - times[k - 1] == step for k in range(i - 1, i + leads + 1)):
            out.append(i)
    return out


def hindcast(radar, leads=12, method="dense", thresholds=(1, 5, 10, 20), fss_threshold=5.0,
             fss_windows=(5, 15), results_dir=None, client=None, **cluster):
    """Every issue time of an archive, one task each; finished cases found in results_dir
    are kept and not recomputed. Returns (table, cases)."""
    from sq25 import distributed as me
    if results_dir:
        os.makedirs(results_dir, exist_ok=True)
    with _client(client, **cluster) as c:
        times = c.gather(c.map(me._valid_time, list(radar), pure=False))
        order = sorted(range(len(radar)), key=lambda k: times[k])
        files, times = [radar[k] for k in order], [times[k] for k in order]
        todo, done = [], []
        for i in issue_indices(times, leads):
            path = os.path.join(results_dir or "", f"case_{times[i]}.json")
            if results_dir and os.path.exists(path):
                case = json.load(open(path))
                if len(case["leads"]) == leads:
                    done.append(case)
                    continue
            todo.append(i)
        futures = [c.submit(me.hindcast_case, files, i, leads, method, tuple(thresholds),
                            fss_threshold, tuple(fss_windows), results_dir, pure=False)
                   for i in todo]
        cases = done + c.gather(futures)
    cases.sort(key=lambda case: case["issue_time"])
    return reduce_cases(cases, thresholds, fss_threshold, fss_windows), cases


# ---- command line --------------------------------------------------------------------------

def _floats(text):
    return [float(v) for v in text.split(",")] if text else None


def _tiles(text):
    try:
        rows, cols = (int(v) for v in text.lower().split("x"))
        return rows, cols
    except ValueError:
        raise argparse.ArgumentTypeError(f"--tiles wants NxM, e.g. 3x3, not {text!r}")


def _cluster_args(ap):
    ap.add_argument("--scheduler", help="address of a running scheduler (tcp://host:8786)")
    ap.add_argument("--scheduler-file", help="scheduler file written by dask-scheduler")
    ap.add_argument("--workers", type=int, help="LocalCluster workers (default: cores)")


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python3 -m sq25.distributed",
                                 description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="a tiled `sq25 run`")
    r.add_argument("--radar", nargs="+", required=True)
    r.add_argument("--grid", required=True, help="street grid spec, as for sq25 run")
    r.add_argument("--targets")
    r.add_argument("--levels", type=_floats, help="mm in 60 min, e.g. 15,25,40")
    r.add_argument("--probability", type=float)
    r.add_argument("--calibration", help="raw:p,raw:p,...")
    r.add_argument("--method", default="dense")
    r.add_argument("--frames", type=int, default=3)
    r.add_argument("--horizon", type=int, default=60, help="minutes")
    r.add_argument("--tiles", type=_tiles, default=(2, 2), help="NxM (rows x columns)")
    r.add_argument("--halo", type=int, help="cells (default: the smallest legal)")
    r.add_argument("--no-grids", action="store_true", help="do not keep street_grids.npz")
    r.add_argument("--out", required=True)
    _cluster_args(r)
    h = sub.add_parser("hindcast", help="score every issue time of an archive")
    h.add_argument("--radar", nargs="+", required=True)
    h.add_argument("--leads", type=int, default=12)
    h.add_argument("--method", default="dense")
    h.add_argument("--thresholds", type=_floats, default=[1, 5, 10, 20])
    h.add_argument("--fss-threshold", type=float, default=5.0)
    h.add_argument("--fss-windows", default="5,15")
    h.add_argument("--results", help="folder of finished cases (resumable)")
    h.add_argument("--json", action="store_true")
    _cluster_args(h)
    a = ap.parse_args(argv)
    cluster = {"scheduler": a.scheduler, "scheduler_file": a.scheduler_file,
               "workers": a.workers}
    try:
        if a.command == "run":
            calib = None
            if a.calibration:
                calib = [tuple(float(x) for x in pair.split(":"))
                         for pair in a.calibration.split(",")]
            cfg = RunConfig(radar=a.radar, grid=a.grid, targets=a.targets, levels_mm=a.levels,
                            probability=a.probability, calibration=calib, method=a.method,
                            frames=a.frames, horizon_min=a.horizon)
            res = run(cfg, a.out, tiles=a.tiles, halo=a.halo, keep_grids=not a.no_grids,
                      **cluster)
            print(f"sq25.distributed run: {res['grid'][0]} x {res['grid'][1]} cells in "
                  f"{res['tiles']} tasks (halo {res['halo']} cells): nowcast "
                  f"{res['nowcast_s']:.2f} s, tiles {res['tiles_s']:.2f} s; outputs in {a.out}")
        else:
            windows = [int(w) for w in a.fss_windows.split(",")]
            table, cases = hindcast(a.radar, a.leads, a.method, a.thresholds, a.fss_threshold,
                                    windows, a.results, **cluster)
            if a.json:
                json.dump(table, sys.stdout, indent=1)
                print()
            else:
                print(f"{table['cases']} cases")
                print("lead_min  csi(" + ",".join(f"{t:g}" for t in table["thresholds_mmh"])
                      + ")  fss  mae_mmh")
                for lead in table["leads"]:
                    print(f"{lead['lead_min']:8d}  "
                          + " ".join(f"{v:.3f}" for v in lead["csi"]) + "  "
                          + " ".join(f"{v:.3f}" for v in lead["fss"])
                          + f"  {lead['mae_mmh']:.3f}")
    except (ValueError, OSError, Error) as e:
        print(f"sq25.distributed {a.command}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
