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
}

func runClient(args []string) error {
	fs := flag.NewFlagSet("otelpeer client", flag.ContinueOnError)
	addr := fs.String("addr", "", "host:port of the rpcx server (required)")
	serialize := fs.Int("serialize", int(protocol.MsgPack), "serialize type: 1 JSON, 3 msgpack")
	method := fs.String("method", "Mul", "Arith method: Mul | Fail")
	n := fs.Int("n", 1, "number of calls")
	rootInMetadata := fs.Bool("root-in-metadata", true,
		"inject go-root into each call's request metadata before the call; without it the client plugin ignores go-root and every client span starts a new trace (rpcx-plugins takes the parent from the metadata only)")
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
	xc := client.NewXClient("Arith", client.Failfast, client.RandomSelect, d, opt)
	defer xc.Close()
	xc.GetPlugins().Add(&clientOtelPlugin{tracer: tracer, propagators: prop})

	rootCtx, root := tracer.Start(context.Background(), "go-root")
	out := clientOutput{Calls: []callResult{}}
	for i := 0; i < *n; i++ {
		// rpcx copies a *share.Context's ReqMetaDataKey map into the request
		// (client.Go), and the plugin reads and writes the same map, so each
		// call gets its own context and map: reusing one would make the next
		// call's span a child of the previous client span (injected there).
		md := map[string]string{}
		if *rootInMetadata {
			prop.Inject(rootCtx, metadataCarrier(md))
		}
		ctx := share.NewContext(rootCtx)
		ctx.SetValue(share.ReqMetaDataKey, md)
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
	return json.NewEncoder(os.Stdout).Encode(out)
}
