package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand"
	"reflect"
	"time"

	"github.com/smallnest/rpcx/protocol"

	"github.com/rpcx-node/interop/internal/pb"
	"github.com/rpcx-node/interop/internal/services"
	"github.com/rpcx-node/interop/internal/thriftgen"
)

func init() {
	register(
		caseDef{name: "empty_payload", run: caseEmptyPayload},
		caseDef{name: "arith_msgpack", run: func(t *T) error { return arithCase(t, protocol.MsgPack) }},
		caseDef{name: "arith_json", run: func(t *T) error { return arithCase(t, protocol.JSON) }},
		caseDef{name: "arith_protobuf", run: caseArithProtobuf},
		caseDef{name: "arith_thrift", run: caseArithThrift},
		caseDef{name: "raw_all_bytes", run: caseRawAllBytes},
		caseDef{name: "large_payload", needs: "no -max-message-length below 4 MiB + 64", run: caseLargePayload},
		caseDef{name: "int64_extremes", run: caseInt64Extremes},
		caseDef{name: "unicode_strings", run: caseUnicodeStrings},
		caseDef{name: "time_values", run: caseTimeValues},
		caseDef{name: "nested_and_nil", run: caseNestedAndNil},
	)
}

// checkExchange checks the last request/response frames: the response
// exists, is a normal response with the request's seq and serialize type.
func checkExchange(x *xc, st protocol.SerializeType) (req, res *frame, err error) {
	if err := x.rec.parseErr(-1); err != nil {
		return nil, nil, err
	}
	req, res = x.rec.lastExchange()
	if req == nil {
		return nil, nil, failf("no request frame recorded")
	}
	if res == nil {
		return nil, nil, failf("no response frame with seq %d recorded", req.seq)
	}
	if !res.isResponse() {
		return nil, nil, failf("reply frame byte2 %#02x has no response bit", res.flags)
	}
	if res.st != st || req.st != st {
		return nil, nil, failf("serialize type: request %d, response %d, want %d", req.st, res.st, st)
	}
	return req, res, nil
}

func caseEmptyPayload(t *T) error {
	x := t.xclient("Echo", t.option(protocol.SerializeNone))
	var reply []byte = []byte("not touched")
	if err := x.Call(t.ctx(), "Bytes", []byte{}, &reply); err != nil {
		return failf("Echo.Bytes(empty): %v", err)
	}
	req, res, err := checkExchange(x, protocol.SerializeNone)
	if err != nil {
		return err
	}
	if len(req.payload) != 0 {
		return failf("request payload %d bytes, want 0", len(req.payload))
	}
	if len(res.payload) != 0 || res.isError() {
		return failf("reply payload %d bytes (status %d), want 0 bytes normal", len(res.payload), res.flags&3)
	}
	// rpcx leaves the reply untouched for an empty payload.
	if string(reply) != "not touched" {
		return failf("reply changed to %q", reply)
	}
	return nil
}

func arithCase(t *T, st protocol.SerializeType) error {
	x := t.xclient("Arith", t.option(st))
	ctx := t.ctx()
	for _, c := range []struct {
		method string
		a, b   int
		want   int
	}{
		{"Mul", 10, 20, 200},
		{"Mul", -7, 6, -42},
		{"Add", 1 << 40, 3, 1<<40 + 3},
		{"Div", 100, 7, 14},
	} {
		var reply services.ArithReply
		if err := x.Call(ctx, c.method, &services.ArithArgs{A: c.a, B: c.b}, &reply); err != nil {
			return failf("Arith.%s(%d,%d): %v", c.method, c.a, c.b, err)
		}
		if reply.C != c.want {
			return failf("Arith.%s(%d,%d) = %d, want %d", c.method, c.a, c.b, reply.C, c.want)
		}
		if _, _, err := checkExchange(x, st); err != nil {
			return err
		}
	}
	return nil
}

func caseArithProtobuf(t *T) error {
	x := t.xclient("ArithPB", t.option(protocol.ProtoBuffer))
	var reply pb.ArithReply
	if err := x.Call(t.ctx(), "Mul", &pb.ArithArgs{A: 10, B: 20}, &reply); err != nil {
		return failf("ArithPB.Mul: %v", err)
	}
	if reply.C != 200 {
		return failf("ArithPB.Mul(10,20) = %d, want 200", reply.C)
	}
	if _, _, err := checkExchange(x, protocol.ProtoBuffer); err != nil {
		return err
	}
	reply = pb.ArithReply{}
	if err := x.Call(t.ctx(), "Add", &pb.ArithArgs{A: math.MaxInt64 - 5, B: 5}, &reply); err != nil {
		return failf("ArithPB.Add: %v", err)
	}
	if reply.C != math.MaxInt64 {
		return failf("ArithPB.Add(MaxInt64-5,5) = %d, want %d", reply.C, int64(math.MaxInt64))
	}
	return nil
}

