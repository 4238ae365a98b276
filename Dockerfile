# syntax=docker/dockerfile:1
#
# The importer as a small, static, non-root image for the Kubernetes CronJob
# in deploy/k8s/ (or any scheduler):
#
#   docker build --build-arg VERSION=$(git describe --tags --always --dirty) -t importer .
#   docker run --rm --user "$(id -u):$(id -g)" -e ALTCRAFT_TOKEN -v "$PWD:/data" \
#     importer run -c /data/crm.yaml /data/export.csv
#
# It needs BuildKit (Docker's default builder since 23.0) for the cache
# mounts. The example mapping configs and their samples are in
# /usr/share/importer/{configs,samples}.

# Go of go.mod's "go" line (or newer); the build stage runs on the builder's
# platform and cross-compiles, so multi-arch builds need no emulation.
ARG GO_VERSION=1.26

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
ARG TARGETOS
ARG TARGETARCH
ARG VERSION=dev
WORKDIR /src
# Modules first: this layer is reused until go.mod or go.sum change.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
# CGO_ENABLED=0: a static binary that needs no libc in the final image.
# -trimpath and -s -w: no build paths, no symbol tables (a smaller image).
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} \
    go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/importer ./cmd/importer

# distroless/static: CA certificates (for the API's https), tzdata and
# /etc/passwd, no shell, no package manager. The nonroot variant runs as uid
# 65532; Kubernetes' runAsNonRoot can check the numeric USER below.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/importer /usr/local/bin/importer
COPY configs/*.yaml configs/README.md /usr/share/importer/configs/
COPY samples/ /usr/share/importer/samples/
USER 65532:65532
# No init process is needed: the importer handles SIGTERM and SIGINT itself
# (finish requests in flight, flush, exit 130) and starts no children.
ENTRYPOINT ["/usr/local/bin/importer"]
CMD ["help"]
