#!/usr/bin/python3
"""Check a warning GeoJSON (sq25_warning_write_areas_geojson) with shapely (python3-shapely),
independently of the code that wrote it: every geometry valid (OGC simple features, as GEOS and
QGIS check them), outer rings counter-clockwise and holes clockwise (RFC 7946 section 3.1.6),
features of different levels not overlapping. Prints one verdict line per feature and exits 1
on the first failure.

usage: geojson_check.py FILE [--polygons N] [--holes N] [--hole-ratio R]
  --polygons / --holes: the total number of polygons / holes expected (all features);
  --hole-ratio: expected area of the holes over the area of the exteriors (within 2 %)."""
import json
import sys

from shapely.geometry import shape
from shapely.validation import explain_validity


def main(argv):
    path, opts = argv[1], dict(zip(argv[2::2], argv[3::2]))
    doc = json.load(open(path))
    assert doc["type"] == "FeatureCollection", "not a FeatureCollection"
    polygons = holes = 0
    hole_area = outer_area = 0.0
    seen = []
    for f in doc["features"]:
        geom = shape(f["geometry"])
        props = f["properties"]
        label = "level %s (%s)" % (props.get("level"), props.get("state"))
        if not geom.is_valid:
            print("INVALID %s: %s" % (label, explain_validity(geom)))
            return 1
        for poly in getattr(geom, "geoms", [geom]):
            polygons += 1
            if not poly.exterior.is_ccw:
                print("%s: an outer ring is clockwise" % label)
                return 1
            outer_area += shape({"type": "Polygon", "coordinates": [list(poly.exterior.coords)]}).area
            for ring in poly.interiors:
                holes += 1
                if ring.is_ccw:
                    print("%s: a hole is counter-clockwise" % label)
                    return 1
                hole_area += shape({"type": "Polygon", "coordinates": [list(ring.coords)]}).area
        for other_label, other in seen:
            if geom.intersection(other).area > 1e-12:
                print("%s overlaps %s" % (label, other_label))
                return 1
        seen.append((label, geom))
        print("valid %s: %d polygon(s), area %.6g deg2" % (label, len(getattr(geom, "geoms", [geom])), geom.area))
    print("shapely: %d features valid, %d polygons, %d holes" % (len(doc["features"]), polygons, holes))
    if "--polygons" in opts and polygons != int(opts["--polygons"]):
        print("expected %s polygons, found %d" % (opts["--polygons"], polygons))
        return 1
    if "--holes" in opts and holes != int(opts["--holes"]):
        print("expected %s holes, found %d" % (opts["--holes"], holes))
        return 1
    if "--hole-ratio" in opts:
        ratio, want = hole_area / outer_area, float(opts["--hole-ratio"])
        if abs(ratio - want) > 0.02 * want:
            print("hole/outer area %.5f, expected %.5f" % (ratio, want))
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
