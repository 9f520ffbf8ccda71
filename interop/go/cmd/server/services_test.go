package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"reflect"
	"testing"
	"time"

	"github.com/smallnest/rpcx/protocol"
	"github.com/smallnest/rpcx/share"
	"google.golang.org/protobuf/proto"

	"github.com/rpcx-node/interop/internal/pb"
	. "github.com/rpcx-node/interop/internal/services"
	"github.com/rpcx-node/interop/internal/thriftgen"
)

func TestArith(t *testing.T) {
	key := startServer(t)
	for _, st := range []protocol.SerializeType{protocol.MsgPack, protocol.JSON} {
		for _, path := range []string{"Arith", "RawArith"} {
			xc := newXClient(t, key, path, st, nil)
			for method, want := range map[string]int{"Mul": 200, "Add": 30, "Div": 2} {
				var r ArithReply
				if err := xc.Call(callCtx(t), method, &ArithArgs{A: 20, B: 10}, &r); err != nil || r.C != want {
					t.Errorf("%v %s.%s = %d, %v; want %d", st, path, method, r.C, err, want)
				}
			}
			var r ArithReply
			err := xc.Call(callCtx(t), "Div", &ArithArgs{A: 1}, &r)
			if err == nil || err.Error() != "divide by zero" {
				t.Errorf("%v %s.Div by 0: %v", st, path, err)
			}
			if path == "Arith" && r.C != DivByZeroMarker {
				t.Errorf("%v Arith.Div error payload: C = %d", st, r.C)
			}
		}
	}
}

func TestCodecServices(t *testing.T) {
	key := startServer(t)
	var r pb.ArithReply
	if err := newXClient(t, key, "ArithPB", protocol.ProtoBuffer, nil).Call(callCtx(t), "Mul", &pb.ArithArgs{A: 7, B: 8}, &r); err != nil || r.C != 56 {
		t.Errorf("ArithPB.Mul = %d, %v", r.C, err)
	}
	var tr thriftgen.ArithReply
	if err := newXClient(t, key, "ArithThrift", protocol.Thrift, nil).Call(callCtx(t), "Mul", &thriftgen.ArithArgs_{A: 7, B: 8}, &tr); err != nil || tr.C != 56 {
		t.Errorf("ArithThrift.Mul = %d, %v", tr.C, err)
	}
	var br pb.BenchmarkMessage
	args := &pb.BenchmarkMessage{Field1: proto.String("x"), Field2: proto.Int32(1), Field3: proto.Int32(3)}
	if err := newXClient(t, key, "Bench", protocol.ProtoBuffer, nil).Call(callCtx(t), "Echo", args, &br); err != nil ||
		br.GetField1() != "OK" || br.GetField2() != 100 || br.GetField3() != 3 {
		t.Errorf("Bench.Echo = %v, %v", &br, err)
	}
	var ar pb.AllTypes
	if err := newXClient(t, key, "EchoPB", protocol.ProtoBuffer, nil).Call(callCtx(t), "AllTypes", &pb.AllTypes{}, &ar); err != nil {
		t.Errorf("EchoPB.AllTypes: %v", err)
	}
	var at thriftgen.AllTypes
	if err := newXClient(t, key, "EchoThrift", protocol.Thrift, nil).Call(callCtx(t), "AllTypes", thriftgen.NewAllTypes(), &at); err != nil {
		t.Errorf("EchoThrift.AllTypes: %v", err)
	}
}

