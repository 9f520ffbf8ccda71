package main

import (
	"bytes"
	"encoding/binary"
	"time"

	"github.com/smallnest/rpcx/protocol"

	"github.com/rpcx-node/interop/internal/services"
)

func init() {
	register(
		caseDef{name: "push_basic", run: casePushBasic},
		caseDef{name: "push_burst_in_order", run: casePushBurstInOrder},
		caseDef{name: "push_before_reply", run: casePushBeforeReply},
		caseDef{name: "push_to_closed_connection", run: casePushToClosedConnection},
		caseDef{name: "push_broadcast", needs: "server method Push.Broadcast (TS server); skipped if absent", run: casePushBroadcast},
	)
}

// checkPush checks a pushed message: Go's SendMessage frame shape, path,
// method, metadata and payload prefix + 8-byte BE index.
func checkPush(m *protocol.Message, path, method string, meta map[string]string, prefix []byte, index uint64) error {
	if m.MessageType() != protocol.Request || !m.IsOneway() || m.IsHeartbeat() {
		return failf("push #%d: type %d oneway %v heartbeat %v, want Request+oneway", index, m.MessageType(), m.IsOneway(), m.IsHeartbeat())
	}
	if m.MessageStatusType() != protocol.Normal {
		return failf("push #%d: status %d, want Normal (meta %v)", index, m.MessageStatusType(), m.Metadata)
	}
	if m.SerializeType() != protocol.SerializeNone {
		return failf("push #%d: serialize type %d, want 0 (SerializeNone)", index, m.SerializeType())
	}
	if m.CompressType() != protocol.None {
		return failf("push #%d: compress type %d, want none", index, m.CompressType())
	}
	if m.ServicePath != path || m.ServiceMethod != method {
		return failf("push #%d: %q.%q, want %q.%q", index, m.ServicePath, m.ServiceMethod, path, method)
	}
	if err := eqMeta(m.Metadata, meta); err != nil {
		return failf("push #%d metadata: %v", index, err)
	}
	want := make([]byte, len(prefix)+8)
	copy(want, prefix)
	binary.BigEndian.PutUint64(want[len(prefix):], index)
	if !bytes.Equal(m.Payload, want) {
		if len(m.Payload) == len(want) && bytes.Equal(m.Payload[:len(prefix)], prefix) {
			return failf("push index %d, want %d (out of order or lost)", binary.BigEndian.Uint64(m.Payload[len(prefix):]), index)
		}
		return failf("push #%d payload % x, want % x", index, m.Payload, want)
	}
	return nil
}

func recvPush(ch chan *protocol.Message, d time.Duration) (*protocol.Message, error) {
	select {
	case m := <-ch:
		return m, nil
	case <-time.After(d):
		return nil, failf("no push within %s", d)
	}
}

func casePushBasic(t *T) error {
	ch := make(chan *protocol.Message, 16)
	x := t.bxclient("Push", t.option(protocol.MsgPack), ch)
	meta := map[string]string{"topic": "news", "u": "ü😀", "": "empty key"}
	prefix := []byte("hello \x00\xff")
	var r services.PushReply
	if err := x.Call(t.ctx(), "Start", &services.PushArgs{Path: "Notify", Method: "Hello", Metadata: meta, Payload: prefix, Count: 1}, &r); err != nil {
		return failf("Push.Start: %v", err)
	}
	m, err := recvPush(ch, 5*time.Second)
	if err != nil {
		return err
	}
	if err := checkPush(m, "Notify", "Hello", meta, prefix, 0); err != nil {
		return err
	}
	// The frame on the wire: byte2 0x20, byte3 0x00, seq >= 1.
	var pf *frame
	waitFor(time.Second, func() bool {
		for _, f := range x.rec.inFrames(0) {
			if f.isPush() {
				pf = f
				return true
			}
		}
		return false
	})
	if pf == nil {
		return failf("push frame not recorded")
	}
	if pf.raw[2] != 0x20 || pf.raw[3] != 0x00 {
		return failf("push frame bytes 2,3 = %02x %02x, want 20 00", pf.raw[2], pf.raw[3])
	}
	if pf.seq == 0 {
		return failf("push seq 0; Go's server-wide push counter starts at 1")
	}
	// Empty path, method, metadata and prefix.
	if err := x.Call(t.ctx(), "Start", &services.PushArgs{Count: 1}, &r); err != nil {
		return failf("Push.Start (empty): %v", err)
	}
	if m, err = recvPush(ch, 5*time.Second); err != nil {
		return err
	}
	return checkPush(m, "", "", nil, nil, 0)
}

func casePushBurstInOrder(t *T) error {
	const n = 10000
	ch := make(chan *protocol.Message, 8) // small: forces the blocking policy to matter
	opt := t.option(protocol.MsgPack)
	opt.BidirectionalBlock = true
	x := t.bxclient("Push", opt, ch)
	meta := map[string]string{"burst": "1"}
	prefix := []byte("b")
	var r services.PushReply
	start := time.Now()
	if err := x.Call(t.ctx(), "Burst", &services.PushArgs{Path: "Burst", Method: "Item", Metadata: meta, Payload: prefix, Count: n}, &r); err != nil {
		return failf("Push.Burst: %v", err)
	}
	var lastSeq uint64
	for i := 0; i < n; i++ {
		m, err := recvPush(ch, 10*time.Second)
		if err != nil {
			return failf("after %d of %d pushes: %v", i, n, err)
		}
		if err := checkPush(m, "Burst", "Item", meta, prefix, uint64(i)); err != nil {
			return err
		}
		if i > 0 && m.Seq() <= lastSeq {
			return failf("push #%d seq %d not above the previous %d", i, m.Seq(), lastSeq)
		}
		lastSeq = m.Seq()
		if i%1000 == 0 {
			time.Sleep(time.Millisecond) // a consumer slower than the network
		}
	}
	t.set("received", n)
	t.set("push_ms", time.Since(start).Milliseconds())
	select {
	case m := <-ch:
		return failf("unexpected extra message after %d pushes: %s.%s", n, m.ServicePath, m.ServiceMethod)
	case <-time.After(200 * time.Millisecond):
	}
	return nil
}

