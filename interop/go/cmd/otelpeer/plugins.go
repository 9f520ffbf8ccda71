package main

// The two plugins below reproduce the behaviour of rpcxio/rpcx-plugins'
// server/otel and client/otel OpenTelemetryPlugin (commit 0ec01a0ea5fb,
// with share/trace.go for the metadata carrier). That module is not served by
// the Go module proxy (403 for every version, pseudo-versions included), so
// it cannot be a dependency here. Reproduced: what goes on the wire and the
// spans (names, kinds, parents, status, attributes and events). Left out:
// the metrics (WithMeter) and the server plugin's lifecycle root spans
// (rpcx.Register, rpcx.RegisterFunction, rpcx.Unregister, rpcx.AcceptConn),
// which carry no trace context.
//
// Quirks of the originals that are kept on purpose, because a compatible
// implementation meets them on the other side:
//   - The parent is the span context the propagator extracts from the
//     request metadata (share.ReqMetaDataKey): a valid traceparent there wins
//     over the span in the ctx; without one, TraceContext.Extract returns the
//     ctx unchanged and the span in the ctx (if any) is the parent. So a
//     caller that reuses one metadata map for several calls makes each client
//     span the child of the previous one (injected into that map).
//   - The server plugin marks the extracted parent remote
//     (ContextWithRemoteSpanContext), the client plugin does not
//     (ContextWithSpanContext; the parent's own remote flag stays).
//   - The client span has the default kind (internal), not client.
//   - Both plugins keep their span in the *share.Context under one key
//     (openTelemetryKey here, rpcx-plugins' share.OpenTelemetryKey there):
//     a handler that calls another service with its own ctx makes the client
//     plugin replace the server span, which then never ends (see Forward.Mul).
//   - The server plugin injects its span into the request metadata map, the
//     map a handler's ctx carries on to downstream calls. The response
//     metadata is not touched (the response is a fresh message).
//   - Status: Error with err.Error(), else Ok with "success" (OTel drops the
//     description of an Ok status).

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/smallnest/rpcx/protocol"
	"github.com/smallnest/rpcx/server"
	"github.com/smallnest/rpcx/share"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

type otelKey int

// openTelemetryKey is where both plugins keep the current span in the
// *share.Context (rpcx-plugins: share.OpenTelemetryKey, also shared).
const openTelemetryKey otelKey = 0

// metadataCarrier is a propagation.TextMapCarrier over an rpcx metadata map.
type metadataCarrier map[string]string

func (m metadataCarrier) Get(key string) string { return m[key] }
func (m metadataCarrier) Set(key, value string) { m[key] = value }
func (m metadataCarrier) Keys() []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	return keys
}

// requestMetadata returns the ctx's share.ReqMetaDataKey map; when there is
// none it creates one and, if ctx is a *share.Context, stores it there.
func requestMetadata(ctx context.Context) map[string]string {
	if m, ok := ctx.Value(share.ReqMetaDataKey).(map[string]string); ok && m != nil {
		return m
	}
	m := map[string]string{}
	if sc, ok := ctx.(*share.Context); ok {
		sc.SetValue(share.ReqMetaDataKey, m)
	}
	return m
}

func extractSpanContext(ctx context.Context, p propagation.TextMapPropagator) trace.SpanContext {
	return trace.SpanContextFromContext(p.Extract(ctx, metadataCarrier(requestMetadata(ctx))))
}

func injectSpanContext(ctx context.Context, p propagation.TextMapPropagator) {
	p.Inject(ctx, metadataCarrier(requestMetadata(ctx)))
}

func setValue(ctx context.Context, key, val any) {
	if sc, ok := ctx.(*share.Context); ok {
		sc.SetValue(key, val)
	}
}

func finishSpan(ctx context.Context, err error, event string, attrs ...attribute.KeyValue) {
	span, ok := ctx.Value(openTelemetryKey).(trace.Span)
	if !ok {
		return
	}
	defer span.End()
	span.AddEvent(event, trace.WithAttributes(attrs...))
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
	} else {
		span.SetStatus(codes.Ok, "success")
	}
}

