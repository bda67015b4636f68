// Command transport-test-server is a saga.v1.Participant grpc-go server for
// the coordinator's transport tests (test/src/transport): it answers from the
// StepCall's action instead of running a business, and its HTTP/2 behaviour
// (TLS, mTLS, keepalive enforcement, stream limits, connection age) is set by
// environment:
//
//	TT_HOST, TT_PORT          address to bind (default 127.0.0.1:0)
//	TT_TLS_CERT, TT_TLS_KEY   serve TLS with this certificate (PEM files)
//	TT_TLS_CLIENT_CA          with TLS: require client certificates signed by this CA
//	TT_MIN_PING_MS            keepalive enforcement MinTime (default grpc-go's 5 min)
//	TT_MAX_STREAMS            max concurrent streams per connection
//	TT_MAX_CONNECTION_AGE_MS  GOAWAY connections this old (grace 30 s)
//
// Actions: "echo" answers SUCCEEDED with {"peer":…,"metadata":{…}} (the
// caller's address and the request headers it received) as output; "hold"
// answers only when the call is cancelled; "slow:N" echoes after N ms.
// When ready it prints {"listening":"HOST:PORT"} on stdout; SIGTERM stops it.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	sagav1 "github.com/saga-coordinator/participants/go/gen/saga/v1"
	"github.com/saga-coordinator/participants/go/internal/serve"
)

type participant struct {
	sagav1.UnimplementedParticipantServer
}

func (participant) Execute(ctx context.Context, req *sagav1.ExecuteRequest) (*sagav1.ExecuteResponse, error) {
	return answer(ctx, req.GetCall())
}

func (participant) Compensate(ctx context.Context, req *sagav1.CompensateRequest) (*sagav1.CompensateResponse, error) {
	res, err := answer(ctx, req.GetCall())
	if err != nil {
		return nil, err
	}
	return &sagav1.CompensateResponse{Result: res.GetResult()}, nil
}

func answer(ctx context.Context, call *sagav1.StepCall) (*sagav1.ExecuteResponse, error) {
	action := call.GetAction()
	switch {
	case action == "hold":
		<-ctx.Done()
		return nil, status.FromContextError(ctx.Err()).Err()
	case strings.HasPrefix(action, "slow:"):
		ms, err := strconv.Atoi(strings.TrimPrefix(action, "slow:"))
		if err != nil {
			return nil, status.Errorf(codes.InvalidArgument, "action %q: %v", action, err)
		}
		select {
		case <-time.After(time.Duration(ms) * time.Millisecond):
		case <-ctx.Done():
			return nil, status.FromContextError(ctx.Err()).Err()
		}
	case action != "echo":
		return nil, status.Errorf(codes.InvalidArgument, "action %q is not echo, hold or slow:N", action)
	}
	echo := struct {
		Peer     string            `json:"peer"`
		Metadata map[string]string `json:"metadata"`
	}{Metadata: map[string]string{}}
	if p, ok := peer.FromContext(ctx); ok {
		echo.Peer = p.Addr.String()
	}
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		for k, v := range md {
			echo.Metadata[k] = strings.Join(v, ",")
		}
	}
	out, err := json.Marshal(echo)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &sagav1.ExecuteResponse{Result: &sagav1.StepResult{Outcome: sagav1.StepOutcome_STEP_OUTCOME_SUCCEEDED, Output: out}}, nil
}

func envMs(name string) (time.Duration, bool, error) {
	v := os.Getenv(name)
	if v == "" {
		return 0, false, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, false, fmt.Errorf("%s: %q is not a number of ms", name, v)
	}
	return time.Duration(n) * time.Millisecond, true, nil
}

func serverOptions() ([]grpc.ServerOption, error) {
	var opts []grpc.ServerOption
	if minPing, ok, err := envMs("TT_MIN_PING_MS"); err != nil {
		return nil, err
	} else if ok {
		opts = append(opts, grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: minPing, PermitWithoutStream: false}))
	}
	if age, ok, err := envMs("TT_MAX_CONNECTION_AGE_MS"); err != nil {
		return nil, err
	} else if ok {
		opts = append(opts, grpc.KeepaliveParams(keepalive.ServerParameters{MaxConnectionAge: age, MaxConnectionAgeGrace: 30 * time.Second}))
	}
	if v := os.Getenv("TT_MAX_STREAMS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("TT_MAX_STREAMS: %q is not a number >= 1", v)
		}
		opts = append(opts, grpc.MaxConcurrentStreams(uint32(n)))
	}
	if cert := os.Getenv("TT_TLS_CERT"); cert != "" {
		pair, err := tls.LoadX509KeyPair(cert, os.Getenv("TT_TLS_KEY"))
		if err != nil {
			return nil, fmt.Errorf("TT_TLS_CERT/TT_TLS_KEY: %w", err)
		}
		config := &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
		if ca := os.Getenv("TT_TLS_CLIENT_CA"); ca != "" {
			pem, err := os.ReadFile(ca)
			if err != nil {
				return nil, fmt.Errorf("TT_TLS_CLIENT_CA: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("TT_TLS_CLIENT_CA: no certificate in %s", ca)
			}
			config.ClientCAs = pool
			config.ClientAuth = tls.RequireAndVerifyClientCert
		}
		opts = append(opts, grpc.Creds(credentials.NewTLS(config)))
	}
	return opts, nil
}

func main() {
	opts, err := serverOptions()
	if err != nil {
		fmt.Fprintf(os.Stderr, "transport-test-server: %v\n", err)
		os.Exit(2)
	}
	host := os.Getenv("TT_HOST")
	if host == "" {
		host = "127.0.0.1"
	}
	port := os.Getenv("TT_PORT")
	if port == "" {
		port = "0"
	}
	lis, err := net.Listen("tcp", net.JoinHostPort(host, port))
	if err != nil {
		fmt.Fprintf(os.Stderr, "transport-test-server: listen: %v\n", err)
		os.Exit(1)
	}
	srv := grpc.NewServer(opts...)
	sagav1.RegisterParticipantServer(srv, participant{})
	serve.UntilSignal("transport-test-server", srv, lis, nil)
}
