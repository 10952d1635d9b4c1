# The GitHub Action's image: a static-ish Rust binary on distroless.

# Rust 1.95 satisfies the AWS SDK's minimum (1.94.1).
FROM rust:1.95.0-bookworm AS build
WORKDIR /src
# Cargo.toml names the integration-test target, so tests/ must be present to build.
COPY Cargo.toml Cargo.lock clippy.toml ./
COPY src ./src
COPY tests ./tests
RUN cargo build --release --locked --bin mfe-deploy

# glibc, libgcc and CA certificates, nothing else (no shell, no package manager).
# It runs as root: the runner mounts GITHUB_OUTPUT and GITHUB_STEP_SUMMARY root-owned.
# NOTE: distroless publishes no version tags, only `latest` and digests; the release
# workflow records the digest each image was built from in its provenance.
# hadolint ignore=DL3007
FROM gcr.io/distroless/cc-debian12:latest
COPY --from=build /src/target/release/mfe-deploy /mfe-deploy
RUN ["/mfe-deploy", "--version"]
ENTRYPOINT ["/mfe-deploy"]
