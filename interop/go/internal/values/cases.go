package values

import (
	"bytes"
	"math"
	"time"

	"github.com/smallnest/rpcx/protocol"
)

// ArithArgs is the spec's Arith argument shape.
type ArithArgs struct {
	A int
	B int
}

// ArithReply is the spec's Arith reply shape.
type ArithReply struct {
	C int
}

// Inner is nested in other structs.
type Inner struct {
	Label string
	Count int64
	Tags  []string
}

// Outer nests a struct by value and by pointer.
type Outer struct {
	Name  string
	In    Inner
	InPtr *Inner
}

// Node has a pointer field left nil.
type Node struct {
	Value int
	Next  *Node
}

// SliceHolder shows nil and empty slices side by side.
type SliceHolder struct {
	Nil   []int
	Empty []int
}

// Tagged uses json tags; vmihailenco/msgpack ignores them (field names are used).
type Tagged struct {
	FileName string `json:"file_name"`
	FileSize int64  `json:"file_size,omitempty"`
	Skipped  string `json:"-"`
	Lower    int    `json:"lower"`
}

// MsgpackTagged uses msgpack tags, which JSON ignores.
type MsgpackTagged struct {
	FileName string `msgpack:"fn"`
	Both     int    `msgpack:"m" json:"j"`
}

// Everything has a field of every kind the codecs handle.
type Everything struct {
	Bool     bool
	Int      int
	Int8     int8
	Int16    int16
	Int32    int32
	Int64    int64
	Uint     uint
	Uint8    uint8
	Uint16   uint16
	Uint32   uint32
	Uint64   uint64
	Float32  float32
	Float64  float64
	String   string
	Bytes    []byte
	NilBytes []byte
	Ints     []int
	Strings  []string
	Map      map[string]int
	Any      any
	Ptr      *int
	NilPtr   *int
	Inner    Inner
	InnerP   *Inner
	Time     time.Time
	Array    [3]int
}

var (
	json_    = protocol.JSON
	msgpack_ = protocol.MsgPack
	raw_     = protocol.SerializeNone
)

func both() []protocol.SerializeType     { return []protocol.SerializeType{json_, msgpack_} }
func mpOnly() []protocol.SerializeType   { return []protocol.SerializeType{msgpack_} }
func jsonOnly() []protocol.SerializeType { return []protocol.SerializeType{json_} }

func reg[T any](name string, v T, codecs []protocol.SerializeType) {
	Register(Case{Name: name, New: func() any { return new(T) }, Value: v, Codecs: codecs})
}

