# syntax=docker/dockerfile:1.4
FROM rust:1.75-slim AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
RUN <<EOF
mkdir src
echo 'fn main() {}' > src/main.rs
cargo fetch
EOF
COPY src ./src
RUN --mount=type=cache,target=/usr/local/cargo/registry cargo build --release
FROM debian:bookworm-slim
COPY --from=build /src/target/release/app /usr/local/bin/app
USER 1000
CMD ["app"]
