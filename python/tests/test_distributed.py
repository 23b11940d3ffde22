"""Scale-out on Dask (python/sq25/distributed.py) against the untiled engine.

The references are independent of the tiling code: `sq25 run` (the CLI) and the Python
Pipeline on the whole street grid for the tiled run, and `sq25 nowcast` + `sq25 verify --json`
for the hindcast. Geometry is compared with shapely (python3-shapely), not with our writer.
"""
import glob
import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest

import sq25

distributed = pytest.importorskip("dask.distributed")
shapely_geometry = pytest.importorskip("shapely.geometry")
from shapely.geometry import shape  # noqa: E402
from shapely.ops import unary_union  # noqa: E402

from sq25 import distributed as sd  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLI = os.environ.get("SQ25_CLI", os.path.join(ROOT, "build", "sq25"))
FRAMES = sorted(glob.glob(os.path.join(ROOT, "data", "radar", "rmi_20210704",
                                       "2021070417[2-4]*.hdf")))[-3:]
GRID = "lonlat:5.8,49.95,6.4,50.35:100"   # the demo's 100 m street grid, 446 x 462 cells
TARGETS = os.path.join(ROOT, "tests", "demo", "targets.csv")
LEVELS = [5.0, 10.0, 15.0]


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as c:
        yield c


def _config():
    return sd.RunConfig(radar=FRAMES, grid=GRID, targets=TARGETS, levels_mm=LEVELS)


@pytest.fixture(scope="module")
def untiled(tmp_path_factory):
    """The CLI's outputs and the Pipeline's grids on the whole street grid."""
    out = tmp_path_factory.mktemp("untiled")
    subprocess.run([CLI, "run", "--radar", *FRAMES, "--grid", GRID, "--targets", TARGETS,
                    "--levels", "5,10,15", "--out", str(out)], check=True, capture_output=True)
    pipe = sq25.Pipeline(levels_mm=LEVELS, street_grid=sq25.street_grid(GRID),
                         targets=sq25.Targets(TARGETS))
    for path in FRAMES:
        pipe.push(sq25.read_field(path))
    warning = pipe.run()
    grids = {"levels": warning.levels().data.copy()}
    for k in (1, 2, 3):
        grids[f"probability_{k}"] = warning.probability(k).data.copy()
        grids[f"onset_{k}"] = warning.onset(k).data.copy()
    for m in (15, 30, 60):
        grids[f"accumulation_{m}"] = warning.accumulation(m).data.copy()
    return out, grids


def _level_geometries(path, grid):
    """Per level: the feature's polygons normalised to the cells they cover, and its
    properties. Each vertex is taken back to the grid's CRS with pyproj (independent of our
    PROJ calls) and snapped to the cell corner it stands for (within 0.01 cell; positions to the cm are
    tested in the georeference tests, here only which cells are covered matters), so writers that
    place vertices differently (runs cut at tile edges, straight lon/lat edges between far
    corners) compare equal when they cover the same cells."""
    from pyproj import Transformer
    from shapely.geometry import Polygon
    to_grid = Transformer.from_crs("EPSG:4326", grid.projdef, always_xy=True)
    gt = grid.geotransform

    def snapped(ring):
        x, y = to_grid.transform([p[0] for p in ring], [p[1] for p in ring])
        col, row = (np.asarray(x) - gt[0]) / gt[1], (np.asarray(y) - gt[3]) / gt[5]
        assert np.abs(col - np.round(col)).max() < 1e-2 and np.abs(row - np.round(row)).max() < 1e-2
        return list(zip(np.round(col), np.round(row)))

    out = {}
    for feat in json.load(open(path))["features"]:
        polys = []
        for rings in feat["geometry"]["coordinates"]:
            polys.append(Polygon(snapped(rings[0]), [snapped(r) for r in rings[1:]]).buffer(0))
        lonlat = unary_union([g.buffer(0) for g in getattr(shape(feat["geometry"]), "geoms", [])])
        out[feat["properties"]["level"]] = (unary_union(polys), feat["properties"], lonlat)
    return out


def _grids_equal(a, b):
    return {k: bool(np.array_equal(a[k], b[k], equal_nan=True)) for k in b}


def test_halo_is_the_widest_neighbourhood():
    # Analytic: 0 m at issue + 100 m/min (the defaults) over 60 min = 6000 m = 60 cells of
    # 100 m; the target reach (250 m -> 3 cells + 1) is smaller. At 10 m: 600 cells.
    assert sd.required_halo(_config(), 100.0) == 60
    assert sd.required_halo(_config(), 10.0) == 600


def test_tiles_cover_the_grid_once():
    tiles = sd.plan_tiles(446, 462, 3, 3, 60)
    own = np.zeros((462, 446), int)
    for t in tiles:
        own[t.row0:t.row1, t.col0:t.col1] += 1
        rc0, rr0, rc1, rr1 = t.region
        assert rc0 % sd.ALIGN_CELLS == 0 and rr0 % sd.ALIGN_CELLS == 0
        assert rc0 <= max(0, t.col0 - 60) and rr0 <= max(0, t.row0 - 60)
        assert rc1 == min(446, t.col1 + 60) and rr1 == min(462, t.row1 + 60)
    assert (own == 1).all()


