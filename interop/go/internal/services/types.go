// Package services holds the rpcx services served by the interop server
// (cmd/server). The Go field names below are the wire names for msgpack
// (vmihailenco/msgpack encodes structs as maps keyed by Go field name) and
// for JSON (no json tags), so the TypeScript side mirrors them exactly.
package services

import "time"

// ArithArgs is the argument of Arith.Mul/Add/Div (msgpack, JSON).
type ArithArgs struct {
	A int
	B int
}

// ArithReply is the reply of Arith.Mul/Add/Div.
type ArithReply struct {
	C int
}

// Empty is an argument/reply without fields. As an argument any encoded
// map (e.g. msgpack 0x80 or JSON {}) is accepted; an empty payload is not
// (the msgpack/JSON codecs fail with "EOF").
type Empty struct{}

// Inner is the nested struct inside Object.
type Inner struct {
	Name  string
	Value int64
}

// Object carries every field kind for Echo.Object.
type Object struct {
	Int     int
	Int8    int8
	Int16   int16
	Int32   int32
	Int64   int64
	Uint    uint
	Uint8   uint8
	Uint16  uint16
	Uint32  uint32
	Uint64  uint64
	Float32 float32
	Float64 float64
	Bool    bool
	String  string
	Bytes   []byte
	Time    time.Time
	Nested  Inner
	Ptr     *Inner // set it
	NilPtr  *Inner // leave it nil
	Ints    []int64
	Strings []string
	Items   []Inner
	MapSS   map[string]string
	MapSI   map[string]int
}

// SleepArgs is the argument of Echo.Sleep.
type SleepArgs struct {
	Ms int
}

// SleepReply reports the handler's view of its context deadline.
type SleepReply struct {
	HasDeadline bool  // ctx had a deadline at entry (__ServerTimeout was sent)
	RemainingMs int64 // ms left until that deadline at entry (0 without deadline)
	SleptMs     int64 // how long the handler actually waited
	Cancelled   bool  // ctx ended before Ms elapsed (the call also returns ctx.Err())
}

// ErrorArgs is the argument of Echo.Error.
type ErrorArgs struct {
	Text string
}

// CountArgs is the argument of Echo.Count and Echo.GetCount. Key selects
// an independent counter ("" is a valid key).
type CountArgs struct {
	Key string
}

// CountReply is the reply of Echo.Count (value after increment) and
// Echo.GetCount.
type CountReply struct {
	Count int64
}

// ViaReply tells whether a request was served by a raw handler
// (Server.AddHandler) or by a service method.
type ViaReply struct {
	Via string // "handler" or "service"
}

// PushArgs is the argument of Push.Start and Push.Burst.
type PushArgs struct {
	Path        string            // servicePath of each push
	Method      string            // serviceMethod of each push
	Metadata    map[string]string // metadata of each push
	Payload     []byte            // prefix of each push payload
	Count       int               // number of pushes
	IntervalMs  int               // pause between pushes (Start only)
	BeforeReply bool              // send all pushes before replying
}

// PushReply is the reply of Push.Start/Burst: Sent is the number of pushes
// written before the reply (Count when BeforeReply, else 0).
type PushReply struct {
	Sent int
}

// StopReply is the reply of Push.Stop.
type StopReply struct {
	Stopped int // number of background push loops of this connection stopped
}
