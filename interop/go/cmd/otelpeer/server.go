package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/smallnest/rpcx/client"
	"github.com/smallnest/rpcx/protocol"
	"github.com/smallnest/rpcx/server"
	"github.com/smallnest/rpcx/share"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/rpcx-node/interop/internal/services"
)

// Arith is traced by the server plugin like any service.
type Arith struct{}

// Mul sets C = A * B.
func (*Arith) Mul(_ context.Context, args *services.ArithArgs, reply *services.ArithReply) error {
	reply.C = args.A * args.B
	return nil
}

// Fail always fails with "boom".
func (*Arith) Fail(_ context.Context, _ *services.ArithArgs, _ *services.ArithReply) error {
	return errors.New("boom")
}

// SpansArgs is the argument of Trace.Spans.
type SpansArgs struct {
	Min int
}

// traceSpanPrefix names Trace.Spans' own server spans, which it leaves out.
const traceSpanPrefix = "rpcx.service.Trace."

// Trace reports the spans this process recorded.
type Trace struct {
	rec *tracetest.SpanRecorder
}

// Spans waits (at most 2 s, polling every 5 ms) until at least args.Min spans
// other than Trace.* server spans have ended, then returns those spans in
// the order they ended (fewer than Min if the wait timed out). A server span
// ends in PostWriteResponse, after its reply was written, hence the wait.
func (t *Trace) Spans(ctx context.Context, args *SpansArgs, reply *[]Span) error {
	deadline := time.Now().Add(2 * time.Second)
	for {
		spans := []Span{}
		for _, s := range t.rec.Ended() {
			if !strings.HasPrefix(s.Name(), traceSpanPrefix) {
				spans = append(spans, spanJSON(s))
			}
		}
		if len(spans) >= args.Min || !time.Now().Before(deadline) {
			*reply = spans
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// Forward calls Arith on the -forward server through a traced XClient.
type Forward struct {
	xc      client.XClient
	sameCtx bool
}

// Mul returns Arith.Mul of the -forward server. The call gets a child
// *share.Context of the handler's ctx: it sees the handler's request
// metadata (where the server plugin injected the server span, so the client
// span is its child and the trace goes on downstream), while the client
// plugin's span stays in the child. With -forward-same-ctx the handler's ctx
// itself is used, as a plain rpcx-plugins user would write it; then the
// client plugin replaces the server span in that ctx, and the server span of
// Forward.Mul never ends (the client span is ended twice instead).
func (f *Forward) Mul(ctx context.Context, args *services.ArithArgs, reply *services.ArithReply) error {
	if f.xc == nil {
		return errors.New("otelpeer: no -forward address")
	}
	callCtx := ctx
	if !f.sameCtx {
		callCtx = share.NewContext(ctx)
	}
	return f.xc.Call(callCtx, "Mul", args, reply)
}

// metadataDumper prints each request's metadata as read (it is added before
// the OTel plugin, whose PreHandleRequest runs later and injects into it).
type metadataDumper struct {
	mu  sync.Mutex
	enc *json.Encoder
}

func (d *metadataDumper) PostReadRequest(_ context.Context, r *protocol.Message, e error) error {
	if e != nil || r == nil {
		return nil
	}
	md := r.Metadata
	if md == nil {
		md = map[string]string{}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	_ = d.enc.Encode(map[string]any{
		"servicePath":   r.ServicePath,
		"serviceMethod": r.ServiceMethod,
		"serializeType": int(r.SerializeType()),
		"heartbeat":     r.IsHeartbeat(),
		"metadata":      md,
	})
	return nil
}

type serverConfig struct {
	forward          string
	forwardSerialize protocol.SerializeType
	forwardSameCtx   bool
	dump             io.Writer // nil: no metadata dump
}

// newServer makes the rpcx server with the plugins and services; cleanup
// closes the Forward client.
func newServer(cfg serverConfig, rec *tracetest.SpanRecorder, tracer trace.Tracer) (*server.Server, func(), error) {
	srv := server.NewServer()
	if cfg.dump != nil {
		srv.Plugins.Add(&metadataDumper{enc: json.NewEncoder(cfg.dump)})
	}
	srv.Plugins.Add(&serverOtelPlugin{tracer: tracer, propagators: otel.GetTextMapPropagator()})

	cleanup := func() {}
	fwd := &Forward{sameCtx: cfg.forwardSameCtx}
	if cfg.forward != "" {
		d, err := client.NewPeer2PeerDiscovery("tcp@"+cfg.forward, "")
		if err != nil {
			return nil, nil, err
		}
		opt := client.DefaultOption
		opt.SerializeType = cfg.forwardSerialize
		xc := client.NewXClient("Arith", client.Failfast, client.RandomSelect, d, opt)
		cleanup = func() { _ = xc.Close() }
		xc.GetPlugins().Add(&clientOtelPlugin{tracer: tracer, propagators: otel.GetTextMapPropagator()})
		fwd.xc = xc
	}
	for name, rcvr := range map[string]any{"Arith": new(Arith), "Trace": &Trace{rec: rec}, "Forward": fwd} {
		if err := srv.RegisterName(name, rcvr, ""); err != nil {
			cleanup()
			return nil, nil, err
		}
	}
	return srv, cleanup, nil
}

func runServer(args []string) error {
	fs := flag.NewFlagSet("otelpeer server", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "TCP listen address")
	forward := fs.String("forward", "", "host:port of the rpcx server Forward.Mul calls Arith.Mul on")
	forwardSerialize := fs.Int("forward-serialize", int(protocol.MsgPack), "serialize type of Forward's calls (1 JSON, 3 msgpack)")
	forwardSameCtx := fs.Bool("forward-same-ctx", false, "Forward.Mul calls with the handler's ctx itself (the server span then never ends; see Forward.Mul)")
	dump := fs.Bool("dump-metadata", false, "print each request's metadata, as received, as a JSON line on stderr")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %v", fs.Args())
	}

	rec, tracer := setupTracing()
	cfg := serverConfig{forward: *forward, forwardSerialize: protocol.SerializeType(*forwardSerialize), forwardSameCtx: *forwardSameCtx}
	if *dump {
		cfg.dump = os.Stderr
	}
	srv, cleanup, err := newServer(cfg, rec, tracer)
	if err != nil {
		return err
	}
	defer cleanup()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	fmt.Printf("listening %s\n", ln.Addr().String())

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	served := make(chan error, 1)
	go func() { served <- srv.ServeListener("tcp", ln) }()
	select {
	case err := <-served:
		if err != nil && !errors.Is(err, server.ErrServerClosed) {
			return err
		}
		return nil
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			_ = srv.Close()
		}
		return nil
	}
}
