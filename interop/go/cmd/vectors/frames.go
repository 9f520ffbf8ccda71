package main

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/smallnest/rpcx/protocol"
)

// spec builds one message with protocol.NewMessage(), setters and Encode().
type spec struct {
	name, note   string
	version      byte
	mt           protocol.MessageType
	heartbeat    bool
	oneway       bool
	compress     protocol.CompressType
	status       protocol.MessageStatusType
	st           protocol.SerializeType
	seq          uint64
	path, method string
	meta         map[string]string
	payload      []byte
}

func (s spec) encode() []byte {
	m := protocol.NewMessage()
	m.SetVersion(s.version)
	m.SetMessageType(s.mt)
	m.SetHeartbeat(s.heartbeat)
	m.SetOneway(s.oneway)
	m.SetCompressType(s.compress)
	m.SetMessageStatusType(s.status)
	m.SetSerializeType(s.st)
	m.SetSeq(s.seq)
	m.ServicePath = s.path
	m.ServiceMethod = s.method
	m.Metadata = s.meta
	m.Payload = s.payload
	return append([]byte(nil), m.Encode()...)
}

// pseudoText returns n bytes of deterministic pseudo-random words: xorshift64* with seed
// 0x9E3779B97F4A7C15 picks words from a 16-word list, separated by spaces.
func pseudoText(n int) []byte {
	words := []string{"rpcx", "frame", "payload", "gzip", "seq", "meta", "codec", "server",
		"client", "heartbeat", "oneway", "golden", "vector", "bytes", "node", "wire"}
	x := uint64(0x9E3779B97F4A7C15)
	var b bytes.Buffer
	for b.Len() < n {
		x ^= x >> 12
		x ^= x << 25
		x ^= x >> 27
		r := x * 0x2545F4914F6CDD1D
		b.WriteString(words[r>>60])
		if r&0x100 != 0 {
			b.WriteByte('\n')
		} else {
			b.WriteByte(' ')
		}
	}
	return b.Bytes()[:n]
}

func manyMeta(n int) map[string]string {
	m := make(map[string]string, n)
	for i := 0; i < n; i++ {
		m[fmt.Sprintf("key-%03d", i)] = strings.Repeat(string(rune('a'+i%26)), i%7)
	}
	return m
}

// goUnzipNote says what Go's gzip reader does with the compressed bytes of payload.
func gzipNote(payload []byte) string {
	z, err := protocol.Compressors[protocol.Gzip].Zip(payload)
	if err != nil {
		return "Go Zip failed: " + err.Error()
	}
	z = append([]byte(nil), z...)
	r, err := gzip.NewReader(bytes.NewReader(z))
	if err != nil {
		return "gzip reader: " + err.Error()
	}
	out, err := io.ReadAll(r)
	if err != nil {
		return "gzip read: " + err.Error()
	}
	return fmt.Sprintf("Encode gzips the %d-byte payload into %d bytes (compress/gzip default level, empty header, sync flush then close); Go's Decode gunzips it back to %d bytes", len(payload), len(z), len(out))
}

