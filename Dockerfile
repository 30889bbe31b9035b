# syntax=docker/dockerfile:1
# paylink: a static binary on a distroless base, running as a non-root user.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /paylink ./cmd/paylink

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /paylink /paylink
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/paylink"]
