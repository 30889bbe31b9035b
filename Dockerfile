# syntax=docker/dockerfile:1
# paylink: a static binary on a distroless base, running as a non-root user.
#   docker build -t paylink .
#   docker buildx build --platform linux/amd64,linux/arm64 -t REGISTRY/paylink:TAG --push .

# The builder runs on the build machine's platform and cross-compiles for the target's.
FROM --platform=$BUILDPLATFORM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG TARGETOS TARGETARCH
# The version paylink reports (paylink version, paylink_build_info): --build-arg VERSION=v1.2.3.
ARG VERSION=
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    GOOS=$TARGETOS GOARCH=$TARGETARCH \
    CGO_ENABLED=0 go build -trimpath -ldflags="-s -w -X main.version=${VERSION}" -o /paylink ./cmd/paylink

# No shell, no package manager; CA certificates and tzdata included. The nonroot
# variant's user is 65532, the uid the Kubernetes manifests require.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /paylink /paylink
# The help of every subcommand points to it.
COPY --from=build /src/README.md /README.md
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/paylink"]