def test_tiled_equals_untiled(client, untiled, tmp_path):
    ref_dir, ref_grids = untiled
    res = sd.run(_config(), str(tmp_path), tiles=(3, 3), client=client)
    assert res["halo"] == 60
    # grids: bit for bit
    assert all(_grids_equal(res["grids"], ref_grids).values())
    # targets: each evaluated once, rows identical to the CLI's (text, same order)
    assert sorted(i for r in res["results"] for i in r["targets"]) == [0, 1, 2]
    assert (tmp_path / "targets.csv").read_text() == (ref_dir / "targets.csv").read_text()
    assert (json.load(open(tmp_path / "targets.geojson"))["features"]
            == json.load(open(ref_dir / "targets.geojson"))["features"])
    assert json.load(open(tmp_path / "summary.json")) == json.load(open(ref_dir / "summary.json"))
    # areas: after normalisation (union per level) the same geometry and properties
    grid = sq25.street_grid(GRID)
    tiled = _level_geometries(tmp_path / "warnings.geojson", grid)
    ref = _level_geometries(ref_dir / "warnings.geojson", grid)
    assert sorted(tiled) == sorted(ref) and ref, "the demo storm warns at least level 1"
    for level, (cells, props, _) in ref.items():
        tcells, tprops, tlonlat = tiled[level]
        assert tlonlat.is_valid
        assert tcells.symmetric_difference(cells).area == 0  # in cells: exactly the same
        assert tcells.area == props["cells"]
        assert tprops == props


def test_halo_one_cell_too_small(client, untiled, tmp_path):
    _, ref_grids = untiled
    with pytest.raises(ValueError, match="halo of 59 cells is too small"):
        sd.run(_config(), str(tmp_path), tiles=(3, 3), halo=59, client=client)
    res = sd.run(_config(), str(tmp_path), tiles=(3, 3), halo=59, client=client,
                 force_halo=True)
    same = _grids_equal(res["grids"], ref_grids)
    assert not same["probability_1"], "a halo one cell short must change the probabilities"
    assert same["accumulation_60"], "amounts are per cell: no halo needed"


def _cli_scores(files, i, leads, tmp_path):
    fc = tmp_path / f"fc{i}.h5"
    subprocess.run([CLI, "nowcast", *files[i - 2:i + 1], "--leads", "10", "--out", str(fc)],
                   check=True, capture_output=True)
    out = subprocess.run([CLI, "verify", str(fc), *files[i + 1:i + 1 + leads], "--json"],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)["leads"]


def _nanmean(vals):
    vals = [v for v in vals if v is not None and not math.isnan(v)]
    return sum(vals) / len(vals) if vals else math.nan


def test_hindcast_equals_cli_and_resumes(client, tmp_path):
    files = sorted(glob.glob(os.path.join(ROOT, "data", "radar", "rmi_20210704", "*.hdf")))
    leads = 2
    results = tmp_path / "results"
    table, cases = sd.hindcast(files, leads=leads, results_dir=str(results), client=client)
    # every issue index with 2 frames before it and `leads` after it (names sort by time)
    assert table["cases"] == len(files) - 2 - leads == len(cases)
    cli = [_cli_scores(files, i, leads, tmp_path) for i in range(2, len(files) - leads)]
    for k, lead in enumerate(table["leads"]):
        assert lead["lead_min"] == cli[0][k]["lead_min"]
        for key in ("pod", "far", "csi", "fss"):
            for j, v in enumerate(lead[key]):
                ref = _nanmean([c[k][key][j] for c in cli])
                assert v == pytest.approx(ref, abs=1e-9, nan_ok=True), (key, j)
        assert lead["mae_mmh"] == pytest.approx(_nanmean([c[k]["mae_mmh"] for c in cli]),
                                                abs=1e-9)
    # resumable: a finished case is read back, not recomputed; a missing one is recomputed
    kept = sorted(results.glob("case_*.json"))
    assert len(kept) == table["cases"]
    mtimes = {p.name: p.stat().st_mtime_ns for p in kept}
    kept[0].unlink()
    table2, _ = sd.hindcast(files, leads=leads, results_dir=str(results), client=client)
    assert table2 == table
    for p in sorted(results.glob("case_*.json")):
        if p.name != kept[0].name:
            assert p.stat().st_mtime_ns == mtimes[p.name]
    assert kept[0].exists()


def test_command_line_run(untiled, tmp_path):
    ref_dir, _ = untiled
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "python"))
    proc = subprocess.run([sys.executable, "-m", "sq25.distributed", "run", "--radar", *FRAMES,
                           "--grid", GRID, "--targets", TARGETS, "--levels", "5,10,15",
                           "--tiles", "2x3", "--workers", "2", "--out", str(tmp_path)],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "targets.csv").read_text() == (ref_dir / "targets.csv").read_text()
    bad = subprocess.run([sys.executable, "-m", "sq25.distributed", "run", "--radar", *FRAMES,
                          "--grid", GRID, "--halo", "3", "--workers", "1", "--out",
                          str(tmp_path / "x")], capture_output=True, text=True, env=env,
                         timeout=300)
    assert bad.returncode == 1 and "halo of 3 cells is too small" in bad.stderr