func caseArithThrift(t *T) error {
	x := t.xclient("ArithThrift", t.option(protocol.Thrift))
	var reply thriftgen.ArithReply
	if err := x.Call(t.ctx(), "Mul", &thriftgen.ArithArgs_{A: 10, B: 20}, &reply); err != nil {
		return failf("ArithThrift.Mul: %v", err)
	}
	if reply.C != 200 {
		return failf("ArithThrift.Mul(10,20) = %d, want 200", reply.C)
	}
	if _, _, err := checkExchange(x, protocol.Thrift); err != nil {
		return err
	}
	reply = thriftgen.ArithReply{}
	if err := x.Call(t.ctx(), "Add", &thriftgen.ArithArgs_{A: math.MinInt64 + 5, B: -5}, &reply); err != nil {
		return failf("ArithThrift.Add: %v", err)
	}
	if reply.C != math.MinInt64 {
		return failf("ArithThrift.Add(MinInt64+5,-5) = %d, want %d", reply.C, int64(math.MinInt64))
	}
	return nil
}

// echoBytes sends payload through Echo.Bytes with SerializeNone and checks
// the reply is identical.
func echoBytes(t *T, x *xc, payload []byte) error {
	var reply []byte
	if err := x.Call(t.ctx(), "Bytes", payload, &reply); err != nil {
		return failf("Echo.Bytes(%d bytes): %v", len(payload), err)
	}
	if !bytes.Equal(reply, payload) {
		return failf("Echo.Bytes: reply %d bytes differs from the %d-byte request (first difference at %d)", len(reply), len(payload), firstDiff(reply, payload))
	}
	return nil
}

func firstDiff(a, b []byte) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return i
		}
	}
	if len(a) == len(b) {
		return -1
	}
	return min(len(a), len(b))
}

func caseRawAllBytes(t *T) error {
	x := t.xclient("Echo", t.option(protocol.SerializeNone))
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	if err := echoBytes(t, x, all); err != nil {
		return err
	}
	rev := make([]byte, 512)
	for i := range rev {
		rev[i] = byte(255 - i%256)
	}
	if err := echoBytes(t, x, rev); err != nil {
		return err
	}
	_, res, err := checkExchange(x, protocol.SerializeNone)
	if err != nil {
		return err
	}
	if !bytes.Equal(res.payload, rev) {
		return failf("reply frame payload differs from the request")
	}
	return nil
}

func caseLargePayload(t *T) error {
	if t.e.maxMessageLength > 0 && t.e.maxMessageLength < 4<<20+64 {
		return skip("the server's -max-message-length %d is below 4 MiB", t.e.maxMessageLength)
	}
	x := t.xclient("Echo", t.option(protocol.SerializeNone))
	payload := make([]byte, 4<<20)
	rand.New(rand.NewSource(42)).Read(payload)
	start := time.Now()
	if err := echoBytes(t, x, payload); err != nil {
		return err
	}
	t.set("round_trip_ms", time.Since(start).Milliseconds())
	req, res, err := checkExchange(x, protocol.SerializeNone)
	if err != nil {
		return err
	}
	if len(req.payload) != 4<<20 || len(res.payload) != 4<<20 {
		return failf("frame payloads: request %d, reply %d, want %d", len(req.payload), len(res.payload), 4<<20)
	}
	if req.compress() != protocol.None || res.compress() != protocol.None {
		return failf("unexpected compression (request %d, reply %d)", req.compress(), res.compress())
	}
	return nil
}

// ---------------------------------------------------------------------------
// Echo.Object cases.

var bothCodecs = []protocol.SerializeType{protocol.MsgPack, protocol.JSON}

func codecName(st protocol.SerializeType) string {
	switch st {
	case protocol.MsgPack:
		return "msgpack"
	case protocol.JSON:
		return "json"
	case protocol.ProtoBuffer:
		return "protobuf"
	case protocol.Thrift:
		return "thrift"
	case protocol.SerializeNone:
		return "raw"
	}
	return fmt.Sprint(int(st))
}

// echoObject sends o through Echo.Object with st and returns the reply.
func echoObject(t *T, x *xc, o *services.Object) (*services.Object, error) {
	var reply services.Object
	if err := x.Call(t.ctx(), "Object", o, &reply); err != nil {
		return nil, failf("Echo.Object: %v", err)
	}
	return &reply, nil
}

