// Command otelpeer is a Go rpcx v1.9.4 peer with OpenTelemetry tracing, the
// counterpart of the TypeScript rpcx/otel tests. Its plugins reproduce
// rpcxio/rpcx-plugins' server/otel and client/otel (see plugins.go); spans are
// recorded in memory by an SDK TracerProvider with a tracetest.SpanRecorder,
// and the global propagator is W3C TraceContext + Baggage.
//
//	otelpeer server [-addr 127.0.0.1:0] [-forward host:port] [-forward-same-ctx] [-dump-metadata]
//	    Prints "listening host:port", then serves Arith.Mul ({A,B} -> {C}),
//	    Arith.Fail (error "boom"), Forward.Mul (calls Arith.Mul on -forward with
//	    a traced XClient) and Trace.Spans ({Min} -> the spans ended so far).
//	    -dump-metadata: one JSON line per request on stderr with the request
//	    metadata as received (before the server plugin injects its span).
//	otelpeer client -addr host:port [-serialize 1|3] [-service Arith|Forward] [-method Mul|Fail] [-n 1] [-ctx plain|metadata] [-server-spans N]
//	    Starts the root span "go-root", calls <service>.<method>({A:6,B:7}) n times
//	    under it, ends it and prints one JSON line {Calls, Root, Spans}; with
//	    -server-spans N also ServerSpans, the reply of Trace.Spans({Min: N}).
//
// Span JSON: {Name, TraceID, SpanID, ParentSpanID ("" for a root), Kind
// ("server", "client", "internal", ...), Status ("Unset", "Error", "Ok"),
// StatusDescription, Scope, Attributes, Events}, IDs in lowercase hex.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"

	rlog "github.com/smallnest/rpcx/log"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// scopeName is the instrumentation scope of every span this peer makes.
const scopeName = "github.com/rpcx-node/interop/cmd/otelpeer"

// Span is the JSON shape of a recorded span (Go field names are the wire
// names, for JSON and msgpack alike).
type Span struct {
	Name              string
	TraceID           string
	SpanID            string
	ParentSpanID      string
	Kind              string
	Status            string
	StatusDescription string
	Scope             string
	Attributes        map[string]string
	Events            []string
}

func spanJSON(s sdktrace.ReadOnlySpan) Span {
	out := Span{
		Name:              s.Name(),
		TraceID:           s.SpanContext().TraceID().String(),
		SpanID:            s.SpanContext().SpanID().String(),
		Kind:              s.SpanKind().String(),
		Status:            s.Status().Code.String(),
		StatusDescription: s.Status().Description,
		Scope:             s.InstrumentationScope().Name,
		Attributes:        map[string]string{},
		Events:            []string{},
	}
	if p := s.Parent(); p.SpanID().IsValid() {
		out.ParentSpanID = p.SpanID().String()
	}
	for _, kv := range s.Attributes() {
		out.Attributes[string(kv.Key)] = attrString(kv.Value)
	}
	for _, e := range s.Events() {
		out.Events = append(out.Events, e.Name)
	}
	return out
}

func attrString(v attribute.Value) string {
	if v.Type() == attribute.STRING {
		return v.AsString()
	}
	return v.Emit()
}

// setupTracing installs the global TracerProvider (recording into the
// returned recorder) and the TraceContext + Baggage propagator.
func setupTracing() (*tracetest.SpanRecorder, trace.Tracer) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	return rec, tp.Tracer(scopeName)
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: otelpeer server|client [flags]")
		os.Exit(2)
	}
	// rpcx logs handler errors (Arith.Fail) on stderr; keep stderr for
	// -dump-metadata and this command's own errors.
	rlog.SetDummyLogger()
	var err error
	switch os.Args[1] {
	case "server":
		err = runServer(os.Args[2:])
	case "client":
		err = runClient(os.Args[2:])
	default:
		err = fmt.Errorf("unknown mode %q (server | client)", os.Args[1])
	}
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "otelpeer:", err)
		os.Exit(1)
	}
}
