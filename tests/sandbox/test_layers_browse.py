"""What a person browsing an image's layers is shown: changes per layer, bounded listings, and
dive's wasted bytes split by layer."""

from sandbox.layers.browse import layer_listings
from sandbox.layers.dive import _dive_metrics
from sandbox.layers.summary import DIR, FILE, OPAQUE, WHITEOUT, Entry, LayerSummary


def _layer(n: int, *entries: tuple[str, int, str]) -> LayerSummary:
    return LayerSummary(
        diff_id="sha256:" + f"{n:064x}",
        tar_size=0,
        entries=tuple(Entry(path, size, kind, 0o644, 0, 0) for path, size, kind in entries),
    )


BASE = _layer(
    1, ("/etc", 0, DIR), ("/etc/os-release", 300, FILE), ("/usr", 0, DIR), ("/usr/lib/a.so", 5000, FILE)
)


def test_each_file_is_added_changed_or_removed_relative_to_the_layers_below():
    app = _layer(2, ("/app", 0, DIR), ("/app/main.py", 120, FILE), ("/etc/os-release", 310, FILE))
    cleanup = _layer(3, ("/usr/lib/a.so", 0, WHITEOUT), ("/app/main.py", 0, WHITEOUT))
    again = _layer(4, ("/app/main.py", 125, FILE), ("/usr/lib/a.so", 10, FILE))

    listings = layer_listings([BASE, app, cleanup, again], first=1)

    assert [x.index for x in listings] == [1, 2, 3]
    assert listings[0].files == (
        ("/app/main.py", 120, "added", FILE),
        ("/etc/os-release", 310, "modified", FILE),
    )
    assert listings[0].dirs == (("/app", 120, 1), ("/etc", 310, 1))
    assert listings[1].files == (
        ("/app/main.py", 0, "removed", WHITEOUT),
        ("/usr/lib/a.so", 0, "removed", WHITEOUT),
    )
    # Both were deleted by the layer below: this layer adds them again.
    assert listings[2].files == (("/app/main.py", 125, "added", FILE), ("/usr/lib/a.so", 10, "added", FILE))
    assert listings[2].changes == {"added": 2, "modified": 0, "removed": 0}


def test_an_opaque_directory_hides_what_was_below_it():
    opaque = _layer(2, ("/usr/lib", 0, OPAQUE), ("/usr/lib/b.so", 7, FILE))
    after = _layer(3, ("/usr/lib/a.so", 9, FILE), ("/usr/lib/b.so", 8, FILE))

    listings = layer_listings([BASE, opaque, after], first=2)

    assert listings[0].files == (("/usr/lib/a.so", 9, "added", FILE), ("/usr/lib/b.so", 8, "modified", FILE))


def test_a_layer_with_many_files_keeps_the_largest_and_says_how_many_it_left_out():
    many = _layer(2, *((f"/data/d{i % 7}/f{i:05d}", i, FILE) for i in range(1, 5001)))

    (listing,) = layer_listings([BASE, many], first=1, keep=100)

    assert len(listing.files) == 100
    assert listing.files_total == 5000
    assert listing.trimmed == 4900
    assert listing.as_dict()["trimmed"] == 4900
    assert min(f[1] for f in listing.files) == 4901  # the hundred largest
    # Directory totals count every file, kept or not.
    assert dict((d[0], (d[1], d[2])) for d in listing.dirs)["/data"] == (sum(range(1, 5001)), 5000)


def test_a_hostile_path_is_shortened_and_deep_trees_keep_a_bounded_set_of_directories():
    deep = "/" + "/".join(f"d{i}" for i in range(400)) + "/f"
    long = "/" + "x" * 5000
    (listing,) = layer_listings([BASE, _layer(2, (deep, 1, FILE), (long, 2, FILE))], first=1, keep=3)

    assert max(len(f[0]) for f in listing.files) == 300
    assert listing.files[0][0].endswith("…")
    assert len(listing.dirs) == 12  # four times keep, the shallowest


def test_dive_wasted_bytes_are_split_by_the_layer_that_holds_them():
    big = _layer(2, ("/tmp/cache.tar", 4000, FILE), ("/app/x", 50, FILE))
    rewrite = _layer(3, ("/app/x", 60, FILE))
    delete = _layer(4, ("/tmp/cache.tar", 0, WHITEOUT))

    metrics = _dive_metrics([BASE, big, rewrite, delete])

    assert metrics.layer_wasted == (0, 4050, 60, 0)
    assert sum(metrics.layer_wasted) == metrics.wasted_bytes
