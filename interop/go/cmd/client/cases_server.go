package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smallnest/rpcx/client"
	"github.com/smallnest/rpcx/protocol"

	"github.com/rpcx-node/interop/internal/services"
)

func init() {
	register(
		caseDef{name: "auth_ok", needs: "server -auth TOKEN; client -auth TOKEN", run: caseAuthOK},
		caseDef{name: "auth_rejected_closes", needs: "server -auth TOKEN; client -auth TOKEN [-auth-error TEXT]", run: caseAuthRejected},
		caseDef{name: "graceful_shutdown_in_flight", needs: "the harness shuts the server down (SIGTERM) after the INFLIGHT line on stderr", run: caseGracefulShutdown},
		caseDef{name: "max_message_length", needs: "server -max-message-length N; client -max-message-length N", run: caseMaxMessageLength},
		caseDef{name: "garbage_bytes", run: caseGarbageBytes},
		caseDef{name: "unix_socket", needs: "-addr unix@PATH", run: caseUnixSocket},
		caseDef{name: "tls", needs: "TLS server; client -tls-ca FILE", run: caseTLS},
	)
}

func caseAuthOK(t *T) error {
	if t.e.auth == "" {
		return skip("needs -auth TOKEN (server started with -auth TOKEN)")
	}
	x := t.xclient("Arith", t.option(protocol.MsgPack))
	var r services.ArithReply
	for i := 1; i <= 3; i++ {
		if err := x.Call(t.ctx(), "Mul", &services.ArithArgs{A: i, B: 10}, &r); err != nil || r.C != 10*i {
			return failf("Arith.Mul with the right token: %v (C=%d)", err, r.C)
		}
	}
	req, _, err := checkExchange(x, protocol.MsgPack)
	if err != nil {
		return err
	}
	if req.meta["__AUTH"] != t.e.auth {
		return failf("request __AUTH = %q, want %q", req.meta["__AUTH"], t.e.auth)
	}
	if x.rec.numConns() != 1 {
		return failf("%d connections used, want 1", x.rec.numConns())
	}
	return nil
}

func caseAuthRejected(t *T) error {
	if t.e.auth == "" {
		return skip("needs -auth TOKEN (server started with -auth TOKEN)")
	}
	for _, wrong := range []string{t.e.auth + "-wrong", ""} {
		x := t.newXClient("Arith", t.option(protocol.MsgPack), nil, wrong)
		var r services.ArithReply
		err := x.Call(t.ctx(), "Mul", &services.ArithArgs{A: 2, B: 3}, &r)
		if e := expectServiceError(err, t.e.authError); e != nil {
			return failf("token %q: %v", wrong, e)
		}
		cr := x.rec.conn(0)
		select {
		case <-cr.closed:
		case <-time.After(3 * time.Second):
			return failf("token %q: the server did not close the connection after the auth error", wrong)
		}
	}
	// Others are unaffected.
	x := t.xclient("Arith", t.option(protocol.MsgPack))
	var r services.ArithReply
	if err := x.Call(t.ctx(), "Mul", &services.ArithArgs{A: 4, B: 5}, &r); err != nil || r.C != 20 {
		return failf("right token after rejections: %v", err)
	}
	return nil
}

// caseGracefulShutdown issues -inflight concurrent Echo.Sleep(-inflight-sleep)
// calls on one connection, prints "INFLIGHT graceful_shutdown_in_flight N"
// to stderr once all are written (the harness then stops the server), and
// reports how many got their reply.
func caseGracefulShutdown(t *T) error {
	n := t.e.inflight
	sleep := t.e.inflightSleep
	opt := t.option(protocol.MsgPack)
	if rt := t.e.readTimeout; rt > 0 && sleep >= rt/2 {
		// Keep the connection from idling into the server's read timeout.
		opt.Heartbeat = true
		opt.HeartbeatInterval = rt / 3
	}
	x := t.xclient("Echo", opt)
	ctx := t.ctx()
	if err := x.Call(ctx, "GetCount", &services.CountArgs{Key: "shutdown"}, &services.CountReply{}); err != nil {
		return failf("warm-up: %v", err)
	}
	done := make(chan *client.Call, n)
	for i := 0; i < n; i++ {
		if _, err := x.Go(ctx, "Sleep", &services.SleepArgs{Ms: int(sleep.Milliseconds())}, &services.SleepReply{}, done); err != nil {
			return failf("Go #%d: %v", i, err)
		}
	}
	if !waitFor(5*time.Second, func() bool {
		c := 0
		for _, f := range x.rec.outFrames(0) {
			if f.method == "Sleep" {
				c++
			}
		}
		return c == n
	}) {
		return failf("not all %d requests written", n)
	}
	fmt.Fprintf(t.e.stderr, "INFLIGHT graceful_shutdown_in_flight %d\n", n)
	ok := 0
	errs := map[string]int{}
	for i := 0; i < n; i++ {
		select {
		case c := <-done:
			if c.Error == nil {
				ok++
			} else {
				errs[c.Error.Error()]++
			}
		case <-time.After(sleep + 15*time.Second):
			return failf("%d of %d calls finished", i, n)
		}
	}
	t.set("succeeded", ok)
	t.set("total", n)
	if len(errs) > 0 {
		t.set("errors", errs)
		return failf("%d of %d in-flight calls failed: %v", n-ok, n, errs)
	}
	return nil
}