func TestEcho(t *testing.T) {
	key := startServer(t)
	raw := newXClient(t, key, "Echo", protocol.SerializeNone, nil)
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	var got []byte
	if err := raw.Call(callCtx(t), "Bytes", all, &got); err != nil || !bytes.Equal(got, all) {
		t.Errorf("Echo.Bytes raw = %x, %v", got, err)
	}

	for _, st := range []protocol.SerializeType{protocol.MsgPack, protocol.JSON} {
		xc := newXClient(t, key, "Echo", st, nil)
		in := Object{
			Int: -1, Int8: -128, Int16: -32768, Int32: -1 << 31, Int64: -1 << 63,
			Uint: 1, Uint8: 255, Uint16: 65535, Uint32: 1<<32 - 1, Uint64: 1<<64 - 1,
			Float32: 1.5, Float64: 3.25, Bool: true, String: "héllo 😀", Bytes: []byte{0, 1, 255},
			Time: time.Date(2024, 2, 29, 12, 34, 56, 789, time.UTC), Nested: Inner{Name: "n", Value: 1<<53 + 1},
			Ptr: &Inner{Name: "p"}, Ints: []int64{1<<63 - 1}, Strings: []string{}, Items: []Inner{{Name: "i"}},
			MapSS: map[string]string{"k": "v"}, MapSI: map[string]int{"k": 1},
		}
		var out Object
		if err := xc.Call(callCtx(t), "Object", &in, &out); err != nil {
			t.Fatalf("%v Echo.Object: %v", st, err)
		}
		if !out.Time.Equal(in.Time) {
			t.Errorf("%v Echo.Object time %v", st, out.Time)
		}
		out.Time = in.Time
		if !reflect.DeepEqual(in, out) {
			t.Errorf("%v Echo.Object\n got %+v\nwant %+v", st, out, in)
		}
	}

	xc := newXClient(t, key, "Echo", protocol.MsgPack, nil)

	req := map[string]string{"a": "b", "": "", "ü": "😀"}
	res := map[string]string{}
	ctx := context.WithValue(context.WithValue(callCtx(t), share.ReqMetaDataKey, req), share.ResMetaDataKey, res)
	if err := xc.Call(ctx, "Metadata", &Empty{}, &Empty{}); err != nil {
		t.Fatal(err)
	}
	for k, v := range req {
		if res[k] != v {
			t.Errorf("Echo.Metadata: res[%q] = %q, want %q", k, res[k], v)
		}
	}
	if _, ok := res[share.ServerTimeout]; !ok {
		t.Errorf("Echo.Metadata: %s not reflected: %v", share.ServerTimeout, res)
	}

	var sr SleepReply
	if err := xc.Call(callCtx(t), "Sleep", &SleepArgs{Ms: 10}, &sr); err != nil || !sr.HasDeadline || sr.RemainingMs < 4000 || sr.RemainingMs > 5000 || sr.Cancelled {
		t.Errorf("Echo.Sleep = %+v, %v", sr, err)
	}
	// __ServerTimeout alone (no client deadline): the handler's ctx expires.
	sr = SleepReply{}
	ctx = context.WithValue(context.Background(), share.ReqMetaDataKey, map[string]string{share.ServerTimeout: "50"})
	err := xc.Call(ctx, "Sleep", &SleepArgs{Ms: 5000}, &sr)
	if err == nil || err.Error() != context.DeadlineExceeded.Error() || !sr.Cancelled || !sr.HasDeadline || sr.SleptMs > 1000 {
		t.Errorf("Echo.Sleep with __ServerTimeout=50: %+v, %v", sr, err)
	}

	text := "tab\tcr\rlf\n ü 😀"
	if err := xc.Call(callCtx(t), "Error", &ErrorArgs{Text: text}, &Empty{}); err == nil || err.Error() != text {
		t.Errorf("Echo.Error = %v", err)
	}

	for i := 0; i < 3; i++ {
		if err := xc.Oneshot(callCtx(t), "Count", &CountArgs{Key: "oneway"}); err != nil {
			t.Fatal(err)
		}
	}
	var cr CountReply
	if err := xc.Call(callCtx(t), "Count", &CountArgs{Key: "other"}, &cr); err != nil || cr.Count != 1 {
		t.Errorf("Echo.Count = %d, %v", cr.Count, err)
	}
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if err := xc.Call(callCtx(t), "GetCount", &CountArgs{Key: "oneway"}, &cr); err != nil {
			t.Fatal(err)
		}
		if cr.Count == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Echo.GetCount = %d after 3 oneway Count", cr.Count)
		}
	}

	var via ViaReply
	if err := xc.Call(callCtx(t), "Via", &Empty{}, &via); err != nil || via.Via != "handler" {
		t.Errorf("Echo.Via = %q, %v", via.Via, err)
	}
}

