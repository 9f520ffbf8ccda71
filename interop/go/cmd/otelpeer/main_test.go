package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/smallnest/rpcx/client"
	"github.com/smallnest/rpcx/protocol"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/rpcx-node/interop/internal/services"
)

// lockedBuffer is the metadata dump's writer in the test.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func serve(t *testing.T, cfg serverConfig, rec *tracetest.SpanRecorder, tracer trace.Tracer) string {
	t.Helper()
	srv, cleanup, err := newServer(cfg, rec, tracer)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.ServeListener("tcp", ln) }()
	t.Cleanup(func() { cleanup(); _ = srv.Close() })
	return ln.Addr().String()
}

func tracedClient(t *testing.T, addr, service string, tracer trace.Tracer) client.XClient {
	t.Helper()
	d, err := client.NewPeer2PeerDiscovery("tcp@"+addr, "")
	if err != nil {
		t.Fatal(err)
	}
	opt := client.DefaultOption
	opt.SerializeType = protocol.JSON
	xc := client.NewXClient(service, client.Failfast, client.RandomSelect, d, opt)
	xc.GetPlugins().Add(&clientOtelPlugin{tracer: tracer, propagators: otel.GetTextMapPropagator()})
	t.Cleanup(func() { _ = xc.Close() })
	return xc
}

// One trace over go-root -> client -> server B (Forward.Mul) -> client ->
// server A (Arith.Mul), then a failing call; every process part shares the
// recorder here.
func TestTraceThroughForward(t *testing.T) {
	rec, tracer := setupTracing()
	dump := &lockedBuffer{}
	a := serve(t, serverConfig{dump: dump}, rec, tracer)
	b := serve(t, serverConfig{forward: a, forwardSerialize: protocol.MsgPack}, rec, tracer)

	rootCtx, root := tracer.Start(context.Background(), "go-root")
	reply := &services.ArithReply{}
	if err := tracedClient(t, b, "Forward", tracer).Call(rootCtx, "Mul", &services.ArithArgs{A: 6, B: 7}, reply); err != nil {
		t.Fatal(err)
	}
	if reply.C != 42 {
		t.Fatalf("Forward.Mul = %d, want 42", reply.C)
	}
	err := tracedClient(t, a, "Arith", tracer).Call(rootCtx, "Fail", &services.ArithArgs{}, &services.ArithReply{})
	if err == nil || err.Error() != "boom" {
		t.Fatalf("Arith.Fail error = %v, want boom", err)
	}
	root.End()

	var spans []Span
	if err := (&Trace{rec: rec}).Spans(context.Background(), &SpansArgs{Min: 7}, &spans); err != nil {
		t.Fatal(err)
	}
	byName := map[string]Span{}
	for _, s := range spans {
		if _, dup := byName[s.Name]; dup {
			t.Fatalf("two spans named %s", s.Name)
		}
		byName[s.Name] = s
	}
	if len(spans) != 7 {
		t.Fatalf("got %d spans, want 7: %+v", len(spans), spans)
	}
	want := []struct{ name, parent, kind, status, desc string }{
		{"go-root", "", "internal", "Unset", ""},
		{"rpcx.client.Forward.Mul", "go-root", "internal", "Ok", ""},
		{"rpcx.service.Forward.Mul", "rpcx.client.Forward.Mul", "server", "Ok", ""},
		{"rpcx.client.Arith.Mul", "rpcx.service.Forward.Mul", "internal", "Ok", ""},
		{"rpcx.service.Arith.Mul", "rpcx.client.Arith.Mul", "server", "Ok", ""},
		{"rpcx.client.Arith.Fail", "go-root", "internal", "Error", "boom"},
		{"rpcx.service.Arith.Fail", "rpcx.client.Arith.Fail", "server", "Error", "boom"},
	}
	traceID := byName["go-root"].TraceID
	for _, w := range want {
		s, ok := byName[w.name]
		if !ok {
			t.Fatalf("no span %s in %+v", w.name, spans)
		}
		parent := ""
		if w.parent != "" {
			parent = byName[w.parent].SpanID
		}
		if s.TraceID != traceID || s.ParentSpanID != parent || s.Kind != w.kind || s.Status != w.status || s.StatusDescription != w.desc {
			t.Errorf("%s = %+v, want trace %s parent %s (%s) kind %s status %s %q", w.name, s, traceID, parent, w.parent, w.kind, w.status, w.desc)
		}
	}

	// Server A received the client span of each call as traceparent.
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(dump.String()), "\n") {
		var rec struct {
			ServiceMethod string
			Metadata      map[string]string
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("dump line %q: %v", line, err)
		}
		got = append(got, rec.ServiceMethod+" "+rec.Metadata["traceparent"])
	}
	wantDump := []string{
		"Mul 00-" + traceID + "-" + byName["rpcx.client.Arith.Mul"].SpanID + "-01",
		"Fail 00-" + traceID + "-" + byName["rpcx.client.Arith.Fail"].SpanID + "-01",
	}
	if strings.Join(got, "\n") != strings.Join(wantDump, "\n") {
		t.Errorf("server A metadata:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(wantDump, "\n"))
	}
}