func caseMaxMessageLength(t *T) error {
	limit := t.e.maxMessageLength
	if limit <= 0 {
		return skip("needs -max-message-length N (server started with -max-message-length N)")
	}
	// Another connection, open before the oversize frame.
	other := t.xclient("Arith", t.option(protocol.MsgPack))
	var r services.ArithReply
	if err := other.Call(t.ctx(), "Mul", &services.ArithArgs{A: 2, B: 2}, &r); err != nil {
		return failf("other connection: %v", err)
	}
	x := t.xclient("Echo", t.option(protocol.SerializeNone))
	ctx := t.ctx()
	// A frame right at the limit passes: totalLen = 4+4 + 4+5 + 4+meta + 4+payload.
	overhead := 4 + len("Echo") + 4 + len("Bytes") + 4 + 4
	metaLen := 0
	if t.e.auth != "" {
		metaLen = 4 + len("__AUTH") + 4 + len(t.e.auth)
	}
	atLimit := limit - overhead - metaLen
	if atLimit > 0 && atLimit <= 8<<20 {
		p := randomBytes(atLimit, 1)
		if err := echoBytes(t, x, p); err != nil {
			return failf("frame with totalLen == limit (%d): %v", limit, err)
		}
		req, _, err := checkExchange(x, protocol.SerializeNone)
		if err != nil {
			return err
		}
		if got := len(req.raw) - 16; got != limit {
			return failf("setup: at-limit frame has totalLen %d, want %d", got, limit)
		}
	}
	// One byte more: the connection is closed without a reply.
	big := rawRequest(protocol.SerializeNone, "Echo", "Bytes", randomBytes(atLimit+1, 2))
	tctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, _, err := x.SendRaw(tctx, big)
	if err == nil {
		return failf("oversize frame (totalLen %d > %d) got a normal reply", limit+1, limit)
	}
	if isServiceError(err) {
		return failf("oversize frame got an error reply %q; want the connection closed without a reply", err)
	}
	if err == context.DeadlineExceeded {
		return failf("oversize frame: neither reply nor close within 5 s")
	}
	cr := x.rec.conn(-1)
	select {
	case <-cr.closed:
	case <-time.After(3 * time.Second):
		return failf("connection not closed after the oversize frame (call error %v)", err)
	}
	for _, f := range x.rec.inFrames(-1) {
		if f.seq == big.Seq() {
			return failf("a reply to the oversize frame was written")
		}
	}
	t.set("client_error", err.Error())
	// Others are unaffected.
	if err := other.Call(t.ctx(), "Mul", &services.ArithArgs{A: 3, B: 3}, &r); err != nil || r.C != 9 {
		return failf("other connection after the oversize frame: %v", err)
	}
	if other.rec.numConns() != 1 {
		return failf("the other connection was replaced (%d connections)", other.rec.numConns())
	}
	return nil
}

