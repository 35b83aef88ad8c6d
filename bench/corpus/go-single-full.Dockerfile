FROM golang:1.19-bookworm
WORKDIR /go/src/app
COPY . .
RUN go mod download
RUN go build -o /app .
CMD ["/app"]
