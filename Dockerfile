# certvigil container image: one static binary on `scratch`, non-root.
#
# Stages (see docs/deploy.md):
#   runtime  (default, last stage)  builds the binary with the official Rust image
#                                   and copies it onto scratch:
#                                     docker build -t certvigil .
#   prebuilt                        copies a host-built static binary from the build
#                                   context; needs no image at all (only `scratch`):
#                                     RUSTFLAGS="-C target-feature=+crt-static" CARGO_PROFILE_RELEASE_STRIP=debuginfo \
#                                       cargo build --release --target x86_64-unknown-linux-gnu \
#                                       --target-dir target/static
#                                     mkdir ctx && cp target/static/x86_64-unknown-linux-gnu/release/certvigil ctx/
#                                     docker build --target prebuilt -t certvigil -f Dockerfile ctx
#
# The `prebuilt` stage comes before the builder on purpose: the classic (non-BuildKit)
# builder builds every stage up to the target, so `--target prebuilt` never pulls
# the Rust image. No `COPY --chmod` and no heredocs, for the same builder.
#
# A scratch image has no CA bundle, no /etc/passwd, no shell and no /tmp:
#   * chain checks need trust anchors: mount them and pass `--trust-roots` (or set
#     `trust.roots` in the config), e.g. -v /etc/ssl/certs:/etc/ssl/certs:ro;
#   * `~` in configured paths expands from HOME (set to / below; override it);
#   * the HEALTHCHECK uses `certvigil healthcheck` (plain HTTP to 127.0.0.1:9793);
#     with TLS or basic auth in --web.config.file, or another --listen port,
#     override it (`--health-cmd`, or HEALTHCHECK NONE in a derived image).

ARG RUST_IMAGE=rust:1-bookworm

# ---------------------------------------------------------------- common settings
FROM scratch AS base
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="certvigil" \
      org.opencontainers.image.description="Certificate expiry and trust monitoring exporter (Prometheus, HTML, JSON, compliance reports)" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.vendor="certvigil" \
      org.opencontainers.image.documentation="docs/deploy.md"
ENV HOME=/ \
    NO_COLOR=1
# Numeric non-root user and group (no /etc/passwd in scratch; 65532 = "nonroot").
USER 65532:65532
EXPOSE 9793
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["/certvigil", "healthcheck", "--url", "http://127.0.0.1:9793/healthz", "--timeout", "4s"]
ENTRYPOINT ["/certvigil"]
CMD ["serve"]

# ---------------------------------------------------------------- host-built binary
FROM base AS prebuilt
# Path of the static binary inside the build context.
ARG CERTVIGIL_BIN=certvigil
COPY ${CERTVIGIL_BIN} /certvigil

# ---------------------------------------------------------------- build from source
FROM ${RUST_IMAGE} AS builder
WORKDIR /src
COPY . .
RUN RUSTFLAGS="-C target-feature=+crt-static" CARGO_PROFILE_RELEASE_STRIP=debuginfo \
        cargo build --release --locked --target x86_64-unknown-linux-gnu \
    && cp target/x86_64-unknown-linux-gnu/release/certvigil /certvigil \
    && /certvigil --version

# ---------------------------------------------------------------- default image
FROM base AS runtime
COPY --from=builder /certvigil /certvigil
