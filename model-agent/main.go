// Command model-agent runs beside a model server in its pod and keeps the
// model contract in front of it. See package agent and docs/model-agent.md.
package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/modelrollouts/modelrollouts/model-agent/agent"
)

func main() { os.Exit(run()) }

func run() int {
	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	cfg, err := agent.ConfigFromEnv(os.Getenv)
	if err != nil {
		logger.Error("model-agent cannot start", "error", err.Error())
		return 2
	}
	a, err := agent.New(cfg, logger)
	if err != nil {
		logger.Error("model-agent cannot start", "error", err.Error())
		return 2
	}
	// SIGTERM is how Kubernetes asks us to stop; Ctrl-C for local runs.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := a.ListenAndServe(ctx, cfg.Addr()); err != nil {
		logger.Error("model-agent stopped with an error", "error", err.Error())
		return 1
	}
	return 0
}
