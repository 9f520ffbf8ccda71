package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/rpcx-node/interop/internal/values"
	"github.com/smallnest/rpcx/client"
	rlog "github.com/smallnest/rpcx/log"
	"github.com/smallnest/rpcx/protocol"
	"github.com/smallnest/rpcx/server"
	"github.com/smallnest/rpcx/share"
)

// BigReply is the reply of Arith.Big: Data holds args.A bytes of pseudo-random text.
type BigReply struct {
	Data string
}

type arithService struct {
	srv *server.Server
}

func (a *arithService) Mul(ctx context.Context, args *values.ArithArgs, reply *values.ArithReply) error {
	reply.C = args.A * args.B
	return nil
}

func (a *arithService) Fail(ctx context.Context, args *values.ArithArgs, reply *values.ArithReply) error {
	reply.C = 42
	return errors.New("custom failure")
}

func (a *arithService) FailText(ctx context.Context, args *values.ArithArgs, reply *values.ArithReply) error {
	return errors.New("tab\there\r\nline two: é 𝄞 日本")
}

func (a *arithService) Meta(ctx context.Context, args *values.ArithArgs, reply *values.ArithReply) error {
	ctx.Value(share.ResMetaDataKey).(map[string]string)["res-key"] = "res-value"
	reply.C = args.A * args.B
	return nil
}

func (a *arithService) MetaFail(ctx context.Context, args *values.ArithArgs, reply *values.ArithReply) error {
	ctx.Value(share.ResMetaDataKey).(map[string]string)["res-key"] = "res-value"
	reply.C = 7
	return errors.New("failed after setting metadata")
}

func (a *arithService) Big(ctx context.Context, args *values.ArithArgs, reply *BigReply) error {
	reply.Data = string(pseudoText(args.A))
	return nil
}

// Push sends server pushes on the caller's connection before replying; args.A picks the mode.
func (a *arithService) Push(ctx context.Context, args *values.ArithArgs, reply *values.ArithReply) error {
	conn := ctx.Value(server.RemoteConnContextKey).(net.Conn)
	var err error
	switch args.A {
	case 1:
		err = a.srv.SendMessage(conn, "Push", "Event", map[string]string{"event": "tick"}, []byte("hello push"))
	case 2:
		err = a.srv.SendMessage(conn, "Push", "Event", nil, []byte("no metadata"))
	case 3:
		err = a.srv.SendMessage(conn, "Push", "Empty", nil, nil)
	case 4:
		err = a.srv.SendMessage(conn, "Push", "First", nil, []byte("one"))
		if err == nil {
			err = a.srv.SendMessage(conn, "Push", "Second", nil, []byte("two"))
		}
	case 5:
		err = a.srv.SendMessage(conn, "", "", nil, []byte{})
	}
	reply.C = args.A
	return err
}

func fnFail(ctx context.Context, args *values.ArithArgs, reply *values.ArithReply) error {
	reply.C = 99
	return errors.New("function failure")
}

type testServer struct {
	s    *server.Server
	addr string
}

func startServer(auth bool) (*testServer, error) {
	s := server.NewServer()
	if err := s.RegisterName("Arith", &arithService{srv: s}, ""); err != nil {
		return nil, err
	}
	if err := s.RegisterFunctionName("Fn", "Fail", fnFail, ""); err != nil {
		return nil, err
	}
	if auth {
		s.AuthFunc = func(ctx context.Context, req *protocol.Message, token string) error {
			if token == "secret" {
				return nil
			}
			return errors.New("invalid token")
		}
	}
	errc := make(chan error, 1)
	go func() { errc <- s.Serve("tcp", "127.0.0.1:0") }()
	select {
	case <-s.Started:
	case err := <-errc:
		return nil, err
	case <-time.After(10 * time.Second):
		return nil, errors.New("server did not start")
	}
	return &testServer{s: s, addr: s.Address().String()}, nil
}

