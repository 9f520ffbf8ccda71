package main

import (
	"strings"
	"sync/atomic"

	"github.com/smallnest/rpcx/protocol"

	"github.com/rpcx-node/interop/internal/services"
)

func init() {
	register(
		caseDef{name: "service_error_text", run: caseServiceErrorText},
		caseDef{name: "unknown_service", run: caseUnknownService},
		caseDef{name: "unknown_method", run: caseUnknownMethod},
		caseDef{name: "bad_args", run: caseBadArgs},
		caseDef{name: "handler_throws", needs: "server method Echo.Throw (TS server); skipped if absent", run: caseHandlerThrows},
	)
}

func caseServiceErrorText(t *T) error {
	x := t.xclient("Echo", t.option(protocol.MsgPack))
	for _, text := range []string{
		"plain error",
		"tab\there\r\nCRLF\nLF\rCR",
		"ünïcödé 😀 e\u0301 中文",
		"  leading and trailing spaces  ",
		strings.Repeat("long ", 1000),
	} {
		err := x.Call(t.ctx(), "Error", &services.ErrorArgs{Text: text}, &services.Empty{})
		if e := expectServiceError(err, text); e != nil {
			return failf("Echo.Error(%q): %v", truncate(text, 60), e)
		}
		_, res, e := checkExchange(x, protocol.MsgPack)
		if e != nil {
			return e
		}
		if !res.isError() {
			return failf("error reply status %d, want 1 (Error)", res.flags&3)
		}
		if got := res.meta[protocol.ServiceError]; got != text {
			return failf("reply frame %s = %q, want %q", protocol.ServiceError, truncate(got, 80), truncate(text, 80))
		}
	}
	// The connection survives error replies.
	if x.rec.numConns() != 1 {
		return failf("error replies caused %d connections, want 1", x.rec.numConns())
	}
	return nil
}

func caseUnknownService(t *T) error {
	x := t.xclient("NoSuchService", t.option(protocol.MsgPack))
	err := x.Call(t.ctx(), "Mul", &services.ArithArgs{A: 1, B: 2}, &services.ArithReply{})
	if e := expectServiceError(err, "rpcx: can't find service NoSuchService"); e != nil {
		return e
	}
	_, res, e := checkExchange(x, protocol.MsgPack)
	if e != nil {
		return e
	}
	if !res.isError() || len(res.payload) != 0 {
		return failf("reply status %d payload %d bytes, want Error with empty payload", res.flags&3, len(res.payload))
	}
	return nil
}

func caseUnknownMethod(t *T) error {
	x := t.xclient("Arith", t.option(protocol.MsgPack))
	err := x.Call(t.ctx(), "NoSuchMethod", &services.ArithArgs{A: 1, B: 2}, &services.ArithReply{})
	if e := expectServiceError(err, "rpcx: can't find method NoSuchMethod"); e != nil {
		return e
	}
	// Case-sensitive: "mul" is not "Mul".
	err = x.Call(t.ctx(), "mul", &services.ArithArgs{A: 1, B: 2}, &services.ArithReply{})
	return expectServiceError(err, "rpcx: can't find method mul")
}

var rawSeq atomic.Uint64

// nextRawSeq returns seqs for SendRaw far away from the client's own
// counter (which starts at 0), so they never collide.
func nextRawSeq() uint64 { return 1<<62 + rawSeq.Add(1) }

// rawRequest builds a request for XClient.SendRaw.
func rawRequest(st protocol.SerializeType, path, method string, payload []byte) *protocol.Message {
	m := protocol.NewMessage()
	m.SetMessageType(protocol.Request)
	m.SetSerializeType(st)
	m.SetSeq(nextRawSeq())
	m.ServicePath, m.ServiceMethod = path, method
	m.Payload = payload
	return m
}

