package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/smallnest/rpcx/client"
	"github.com/smallnest/rpcx/protocol"
	"github.com/smallnest/rpcx/share"
	"go.opentelemetry.io/otel"

	"github.com/rpcx-node/interop/internal/services"
)

// callResult is one call in the client's JSON line.
type callResult struct {
	OK    bool
	Reply *services.ArithReply `json:",omitempty"`
	Error string               `json:",omitempty"`
}

// clientOutput is the client's JSON line.
type clientOutput struct {
	Calls []callResult
	Root  Span // the go-root span
	Spans []Span
	// ServerSpans: the server's Trace.Spans reply, with -server-spans.
	ServerSpans      []Span `json:",omitempty"`
	ServerSpansError string `json:",omitempty"`
}

func runClient(args []string) error {
	fs := flag.NewFlagSet("otelpeer client", flag.ContinueOnError)
	addr := fs.String("addr", "", "host:port of the rpcx server (required)")
	serialize := fs.Int("serialize", int(protocol.MsgPack), "serialize type: 1 JSON, 3 msgpack")
	service := fs.String("service", "Arith", "service path: Arith | Forward (Forward.Mul on an otelpeer server with -forward)")
	method := fs.String("method", "Mul", "method: Mul | Fail")
	n := fs.Int("n", 1, "number of calls")
	ctxMode := fs.String("ctx", "plain",
		"ctx of each call: plain = the go-root ctx itself (rpcx wraps it in a *share.Context, the plugin creates the metadata map); metadata = a *share.Context with a fresh request metadata map into which go-root was injected")
	serverSpans := fs.Int("server-spans", 0,
		"then call Trace.Spans({Min: N}) on the server (an otelpeer server) with an untraced client and add its reply as ServerSpans; 0 = don't")
	timeout := fs.Duration("timeout", 10*time.Second, "give up (exit 1) after this long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if *addr == "" {
		return fmt.Errorf("-addr is required")
	}
	if *ctxMode != "plain" && *ctxMode != "metadata" {
		return fmt.Errorf("-ctx must be plain or metadata, not %q", *ctxMode)
	}
	if *n < 0 || *n > 100000 {
		return fmt.Errorf("-n out of range: %d", *n)
	}
	watchdog := time.AfterFunc(*timeout, func() {
		fmt.Fprintf(os.Stderr, "otelpeer: client timed out after %v\n", *timeout)
		os.Exit(1)
	})
	defer watchdog.Stop()

	rec, tracer := setupTracing()
	prop := otel.GetTextMapPropagator()
	d, err := client.NewPeer2PeerDiscovery("tcp@"+*addr, "")
	if err != nil {
		return err
	}
	opt := client.DefaultOption
	opt.SerializeType = protocol.SerializeType(*serialize)
	xc := client.NewXClient(*service, client.Failfast, client.RandomSelect, d, opt)
	defer xc.Close()
	xc.GetPlugins().Add(&clientOtelPlugin{tracer: tracer, propagators: prop})

	rootCtx, root := tracer.Start(context.Background(), "go-root")
	out := clientOutput{Calls: []callResult{}}
	for i := 0; i < *n; i++ {
		var ctx context.Context = rootCtx
		if *ctxMode == "metadata" {
			// rpcx copies a *share.Context's ReqMetaDataKey map into the
			// request (client.Go), and the plugin reads and writes that map,
			// so each call gets its own: reusing one would make the next
			// call's span a child of the previous client span (injected there).
			md := map[string]string{}
			prop.Inject(rootCtx, metadataCarrier(md))
			sctx := share.NewContext(rootCtx)
			sctx.SetValue(share.ReqMetaDataKey, md)
			ctx = sctx
		}
		reply := &services.ArithReply{}
		err := xc.Call(ctx, *method, &services.ArithArgs{A: 6, B: 7}, reply)
		if err != nil {
			out.Calls = append(out.Calls, callResult{Error: err.Error()})
		} else {
			out.Calls = append(out.Calls, callResult{OK: true, Reply: reply})
		}
	}
	root.End()

	out.Spans = []Span{}
	for _, s := range rec.Ended() {
		j := spanJSON(s)
		if s.SpanContext().SpanID() == root.SpanContext().SpanID() {
			out.Root = j
		}
		out.Spans = append(out.Spans, j)
	}
	if *serverSpans > 0 {
		tc := client.NewXClient("Trace", client.Failfast, client.RandomSelect, d, opt)
		defer tc.Close()
		spans := []Span{}
		if err := tc.Call(context.Background(), "Spans", &SpansArgs{Min: *serverSpans}, &spans); err != nil {
			out.ServerSpansError = err.Error()
		} else {
			out.ServerSpans = spans
		}
	}
	return json.NewEncoder(os.Stdout).Encode(out)
}
