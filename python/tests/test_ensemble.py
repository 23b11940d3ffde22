"""The ensemble from Python: NumPy arrays consistent with their own members, scores equal to
NumPy's formulas, the same members as the CLI's netCDF file for the same seed, and a round
trip through read_netcdf.

Expected numbers are recomputed here with NumPy from the members and the observation (read by
the library's ODIM reader, checked elsewhere against h5dump), never taken from the scores."""
import os
import subprocess
import tempfile

import numpy as np

import sq25

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLI = os.environ.get("SQ25_CLI", os.path.join(ROOT, "build", "sq25"))
RMI = os.path.join(ROOT, "data", "radar", "rmi_20210704")
FRAMES = [os.path.join(RMI, f"2021070417{m}.rad.best.comp.rate.qpe.hdf")
          for m in ("0000", "0500", "1000")]
OBS_15 = os.path.join(RMI, "20210704172500.rad.best.comp.rate.qpe.hdf")


def _run(**kw):
    frames = [sq25.read_field(p) for p in FRAMES]
    u, v = sq25.motion(frames)
    return sq25.ensemble.run(frames, u, v, n_leads=3, members=4, seed=5, accumulations=(15,),
                             keep_members=True, **kw)


def test_arrays_follow_members():
    ens = _run(threads=2, neighbourhood=0, control_weight=0)  # the members' fractions alone
    p, mem, mean = ens.probability, ens.members, ens.mean
    assert p.shape == (3, 4, 700, 700) and mem.shape == (4, 3, 700, 700)
    ok = np.all(np.isfinite(mem[:, 2]), axis=0)
    assert np.allclose(p[2, 1][ok], (mem[:, 2] > 5).mean(axis=0)[ok])
    assert np.allclose(mean[2][ok], mem[:, 2].mean(axis=0)[ok], rtol=1e-5, atol=1e-5)
    assert ens.accumulation_minutes == [15]
    assert len(ens.cascade()) == 6 and all(-1 < c["phi2"] < 1 for c in ens.cascade())


def test_probability_shrink():
    """knee + (p - knee) x (1 - rate x 15 min / 60 min) above the knee at the 15-min lead,
    worked out here from the unshrunk run's probabilities (same seed: same members)."""
    plain = _run(threads=2)
    shrunk = _run(threads=2, probability_shrink=(0.15, 0.4))
    assert plain.probability_shrink_rate == 0 and shrunk.probability_shrink_rate == 0.4
    assert np.array_equal(np.nan_to_num(plain.members, nan=-1), np.nan_to_num(shrunk.members, nan=-1))
    p, q = plain.probability[2, 0], shrunk.probability[2, 0]
    ok = np.isfinite(p)
    high = ok & (p > 0.15)
    assert high.sum() > 1000  # the storm gives many cells above the knee at 15 min
    assert np.allclose(q[high], 0.15 + (p[high] - 0.15) * 0.9, atol=1e-6)
    assert np.array_equal(q[ok & ~high], p[ok & ~high])


def test_scores_match_numpy():
    ens = _run()
    obs = sq25.read_field(OBS_15).data
    p = ens.probability[2, 0]
    mem = ens.members[:, 2]
    ok = np.isfinite(obs) & np.isfinite(p) & np.all(np.isfinite(mem), axis=0)
    o = np.where(ok, obs, np.nan)
    assert abs(sq25.ensemble.brier(p, o, 1.0) - np.mean((p[ok] - (obs[ok] > 1)) ** 2)) < 1e-7
    count, freq, _ = sq25.ensemble.reliability(p, o, 1.0)
    assert count.sum() == ok.sum()
    x = mem[:, ok].astype(np.float64)
    y = obs[ok].astype(np.float64)
    ref = np.mean(np.abs(x - y).mean(axis=0) - 0.5 * np.abs(x[:, None] - x[None]).mean(axis=(0, 1)))
    assert abs(sq25.ensemble.crps(mem, o) - ref) < 1e-5
    assert sq25.ensemble.rank_histogram(mem, o).sum() == ok.sum()
    assert 0.5 < sq25.ensemble.roc_area(p, o, 1.0) <= 1.0