// readFrame reads one frame: the 16-byte prefix, then totalLen bytes.
func readFrame(c net.Conn) ([]byte, error) {
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	head := make([]byte, 16)
	if _, err := io.ReadFull(c, head); err != nil {
		return nil, err
	}
	body := make([]byte, binary.BigEndian.Uint32(head[12:16]))
	if _, err := io.ReadFull(c, body); err != nil {
		return nil, err
	}
	return append(head, body...), nil
}

// exchange opens a raw TCP connection, writes each request and reads n frames back.
func exchange(addr string, n int, reqs ...[]byte) ([][]byte, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	for _, r := range reqs {
		if _, err := c.Write(r); err != nil {
			return nil, err
		}
	}
	var out [][]byte
	for i := 0; i < n; i++ {
		f, err := readFrame(c)
		if err != nil {
			return out, fmt.Errorf("reading frame %d: %w", i, err)
		}
		out = append(out, f)
	}
	return out, nil
}

type bcase struct {
	name    string
	note    string
	req     spec
	replies []string // names of the frames read back, in order
}

var mpArith = []byte{0x82, 0xa1, 0x41, 0x0a, 0xa1, 0x42, 0x14} // msgpack ArithArgs{10, 20}

func mpArgsA(a int) []byte {
	b, err := share.Codecs[protocol.MsgPack].Encode(values.ArithArgs{A: a})
	if err != nil {
		panic(err)
	}
	return append([]byte(nil), b...)
}

