// A Lifecycle server that answers ApplyConfiguration the way Layotto does, on a plain grpc-go
// server with grpc-go's defaults (4 MiB receive limit, proto3 UTF-8 validation, keepalive
// enforcement): what the agent meets in production. The generated package comes from
// proto/lifecycle.proto at build time (see test/interop/build.ts).
//
// Every RPC, refused by grpc-go before the handler or not, is one JSON line on stdout:
//
//	{"event":"listening","address":"127.0.0.1:PORT"}
//	{"event":"call","id":"state/redis","code":"OK","message":"","bytes":123,"metadata":{...}}
//
// `id` and `metadata` are empty when grpc-go refused the request before decoding it. SIGTERM
// stops gracefully (GOAWAY, calls in flight finish); SIGKILL is a crash.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"
	runtimev1pb "mosn.io/layotto/spec/proto/runtime/v1"
)

// Layotto's messages (pkg/grpc/lifecycle/errors.go).
const (
	errNoField           = "field %s is not configured"
	errComponentNotFound = "component not found. kind: %v , name: %v"
)

// Values longer than this are reported by length, not content.
const maxShownValue = 256

var out = struct {
	sync.Mutex
	encoder *json.Encoder
}{encoder: json.NewEncoder(os.Stdout)}

func emit(line map[string]interface{}) {
	out.Lock()
	defer out.Unlock()
	_ = out.encoder.Encode(line)
}

type server struct {
	runtimev1pb.UnimplementedLifecycleServer
	known  map[string]bool
	broken map[string]bool
}

type decodedKey struct{}

// decoded carries what the handler saw to the stats handler, which writes one line per RPC.
type decoded struct {
	id       string
	metadata map[string]interface{}
}

func (s *server) ApplyConfiguration(ctx context.Context, in *runtimev1pb.DynamicConfiguration) (*runtimev1pb.ApplyConfigurationResponse, error) {
	config := in.GetComponentConfig()
	if seen, ok := ctx.Value(decodedKey{}).(*decoded); ok && config != nil {
		seen.id = config.GetKind() + "/" + config.GetName()
		seen.metadata = map[string]interface{}{}
		for key, value := range config.GetMetadata() {
			if len(value) > maxShownValue {
				seen.metadata[key] = len(value)
			} else {
				seen.metadata[key] = value
			}
		}
	}
	if config == nil || config.GetKind() == "" {
		return &runtimev1pb.ApplyConfigurationResponse{}, status.Errorf(codes.InvalidArgument, errNoField, "kind")
	}
	if config.GetName() == "" {
		return &runtimev1pb.ApplyConfigurationResponse{}, status.Errorf(codes.InvalidArgument, errNoField, "name")
	}
	if len(config.GetMetadata()) == 0 {
		return &runtimev1pb.ApplyConfigurationResponse{}, status.Errorf(codes.InvalidArgument, errNoField, "metadata")
	}
	id := config.GetKind() + "/" + config.GetName()
	if s.known != nil && !s.known[id] {
		return &runtimev1pb.ApplyConfigurationResponse{}, status.Errorf(codes.InvalidArgument, errComponentNotFound, config.GetKind(), config.GetName())
	}
	if s.broken[id] {
		// A component's own ApplyConfig error: a plain error, which grpc-go sends as UNKNOWN.
		return &runtimev1pb.ApplyConfigurationResponse{}, errors.New("redis: connection refused")
	}
	return &runtimev1pb.ApplyConfigurationResponse{}, nil
}

// callLog writes one line per RPC when it ends, with the status grpc-go sent.
type callLog struct{}

type rpcKey struct{}

type rpc struct {
	seen  *decoded
	bytes int
}

func (callLog) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context {
	seen := &decoded{}
	ctx = context.WithValue(ctx, decodedKey{}, seen)
	return context.WithValue(ctx, rpcKey{}, &rpc{seen: seen})
}

func (callLog) HandleRPC(ctx context.Context, event stats.RPCStats) {
	call, _ := ctx.Value(rpcKey{}).(*rpc)
	if call == nil {
		return
	}
	switch e := event.(type) {
	case *stats.InPayload:
		call.bytes = e.Length
	case *stats.End:
		st := status.Convert(e.Error)
		emit(map[string]interface{}{
			"event": "call", "id": call.seen.id, "code": codeName(st.Code()), "message": st.Message(),
			"bytes": call.bytes, "metadata": call.seen.metadata,
		})
	}
}

func (callLog) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context { return ctx }
func (callLog) HandleConn(context.Context, stats.ConnStats)                       {}

// The wire names of the status codes (codes.Code.String() gives Go's own spelling).
var codeNames = []string{"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
	"ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
	"UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"}

func codeName(code codes.Code) string {
	if int(code) < len(codeNames) {
		return codeNames[code]
	}
	return code.String()
}

func set(list string) map[string]bool {
	if list == "" {
		return nil
	}
	ids := map[string]bool{}
	for _, id := range strings.Split(list, ",") {
		ids[id] = true
	}
	return ids
}

func main() {
	address := flag.String("listen", "127.0.0.1:0", "host:port to serve on")
	components := flag.String("components", "", "kind/name,... the sidecar knows (default: any)")
	broken := flag.String("broken", "", "kind/name,... whose ApplyConfig fails")
	flag.Parse()

	listener, err := net.Listen("tcp", *address)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	grpcServer := grpc.NewServer(grpc.StatsHandler(callLog{}))
	runtimev1pb.RegisterLifecycleServer(grpcServer, &server{known: set(*components), broken: set(*broken)})

	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-signals
		grpcServer.GracefulStop()
	}()
	emit(map[string]interface{}{"event": "listening", "address": listener.Addr().String()})
	if err := grpcServer.Serve(listener); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
