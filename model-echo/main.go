// Command model-echo stands in for an ML model in canary and shadow
// rollouts. See server's package documentation and README.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/modelrollouts/modelrollouts/model-echo/server"
)

func main() { os.Exit(run()) }

// run returns the exit code, so deferred log flushing happens before exit.
func run() int {
	logs := server.NewLogWriter(os.Stdout, 100*time.Millisecond)
	defer logs.Close()
	logger := server.NewLogger(logs)

	cfg, err := server.ConfigFromEnv(os.Getenv)
	if err != nil {
		logger.Error("model-echo cannot start", "error", err.Error())
		return 2
	}
	// SIGTERM is how Kubernetes asks us to stop; Ctrl-C for local runs.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := server.New(cfg, logger).ListenAndServe(ctx, cfg.Addr()); err != nil {
		logger.Error("model-echo stopped with an error", "error", err.Error())
		return 1
	}
	return 0
}