// objectDiff compares two Objects field by field: time.Time with Equal
// (plus the UTC offset when sameZone), everything else with
// reflect.DeepEqual (so nil and empty slices/maps differ).
func objectDiff(want, got *services.Object, sameZone bool) string {
	wv, gv := reflect.ValueOf(*want), reflect.ValueOf(*got)
	typ := wv.Type()
	for i := 0; i < typ.NumField(); i++ {
		name := typ.Field(i).Name
		w, g := wv.Field(i).Interface(), gv.Field(i).Interface()
		if wt, ok := w.(time.Time); ok {
			gt := g.(time.Time)
			if !wt.Equal(gt) {
				return fmt.Sprintf("%s: got %s, want %s", name, gt.Format(time.RFC3339Nano), wt.Format(time.RFC3339Nano))
			}
			if sameZone {
				_, wo := wt.Zone()
				_, gof := gt.Zone()
				if wo != gof {
					return fmt.Sprintf("%s: UTC offset %ds, want %ds", name, gof, wo)
				}
			}
			continue
		}
		if !reflect.DeepEqual(w, g) {
			return fmt.Sprintf("%s: got %s, want %s", name, show(g), show(w))
		}
	}
	return ""
}

func show(v any) string {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Map, reflect.Pointer:
		if rv.IsNil() {
			return fmt.Sprintf("nil %T", v)
		}
		if rv.Kind() != reflect.Pointer && rv.Len() == 0 {
			return fmt.Sprintf("empty non-nil %T", v)
		}
		if rv.Kind() == reflect.Pointer {
			return fmt.Sprintf("&%+v", rv.Elem().Interface())
		}
	}
	return truncate(fmt.Sprintf("%#v", v), 300)
}

// roundTripObject sends o with each codec and compares the reply with want
// (want == nil: with o).
func roundTripObject(t *T, o, want *services.Object, codecs ...protocol.SerializeType) error {
	if want == nil {
		want = o
	}
	for _, st := range codecs {
		x := t.xclient("Echo", t.option(st))
		got, err := echoObject(t, x, o)
		if err != nil {
			return failf("%s: %v", codecName(st), err)
		}
		if d := objectDiff(want, got, st == protocol.JSON); d != "" {
			return failf("%s: %s", codecName(st), d)
		}
		if _, _, err := checkExchange(x, st); err != nil {
			return failf("%s: %v", codecName(st), err)
		}
	}
	return nil
}

// baseObject is an Object with every field set to an ordinary value and no
// nil/empty container (so codec cases differ only where they mean to).
func baseObject() *services.Object {
	inner := services.Inner{Name: "inner", Value: 7}
	return &services.Object{
		Int: 1, Int8: -8, Int16: -16, Int32: -32, Int64: -64,
		Uint: 1, Uint8: 8, Uint16: 16, Uint32: 32, Uint64: 64,
		Float32: 1.5, Float64: -2.25, Bool: true, String: "s",
		Bytes:   []byte{0, 1, 2, 0xff},
		Time:    time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC),
		Nested:  inner,
		Ptr:     &services.Inner{Name: "ptr", Value: -1},
		Ints:    []int64{1, 2, 3},
		Strings: []string{"a", "b"},
		Items:   []services.Inner{inner},
		MapSS:   map[string]string{"k": "v"},
		MapSI:   map[string]int{"n": 1},
	}
}

const twoTo53Plus1 = 1<<53 + 1

func caseInt64Extremes(t *T) error {
	o := baseObject()
	o.Int = math.MaxInt64
	o.Int64 = math.MinInt64
	o.Uint64 = twoTo53Plus1
	o.Int32 = math.MinInt32
	o.Uint32 = math.MaxUint32
	o.Ints = []int64{math.MinInt64, math.MaxInt64, twoTo53Plus1, -twoTo53Plus1, 1<<53 - 1, 0, -1}
	o.MapSI = map[string]int{"max": math.MaxInt64, "min": math.MinInt64, "p": twoTo53Plus1, "n": -twoTo53Plus1}
	o.Nested.Value = twoTo53Plus1
	o.Ptr.Value = math.MinInt64
	if err := roundTripObject(t, o, nil, bothCodecs...); err != nil {
		return err
	}
	o2 := baseObject()
	o2.Int = math.MinInt64
	o2.Int64 = math.MaxInt64
	o2.Uint64 = math.MaxUint64
	return roundTripObject(t, o2, nil, bothCodecs...)
}

// unicodeText has non-BMP characters (surrogate pairs in UTF-16), combining
// marks (not normalised), a ZWJ sequence, RTL text and a NUL.
const unicodeText = "😀 𝄞 𠜎 e\u0301 n\u0303 Å/\u212b 👩\u200d👩\u200d👧 שלום 中文 \x00 end"