func serverCases() []bcase {
	mp, js := protocol.MsgPack, protocol.JSON
	hbPayload := []byte{0xd3, 0x17, 0x9a, 0x5f, 0x3e, 0x12, 0x34, 0x56, 0x78}
	req := func(method string, st protocol.SerializeType, payload []byte) spec {
		return spec{st: st, seq: 1, path: "Arith", method: method, payload: payload}
	}
	one := []string{"response"}
	cs := []bcase{
		{name: "heartbeat", note: "heartbeat request (0x40, msgpack, seq 7) written to a real server.Server; the reply is the request re-encoded with the response bit",
			req: spec{heartbeat: true, st: mp, seq: 7, payload: hbPayload}, replies: one},
		{name: "heartbeat_oneway", note: "oneway heartbeat request (0x60); the server still answers (0xe0)",
			req: spec{heartbeat: true, oneway: true, st: mp, seq: 8, payload: hbPayload}, replies: one},
		{name: "heartbeat_with_path_meta", note: "heartbeat with path, method, one metadata entry and JSON serialize type; echoed as is",
			req: spec{heartbeat: true, st: js, seq: 9, path: "Arith", method: "Mul", meta: map[string]string{"hb": "1"}, payload: []byte("123")}, replies: one},
		{name: "heartbeat_gzip", note: "gzip heartbeat: Decode gunzips the payload, the echo is gzipped again by Encode",
			req: spec{heartbeat: true, compress: protocol.Gzip, st: mp, seq: 10, payload: hbPayload}, replies: one},
		{name: "spec_example", note: "rpcx-protocol.md §1.1 request (JSON Arith.Mul {10,20}, metadata a=b, seq 1) to a real server; request metadata not copied to the response",
			req: spec{st: js, seq: 1, path: "Arith", method: "Mul", meta: map[string]string{"a": "b"}, payload: []byte(`{"A":10,"B":20}`)}, replies: one},
		{name: "success_msgpack", note: "msgpack Arith.Mul {10,20} → reply {C:200}",
			req: req("Mul", mp, mpArith), replies: one},
		{name: "unknown_service", note: "request for service Nope",
			req: spec{st: mp, seq: 1, path: "Nope", method: "Mul", payload: mpArith}, replies: one},
		{name: "unknown_method", note: "rpcx-protocol.md §1.1 request with method Mul2 (JSON, metadata a=b)",
			req: spec{st: js, seq: 1, path: "Arith", method: "Mul2", meta: map[string]string{"a": "b"}, payload: []byte(`{"A":10,"B":20}`)}, replies: one},
		{name: "empty_path_not_heartbeat", note: "empty path and method without the heartbeat flag: not a heartbeat to the server",
			req: spec{st: mp, seq: 1, payload: mpArith}, replies: one},
		{name: "unknown_codec", note: "serialize type 9 on a known method: service and method are found first, then `can not find codec for 9`; the response keeps nibble 9",
			req: req("Mul", 9, mpArith), replies: one},
		{name: "handler_error_with_reply", note: "method handler sets reply.C = 42 then returns error `custom failure`: status Error, __rpcx_error__, and the encoded reply as payload",
			req: req("Fail", mp, mpArith), replies: one},
		{name: "handler_error_text", note: "handler error text with tab, CR/LF and non-ASCII; the reply (zero) is still encoded as payload",
			req: req("FailText", mp, mpArith), replies: one},
		{name: "function_error", note: "function handler (RegisterFunctionName Fn.Fail) sets reply.C = 99 and returns an error: unlike methods, no payload",
			req: spec{st: mp, seq: 1, path: "Fn", method: "Fail", payload: mpArith}, replies: one},
		{name: "decode_error_msgpack_invalid", note: "msgpack payload 0xc1 (never used code): the codec's error text verbatim",
			req: req("Mul", mp, []byte{0xc1}), replies: one},
		{name: "decode_error_msgpack_truncated", note: "truncated msgpack map 82 a1 41",
			req: req("Mul", mp, []byte{0x82, 0xa1, 0x41}), replies: one},
		{name: "decode_error_msgpack_empty", note: "empty msgpack payload",
			req: req("Mul", mp, nil), replies: one},
		{name: "decode_error_msgpack_type", note: "msgpack map with a string where an int is expected",
			req: req("Mul", mp, []byte{0x81, 0xa1, 0x41, 0xa1, 0x78}), replies: one},
		{name: "decode_error_json_malformed", note: `JSON payload {"A":`,
			req: req("Mul", js, []byte(`{"A":`)), replies: one},
		{name: "decode_error_json_empty", note: "empty JSON payload",
			req: req("Mul", js, nil), replies: one},
		{name: "json_trailing_bytes", note: "JSON payload followed by garbage: the decoder reads one value and ignores the rest",
			req: req("Mul", js, []byte(`{"A":3,"B":4} trailing`)), replies: one},
		{name: "json_case_insensitive", note: "JSON keys in other case: encoding/json matches field names case-insensitively",
			req: req("Mul", js, []byte(`{"a":3,"b":5}`)), replies: one},
		{name: "msgpack_case_sensitive", note: "msgpack keys in lower case: vmihailenco/msgpack matches exactly, so A and B stay 0",
			req: req("Mul", mp, []byte{0x82, 0xa1, 0x61, 0x03, 0xa1, 0x62, 0x05}), replies: one},
		{name: "response_metadata", note: "handler sets res-key=res-value via share.ResMetaDataKey; request metadata (req-key) is not copied",
			req: spec{st: mp, seq: 1, path: "Arith", method: "Meta", meta: map[string]string{"req-key": "req-value"}, payload: mpArith}, replies: one},
		{name: "response_metadata_error", note: "handler sets response metadata and returns an error: both keys in the response, plus the encoded reply",
			req: req("MetaFail", mp, mpArith), replies: one},
		{name: "gzip_request_big_reply", note: "gzip request for a 2000-byte reply: request compressed and reply payload > 1024 → reply gzipped",
			req: spec{compress: protocol.Gzip, st: mp, seq: 1, path: "Arith", method: "Big", payload: mpArgsA(2000)}, replies: one},
		{name: "gzip_request_small_reply", note: "gzip request for a 100-byte reply: reply ≤ 1024 → not compressed",
			req: spec{compress: protocol.Gzip, st: mp, seq: 1, path: "Arith", method: "Big", payload: mpArgsA(100)}, replies: one},
		{name: "gzip_request_reply_1024", note: "gzip request, reply payload exactly 1024 bytes (msgpack {Data: 1015-byte str}) → not compressed",
			req: spec{compress: protocol.Gzip, st: mp, seq: 1, path: "Arith", method: "Big", payload: mpArgsA(1015)}, replies: one},
		{name: "gzip_request_reply_1025", note: "gzip request, reply payload 1025 bytes → compressed",
			req: spec{compress: protocol.Gzip, st: mp, seq: 1, path: "Arith", method: "Big", payload: mpArgsA(1016)}, replies: one},
		{name: "plain_request_big_reply", note: "uncompressed request for a 2000-byte reply → reply not compressed",
			req: spec{st: mp, seq: 1, path: "Arith", method: "Big", payload: mpArgsA(2000)}, replies: one},
		{name: "response_bit_request", note: "a frame with the response bit set sent to the server is dispatched like a request and answered",
			req: spec{mt: protocol.Response, st: mp, seq: 1, path: "Arith", method: "Mul", payload: mpArith}, replies: one},
		{name: "seq_max", note: "seq 2^64-1 is echoed",
			req: spec{st: mp, seq: 1<<64 - 1, path: "Arith", method: "Mul", payload: mpArith}, replies: one},
		{name: "version_echo", note: "version byte 5 is echoed in the response header",
			req: spec{version: 5, st: mp, seq: 1, path: "Arith", method: "Mul", payload: mpArith}, replies: one},
	}
	return cs
}

