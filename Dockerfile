# syntax=docker/dockerfile:1
# Warden's four binaries and the pinned anvil in one image, built from the repository root:
#   docker build -t warden:local .        (docker compose up --build does the same)
# docker-compose.yml runs every role from this image; see docker/README.md. Needs BuildKit (the
# default builder of current Docker; the syntax line above picks a current Dockerfile frontend)
# for the cache mounts and COPY --chmod.

# --- build -------------------------------------------------------------------------------------
# The Rust release rust-toolchain.toml pins, and Node.js for `npm ci`: it installs the pinned
# toolchain as `make setup` does, for anvil and the Uniswap v2 artifacts the bindings read. The
# bindings of Warden's own contracts are committed (crates/bindings/abi/): no forge run is needed.
FROM rust:1.95.0-bookworm AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends nodejs npm \
    && rm -rf /var/lib/apt/lists/*
# rust-toolchain.toml also lists rustfmt and clippy, which a build does not use: run the image's
# own 1.95.0 toolchain rather than have rustup download them.
ENV RUSTUP_TOOLCHAIN=1.95.0 \
    CARGO_TERM_COLOR=never
WORKDIR /src

# The npm toolchain in a layer of its own, rebuilt only when the lock file changes.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error

COPY . .
# target/ and cargo's downloads live in BuildKit cache mounts, so a rebuild after a change
# compiles only what changed; the binaries are copied out of the cache in the same step.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked \
        -p warden-cli -p warden-operator -p warden-aggregator -p warden-challenger \
    && mkdir -p /out \
    && cp target/release/warden target/release/warden-operator \
        target/release/warden-aggregator target/release/warden-challenger /out/

# --- runtime -----------------------------------------------------------------------------------
# The same Debian release as the build stage (glibc 2.36); anvil 1.7.1 needs glibc 2.35 or later.
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 warden \
    && useradd --system --uid 10001 --gid warden --home-dir /var/lib/warden \
        --shell /usr/sbin/nologin warden \
    && install -d -o warden -g warden -m 0755 /var/lib/warden \
    && install -d -o warden -g warden -m 0750 /var/lib/warden/shared /var/lib/warden/anvil
# /var/lib/warden/shared (the deployment: keystores, configurations) and /var/lib/warden/anvil
# (anvil's state) are where docker-compose.yml mounts its named volumes: a new volume takes the
# ownership of the directory it is mounted over, so the non-root user can write to it.
COPY --from=build /out/ /usr/local/bin/
COPY --from=build /src/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil /usr/local/bin/anvil
COPY --chmod=0755 docker/probe.sh /usr/local/bin/warden-probe
# `warden devnet` starts this anvil.
ENV WARDEN_ANVIL=/usr/local/bin/anvil
USER 10001:10001
WORKDIR /var/lib/warden
# Aggregator API, metrics, EigenLayer node API, anvil.
EXPOSE 8090 9090 9010 8545
ENTRYPOINT ["warden"]
CMD ["--help"]