func caseBadArgs(t *T) error {
	x := t.xclient("Arith", t.option(protocol.MsgPack))
	ctx := t.ctx()
	// A well-formed call first, so the connection exists.
	var reply services.ArithReply
	if err := x.Call(ctx, "Mul", &services.ArithArgs{A: 3, B: 4}, &reply); err != nil || reply.C != 12 {
		return failf("Arith.Mul before: %v (C=%d)", err, reply.C)
	}
	// Empty msgpack payload: the codec's EOF.
	_, _, err := x.SendRaw(ctx, rawRequest(protocol.MsgPack, "Arith", "Mul", nil))
	if e := expectServiceError(err, "EOF"); e != nil {
		return failf("empty msgpack payload: %v", e)
	}
	// Malformed msgpack: 0xc1 is never used; a truncated map; a map whose
	// value has the wrong type; trailing garbage in a fixmap.
	texts := map[string]string{}
	for name, p := range map[string][]byte{
		"c1":           {0xc1},
		"truncated":    {0x82, 0xa1, 'A'},
		"str_for_int":  {0x82, 0xa1, 'A', 0xa1, 'x', 0xa1, 'B', 0x01},
		"array32_huge": {0xdd, 0xff, 0xff, 0xff, 0xff},
	} {
		_, _, err := x.SendRaw(ctx, rawRequest(protocol.MsgPack, "Arith", "Mul", p))
		if err == nil {
			return failf("malformed msgpack %s (% x) was accepted", name, p)
		}
		if !isServiceError(err) || err.Error() == "" {
			return failf("malformed msgpack %s: got %q (%T), want a non-empty service error (codec text)", name, err, err)
		}
		texts[name] = err.Error()
	}
	// Malformed JSON.
	_, _, err = x.SendRaw(ctx, rawRequest(protocol.JSON, "Arith", "Mul", []byte(`{"A":`)))
	if err == nil || !isServiceError(err) || err.Error() == "" {
		return failf("malformed JSON: got %v, want a non-empty service error", err)
	}
	texts["json_truncated"] = err.Error()
	// Informational: where the texts differ from Go's codecs (vmihailenco
	// msgpack v5.4.1, encoding/json), the case still passes.
	mismatch := map[string]map[string]string{}
	for name, goText := range goBadArgsTexts {
		if texts[name] != goText {
			mismatch[name] = map[string]string{"got": texts[name], "go": goText}
		}
	}
	if len(mismatch) > 0 {
		t.set("go_text_mismatch", mismatch)
	}
	// The connection stays usable.
	reply = services.ArithReply{}
	if err := x.Call(ctx, "Mul", &services.ArithArgs{A: 5, B: 6}, &reply); err != nil || reply.C != 30 {
		return failf("Arith.Mul after bad args: %v (C=%d)", err, reply.C)
	}
	if n := x.rec.numConns(); n != 1 {
		return failf("bad args cost the connection: %d connections used, want 1", n)
	}
	return nil
}

// goBadArgsTexts are the Go server's error texts for the bad_args payloads.
var goBadArgsTexts = map[string]string{
	"c1":             "msgpack: unexpected code=c1 decoding map length",
	"truncated":      "EOF",
	"str_for_int":    "msgpack: invalid code=a1 decoding int64",
	"array32_huge":   "msgpack: number of fields in array-encoded struct has changed",
	"json_truncated": "unexpected EOF",
}

func caseHandlerThrows(t *T) error {
	x := t.xclient("Echo", t.option(protocol.MsgPack))
	err := x.Call(t.ctx(), "Throw", &services.ErrorArgs{Text: "thrown"}, &services.Empty{})
	if err != nil && err.Error() == "rpcx: can't find method Throw" {
		return skip("the server has no Echo.Throw (a Go handler cannot throw; Go panics are not part of the interop services)")
	}
	if err == nil {
		return failf("Echo.Throw succeeded, want an error reply")
	}
	if !isServiceError(err) || err.Error() == "" {
		return failf("Echo.Throw: got %q (%T), want a non-empty service error", err, err)
	}
	t.set("error_text", truncate(err.Error(), 200))
	// Non-Error values thrown: the Text selects what TS throws (see README).
	for _, kind := range []string{"string", "object", "null", "reject"} {
		err := x.Call(t.ctx(), "Throw", &services.ErrorArgs{Text: kind}, &services.Empty{})
		if err == nil || !isServiceError(err) {
			return failf("Echo.Throw(%q): got %v, want a service error", kind, err)
		}
	}
	var reply services.ArithReply
	y := t.xclient("Arith", t.option(protocol.MsgPack))
	if err := y.Call(t.ctx(), "Mul", &services.ArithArgs{A: 2, B: 21}, &reply); err != nil || reply.C != 42 {
		return failf("server not serving after the throw: %v", err)
	}
	return nil
}
