package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/smallnest/rpcx/client"
	"github.com/smallnest/rpcx/protocol"

	"github.com/rpcx-node/interop/internal/services"
)

func init() {
	register(
		caseDef{name: "oneway", run: caseOneway},
		caseDef{name: "heartbeat_keeps_idle_alive", needs: "server read timeout; pass it as -read-timeout (e.g. server -read-timeout 1s, client -read-timeout 1s)", run: caseHeartbeatKeepsIdleAlive},
		caseDef{name: "heartbeat_echo_exact", run: caseHeartbeatEchoExact},
		caseDef{name: "deadline_propagation", run: caseDeadlinePropagation},
		caseDef{name: "timeout_on_sleeping_server", run: caseTimeoutOnSleepingServer},
		caseDef{name: "concurrent_out_of_order", run: caseConcurrentOutOfOrder},
	)
}

func caseOneway(t *T) error {
	x := t.xclient("Echo", t.option(protocol.MsgPack))
	key := fmt.Sprintf("oneway-%d", time.Now().UnixNano())
	ctx := t.ctx()
	if err := x.Oneshot(ctx, "Count", &services.CountArgs{Key: key}); err != nil {
		return failf("Oneshot Echo.Count: %v", err)
	}
	// The handler ran: a later call sees the counter (the oneway request may
	// still be in flight on the server, so poll briefly).
	var n int64
	ok := waitFor(3*time.Second, func() bool {
		var r services.CountReply
		if err := x.Call(ctx, "GetCount", &services.CountArgs{Key: key}, &r); err != nil {
			return false
		}
		n = r.Count
		return n == 1
	})
	if !ok {
		return failf("Echo.GetCount after the oneway Count = %d, want 1", n)
	}
	// No reply was written for the oneway request.
	time.Sleep(200 * time.Millisecond)
	var ow *frame
	for _, f := range x.rec.outFrames(0) {
		if f.isOneway() && f.method == "Count" {
			ow = f
		}
	}
	if ow == nil {
		return failf("no oneway Echo.Count request frame recorded")
	}
	for _, f := range x.rec.inFrames(0) {
		if f.seq == ow.seq && !f.isPush() {
			return failf("the server answered the oneway request (seq %d, byte2 %#02x)", f.seq, f.flags)
		}
	}
	// A oneway call with an error (unknown method) gets no reply either.
	if err := x.Oneshot(ctx, "NoSuchMethod", &services.Empty{}); err != nil {
		return failf("Oneshot Echo.NoSuchMethod: %v", err)
	}
	var r services.CountReply
	if err := x.Call(ctx, "GetCount", &services.CountArgs{Key: key}, &r); err != nil || r.Count != 1 {
		return failf("GetCount after oneway error: %v (count %d)", err, r.Count)
	}
	time.Sleep(100 * time.Millisecond)
	outs := x.rec.outFrames(0)
	for _, o := range outs {
		if !o.isOneway() {
			continue
		}
		for _, f := range x.rec.inFrames(0) {
			if f.seq == o.seq {
				return failf("reply to oneway %s.%s (seq %d)", o.path, o.method, o.seq)
			}
		}
	}
	if x.rec.numConns() != 1 {
		return failf("%d connections used, want 1", x.rec.numConns())
	}
	return nil
}

func caseHeartbeatKeepsIdleAlive(t *T) error {
	rt := t.e.readTimeout
	if rt <= 0 {
		return skip("needs the server's read timeout: start the server with -read-timeout 1s and pass -read-timeout 1s")
	}
	idle := 3 * rt
	if idle < 2*time.Second {
		idle = 2 * time.Second
	}
	// Control: without heartbeats the server closes the idle connection.
	ctrl := t.xclient("Arith", t.option(protocol.MsgPack))
	// Heartbeats at a third of the read timeout.
	opt := t.option(protocol.MsgPack)
	opt.Heartbeat = true
	opt.HeartbeatInterval = rt / 3
	opt.MaxWaitForHeartbeat = 2 * rt
	hb := t.xclient("Arith", opt)
	ctx := t.ctx()
	for _, x := range []*xc{ctrl, hb} {
		var r services.ArithReply
		if err := x.Call(ctx, "Mul", &services.ArithArgs{A: 6, B: 7}, &r); err != nil || r.C != 42 {
			return failf("first call: %v", err)
		}
	}
	time.Sleep(idle)
	// Control connection: closed by the server.
	select {
	case <-ctrl.rec.conn(0).closed:
	default:
		return failf("control connection without heartbeats is still open after %s idle: is the server's read timeout really %s?", idle, rt)
	}
	// Heartbeat connection: still the same and open.
	select {
	case <-hb.rec.conn(0).closed:
		return failf("connection with heartbeats every %s was closed after idling %s", opt.HeartbeatInterval, idle)
	default:
	}
	var r services.ArithReply
	if err := hb.Call(ctx, "Mul", &services.ArithArgs{A: 7, B: 8}, &r); err != nil || r.C != 56 {
		return failf("call after idling: %v", err)
	}
	if hb.rec.numConns() != 1 {
		return failf("heartbeat client reconnected (%d connections)", hb.rec.numConns())
	}
	// The heartbeats were answered as echoes.
	outs, ins := hb.rec.outFrames(0), hb.rec.inFrames(0)
	sent := 0
	for _, o := range outs {
		if !o.isHeartbeat() {
			continue
		}
		sent++
		var echo *frame
		for _, f := range ins {
			if f.seq == o.seq {
				echo = f
			}
		}
		if echo == nil {
			continue // possibly still in flight
		}
		want := append([]byte(nil), o.raw...)
		want[2] |= 0x80
		if !bytes.Equal(echo.raw, want) {
			return failf("heartbeat reply % x, want % x", echo.raw, want)
		}
	}
	t.set("heartbeats", sent)
	if sent < 2 {
		return failf("only %d heartbeats sent in %s", sent, idle)
	}
	return nil
}

