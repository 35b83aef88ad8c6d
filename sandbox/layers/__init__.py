"""Reads an image's layers once, as dive reads them, and finds what should not be there.

The export (`docker save`) is the expensive part: the engine materialises every layer before
the first byte. So the archive is parsed as a stream while it arrives (never written to disk),
each layer is summarised (its entries, not its contents) and the summary is cached by the
layer's diff id. Base layers are shared by every submission of an exercise: once summarised,
an image whose layers are all known is analysed without exporting it at all. When the engine's
overlay2 storage is on this machine, layers not cached yet are not exported either: the
engine's tar-split record of each (the headers `docker save` would replay, in its order) is
parsed by the same tar parser, so the summaries are the export's, entry for entry.

The efficiency numbers reproduce dive 0.13.1 (`dive/filetree/efficiency.go`,
`dive/image/docker/image_archive.go`) decision for decision, including its quirks, so that a
student who runs dive sees the same numbers we grade with. The findings look at every layer
where dockle looks only at the merged filesystem: a key added in one layer and deleted in the
next is still in the image for anyone who pulls it.

The modules, each importing only those above it: `summary` (what a layer is reduced to) and
`report` (what an analysis says); `tar` (the tar parser and one layer tar), `export` (a
`docker save` stream), `overlay` (the engine's overlay2 storage); `dive` (the efficiency
metrics) and `findings`; `cache` (summaries by diff id); `analyse` (the entry points).
"""