func caseGarbageBytes(t *T) error {
	// A connection that is in use by a normal client.
	other := t.xclient("Arith", t.option(protocol.MsgPack))
	var r services.ArithReply
	if err := other.Call(t.ctx(), "Mul", &services.ArithArgs{A: 2, B: 2}, &r); err != nil {
		return failf("other connection: %v", err)
	}
	rng := rand.New(rand.NewSource(7))
	for round := 0; round < 3; round++ {
		conn, err := t.rawDial()
		if err != nil {
			return failf("dial: %v", err)
		}
		garbage := make([]byte, 4096)
		rng.Read(garbage)
		garbage[0] = 0xff // never the 0x08 magic (nor an HTTP method)
		copy(garbage[100:], "\r\n\r\n")
		if _, err := conn.Write(garbage); err != nil {
			// Already closed by the server: fine.
			continue
		}
		got, closed, err := waitClosed(conn, 5*time.Second)
		if !closed {
			return failf("round %d: connection still open 5 s after garbage (read: %v)", round, err)
		}
		if bytes.HasPrefix(got, []byte{0x08}) {
			return failf("round %d: the server answered garbage with an rpcx frame (% x)", round, got[:min(len(got), 32)])
		}
	}
	// A wrong magic byte on a connection that already exchanged a valid
	// frame closes it too.
	conn, err := t.rawDial()
	if err != nil {
		return failf("dial: %v", err)
	}
	good := encodeFrame(0x40, protocol.MsgPack, 9, "", "", nil, []byte{0xd3, 0, 0, 0, 0, 0, 0, 0, 1})
	if _, err := conn.Write(good); err != nil {
		return failf("write: %v", err)
	}
	if _, err := readFrame(conn, time.Now().Add(5*time.Second)); err != nil {
		return failf("valid heartbeat not answered: %v", err)
	}
	bad := append([]byte{0x09}, good[1:]...)
	if _, err := conn.Write(bad); err != nil {
		return failf("write: %v", err)
	}
	if got, closed, err := waitClosed(conn, 5*time.Second); !closed {
		return failf("connection still open 5 s after a wrong magic byte (%v)", err)
	} else if len(got) > 0 {
		return failf("the server answered a wrong magic byte with % x", got[:min(len(got), 32)])
	}
	// The server keeps serving, on the old connection and on new ones.
	if err := other.Call(t.ctx(), "Mul", &services.ArithArgs{A: 3, B: 4}, &r); err != nil || r.C != 12 {
		return failf("old connection after garbage: %v", err)
	}
	y := t.xclient("Arith", t.option(protocol.MsgPack))
	if err := y.Call(t.ctx(), "Mul", &services.ArithArgs{A: 5, B: 4}, &r); err != nil || r.C != 20 {
		return failf("new connection after garbage: %v", err)
	}
	return nil
}

// basics runs a few calls of different kinds over the configured address.
func basics(t *T) error {
	var wg sync.WaitGroup
	var failed atomic.Value
	x := t.xclient("Arith", t.option(protocol.MsgPack))
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			var r services.ArithReply
			if err := x.Call(t.ctx(), "Mul", &services.ArithArgs{A: i, B: 3}, &r); err != nil || r.C != 3*i {
				failed.Store(fmt.Sprintf("Arith.Mul(%d,3): %v (C=%d)", i, err, r.C))
			}
		}(i)
	}
	wg.Wait()
	if f := failed.Load(); f != nil {
		return failf("%s", f)
	}
	y := t.xclient("Echo", t.option(protocol.SerializeNone))
	if err := echoBytes(t, y, randomBytes(100000, 3)); err != nil {
		return err
	}
	z := t.xclient("Echo", t.option(protocol.JSON))
	err := z.Call(t.ctx(), "Error", &services.ErrorArgs{Text: "over the transport"}, &services.Empty{})
	if e := expectServiceError(err, "over the transport"); e != nil {
		return e
	}
	ch := make(chan *protocol.Message, 4)
	p := t.bxclient("Push", t.option(protocol.MsgPack), ch)
	if err := p.Call(t.ctx(), "Start", &services.PushArgs{Path: "T", Method: "P", Count: 1}, &services.PushReply{}); err != nil {
		return failf("Push.Start: %v", err)
	}
	m, err := recvPush(ch, 5*time.Second)
	if err != nil {
		return err
	}
	return checkPush(m, "T", "P", nil, nil, 0)
}

func caseUnixSocket(t *T) error {
	if t.e.network != "unix" {
		return skip("needs -addr unix@PATH (server listening on a unix socket)")
	}
	return basics(t)
}

func caseTLS(t *T) error {
	if t.e.tlsConfig == nil {
		return skip("needs -tls-ca FILE (server started with a certificate signed by that CA)")
	}
	conn, err := t.rawDial()
	if err != nil {
		return failf("TLS dial: %v", err)
	}
	conn.Close()
	return basics(t)
}