func all256() []byte {
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

func intPtr(i int) *int { return &i }

// bytesEqual compares []byte by content (nil and empty are the same), for raw payloads.
func bytesEqual(a, b any) bool {
	return bytes.Equal(a.([]byte), b.([]byte))
}

func mustZone(name string, offset int) *time.Location { return time.FixedZone(name, offset) }

func init() {
	// Raw (SerializeNone): the payload is the bytes themselves.
	for name, v := range map[string][]byte{
		"raw_empty":  {},
		"raw_small":  []byte("hello rpcx"),
		"raw_all256": all256(),
		"raw_binary": {0x00, 0xff, 0x08, 0x00, 0xc0, 0xc1},
	} {
		Register(Case{Name: name, New: func() any { return new([]byte) }, Value: v,
			Codecs: []protocol.SerializeType{raw_}, Equal: bytesEqual})
	}

	// Integers.
	reg("int_small", 7, both())
	reg("int_negative", -33, both())
	reg("int_zero", 0, both())
	reg("int_large", 1<<40, both())
	reg("int64_min", int64(math.MinInt64), both())
	reg("int64_max", int64(math.MaxInt64), both())
	reg("int64_2p53p1", int64(1<<53+1), both())
	reg("int64_small", int64(1), both())
	reg("uint64_max", uint64(math.MaxUint64), both())
	reg("uint_small", uint(5), both())
	reg("int8_min", int8(math.MinInt8), both())
	reg("int8_max", int8(math.MaxInt8), both())
	reg("int16_min", int16(math.MinInt16), both())
	reg("int16_max", int16(math.MaxInt16), both())
	reg("int32_min", int32(math.MinInt32), both())
	reg("int32_max", int32(math.MaxInt32), both())
	reg("uint8_max", uint8(math.MaxUint8), both())
	reg("uint16_max", uint16(math.MaxUint16), both())
	reg("uint32_max", uint32(math.MaxUint32), both())

	// Floats.
	reg("float64_1_5", 1.5, both())
	reg("float64_neg_zero", math.Copysign(0, -1), both())
	reg("float64_1e300", 1e300, both())
	reg("float64_denormal_min", math.SmallestNonzeroFloat64, both())
	reg("float64_0_1", 0.1, both())
	reg("float64_integral", 3.0, both())
	reg("float64_pos_inf", math.Inf(1), mpOnly()) // encoding/json rejects Inf/NaN
	reg("float64_neg_inf", math.Inf(-1), mpOnly())
	reg("float32_1_1", float32(1.1), both())
	reg("float32_max", float32(math.MaxFloat32), both())

	// Bool.
	reg("bool_true", true, both())
	reg("bool_false", false, both())

	// Strings.
	reg("string_ascii", "hello, rpcx", both())
	reg("string_empty", "", both())
	reg("string_unicode", "héllo 𝄞 e\u0301 日本語 🎉", both())
	reg("string_html", "<a href=\"x\">&amp;</a>", both())
	reg("string_control", "tab\tcr\rlf\nnul\x00esc\x1b\u2028", both())
	reg("string_invalid_utf8", "ok\xff\xfe\xc3(end", mpOnly()) // JSON would substitute U+FFFD
	reg("string_long_300", string(bytes.Repeat([]byte("abcdefghij"), 30)), both())
	reg("string_70000", string(bytes.Repeat([]byte("0123456789abcdef"), 4375)), mpOnly())

	// Bytes.
	reg("bytes_empty", []byte{}, both())
	reg("bytes_nil", []byte(nil), both())
	reg("bytes_all256", all256(), both())
	reg("bytes_small", []byte{1, 2, 3}, both())

	// Structs.
	reg("arith_args", ArithArgs{A: 10, B: 20}, both())
	reg("arith_args_negative", ArithArgs{A: -1, B: math.MaxInt64}, both())
	reg("arith_reply", ArithReply{C: 200}, both())
	reg("arith_reply_zero", ArithReply{}, both())
	reg("nested_struct", Outer{Name: "outer", In: Inner{Label: "in", Count: 3, Tags: []string{"a", "b"}},
		InPtr: &Inner{Label: "ptr", Count: -4, Tags: []string{}}}, both())
	reg("struct_nil_pointer", Node{Value: 1, Next: nil}, both())
	reg("struct_linked", Node{Value: 1, Next: &Node{Value: 2}}, both())
	reg("struct_nil_vs_empty_slice", SliceHolder{Nil: nil, Empty: []int{}}, both())
	reg("struct_json_tags", Tagged{FileName: "a.txt", FileSize: 0, Skipped: "", Lower: 9}, both())
	reg("struct_msgpack_tags", MsgpackTagged{FileName: "b.txt", Both: 2}, both())

	// Slices.
	reg("slice_int", []int{1, -2, 300, 70000, -2147483649}, both())
	reg("slice_int_nil", []int(nil), both())
	reg("slice_int_empty", []int{}, both())
	reg("slice_string", []string{"a", "", "é"}, both())
	reg("slice_string_nil", []string(nil), both())
	reg("slice_string_empty", []string{}, both())

	// Maps. vmihailenco/msgpack writes map entries in Go map order (random per encode), so
	// msgpack vectors of maps with more than one entry are marked volatile "payload".
	reg("map_string_int", map[string]int{"one": 1, "two": 2, "minus": -3}, both())
	reg("map_string_int_one", map[string]int{"k": 1}, both())
	reg("map_string_int_empty", map[string]int{}, both())
	reg("map_string_int_nil", map[string]int(nil), both())
	reg("map_string_string", map[string]string{"a": "b", "": "empty key", "é": ""}, both())
	reg("map_string_string_one", map[string]string{"key": "value"}, both())
	reg("map_string_any", map[string]any{
		"int": int64(5), "str": "s", "bool": true, "nil": nil, "float": 2.5,
		"list": []any{int64(1), "x"}, "obj": map[string]any{"k": "v"},
	}, both())
	reg("map_string_any_one", map[string]any{"n": int64(-7)}, both())

	// Times.
	reg("time_utc", time.Date(2024, 2, 29, 12, 34, 56, 0, time.UTC), both())
	reg("time_utc_nanos", time.Date(2024, 2, 29, 12, 34, 56, 123456789, time.UTC), both())
	reg("time_zone", time.Date(2024, 2, 29, 18, 4, 56, 500000000, mustZone("IST", 5*3600+1800)), both())
	reg("time_unix_epoch", time.Unix(0, 0).UTC(), both())

	// Everything.
	reg("everything", Everything{
		Bool: true, Int: -1, Int8: -8, Int16: -16, Int32: -32, Int64: -64,
		Uint: 1, Uint8: 8, Uint16: 16, Uint32: 32, Uint64: 64,
		Float32: 0.5, Float64: -2.25, String: "everything é",
		Bytes: []byte{0, 1, 255}, NilBytes: nil,
		Ints: []int{1, 2}, Strings: []string{"x"}, Map: map[string]int{"m": 1},
		Any: "any string", Ptr: intPtr(42), NilPtr: nil,
		Inner:  Inner{Label: "i", Count: 1, Tags: []string{"t"}},
		InnerP: &Inner{Label: "p", Count: 2, Tags: nil},
		Time:   time.Date(2001, 2, 3, 4, 5, 6, 7, time.UTC),
		Array:  [3]int{1, 2, 3},
	}, both())
	reg("everything_zero", Everything{}, both())
}
