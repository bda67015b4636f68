// Command stock-participant is the Go example saga participant: a
// saga.v1.Participant gRPC server for the "stock" business (deduct / restore),
// guarded by the SQLite saga barrier. It follows the participant process
// protocol in test/conformance/PARTICIPANT-PROTOCOL.md:
//
//	PARTICIPANT_HOST   address to bind (default 127.0.0.1)
//	PARTICIPANT_PORT   port to bind, 0 = ephemeral (default 0)
//	PARTICIPANT_DB     SQLite database path (required; created if missing, WAL)
//	PARTICIPANT_SEED   JSON seed, e.g. {"stock":{"A":10}} (default {})
//
// and, not part of the protocol:
//
//	PARTICIPANT_LOG_LEVEL  debug | info | warn | error (default info)
//
// When ready it prints exactly one line on stdout, {"listening":"HOST:PORT"},
// and nothing else there; logs are JSON lines on stderr and never contain
// payloads. SIGTERM (or SIGINT) stops it gracefully: no new calls, in-flight
// calls get up to 5 s, the database is closed, exit status 0.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"google.golang.org/grpc"

	"github.com/saga-coordinator/participants/go/barrier"
	sagav1 "github.com/saga-coordinator/participants/go/gen/saga/v1"
	"github.com/saga-coordinator/participants/go/internal/server"
	"github.com/saga-coordinator/participants/go/stock"
)

const (
	// gracefulStopTimeout bounds how long in-flight calls may finish on SIGTERM.
	gracefulStopTimeout = 5 * time.Second
	// cleanupInterval is how often expired barrier rows are deleted.
	cleanupInterval = time.Hour
)

type config struct {
	host     string
	port     int
	dbPath   string
	seed     stock.Seed
	logLevel slog.Level
}

func main() {
	os.Exit(run())
}

func run() int {
	cfg, err := loadConfig(os.Getenv)
	if err != nil {
		fmt.Fprintf(os.Stderr, "stock-participant: %v\n", err)
		return 2
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: cfg.logLevel})).
		With("service", "stock-participant")

	// Listen for signals before anything else so an early SIGTERM is not lost.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigs)

	startCtx, cancelStart := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancelStart()
	db, err := barrier.OpenSQLite(startCtx, cfg.dbPath, 0)
	if err != nil {
		log.Error("open database", "db", cfg.dbPath, "error", err.Error())
		return 1
	}
	defer func() {
		if err := db.Close(); err != nil {
			log.Error("close database", "error", err.Error())
		}
	}()
	b := barrier.New(db)
	if err := b.Init(startCtx); err != nil {
		log.Error("init barrier", "error", err.Error())
		return 1
	}
	if err := stock.Init(startCtx, db); err != nil {
		log.Error("init stock", "error", err.Error())
		return 1
	}
	if err := stock.ApplySeed(startCtx, db, cfg.seed); err != nil {
		log.Error("seed stock", "error", err.Error())
		return 1
	}

	cleanupCtx, stopCleanup := context.WithCancel(context.Background())
	waitCleanup := b.StartCleanup(cleanupCtx, cleanupInterval, func(n int64, err error) {
		if err != nil {
			log.Error("barrier cleanup", "error", err.Error())
		} else if n > 0 {
			log.Info("barrier cleanup", "deleted", n)
		}
	})
	defer func() { stopCleanup(); waitCleanup() }()

	lis, err := net.Listen("tcp", net.JoinHostPort(cfg.host, strconv.Itoa(cfg.port)))
	if err != nil {
		log.Error("listen", "host", cfg.host, "port", cfg.port, "error", err.Error())
		return 1
	}

	hardStop := make(chan struct{})
	srv := grpc.NewServer()
	participant := server.New(b, log, hardStop)
	sagav1.RegisterParticipantServer(srv, participant)
	sagav1.RegisterTccParticipantServer(srv, participant.Tcc())

	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()

	ready, err := json.Marshal(map[string]string{"listening": lis.Addr().String()})
	if err != nil {
		log.Error("ready line", "error", err.Error())
		srv.Stop()
		return 1
	}
	if _, err := fmt.Fprintf(os.Stdout, "%s\n", ready); err != nil {
		log.Error("write ready line", "error", err.Error())
		srv.Stop()
		return 1
	}
	log.Info("listening", "addr", lis.Addr().String(), "db", cfg.dbPath)

	select {
	case err := <-served:
		log.Error("serve", "error", fmt.Sprint(err))
		return 1
	case sig := <-sigs:
		log.Info("stopping", "signal", sig.String())
	}

	stopped := make(chan struct{})
	go func() { srv.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
		log.Info("stopped gracefully")
	case <-time.After(gracefulStopTimeout):
		log.Warn("graceful stop timed out; cancelling in-flight calls", "timeout_ms", gracefulStopTimeout.Milliseconds())
		close(hardStop)
		srv.Stop()
		select {
		case <-stopped:
		case <-time.After(time.Second):
		}
	}
	if err := <-served; err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		log.Error("serve", "error", err.Error())
	}
	return 0
}

func loadConfig(getenv func(string) string) (config, error) {
	cfg := config{host: "127.0.0.1", logLevel: slog.LevelInfo}
	if h := strings.TrimSpace(getenv("PARTICIPANT_HOST")); h != "" {
		cfg.host = h
	}
	if p := strings.TrimSpace(getenv("PARTICIPANT_PORT")); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || n > 65535 {
			return config{}, fmt.Errorf("PARTICIPANT_PORT=%q: want a port number 0..65535", p)
		}
		cfg.port = n
	}
	cfg.dbPath = getenv("PARTICIPANT_DB")
	if strings.TrimSpace(cfg.dbPath) == "" {
		return config{}, errors.New("PARTICIPANT_DB is required (path of the participant's SQLite database)")
	}
	seed, err := stock.ParseSeed(getenv("PARTICIPANT_SEED"))
	if err != nil {
		return config{}, err
	}
	cfg.seed = seed
	if l := strings.TrimSpace(getenv("PARTICIPANT_LOG_LEVEL")); l != "" {
		if err := cfg.logLevel.UnmarshalText([]byte(l)); err != nil {
			return config{}, fmt.Errorf("PARTICIPANT_LOG_LEVEL=%q: want debug, info, warn or error", l)
		}
	}
	return cfg, nil
}
