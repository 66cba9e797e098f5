// Command model-echo stands in for an ML model in canary and shadow
// rollouts. See server's package documentation and README.md.
package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/modelrollouts/modelrollouts/model-echo/server"
)

func main() {
	logger := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	cfg, err := server.ConfigFromEnv(os.Getenv)
	if err != nil {
		logger.Error("model-echo cannot start", "error", err.Error())
		os.Exit(2)
	}
	// SIGTERM is how Kubernetes asks us to stop; Ctrl-C for local runs.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := server.New(cfg, logger).ListenAndServe(ctx, cfg.Addr()); err != nil {
		logger.Error("model-echo stopped with an error", "error", err.Error())
		os.Exit(1)
	}
}
