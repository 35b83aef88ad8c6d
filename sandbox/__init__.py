"""Builds and inspects untrusted Dockerfiles. Knows nothing of Django, users or courses:
plain data in (Dockerfile text, context files, limits, allowed bases), plain data out."""