// serverOtelPlugin reproduces rpcx-plugins server/otel.OpenTelemetryPlugin.
type serverOtelPlugin struct {
	tracer      trace.Tracer
	propagators propagation.TextMapPropagator
}

var (
	_ server.PreHandleRequestPlugin  = (*serverOtelPlugin)(nil)
	_ server.PostWriteResponsePlugin = (*serverOtelPlugin)(nil)
)

func (p *serverOtelPlugin) PreHandleRequest(ctx context.Context, r *protocol.Message) error {
	parent := trace.ContextWithRemoteSpanContext(ctx, extractSpanContext(ctx, p.propagators))
	name := fmt.Sprintf("rpcx.service.%s.%s", r.ServicePath, r.ServiceMethod)
	spanCtx, span := p.tracer.Start(parent, name, trace.WithSpanKind(trace.SpanKindServer))
	injectSpanContext(spanCtx, p.propagators)
	host, _ := os.Hostname()
	span.SetAttributes(
		attribute.String("server.address", strings.Join(intranetIPv4s(), ",")),
		attribute.String("host.name", host),
	)
	span.AddEvent("rpcx.pre.handle.request", trace.WithAttributes(
		attribute.String("rpcx.pre.handle.request.path", name),
		attribute.String("rpcx.pre.handle.request.metadata", fmt.Sprintf("%+v", r.Metadata)),
		attribute.String("rpcx.pre.handle.request.payload", string(r.Payload)),
	))
	setValue(ctx, openTelemetryKey, span)
	return nil
}

func (p *serverOtelPlugin) PostWriteResponse(ctx context.Context, _ *protocol.Message, res *protocol.Message, err error) error {
	finishSpan(ctx, err, "rpcx.post.write.response",
		attribute.String("rpcx.post.write.response.metadata", fmt.Sprintf("%+v", res.Metadata)),
		attribute.String("rpcx.post.write.response.payload", string(res.Payload)),
	)
	return nil
}

// clientOtelPlugin reproduces rpcx-plugins client/otel.OpenTelemetryPlugin.
type clientOtelPlugin struct {
	tracer      trace.Tracer
	propagators propagation.TextMapPropagator
}

func (p *clientOtelPlugin) PreCall(ctx context.Context, servicePath, serviceMethod string, args any) error {
	parent := trace.ContextWithSpanContext(ctx, extractSpanContext(ctx, p.propagators))
	spanCtx, span := p.tracer.Start(parent, fmt.Sprintf("rpcx.client.%s.%s", servicePath, serviceMethod))
	injectSpanContext(spanCtx, p.propagators)
	span.AddEvent("PreCall", trace.WithAttributes(
		attribute.String("rpc.client.request.message", fmt.Sprintf("%+v", args))))
	setValue(ctx, openTelemetryKey, span)
	return nil
}

func (p *clientOtelPlugin) PostCall(ctx context.Context, _, _ string, _ any, reply any, err error) error {
	finishSpan(ctx, err, "PostCall",
		attribute.String("rpc.client.response.message", fmt.Sprintf("%+v", reply)))
	return nil
}

// intranetIPv4s lists the up, non-loopback interfaces' private IPv4
// addresses (10/8, 172.16/12, 192.168/16), the server plugin's server.address.
func intranetIPv4s() []string {
	ifaces, err := net.Interfaces()
	if err != nil {
		return nil
	}
	var ips []string
	for _, ifc := range ifaces {
		if ifc.Flags&net.FlagUp == 0 || ifc.Flags&net.FlagLoopback != 0 || strings.HasPrefix(ifc.Name, "w-") {
			continue
		}
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			ipn, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			if ip4 := ipn.IP.To4(); ip4 != nil && !ip4.IsLoopback() && ip4.IsPrivate() {
				ips = append(ips, ip4.String())
			}
		}
	}
	return ips
}
