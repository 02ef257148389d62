# broker container image (client by default, `server` as the command for the other end): built with the
# Swift 6 toolchain, run as a non-root user on slim Debian 12.
#   docker build -f deploy/broker.Dockerfile -t cr-broker .                        (toolchain build)
#   docker build -f deploy/broker.Dockerfile --target prebuilt -t cr-broker \
#     --build-arg RELEASE_DIR=. <folder holding the broker of scripts/build-release.sh>
# The prebuilt stage comes before the build stage so a builder that runs stages in order up to
# --target never needs the Swift image.
ARG SWIFT_IMAGE=swift:6.3-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

FROM ${RUNTIME_IMAGE} AS runtime-base
# ca-certificates: the broker server's and the agent's TLS; curl: the HEALTHCHECK. A base that has both
# (a local one made with mmdebstrap --include=ca-certificates,curl) needs no package index. Unpinned: the
# base's point release decides, so security updates come with a rebuild.
# hadolint ignore=DL3008
RUN if ! command -v curl >/dev/null || [ ! -e /etc/ssl/certs/ca-certificates.crt ]; then \
      apt-get update && apt-get install -y --no-install-recommends ca-certificates curl \
      && rm -rf /var/lib/apt/lists/*; \
    fi \
    && useradd --system --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin broker
ENV PORT=7341
EXPOSE 7341
# The client answers 200 while any of its sockets to the server is open, 500 otherwise (as snyk's).
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD ["sh", "-c", "curl -fsS -o /dev/null http://127.0.0.1:${PORT}/healthcheck"]
ENTRYPOINT ["/usr/local/bin/broker"]
CMD ["client"]

# The binary scripts/build-release.sh made beside cr-agent (static Swift runtime, needs only glibc).
FROM runtime-base AS prebuilt
ARG RELEASE_DIR=.build-release/x86_64-unknown-linux-gnu/release
COPY ${RELEASE_DIR}/broker /usr/local/bin/broker
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
# build-release.sh prints cr-agent's path; broker is beside it.
RUN install -D "$(dirname "$(scripts/build-release.sh)")/broker" /out/broker

FROM runtime-base AS runtime
COPY --from=build /out/broker /usr/local/bin/broker
USER 10001:10001
