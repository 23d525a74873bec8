# nslab in a container: a Go build stage, then a slim Debian runtime with the
# tools the lessons suggest to learners.
#
#   docker build -t nslab .
#   docker run --rm -it --privileged nslab           # the TUI
#   docker run --rm --privileged nslab doctor        # what this machine allows
#   docker run --rm nslab doctor                     # explains what is missing
#
# --privileged is needed because every lesson really calls clone(2),
# unshare(2), setns(2), mount(2) and sethostname(2): a default container has
# no CAP_SYS_ADMIN and a seccomp profile that refuses those calls. The
# narrower alternative is
#   --cap-add SYS_ADMIN --cap-add NET_ADMIN --cap-add SYS_PTRACE
#   --security-opt seccomp=unconfined --security-opt apparmor=unconfined
# Everything nslab changes stays inside namespaces it creates in the container.

FROM golang:1.26-bookworm AS build
# cgo is on: the binary carries a small C constructor (it runs before the Go
# runtime starts threads, where setns into a mount or user namespace still
# works). The golang image ships gcc and libc6-dev; install them only if a
# base image lacks them.
ARG DEBIAN_FRONTEND=noninteractive
RUN if ! command -v gcc >/dev/null || [ ! -e /usr/include/stdio.h ]; then \
        apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev \
        && rm -rf /var/lib/apt/lists/*; \
    fi
ENV CGO_ENABLED=1 GOTOOLCHAIN=auto
WORKDIR /src
# Modules first, so that a source change does not download them again; the
# cache mounts (BuildKit, buildah) keep Go's build cache between builds.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    go build -trimpath -o /out/ ./cmd/nslab ./cmd/nslab-agent \
    && /out/nslab __nslab_true && /out/nslab-agent __nslab_true \
    && /out/nslab version | grep -q 'the slim agent binary'

FROM debian:bookworm-slim
ARG DEBIAN_FRONTEND=noninteractive
LABEL org.opencontainers.image.title="nslab" \
      org.opencontainers.image.description="Learn Linux namespaces by doing them for real: an interactive terminal tutorial. Run with --privileged." \
      org.opencontainers.image.base.name="docker.io/library/debian:bookworm-slim"
# debian:bookworm-slim excludes /usr/share/man from every package it
# installs; lift that so `man unshare` and `man 7 namespaces` work, as the
# lessons' recaps suggest.
RUN rm -f /etc/dpkg/dpkg.cfg.d/docker \
    && apt-get update \
    && apt-get install -y --no-install-recommends \
        iproute2 procps util-linux iputils-ping less man-db manpages manpages-dev \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb
# nslab-agent beside nslab: the engine starts every sandbox's agent from
# it (it links only the engine, so an agent starts about twice as fast as
# nslab re-executed); without it nslab falls back to itself.
COPY --from=build /out/nslab /out/nslab-agent /usr/local/bin/
ENV TERM=xterm-256color LANG=C.UTF-8 PAGER=less
WORKDIR /root
ENTRYPOINT ["nslab"]