func caseUnicodeStrings(t *T) error {
	o := baseObject()
	o.String = unicodeText
	o.Strings = []string{"😀", "e\u0301", "\u212b", "𝄞𝄞"}
	o.MapSS = map[string]string{"😀key": "e\u0301value", "k": unicodeText}
	o.Nested.Name = "𠜎"
	if err := roundTripObject(t, o, nil, bothCodecs...); err != nil {
		return err
	}
	// Metadata values (and a key) with the same characters.
	x := t.xclient("Echo", t.option(protocol.MsgPack))
	req := map[string]string{"u": unicodeText, "😀": "e\u0301", "combining": "a\u0300\u0301\u0302"}
	want := without(req)
	ctx, res := metaCtx(t.ctx(), req)
	if err := x.Call(ctx, "Metadata", &services.Empty{}, &services.Empty{}); err != nil {
		return failf("Echo.Metadata: %v", err)
	}
	if t.e.auth != "" {
		want["__AUTH"] = t.e.auth
	}
	if err := eqMeta(without(res, "__ServerAddress"), want); err != nil {
		return failf("metadata: %v", err)
	}
	return nil
}

func caseTimeValues(t *T) error {
	ist := time.FixedZone("IST", 5*3600+1800)
	neg := time.FixedZone("", -(9*3600 + 30*60))
	times := []time.Time{
		time.Date(2024, 2, 29, 12, 34, 56, 789012345, time.UTC),
		time.Unix(0, 0).UTC(),
		time.Date(1969, 12, 31, 23, 59, 59, 999999999, time.UTC), // negative seconds: timestamp 96
		time.Date(1900, 1, 1, 0, 0, 0, 1, time.UTC),
		time.Unix(1<<32-1, 0).UTC(),         // timestamp 32 max
		time.Unix(1<<32, 0).UTC(),           // timestamp 64
		time.Unix(1<<34-1, 999999999).UTC(), // timestamp 64 max
		time.Unix(1<<34, 0).UTC(),           // timestamp 96
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(2024, 6, 1, 8, 0, 0, 500, ist),
		time.Date(2001, 9, 9, 1, 46, 40, 0, neg),
	}
	for _, st := range bothCodecs {
		x := t.xclient("Echo", t.option(st))
		for _, tm := range times {
			o := baseObject()
			o.Time = tm
			got, err := echoObject(t, x, o)
			if err != nil {
				return failf("%s %s: %v", codecName(st), tm.Format(time.RFC3339Nano), err)
			}
			if d := objectDiff(o, got, st == protocol.JSON); d != "" {
				return failf("%s: %s", codecName(st), d)
			}
			// The wire form: msgpack ext -1 in the smallest timestamp format,
			// JSON an RFC 3339 string with the offset.
			_, res, err := checkExchange(x, st)
			if err != nil {
				return err
			}
			var want []byte
			switch st {
			case protocol.MsgPack:
				want = msgpackTimestamp(tm)
			case protocol.JSON:
				want = []byte(`"Time":"` + tm.Format(time.RFC3339Nano) + `"`)
			}
			if !bytes.Contains(res.payload, want) {
				return failf("%s reply for %s does not contain % x", codecName(st), tm.Format(time.RFC3339Nano), want)
			}
		}
	}
	return nil
}

// msgpackTimestamp is "Time" (fixstr) followed by the msgpack timestamp
// extension (type -1) in its smallest format.
func msgpackTimestamp(tm time.Time) []byte {
	out := []byte("\xa4Time")
	sec, nsec := tm.Unix(), int64(tm.Nanosecond())
	if sec>>34 == 0 {
		data := uint64(nsec)<<34 | uint64(sec)
		if data>>32 == 0 {
			return binary.BigEndian.AppendUint32(append(out, 0xd6, 0xff), uint32(data))
		}
		return binary.BigEndian.AppendUint64(append(out, 0xd7, 0xff), data)
	}
	out = binary.BigEndian.AppendUint32(append(out, 0xc7, 12, 0xff), uint32(nsec))
	return binary.BigEndian.AppendUint64(out, uint64(sec))
}

func caseNestedAndNil(t *T) error {
	for _, st := range bothCodecs {
		o := baseObject()
		o.Nested = services.Inner{Name: "nested", Value: 42}
		o.Ptr = &services.Inner{Name: "", Value: 0} // a pointer to a zero struct stays non-nil
		o.NilPtr = nil
		o.Ints = nil           // nil slice
		o.Strings = []string{} // empty slice
		o.Items = []services.Inner{{Name: "a", Value: 1}, {}, {Name: "c", Value: -3}}
		o.MapSS = map[string]string{} // empty map
		o.MapSI = nil                 // nil map
		o.Bytes = nil
		want := *o
		if err := roundTripObject(t, o, &want, st); err != nil {
			return err
		}
		o2 := baseObject()
		o2.Bytes = []byte{}
		o2.Strings = nil
		o2.Ints = []int64{}
		o2.MapSS = nil
		o2.MapSI = map[string]int{}
		o2.Items = []services.Inner{}
		o2.Ptr = nil
		o2.NilPtr = &services.Inner{Name: "was nil", Value: 1}
		want2 := *o2
		if err := roundTripObject(t, o2, &want2, st); err != nil {
			return err
		}
	}
	return nil
}
