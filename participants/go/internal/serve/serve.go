// Package serve runs the test and bench commands' gRPC servers the same way:
// the ready line {"listening":"HOST:PORT"} on stdout, then serving until
// SIGTERM or SIGINT.
package serve

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"

	"google.golang.org/grpc"
)

// UntilSignal prints the ready line for lis, calls afterReady (if not nil),
// and serves srv on lis until a signal stops it; it exits the process if
// serving fails. name prefixes the error message.
func UntilSignal(name string, srv *grpc.Server, lis net.Listener, afterReady func()) {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-sigs
		srv.Stop()
	}()
	ready, _ := json.Marshal(map[string]string{"listening": lis.Addr().String()})
	fmt.Println(string(ready))
	if afterReady != nil {
		afterReady()
	}
	if err := srv.Serve(lis); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
}
