# The GitHub Action's image: a static-ish Rust binary on distroless.

# Rust 1.95 satisfies the AWS SDK's minimum (1.94.1).
# Both base images by digest (the tag only says which it was): a tag rebuilt upstream
# cannot change what a release is built from. Move a digest on purpose:
# `docker buildx imagetools inspect <image>:<tag>` prints the index digest.
FROM rust:1.95.0-bookworm@sha256:6258907abe69656e41cd992e0b705cdcfabcbbe3db374f92ed2d47121282d4a1 AS build
WORKDIR /src
# Cargo.toml names the integration-test target, so tests/ must be present to build.
COPY Cargo.toml Cargo.lock clippy.toml ./
COPY src ./src
COPY tests ./tests
RUN cargo build --release --locked --bin mfe-deploy

# glibc, libgcc and CA certificates, nothing else (no shell, no package manager).
# It runs as root: the runner mounts GITHUB_OUTPUT and GITHUB_STEP_SUMMARY root-owned.
# NOTE: distroless publishes no version tags, only `latest` and digests; this is the
# index digest `latest` named when it was pinned, and the release's provenance records it.
FROM gcr.io/distroless/cc-debian12:latest@sha256:e5d81ddde149641e2a9ba55be4545bc125c67de07508b03ba4c22e6eb0ded5aa
COPY --from=build /src/target/release/mfe-deploy /mfe-deploy
RUN ["/mfe-deploy", "--version"]
ENTRYPOINT ["/mfe-deploy"]
