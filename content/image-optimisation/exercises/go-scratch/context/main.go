// Command unitconv is a small HTTP service that converts temperatures, lengths and masses.
//
//	GET /convert?value=21&from=c&to=f  ->  {"value":21,"from":"c","to":"f","result":69.8}
//	GET /healthz                        ->  ok
//
// Flags: -addr (default :8080, or $PORT), -version, and -healthcheck, which asks the running
// server's /healthz and exits 0 when it answers "ok": a health check for images with no curl.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

const version = "1.4.2"

type result struct {
	Value  float64 `json:"value"`
	From   string  `json:"from"`
	To     string  `json:"to"`
	Result float64 `json:"result"`
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

func convertHandler(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	value, err := strconv.ParseFloat(q.Get("value"), 64)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "value must be a number"})
		return
	}
	out, err := Convert(value, q.Get("from"), q.Get("to"))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, result{value, q.Get("from"), q.Get("to"), out})
}

func routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/convert", convertHandler)
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/version", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, version)
	})
	return mux
}

// healthcheck asks a running server for /healthz; the exit code is the verdict.
func healthcheck(addr string) int {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "unhealthy: bad -addr:", err)
		return 1
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	client := http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get("http://" + net.JoinHostPort(host, port) + "/healthz")
	if err != nil {
		fmt.Fprintln(os.Stderr, "unhealthy:", err)
		return 1
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || string(body) != "ok\n" {
		fmt.Fprintf(os.Stderr, "unhealthy: %s %q\n", resp.Status, body)
		return 1
	}
	fmt.Println("healthy")
	return 0
}

func main() {
	defaultAddr := ":8080"
	if port := os.Getenv("PORT"); port != "" {
		defaultAddr = ":" + port
	}
	addr := flag.String("addr", defaultAddr, "address to listen on")
	showVersion := flag.Bool("version", false, "print the version and exit")
	check := flag.Bool("healthcheck", false, "ask the running server's /healthz and exit 0 if it is healthy")
	flag.Parse()

	if *showVersion {
		fmt.Printf("unitconv %s\n", version)
		return
	}
	if *check {
		os.Exit(healthcheck(*addr))
	}

	server := &http.Server{Addr: *addr, Handler: routes(), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		log.Printf("unitconv %s listening on %s", version, *addr)
		if err := server.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Fatal(err)
		}
	}()

	// Stop cleanly on SIGTERM (docker stop) and SIGINT: this only works when the binary is
	// PID 1 itself, i.e. started by an exec-form ENTRYPOINT/CMD, not by `sh -c`.
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	<-stop
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := server.Shutdown(ctx); err != nil {
		log.Fatal(err)
	}
	log.Print("stopped")
}
