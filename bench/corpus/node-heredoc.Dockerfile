# syntax=docker/dockerfile:1.4
FROM node:18-bookworm-slim
WORKDIR /app
RUN <<EOF
apt-get update
apt-get install -y --no-install-recommends tini
rm -rf /var/lib/apt/lists/*
EOF
COPY package*.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev
COPY . .
USER node
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "index.js"]
