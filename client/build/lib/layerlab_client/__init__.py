"""The Layerlab terminal client: submit a Dockerfile, watch it graded."""

__version__ = "0.1.0"