// pushCases each run on a fresh server, so the server-wide push seq starts at 1.
func pushCases() []bcase {
	mp := protocol.MsgPack
	r := func(a int) spec { return spec{st: mp, seq: 1, path: "Arith", method: "Push", payload: mpArgsA(a)} }
	return []bcase{
		{name: "push_metadata", note: "handler calls Server.SendMessage(conn, \"Push\", \"Event\", {event: tick}, \"hello push\") on a fresh server, then the call's response follows",
			req: r(1), replies: []string{"push", "response"}},
		{name: "push_no_metadata", note: "SendMessage with nil metadata",
			req: r(2), replies: []string{"push", "response"}},
		{name: "push_empty_payload", note: "SendMessage with nil metadata and nil payload",
			req: r(3), replies: []string{"push", "response"}},
		{name: "push_two", note: "two consecutive SendMessage calls: seq 1 then 2 (server-wide counter)",
			req: r(4), replies: []string{"push1", "push2", "response"}},
		{name: "push_empty_path", note: "SendMessage with empty path and method and an empty payload",
			req: r(5), replies: []string{"push", "response"}},
	}
}

func runCase(addr string, c bcase) ([]Vector, error) {
	reqFrame := c.req.encode()
	frames, err := exchange(addr, len(c.replies), reqFrame)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.name, err)
	}
	v, err := frameVector("behaviour/server/"+c.name+"/request", reqFrame, "request for behaviour/server/"+c.name+": "+c.note)
	if err != nil {
		return nil, err
	}
	out := []Vector{v}
	for i, f := range frames {
		v, err := frameVector("behaviour/server/"+c.name+"/"+c.replies[i], f, c.note)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

func serverVectors() ([]Vector, error) {
	ts, err := startServer(false)
	if err != nil {
		return nil, err
	}
	defer ts.s.Close()
	var out []Vector
	for _, c := range serverCases() {
		vs, err := runCase(ts.addr, c)
		if err != nil {
			return nil, err
		}
		out = append(out, vs...)
	}

	// oneway request: no reply; the next frame on the connection answers the second request
	ow := spec{oneway: true, st: protocol.MsgPack, seq: 1, path: "Arith", method: "Mul", payload: mpArith}.encode()
	fail := spec{oneway: true, st: protocol.MsgPack, seq: 2, path: "Nope", method: "Mul", payload: mpArith}.encode()
	normal := spec{st: protocol.MsgPack, seq: 3, path: "Arith", method: "Mul", payload: mpArith}.encode()
	frames, err := exchange(ts.addr, 1, ow, fail, normal)
	if err != nil {
		return nil, fmt.Errorf("oneway: %w", err)
	}
	if f, err := decodeFields(frames[0]); err != nil || f.Seq != "3" {
		return nil, fmt.Errorf("oneway: expected only the reply to seq 3, got %+v (%v)", f, err)
	}
	note := "oneway Arith.Mul (seq 1) and oneway unknown-service request (seq 2) get no reply, not even an error; the only frame read back answers the normal request (seq 3)"
	for _, x := range []struct {
		n string
		f []byte
	}{{"request_oneway", ow}, {"request_oneway_unknown_service", fail}, {"request_normal", normal}, {"response", frames[0]}} {
		v, err := frameVector("behaviour/server/oneway/"+x.n, x.f, note)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

func pushVectors() ([]Vector, error) {
	var out []Vector
	for _, c := range pushCases() {
		ts, err := startServer(false)
		if err != nil {
			return nil, err
		}
		vs, err := runCase(ts.addr, c)
		ts.s.Close()
		if err != nil {
			return nil, err
		}
		out = append(out, vs...)
	}
	return out, nil
}

func authVectors() ([]Vector, error) {
	ts, err := startServer(true)
	if err != nil {
		return nil, err
	}
	defer ts.s.Close()
	var out []Vector
	cases := []bcase{
		{name: "auth_ok", note: "server with AuthFunc accepting __AUTH=secret", replies: []string{"response"},
			req: spec{st: protocol.MsgPack, seq: 1, path: "Arith", method: "Mul", meta: map[string]string{"__AUTH": "secret"}, payload: mpArith}},
		{name: "auth_heartbeat", note: "heartbeats skip AuthFunc", replies: []string{"response"},
			req: spec{heartbeat: true, st: protocol.MsgPack, seq: 2, payload: []byte{0xd3, 0, 0, 0, 0, 0, 0, 0, 2}}},
	}
	for _, c := range cases {
		vs, err := runCase(ts.addr, c)
		if err != nil {
			return nil, err
		}
		out = append(out, vs...)
	}
	// failing auth: error response with AuthFunc's text, then the server closes the connection
	bad := spec{st: protocol.MsgPack, seq: 3, path: "Arith", method: "Mul", meta: map[string]string{"__AUTH": "wrong"}, payload: mpArith}.encode()
	c, err := net.Dial("tcp", ts.addr)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if _, err := c.Write(bad); err != nil {
		return nil, err
	}
	res, err := readFrame(c)
	if err != nil {
		return nil, fmt.Errorf("auth_fail: %w", err)
	}
	_, err = readFrame(c)
	closed := errors.Is(err, io.EOF)
	note := "AuthFunc rejects __AUTH=wrong: error response carrying AuthFunc's text"
	if closed {
		note += "; then the server closed the connection (EOF observed)"
	} else {
		note += fmt.Sprintf("; after the response the read returned %v", err)
	}
	for _, x := range []struct {
		n string
		f []byte
	}{{"request", bad}, {"response", res}} {
		v, err := frameVector("behaviour/server/auth_fail/"+x.n, x.f, note)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// captureClient starts a raw TCP listener, lets do() drive a real client.Client connected to
// it and returns the first frame the client writes.
func captureClient(opt client.Option, do func(c *client.Client)) ([]byte, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	defer ln.Close()
	type res struct {
		f   []byte
		err error
	}
	got := make(chan res, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			got <- res{nil, err}
			return
		}
		defer conn.Close()
		f, err := readFrame(conn)
		got <- res{f, err}
	}()
	c := client.NewClient(opt)
	if err := c.Connect("tcp", ln.Addr().String()); err != nil {
		return nil, err
	}
	defer c.Close()
	if do != nil {
		do(c)
	}
	select {
	case r := <-got:
		return r.f, r.err
	case <-time.After(10 * time.Second):
		return nil, errors.New("client sent nothing")
	}
}

func clientVectors() ([]Vector, error) {
	var out []Vector
	add := func(name, note string, volatile []string, opt client.Option, do func(c *client.Client)) error {
		f, err := captureClient(opt, do)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		v, err := frameVector("behaviour/client/"+name, f, note)
		if err != nil {
			return err
		}
		v.Volatile = append(v.Volatile, volatile...)
		out = append(out, v)
		return nil
	}
	bg := context.Background()
	call := func(path, method string, args, reply any) func(c *client.Client) {
		return func(c *client.Client) { c.Go(bg, path, method, args, reply, nil) }
	}

	hb := client.DefaultOption
	hb.Heartbeat = true
	hb.HeartbeatInterval = 20 * time.Millisecond
	if err := add("heartbeat", "first frame of a client.Client with Option{Heartbeat: true, HeartbeatInterval: 20ms} (DefaultOption otherwise): seq 0, flag 0x40, msgpack forced, empty path/method, payload msgpack int64 time.Now().UnixNano() (d3 + 8 bytes, varies)",
		[]string{"payload"}, hb, nil); err != nil {
		return nil, err
	}
	hbJSON := hb
	hbJSON.SerializeType = protocol.JSON
	if err := add("heartbeat_json_option", "heartbeat of a client with SerializeType JSON: still msgpack (serialize nibble 3)",
		[]string{"payload"}, hbJSON, nil); err != nil {
		return nil, err
	}
	def := client.DefaultOption
	if err := add("call_msgpack", "client.Client (DefaultOption: msgpack) Go(ctx, \"Arith\", \"Mul\", &ArithArgs{10, 20}, &reply): first call has seq 0, no metadata",
		nil, def, call("Arith", "Mul", &values.ArithArgs{A: 10, B: 20}, &values.ArithReply{})); err != nil {
		return nil, err
	}
	if err := add("call_oneway", "Go(..., reply nil): oneway flag 0x20",
		nil, def, call("Arith", "Mul", &values.ArithArgs{A: 10, B: 20}, nil)); err != nil {
		return nil, err
	}
	if err := add("call_metadata", "ctx with share.ReqMetaDataKey = {k: v}: copied into the request metadata",
		nil, def, func(c *client.Client) {
			ctx := context.WithValue(bg, share.ReqMetaDataKey, map[string]string{"k": "v"})
			c.Go(ctx, "Arith", "Mul", &values.ArithArgs{A: 10, B: 20}, &values.ArithReply{}, nil)
		}); err != nil {
		return nil, err
	}
	js := client.DefaultOption
	js.SerializeType = protocol.JSON
	if err := add("call_json", "client with SerializeType JSON", nil, js, call("Arith", "Mul", &values.ArithArgs{A: 10, B: 20}, &values.ArithReply{})); err != nil {
		return nil, err
	}
	gz := client.DefaultOption
	gz.CompressType = protocol.Gzip
	if err := add("call_gzip_big", "client with CompressType Gzip sending a 2000-byte raw-text msgpack payload (> 1024): compressed",
		nil, gz, call("Arith", "Big", &BigReply{Data: string(pseudoText(2000))}, &BigReply{})); err != nil {
		return nil, err
	}
	if err := add("call_gzip_1024", "client with CompressType Gzip, encoded payload exactly 1024 bytes: not compressed",
		nil, gz, call("Arith", "Big", &BigReply{Data: string(pseudoText(1015))}, &BigReply{})); err != nil {
		return nil, err
	}
	if err := add("call_gzip_1025", "client with CompressType Gzip, encoded payload 1025 bytes: compressed",
		nil, gz, call("Arith", "Big", &BigReply{Data: string(pseudoText(1016))}, &BigReply{})); err != nil {
		return nil, err
	}
	raw := client.DefaultOption
	raw.SerializeType = protocol.SerializeNone
	if err := add("call_raw", "client with SerializeType SerializeNone sending []byte", nil, raw,
		call("Raw", "Echo", []byte("raw bytes"), &[]byte{})); err != nil {
		return nil, err
	}
	return out, nil
}

func behaviourFile() ([]Vector, error) {
	rlog.SetDummyLogger()
	var out []Vector
	for _, g := range []func() ([]Vector, error){serverVectors, pushVectors, authVectors, clientVectors} {
		vs, err := g()
		if err != nil {
			return nil, err
		}
		out = append(out, vs...)
	}
	return out, nil
}

func init() { register("behaviour.json", behaviourFile) }