func caseHeartbeatEchoExact(t *T) error {
	conn, err := t.rawDial()
	if err != nil {
		return failf("dial: %v", err)
	}
	payload := make([]byte, 9)
	payload[0] = 0xd3
	binary.BigEndian.PutUint64(payload[1:], uint64(time.Now().UnixNano()))
	for _, c := range []struct {
		name  string
		flags byte
		st    protocol.SerializeType
		seq   uint64
		meta  map[string]string
		path  string
		body  []byte
	}{
		{"rpcx client heartbeat", 0x40, protocol.MsgPack, 0, nil, "", payload},
		{"oneway heartbeat", 0x60, protocol.MsgPack, 1, nil, "", payload},
		{"heartbeat with metadata, path and seq > 2^53", 0x40, protocol.MsgPack, 1<<60 + 12345, map[string]string{"k": "v"}, "Arith", payload},
		{"heartbeat with JSON, status bits and empty payload", 0x41, protocol.JSON, 7, nil, "", nil},
	} {
		req := encodeFrame(c.flags, c.st, c.seq, c.path, "", c.meta, c.body)
		if _, err := conn.Write(req); err != nil {
			return failf("%s: write: %v", c.name, err)
		}
		res, err := readFrame(conn, time.Now().Add(5*time.Second))
		if err != nil {
			return failf("%s: no reply: %v", c.name, err)
		}
		want := append([]byte(nil), req...)
		want[2] |= 0x80
		if !bytes.Equal(res.raw, want) {
			return failf("%s: reply\n% x\nwant\n% x", c.name, res.raw, want)
		}
	}
	return nil
}

func caseDeadlinePropagation(t *T) error {
	x := t.xclient("Echo", t.option(protocol.MsgPack))
	// With a ctx deadline, XClient sends __ServerTimeout and the handler
	// sees a deadline.
	const budget = 3 * time.Second
	var r services.SleepReply
	if err := x.Call(t.ctxTimeout(budget), "Sleep", &services.SleepArgs{Ms: 1}, &r); err != nil {
		return failf("Echo.Sleep(1ms) with a %s deadline: %v", budget, err)
	}
	req, _, err := checkExchange(x, protocol.MsgPack)
	if err != nil {
		return err
	}
	st := req.meta["__ServerTimeout"]
	ms, perr := strconv.ParseInt(st, 10, 64)
	if perr != nil || ms <= 0 || ms > budget.Milliseconds() {
		return failf("request __ServerTimeout = %q, want decimal ms in (0, %d]", st, budget.Milliseconds())
	}
	if !r.HasDeadline {
		return failf("handler saw no deadline (request __ServerTimeout=%s)", st)
	}
	if r.RemainingMs <= 0 || r.RemainingMs > ms {
		return failf("handler's remaining time %d ms, want in (0, %d]", r.RemainingMs, ms)
	}
	t.set("server_timeout_ms", ms)
	t.set("handler_remaining_ms", r.RemainingMs)
	// Without a deadline: no __ServerTimeout, no handler deadline.
	r = services.SleepReply{}
	if err := x.Call(t.ctx(), "Sleep", &services.SleepArgs{Ms: 1}, &r); err != nil {
		return failf("Echo.Sleep without deadline: %v", err)
	}
	req, _, _ = checkExchange(x, protocol.MsgPack)
	if _, ok := req.meta["__ServerTimeout"]; ok {
		return failf("__ServerTimeout sent without a ctx deadline")
	}
	if r.HasDeadline {
		return failf("handler saw a deadline (%d ms) although none was sent", r.RemainingMs)
	}
	// The server enforces the deadline: __ServerTimeout=300 (set by hand,
	// no client-side deadline) ends a 5 s sleep early with an error.
	ctx, _ := metaCtx(t.ctx(), map[string]string{"__ServerTimeout": "300"})
	start := time.Now()
	r = services.SleepReply{}
	err = x.Call(ctx, "Sleep", &services.SleepArgs{Ms: 5000}, &r)
	el := time.Since(start)
	if err == nil {
		return failf("Echo.Sleep(5s) with __ServerTimeout=300 succeeded after %s; the handler's deadline was not enforced", el)
	}
	if !isServiceError(err) {
		return failf("Echo.Sleep(5s) with __ServerTimeout=300: %v (%T), want a service error", err, err)
	}
	if el < 250*time.Millisecond || el > 2*time.Second {
		return failf("the server aborted the handler after %s, want about 300 ms", el)
	}
	t.set("server_deadline_error", err.Error())
	t.set("server_deadline_ms", el.Milliseconds())
	return nil
}

