package main

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"math/rand"
	"strings"

	"github.com/smallnest/rpcx/protocol"

	"github.com/rpcx-node/interop/internal/services"
)

func init() {
	register(
		caseDef{name: "gzip_above_threshold", run: caseGzipAbove},
		caseDef{name: "gzip_at_threshold", run: caseGzipAt},
		caseDef{name: "gzip_reply_needs_compressed_request", run: caseGzipReplyNeedsCompressedRequest},
		caseDef{name: "metadata_round_trip", run: caseMetadataRoundTrip},
		caseDef{name: "metadata_many_entries", run: caseMetadataMany},
		caseDef{name: "metadata_non_utf8", run: caseMetadataNonUTF8},
	)
}

func gunzip(b []byte) ([]byte, error) {
	r, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

func randomBytes(n int, seed int64) []byte {
	b := make([]byte, n)
	rand.New(rand.NewSource(seed)).Read(b)
	return b
}

// gzipEcho sends n bytes through Echo.Bytes (SerializeNone) with
// CompressType opt and checks the flags of both frames.
func gzipEcho(t *T, n int, ct protocol.CompressType, wantReq, wantRes protocol.CompressType) error {
	opt := t.option(protocol.SerializeNone)
	opt.CompressType = ct
	x := t.xclient("Echo", opt)
	payload := randomBytes(n, int64(n))
	if err := echoBytes(t, x, payload); err != nil {
		return err
	}
	req, res, err := checkExchange(x, protocol.SerializeNone)
	if err != nil {
		return err
	}
	if req.compress() != wantReq {
		return failf("%d-byte request: compress type %d on the wire, want %d", n, req.compress(), wantReq)
	}
	if res.compress() != wantRes {
		return failf("%d-byte reply: compress type %d on the wire, want %d", n, res.compress(), wantRes)
	}
	for _, f := range []*frame{req, res} {
		body := f.payload
		if f.compress() == protocol.Gzip {
			if body, err = gunzip(f.payload); err != nil {
				return failf("gunzip of the %s payload: %v", map[bool]string{true: "reply", false: "request"}[f.isResponse()], err)
			}
		}
		if !bytes.Equal(body, payload) {
			return failf("decompressed frame payload differs from the request")
		}
	}
	return nil
}

func caseGzipAbove(t *T) error {
	// 1025 B request goes compressed, its 1025 B echo comes back compressed.
	if err := gzipEcho(t, 1025, protocol.Gzip, protocol.Gzip, protocol.Gzip); err != nil {
		return err
	}
	if err := gzipEcho(t, 64<<10, protocol.Gzip, protocol.Gzip, protocol.Gzip); err != nil {
		return err
	}
	// A compressed request with a small reply (Echo.GetCount with a 2000-byte
	// key, msgpack): the reply is not compressed.
	opt := t.option(protocol.MsgPack)
	opt.CompressType = protocol.Gzip
	x := t.xclient("Echo", opt)
	var reply services.CountReply
	key := "gzip-" + strings.Repeat("k", 2000)
	if err := x.Call(t.ctx(), "GetCount", &services.CountArgs{Key: key}, &reply); err != nil {
		return failf("Echo.GetCount: %v", err)
	}
	if reply.Count != 0 {
		return failf("Echo.GetCount = %d, want 0", reply.Count)
	}
	req, res, err := checkExchange(x, protocol.MsgPack)
	if err != nil {
		return err
	}
	if req.compress() != protocol.Gzip {
		return failf("2000-byte-key GetCount request not compressed (compress %d)", req.compress())
	}
	if res.compress() != protocol.None {
		return failf("%d-byte reply to a compressed request is compressed (%d); want uncompressed (<= 1024 B)", len(res.payload), res.compress())
	}
	return nil
}

func caseGzipAt(t *T) error {
	if err := gzipEcho(t, 1024, protocol.Gzip, protocol.None, protocol.None); err != nil {
		return err
	}
	return gzipEcho(t, 1, protocol.Gzip, protocol.None, protocol.None)
}

func caseGzipReplyNeedsCompressedRequest(t *T) error {
	// Large payload, but the client does not compress: the large reply must
	// not be compressed either.
	return gzipEcho(t, 8192, protocol.None, protocol.None, protocol.None)
}

// metadataEcho calls Echo.Metadata with req and checks the response
// metadata (the ctx map and the reply frame) equals req (+ __AUTH).
func metadataEcho(t *T, req map[string]string) error {
	want := without(req)
	if t.e.auth != "" {
		want["__AUTH"] = t.e.auth
	}
	x := t.xclient("Echo", t.option(protocol.MsgPack))
	ctx, res := metaCtx(t.ctx(), req)
	if err := x.Call(ctx, "Metadata", &services.Empty{}, &services.Empty{}); err != nil {
		return failf("Echo.Metadata: %v", err)
	}
	if res["__ServerAddress"] == "" {
		return failf("rpcx did not add __ServerAddress to the response metadata map")
	}
	if err := eqMeta(without(res, "__ServerAddress"), want); err != nil {
		return failf("response metadata (ctx map): %v", err)
	}
	reqF, resF, err := checkExchange(x, protocol.MsgPack)
	if err != nil {
		return err
	}
	if reqF.metaErr != nil || resF.metaErr != nil {
		return failf("metadata block parse: request %v, reply %v", reqF.metaErr, resF.metaErr)
	}
	if err := eqMeta(reqF.meta, want); err != nil {
		return failf("request frame metadata: %v", err)
	}
	if err := eqMeta(resF.meta, want); err != nil {
		return failf("reply frame metadata: %v", err)
	}
	return nil
}

func caseMetadataRoundTrip(t *T) error {
	if err := metadataEcho(t, map[string]string{"a": "b", "trace-id": "12345", "x": "y z&=%"}); err != nil {
		return err
	}
	// Request metadata is not echoed by a method that does not set any.
	x := t.xclient("Arith", t.option(protocol.MsgPack))
	ctx, res := metaCtx(t.ctx(), map[string]string{"a": "b"})
	var reply services.ArithReply
	if err := x.Call(ctx, "Mul", &services.ArithArgs{A: 2, B: 3}, &reply); err != nil {
		return failf("Arith.Mul: %v", err)
	}
	if len(res) != 0 {
		return failf("Arith.Mul reply carries metadata %v; the server must not echo request metadata", res)
	}
	_, f, err := checkExchange(x, protocol.MsgPack)
	if err != nil {
		return err
	}
	if len(f.meta) != 0 {
		return failf("Arith.Mul reply frame has metadata %v", f.meta)
	}
	return nil
}

func caseMetadataMany(t *T) error {
	req := map[string]string{"": "empty key", "empty-value": ""}
	for i := 0; len(req) < 100; i++ {
		req[fmt.Sprintf("key-%03d", i)] = strings.Repeat("v", i)
	}
	if len(req) != 100 {
		return failf("setup: %d entries", len(req))
	}
	return metadataEcho(t, req)
}

func caseMetadataNonUTF8(t *T) error {
	return metadataEcho(t, map[string]string{
		"bin":           "\xff\xfe\x80\xc0\xaf\x00tail",
		"lone-surr":     "\xed\xa0\x80",  // UTF-8-encoded lone surrogate (invalid)
		"truncated":     "ok\xe2\x82",    // truncated 3-byte sequence
		"key-\xff\x80":  "non-UTF-8 key", // and a key
		"all-high-bits": string([]byte{0x80, 0x81, 0xfe, 0xff}),
	})
}