func TestPush(t *testing.T) {
	key := startServer(t)
	ch := make(chan *protocol.Message, 1000)
	xc := newXClient(t, key, "Push", protocol.MsgPack, ch)
	meta := map[string]string{"k": "v"}
	expect := func(n int, path, method, prefix string) {
		t.Helper()
		for i := 0; i < n; i++ {
			select {
			case m := <-ch:
				want := binary.BigEndian.AppendUint64([]byte(prefix), uint64(i))
				if !m.IsOneway() || m.MessageType() != protocol.Request || m.SerializeType() != protocol.SerializeNone ||
					m.ServicePath != path || m.ServiceMethod != method || m.Metadata["k"] != "v" || !bytes.Equal(m.Payload, want) {
					t.Fatalf("push %d: %+v", i, m)
				}
			case <-time.After(3 * time.Second):
				t.Fatalf("push %d of %d missing", i, n)
			}
		}
	}

	var r PushReply
	if err := xc.Call(callCtx(t), "Start", &PushArgs{Path: "P", Method: "before", Metadata: meta, Payload: []byte("x"), Count: 3, BeforeReply: true}, &r); err != nil || r.Sent != 3 {
		t.Fatalf("Push.Start before reply = %+v, %v", r, err)
	}
	if len(ch) != 3 {
		t.Errorf("%d pushes queued when the reply arrived, want 3", len(ch))
	}
	expect(3, "P", "before", "x")

	if err := xc.Call(callCtx(t), "Start", &PushArgs{Path: "P", Method: "interval", Metadata: meta, Payload: []byte("y"), Count: 5, IntervalMs: 2}, &r); err != nil || r.Sent != 0 {
		t.Fatalf("Push.Start = %+v, %v", r, err)
	}
	expect(5, "P", "interval", "y")

	if err := xc.Call(callCtx(t), "Burst", &PushArgs{Path: "B", Method: "burst", Metadata: meta, Count: 500}, &r); err != nil {
		t.Fatal(err)
	}
	expect(500, "B", "burst", "")

	if err := xc.Call(callCtx(t), "Start", &PushArgs{Path: "S", Method: "slow", Metadata: meta, Count: 1000, IntervalMs: 1000}, &r); err != nil {
		t.Fatal(err)
	}
	expect(1, "S", "slow", "")
	var sr StopReply
	if err := xc.Call(callCtx(t), "Stop", &Empty{}, &sr); err != nil || sr.Stopped != 1 {
		t.Errorf("Push.Stop = %+v, %v", sr, err)
	}
	select {
	case m := <-ch:
		t.Errorf("push after Stop: %s.%s", m.ServicePath, m.ServiceMethod)
	case <-time.After(1200 * time.Millisecond):
	}
}

func TestUnknownServiceAndMethod(t *testing.T) {
	key := startServer(t)
	for path, want := range map[string]string{"Nope": "rpcx: can't find service Nope", "Arith": "rpcx: can't find method Nope"} {
		err := newXClient(t, key, path, protocol.MsgPack, nil).Call(callCtx(t), "Nope", &Empty{}, &Empty{})
		if err == nil || err.Error() != want {
			t.Errorf("%s.Nope: %v, want %q", path, err, want)
		}
	}
}

func TestRateLimit(t *testing.T) {
	key := startServer(t, "-rate-limit", "1")
	xc := newXClient(t, key, "Arith", protocol.MsgPack, nil)
	var r ArithReply
	if err := xc.Call(callCtx(t), "Mul", &ArithArgs{A: 2, B: 3}, &r); err != nil {
		t.Fatal(err)
	}
	if err := xc.Call(callCtx(t), "Mul", &ArithArgs{A: 2, B: 3}, &r); err == nil || err.Error() != "request reached rate limit" {
		t.Errorf("second call: %v", err)
	}
}