func caseTimeoutOnSleepingServer(t *T) error {
	x := t.xclient("Echo", t.option(protocol.MsgPack))
	ctx := t.ctx()
	var r services.SleepReply
	if err := x.Call(ctx, "Sleep", &services.SleepArgs{Ms: 1}, &r); err != nil {
		return failf("warm-up: %v", err)
	}
	const timeout = 500 * time.Millisecond
	tctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	err := x.Call(tctx, "Sleep", &services.SleepArgs{Ms: 3000}, &r)
	el := time.Since(start)
	// Either the client's own timer fires (context.DeadlineExceeded), or the
	// server, which got the deadline as __ServerTimeout, aborts the handler
	// a little earlier and replies with an error: both are a timeout.
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		t.set("timed_out_by", "client")
	case isServiceError(err):
		t.set("timed_out_by", "server")
		t.set("server_error", err.Error())
	default:
		return failf("Echo.Sleep(3s) with a %s timeout: got %v (%T), want context.DeadlineExceeded or the server's deadline error", timeout, err, err)
	}
	if el > timeout*3/2 {
		return failf("timeout reported after %s, want <= %s", el, timeout*3/2)
	}
	t.set("elapsed_ms", el.Milliseconds())
	// The late reply is dropped and the connection stays usable.
	var m services.CountReply
	if err := x.Call(ctx, "GetCount", &services.CountArgs{Key: "timeout"}, &m); err != nil {
		return failf("call after the timeout: %v", err)
	}
	if x.rec.numConns() != 1 {
		return failf("%d connections used, want 1", x.rec.numConns())
	}
	return nil
}

func caseConcurrentOutOfOrder(t *T) error {
	const n = 1000
	x := t.xclient("Echo", t.option(protocol.MsgPack))
	ctx := t.ctx()
	// Open the connection first so all calls share it.
	if err := x.Call(ctx, "GetCount", &services.CountArgs{Key: "x"}, &services.CountReply{}); err != nil {
		return failf("warm-up: %v", err)
	}
	done := make(chan *client.Call, n)
	type pending struct {
		sleepMs int
		id      int
	}
	calls := map[*client.Call]pending{}
	for i := 0; i < n; i++ {
		var (
			c   *client.Call
			err error
			p   pending
		)
		if i%2 == 0 {
			// Earlier calls sleep longer, so their replies come later.
			p.sleepMs = 200 - (i%100)*2
			c, err = x.Go(ctx, "Sleep", &services.SleepArgs{Ms: p.sleepMs}, &services.SleepReply{}, done)
		} else {
			// Immediate replies identified by their content.
			p.id = i
			c, err = x.Go(ctx, "Object", &services.Object{Int: i, String: "call-" + strconv.Itoa(i)}, &services.Object{}, done)
		}
		if err != nil {
			return failf("Go #%d: %v", i, err)
		}
		calls[c] = p
	}
	for got := 0; got < n; got++ {
		var c *client.Call
		select {
		case c = <-done:
		case <-time.After(20 * time.Second):
			return failf("only %d of %d replies within 20 s", got, n)
		}
		p, ok := calls[c]
		if !ok {
			return failf("unknown call completed")
		}
		if c.Error != nil {
			return failf("%s.%s: %v", c.ServicePath, c.ServiceMethod, c.Error)
		}
		switch reply := c.Reply.(type) {
		case *services.SleepReply:
			if reply.SleptMs < int64(p.sleepMs) || reply.Cancelled {
				return failf("Echo.Sleep(%d): reply %+v belongs to another call", p.sleepMs, *reply)
			}
		case *services.Object:
			if reply.Int != p.id || reply.String != "call-"+strconv.Itoa(p.id) {
				return failf("Echo.Object #%d: got reply of #%d (%q)", p.id, reply.Int, reply.String)
			}
		}
		delete(calls, c)
	}
	// All on one connection, and replies out of request order.
	if x.rec.numConns() != 1 {
		return failf("connections used: %d, want 1", x.rec.numConns())
	}
	if err := x.rec.parseErr(0); err != nil {
		return err
	}
	inversions := 0
	var last uint64
	for i, f := range x.rec.inFrames(0) {
		if i > 0 && f.seq < last {
			inversions++
		}
		last = f.seq
	}
	t.set("inversions", inversions)
	if inversions == 0 {
		return failf("replies came back in request order; want out of order")
	}
	return nil
}