def test_same_members_as_cli_and_round_trip():
    ens = _run(threads=1)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "cli.nc")
        subprocess.run([CLI, "nowcast", *FRAMES, "--members", "4", "--seed", "5", "--leads",
                        "15", "--keep-members", "--out", path], check=True, capture_output=True)
        back = sq25.ensemble.read_netcdf(path)
        assert np.array_equal(np.nan_to_num(back.members, nan=-1), np.nan_to_num(ens.members, nan=-1))
        mine = os.path.join(tmp, "py.nc")
        ens.write_netcdf(mine)
        again = sq25.ensemble.read_netcdf(mine)
        assert np.array_equal(np.nan_to_num(again.probability, nan=-1),
                              np.nan_to_num(ens.probability, nan=-1))
        # the control member (since 1.4): kept with the members, written and read back; it is
        # the deterministic extrapolation of the latest frame along the unperturbed motion
        assert ens.control.shape == (3, 700, 700) and back.control_weight == 0.65  # the default since 1.6
        assert back.neighbourhood == 1.0
        assert np.array_equal(np.nan_to_num(back.control, nan=-1), np.nan_to_num(ens.control, nan=-1))
        frames = [sq25.read_field(p) for p in FRAMES]
        u, v = sq25.motion(frames)
        det = np.stack([f.data for f in sq25.extrapolate(frames[-1], u, v, 300, 3)])
        assert np.array_equal(np.nan_to_num(det, nan=-1), np.nan_to_num(ens.control, nan=-1))


def test_crps_neighbourhood_pooled():
    """The pooled distribution of a 1 x 3 grid with members (0, 2, 4) and (1, 3, 5), half side 1:
    cell 0 pools {0, 1, 2, 3}, cell 1 {0..5}, cell 2 {2..5}; its CRPS by NumPy's pair formula
    mean |x - y| - 1/2 mean |x - x'| must lie within the returned bound; with half side 0 and
    no control it is the members' CRPS."""
    mem = [np.array([[0, 2, 4]], np.float32), np.array([[1, 3, 5]], np.float32)]
    obs = np.array([[0, 2.5, 5]], np.float32)
    pools = [np.array([0, 1, 2, 3.0]), np.arange(6.0), np.array([2, 3, 4, 5.0])]
    ref = np.mean([np.abs(x - y).mean() - 0.5 * np.abs(x[:, None] - x[None]).mean()
                   for x, y in zip(pools, obs[0])])
    crps, bound = sq25.ensemble.crps_neighbourhood(mem, obs, half_side=1)
    assert bound < 0.03 and abs(crps - ref) <= bound + 1e-9
    crps0, bound0 = sq25.ensemble.crps_neighbourhood(mem, obs)
    assert abs(crps0 - sq25.ensemble.crps(mem, obs)) <= bound0 + 1e-9
    # a control of weight 0.5 at 9 mm/h beside the two members (0.25 each) at each cell:
    # the weighted pair formula sum w |x - y| - 1/2 sum w w' |x - x'|
    ctl = np.array([[9, 9, 9]], np.float32)
    crps_c, bound_c = sq25.ensemble.crps_neighbourhood(mem, obs, control=ctl, control_weight=0.5)
    w = np.array([0.25, 0.25, 0.5])
    ref_c = np.mean([np.sum(w * np.abs(x - y)) - 0.5 * np.sum(np.outer(w, w) * np.abs(x[:, None] - x[None]))
                     for x, y in ((np.array([a, b, 9.0]), y) for a, b, y in zip(mem[0][0], mem[1][0], obs[0]))])
    assert abs(crps_c - ref_c) <= bound_c + 1e-9

