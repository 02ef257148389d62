# cr-agent container image: built with the Swift 6 toolchain, run as a non-root user on slim Debian 12.
#   docker build -f deploy/cr-agent.Dockerfile -t cr-agent .                       (toolchain build)
#   docker build -f deploy/cr-agent.Dockerfile --target prebuilt -t cr-agent \
#     --build-arg RELEASE_DIR=. <folder holding the cr-agent of scripts/build-release.sh>
# The prebuilt stage comes before the build stage so a builder that runs stages in order up to
# --target never needs the Swift image.
ARG SWIFT_IMAGE=swift:6.3-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

FROM ${RUNTIME_IMAGE} AS runtime-base
# ca-certificates: registries' TLS; curl: the HEALTHCHECK. A base that has both (a local one made with
# mmdebstrap --include=ca-certificates,curl) needs no package index. Unpinned: the base's point release
# decides, so security updates come with a rebuild.
# hadolint ignore=DL3008
RUN if ! command -v curl >/dev/null || [ ! -e /etc/ssl/certs/ca-certificates.crt ]; then \
      apt-get update && apt-get install -y --no-install-recommends ca-certificates curl \
      && rm -rf /var/lib/apt/lists/*; \
    fi \
    && useradd --system --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin cragent
ENV SNYK_PORT=17500 \
    TMPDIR=/tmp
EXPOSE 17500
HEALTHCHECK --interval=30s --timeout=3s --start-period=5s --retries=3 \
  CMD ["sh", "-c", "curl -fsS -o /dev/null http://127.0.0.1:${SNYK_PORT}/healthcheck"]
ENTRYPOINT ["/usr/local/bin/cr-agent"]
CMD ["serve"]

# The binary scripts/build-release.sh made (static Swift runtime, needs only glibc).
FROM runtime-base AS prebuilt
ARG RELEASE_DIR=.build-release/x86_64-unknown-linux-gnu/release
COPY ${RELEASE_DIR}/cr-agent /usr/local/bin/cr-agent
USER 10001:10001

FROM ${SWIFT_IMAGE} AS build
# hadolint ignore=DL3008
RUN apt-get update && apt-get install -y --no-install-recommends \
      pkg-config libssl-dev zlib1g-dev libcurl4-openssl-dev libzstd-dev libsqlite3-dev libisal-dev nasm \
      dpkg-dev make gcc \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Package.swift ./
COPY Sources ./Sources
COPY Tests ./Tests
COPY scripts ./scripts
COPY deploy/link-order.txt ./deploy/
# Static libcurl (HTTP/HTTPS only) and OpenSSL, zlib, zstd, SQLite linked in: the binary needs only glibc.
RUN install -D "$(scripts/build-release.sh)" /out/cr-agent

FROM runtime-base AS runtime
COPY --from=build /out/cr-agent /usr/local/bin/cr-agent
USER 10001:10001
