# Warden's binaries and the pinned anvil in one image. Built from the repository root:
#   docker build -t warden .
FROM rust:1.95-bookworm AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends nodejs npm \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN npm ci --no-audit --no-fund \
    && cargo build --release --locked \
        -p warden-cli -p warden-operator -p warden-aggregator -p warden-challenger

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --create-home --home-dir /var/lib/warden warden \
    && install -d -o warden -g warden /var/lib/warden/summary
COPY --from=build /src/target/release/warden /src/target/release/warden-operator \
    /src/target/release/warden-aggregator /src/target/release/warden-challenger /usr/local/bin/
COPY --from=build /src/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil /usr/local/bin/anvil
ENV WARDEN_ANVIL=/usr/local/bin/anvil
USER warden
WORKDIR /var/lib/warden
ENTRYPOINT ["warden"]
