# syntax=docker/dockerfile:1.4
FROM python:3.11-slim
RUN --mount=type=cache,target=/var/cache/apt --mount=type=cache,target=/var/lib/apt <<EOT
set -eux
apt-get update
apt-get install -y --no-install-recommends libpq5
EOT
WORKDIR /app
COPY requirements.txt .
RUN --mount=type=cache,target=/root/.cache/pip pip install -r requirements.txt
COPY . .
RUN useradd -m app
USER app
CMD ["python", "-m", "app"]