func frameSpecs() []spec {
	json, mp := protocol.JSON, protocol.MsgPack
	arith := []byte(`{"A":10,"B":20}`)
	arithMP := []byte{0x82, 0xa1, 0x41, 0x0a, 0xa1, 0x42, 0x14}
	var out []spec
	add := func(s spec) { out = append(out, s) }

	// Worked example, rpcx-protocol.md §1.1.
	add(spec{name: "frame/spec_example/request", note: "rpcx-protocol.md §1.1 worked example request (65 bytes)",
		st: json, seq: 1, path: "Arith", method: "Mul", meta: map[string]string{"a": "b"}, payload: arith})
	add(spec{name: "frame/spec_example/response", note: "rpcx-protocol.md §1.1 worked example response (49 bytes)",
		mt: protocol.Response, st: json, seq: 1, path: "Arith", method: "Mul", payload: []byte(`{"C":200}`)})
	add(spec{name: "frame/spec_example/error_response", note: "rpcx-protocol.md §1.1 error response for unknown method Mul2, built with setters (the real server's is in behaviour.json)",
		mt: protocol.Response, status: protocol.Error, st: json, seq: 1, path: "Arith", method: "Mul2",
		meta: map[string]string{"__rpcx_error__": "rpcx: can't find method Mul2"}})

	// Message kinds.
	add(spec{name: "frame/kind/request_msgpack", note: "plain msgpack request, as the Go client sends Arith.Mul{10,20} (seq 0)",
		st: mp, path: "Arith", method: "Mul", payload: arithMP})
	add(spec{name: "frame/kind/response_msgpack", note: "plain msgpack response {C:200}",
		mt: protocol.Response, st: mp, path: "Arith", method: "Mul", payload: []byte{0x81, 0xa1, 0x43, 0xcc, 0xc8}})
	add(spec{name: "frame/kind/oneway_request", note: "oneway request (flag 0x20)",
		oneway: true, st: mp, seq: 3, path: "Arith", method: "Mul", payload: arithMP})
	add(spec{name: "frame/kind/heartbeat_request", note: "heartbeat request (flag 0x40) as the Go client builds it: empty path/method, msgpack int64 payload",
		heartbeat: true, st: mp, seq: 5, payload: []byte{0xd3, 0x17, 0x9a, 0x5f, 0x3e, 0x12, 0x34, 0x56, 0x78}})
	add(spec{name: "frame/kind/heartbeat_response", note: "heartbeat response (0xc0)",
		mt: protocol.Response, heartbeat: true, st: mp, seq: 5, payload: []byte{0xd3, 0x17, 0x9a, 0x5f, 0x3e, 0x12, 0x34, 0x56, 0x78}})
	add(spec{name: "frame/kind/heartbeat_oneway_request", note: "oneway heartbeat request (0x60)",
		heartbeat: true, oneway: true, st: mp, seq: 6, payload: []byte{0xd3, 0, 0, 0, 0, 0, 0, 0, 1}})
	add(spec{name: "frame/kind/server_push", note: "what Server.SendMessage builds: request, oneway, SerializeNone, seq from the server-wide counter",
		oneway: true, seq: 1, path: "Push", method: "Event", payload: []byte("hello")})
	add(spec{name: "frame/kind/error_response", note: "status Error response with __rpcx_error__ and an encoded reply payload",
		mt: protocol.Response, status: protocol.Error, st: mp, seq: 9, path: "Arith", method: "Fail",
		meta: map[string]string{"__rpcx_error__": "boom"}, payload: []byte{0x81, 0xa1, 0x43, 0x2a}})
	add(spec{name: "frame/kind/error_response_empty", note: "status Error response, no metadata, no payload (the Go client reports such a call as success)",
		mt: protocol.Response, status: protocol.Error, st: mp, seq: 9, path: "Arith", method: "Fail"})
	add(spec{name: "frame/kind/status_2", note: "unassigned status value 2 (SetMessageStatusType masks to 2 bits)",
		mt: protocol.Response, status: 2, st: mp, seq: 10, path: "A", method: "B"})
	add(spec{name: "frame/kind/status_3", note: "unassigned status value 3",
		status: 3, st: mp, seq: 11, path: "A", method: "B"})
	add(spec{name: "frame/kind/all_flags", note: "every flag bit set: response, heartbeat, oneway, gzip, status 3; byte2 = 0xe7",
		mt: protocol.Response, heartbeat: true, oneway: true, compress: protocol.Gzip, status: 3, st: 15,
		seq: math.MaxUint64, path: "P", method: "M", meta: map[string]string{"k": "v"}, payload: []byte("all flags")})
	add(spec{name: "frame/kind/response_to_oneway_flags", note: "response with oneway bit kept (Clone copies the header)",
		mt: protocol.Response, oneway: true, st: mp, seq: 4, path: "Arith", method: "Mul"})

	// Serialize type nibble.
	for st := 0; st <= 4; st++ {
		add(spec{name: fmt.Sprintf("frame/serialize/%d", st), note: fmt.Sprintf("serialize type %d in the high nibble of byte 3", st),
			st: protocol.SerializeType(st), seq: 1, path: "S", method: "T", payload: []byte{0x01}})
	}
	add(spec{name: "frame/serialize/9", note: "unregistered serialize type 9 (Decode does not care)",
		st: 9, seq: 1, path: "S", method: "T", payload: []byte{0x01}})
	add(spec{name: "frame/serialize/15", note: "serialize type 15 (0xf0)",
		st: 15, seq: 1, path: "S", method: "T", payload: []byte{0x01}})

	// Version byte.
	for _, v := range []byte{1, 0x7f, 0xff} {
		add(spec{name: fmt.Sprintf("frame/version/%d", v), note: "non-zero version byte; Go never checks it",
			version: v, st: mp, seq: 1, path: "Arith", method: "Mul", payload: arithMP})
	}

	// Seq.
	for _, c := range []struct {
		n   string
		seq uint64
	}{{"0", 0}, {"1", 1}, {"2p32", 1 << 32}, {"2p53p1", 1<<53 + 1}, {"max", math.MaxUint64}, {"2p63", 1 << 63}} {
		add(spec{name: "frame/seq/" + c.n, note: fmt.Sprintf("seq %d", c.seq), st: mp, seq: c.seq, path: "Arith", method: "Mul", payload: arithMP})
	}
	add(spec{name: "frame/seq/max_response", note: "response with seq 2^64-1", mt: protocol.Response, st: mp, seq: math.MaxUint64, path: "Arith", method: "Mul", payload: []byte{0x81, 0xa1, 0x43, 0x01}})

	// Gzip.
	for _, n := range []int{0, 1, 1024, 1025, 1 << 20} {
		p := pseudoText(n)
		name := fmt.Sprintf("frame/gzip/%d", n)
		if n == 1<<20 {
			name = "frame/gzip/1MiB"
		}
		note := gzipNote(p)
		if n == 0 {
			note += ". Go writes a full 0-byte gzip stream (not an empty payload). Contrast: a frame whose gzip bit is set but whose wire payload is 0 bytes fails Go's Decode with EOF (gzip header read), and a Go server closes the connection"
		}
		add(spec{name: name, note: note + ". Payload text: xorshift64* words, see cmd/vectors/frames.go pseudoText",
			compress: protocol.Gzip, st: protocol.SerializeNone, seq: 7, path: "Gzip", method: "Echo", payload: p})
	}
	add(spec{name: "frame/gzip/response_2000", note: gzipNote(pseudoText(2000)) + "; response direction",
		mt: protocol.Response, compress: protocol.Gzip, st: protocol.SerializeNone, seq: 8, path: "Gzip", method: "Echo", payload: pseudoText(2000)})
	add(spec{name: "frame/gzip/with_metadata", note: gzipNote(pseudoText(1500)) + "; only the payload is compressed, metadata stays plain",
		compress: protocol.Gzip, st: protocol.SerializeNone, seq: 9, path: "Gzip", method: "Echo", meta: map[string]string{"m": "plain"}, payload: pseudoText(1500)})
	add(spec{name: "frame/gzip/binary_256", note: gzipNote(all256bytes()),
		compress: protocol.Gzip, st: protocol.SerializeNone, seq: 10, path: "Gzip", method: "Echo", payload: all256bytes()})

	// Payload sizes.
	for _, n := range []int{0, 1, 65536, 65537} {
		add(spec{name: fmt.Sprintf("frame/payload/%d", n), note: fmt.Sprintf("uncompressed %d-byte payload (payloadHex omitted above 65536)", n),
			st: protocol.SerializeNone, seq: 2, path: "P", method: "M", payload: pseudoText(n)})
	}

	// Metadata.
	meta := func(n, note string, m map[string]string) {
		add(spec{name: "frame/metadata/" + n, note: note, st: mp, seq: 1, path: "Arith", method: "Mul", meta: m, payload: arithMP})
	}
	meta("nil", "nil metadata map: length 0, no bytes; decodes to nil", nil)
	meta("empty", "empty (non-nil) metadata map: identical bytes to nil", map[string]string{})
	meta("one", "one entry", map[string]string{"key": "value"})
	meta("two", "two entries (Go writes map order: random)", map[string]string{"a": "1", "b": "2"})
	meta("many_20", "20 entries", manyMeta(20))
	meta("many_100", "100 entries", manyMeta(100))
	meta("empty_key", "empty key", map[string]string{"": "v"})
	meta("empty_value", "empty value", map[string]string{"k": ""})
	meta("empty_both", "empty key and empty value: 8 bytes of zeros", map[string]string{"": ""})
	meta("utf8", "UTF-8 keys and values: non-BMP and combining characters, lengths in bytes",
		map[string]string{"ключ": "𝄞 music", "e\u0301": "🎉👍🏽"})
	meta("non_utf8", "arbitrary non-UTF-8 bytes in key and value (Go does not validate)",
		map[string]string{"\xff\xfe": "\x00\x80\xc3(", "ok": "\xc0\xaf"})
	meta("rpcx_error", "__rpcx_error__ in a request (only meaningful in responses)", map[string]string{"__rpcx_error__": "error text"})
	meta("auth", "__AUTH token", map[string]string{"__AUTH": "bearer token 123"})
	meta("server_timeout", "__ServerTimeout in decimal milliseconds", map[string]string{"__ServerTimeout": "1500"})
	meta("proto_key", "__proto__ key (a JS object trap)", map[string]string{"__proto__": "x", "constructor": "y", "toString": "z"})
	meta("long_value", "a 70000-byte metadata value", map[string]string{"big": string(pseudoText(70000))})
	meta("binary_value", "value with all 256 byte values", map[string]string{"bin": string(all256bytes())})
	meta("tab_newline", "keys and values with tabs, CR/LF and NUL", map[string]string{"a\tb": "c\r\nd", "nul\x00": "\x00"})

	// Path and method.
	pm := func(n, note, path, method string) {
		add(spec{name: "frame/path/" + n, note: note, st: mp, seq: 1, path: path, method: method, payload: arithMP})
	}
	pm("empty_both", "empty servicePath and serviceMethod without the heartbeat flag", "", "")
	pm("empty_path", "empty servicePath", "", "Mul")
	pm("empty_method", "empty serviceMethod", "Arith", "")
	pm("long_300", "300-byte path and method", strings.Repeat("P", 300), strings.Repeat("m", 300))
	pm("long_70000", "70000-byte path", string(pseudoText(70000)), "M")
	pm("unicode", "UTF-8 path and method (lengths are byte counts)", "Сервис𝄞", "método\u0301")
	pm("non_utf8", "non-UTF-8 bytes: servicePath/serviceMethod omitted from fields, hex only", "\xff\xfeSvc", "M\xc3(")
	pm("dotted", "dots and slashes are plain bytes", "a.b/c", "d.e")
	return out
}

func all256bytes() []byte {
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

func framesFile() ([]Vector, error) {
	var out []Vector
	for _, s := range frameSpecs() {
		v, err := frameVector(s.name, s.encode(), s.note)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

func init() { register("frames.json", framesFile) }