func casePushBeforeReply(t *T) error {
	ch := make(chan *protocol.Message, 16)
	x := t.bxclient("Push", t.option(protocol.MsgPack), ch)
	var r services.PushReply
	prefix := []byte("before")
	if err := x.Call(t.ctx(), "Start", &services.PushArgs{Path: "P", Method: "M", Payload: prefix, Count: 3, BeforeReply: true}, &r); err != nil {
		return failf("Push.Start(BeforeReply): %v", err)
	}
	if r.Sent != 3 {
		return failf("reply Sent = %d, want 3", r.Sent)
	}
	// The pushes preceded the reply on the wire, so they are already queued.
	if len(ch) != 3 {
		return failf("%d pushes queued when the reply arrived, want 3", len(ch))
	}
	for i := 0; i < 3; i++ {
		if err := checkPush(<-ch, "P", "M", nil, prefix, uint64(i)); err != nil {
			return err
		}
	}
	_, res := x.rec.lastExchange()
	if res == nil {
		return failf("reply frame not recorded")
	}
	pushes := 0
	for _, f := range x.rec.inFrames(0) {
		if f == res {
			break
		}
		if f.isPush() {
			pushes++
		}
	}
	if pushes != 3 {
		return failf("%d push frames before the reply frame, want 3", pushes)
	}
	return nil
}

func casePushToClosedConnection(t *T) error {
	ch := make(chan *protocol.Message, 1024)
	x := t.bxclient("Push", t.option(protocol.MsgPack), ch)
	var r services.PushReply
	// Background pushes every 5 ms, far more than will be read.
	if err := x.Call(t.ctx(), "Start", &services.PushArgs{Path: "P", Method: "Tick", Count: 100000, IntervalMs: 5}, &r); err != nil {
		return failf("Push.Start: %v", err)
	}
	for i := 0; i < 3; i++ {
		m, err := recvPush(ch, 5*time.Second)
		if err != nil {
			return err
		}
		if err := checkPush(m, "P", "Tick", nil, nil, uint64(i)); err != nil {
			return err
		}
	}
	remote := x.rec.conn(0)
	// The client goes away while the server keeps pushing.
	_ = x.Close()
	// The client sees its close event: rpcx injects a message with status
	// Error and metadata "server" on the channel.
	deadline := time.After(5 * time.Second)
	sawClose := false
	for !sawClose {
		select {
		case m := <-ch:
			if m.MessageStatusType() == protocol.Error {
				if m.Metadata["server"] == "" {
					return failf("close event without \"server\" metadata: %v", m.Metadata)
				}
				sawClose = true
			}
		case <-deadline:
			return failf("no close event on the push channel within 5 s")
		}
	}
	select {
	case <-remote.closed:
	case <-time.After(time.Second):
		return failf("connection not closed")
	}
	// The server keeps serving others while its pushes to the gone
	// connection fail.
	time.Sleep(100 * time.Millisecond)
	y := t.xclient("Arith", t.option(protocol.MsgPack))
	var a services.ArithReply
	if err := y.Call(t.ctx(), "Mul", &services.ArithArgs{A: 3, B: 3}, &a); err != nil || a.C != 9 {
		return failf("server not serving after pushing to a closed connection: %v", err)
	}
	return nil
}

func casePushBroadcast(t *T) error {
	const clients = 3
	chs := make([]chan *protocol.Message, clients)
	xs := make([]*xc, clients)
	for i := range xs {
		chs[i] = make(chan *protocol.Message, 16)
		xs[i] = t.bxclient("Push", t.option(protocol.MsgPack), chs[i])
		// Connect each one.
		if err := xs[i].Call(t.ctx(), "Start", &services.PushArgs{Count: 0}, &services.PushReply{}); err != nil {
			return failf("client %d: Push.Start(0): %v", i, err)
		}
	}
	var r services.PushReply
	prefix := []byte("all")
	err := xs[0].Call(t.ctx(), "Broadcast", &services.PushArgs{Path: "B", Method: "Cast", Payload: prefix, Count: 1}, &r)
	if err != nil && err.Error() == "rpcx: can't find method Broadcast" {
		return skip("the server has no Push.Broadcast (the Go server peer has no broadcast; rpcx has no broadcast API)")
	}
	if err != nil {
		return failf("Push.Broadcast: %v", err)
	}
	if r.Sent < clients {
		return failf("Push.Broadcast reply Sent = %d, want >= %d connections", r.Sent, clients)
	}
	for i, ch := range chs {
		m, err := recvPush(ch, 5*time.Second)
		if err != nil {
			return failf("client %d: %v", i, err)
		}
		if err := checkPush(m, "B", "Cast", nil, prefix, 0); err != nil {
			return failf("client %d: %v", i, err)
		}
	}
	return nil
}
