FROM python:3.12-slim AS builder
ENV POETRY_HOME=/opt/poetry POETRY_VIRTUALENVS_IN_PROJECT=1
RUN pip install --upgrade pip
RUN curl -sSL https://install.python-poetry.org | python3 -
WORKDIR /app
COPY pyproject.toml poetry.lock ./
RUN /opt/poetry/bin/poetry install --no-root --only main
COPY src ./src

FROM python:3.12-slim
WORKDIR /app
COPY --from=builder /app /app
CMD ["/app/.venv/bin/python", "-m", "src.main"]
