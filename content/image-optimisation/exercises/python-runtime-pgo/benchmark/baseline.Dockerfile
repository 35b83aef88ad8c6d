# The baseline the optimised interpreter is timed against: the same source, built plainly
# (no PGO, no LTO). Debian's own python3.11 is already built with PGO and LTO, so it is no baseline.
ARG PYTHON_VERSION=3.11.2

FROM debian:bookworm-slim AS builder
ARG PYTHON_VERSION
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc make libc6-dev zlib1g-dev libffi-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /usr/src
COPY Python-${PYTHON_VERSION}.tar.gz .
RUN tar -xzf Python-${PYTHON_VERSION}.tar.gz \
 && cd Python-${PYTHON_VERSION} \
 && ./configure --prefix=/usr/local --without-ensurepip \
 && make -j"$(nproc)" \
 && make install \
 && rm -rf /usr/local/lib/python3.*/test

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends zlib1g libffi8 \
 && rm -rf /var/lib/apt/lists/*
COPY --from=builder /usr/local /usr/local
CMD ["python3"]
