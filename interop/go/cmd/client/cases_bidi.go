package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/smallnest/rpcx/protocol"
)

// Cases 78-80 (interop-cases.md): they need the TS-only demo services Session
// and KV (src/server/demo/bidi-services.ts) and skip when the server has none
// (the Go server peer).

func init() {
	register(
		caseDef{name: "server_calls_client", needs: "server service Session (TS server); skipped if absent", run: caseServerCallsClient},
		caseDef{name: "push_by_user", needs: "server service Session (TS server); skipped if absent", run: casePushByUser},
		caseDef{name: "watch_long_poll", needs: "server service KV (TS server); skipped if absent", run: caseWatchLongPoll},
	)
}

type userArgs struct{ User string }
type userReply struct{ User string }
type notifyArgs struct {
	User, Path, Method string
	Payload            []byte
}
type notifyReply struct{ Sent, Connections int }
type callMeArgs struct {
	Path, Method string
	Args         any
	TimeoutMs    int
}
type callMeReply struct {
	Reply       any
	Error, Code string
}
type kvArgs struct {
	Key, Value string
	Since      int
	TimeoutMs  int
}
type kvReply struct {
	Value   string
	Version int
	Changed bool
	N       int
}

func noService(err error, name string) bool {
	return err != nil && err.Error() == "rpcx: can't find service "+name
}

// push_by_user: after Session.Login tags each connection with a user id,
// Session.Notify to a user reaches all and only that user's connections.
func casePushByUser(t *T) error {
	user := fmt.Sprintf("u%d", time.Now().UnixNano())
	other := user + "-other"
	names := []string{user, user, other, ""}
	chs := make([]chan *protocol.Message, len(names))
	xs := make([]*xc, len(names))
	for i, name := range names {
		chs[i] = make(chan *protocol.Message, 16)
		xs[i] = t.bxclient("Session", t.option(protocol.MsgPack), chs[i])
		var who userReply
		if err := xs[i].Call(t.ctx(), "Whoami", &userArgs{}, &who); err != nil {
			if noService(err, "Session") {
				return skip("the server has no Session service (TS demo only; Go programs keep their own map of connections)")
			}
			return failf("client %d: Session.Whoami: %v", i, err)
		}
		if who.User != "" {
			return failf("client %d: Whoami before login = %q, want empty", i, who.User)
		}
		if name == "" {
			continue
		}
		var r userReply
		if err := xs[i].Call(t.ctx(), "Login", &userArgs{User: name}, &r); err != nil {
			return failf("client %d: Session.Login: %v", i, err)
		}
		if err := xs[i].Call(t.ctx(), "Whoami", &userArgs{}, &who); err != nil || who.User != name {
			return failf("client %d: Whoami after login = %q, %v; want %q", i, who.User, err, name)
		}
	}
	var r notifyReply
	if err := xs[3].Call(t.ctx(), "Notify", &notifyArgs{User: user, Path: "Note", Method: "Hello", Payload: []byte("for " + user)}, &r); err != nil {
		return failf("Session.Notify: %v", err)
	}
	if r.Sent != 2 || r.Connections != 2 {
		return failf("Notify %s: Sent %d Connections %d, want 2 and 2", user, r.Sent, r.Connections)
	}
	// Then one to the other user: its first push must be its own (nothing of user's came first).
	if err := xs[3].Call(t.ctx(), "Notify", &notifyArgs{User: other, Path: "Note", Method: "Hello", Payload: []byte("for " + other)}, &r); err != nil || r.Sent != 1 {
		return failf("Session.Notify %s: Sent %d, %v; want 1", other, r.Sent, err)
	}
	want := []string{user, user, other}
	for i, w := range want {
		m, err := recvPush(chs[i], 5*time.Second)
		if err != nil {
			return failf("client %d (%s): %v", i, w, err)
		}
		if !m.IsOneway() || m.MessageType() != protocol.Request || m.ServicePath != "Note" || m.ServiceMethod != "Hello" {
			return failf("client %d: push %s.%s oneway %v, want Note.Hello oneway", i, m.ServicePath, m.ServiceMethod, m.IsOneway())
		}
		if string(m.Payload) != "for "+w || m.Metadata["user"] != w {
			return failf("client %d: push %q meta %v, want %q for user %s", i, m.Payload, m.Metadata, "for "+w, w)
		}
	}
	// Only: the first two got nothing more, the anonymous one nothing at all. A
	// Whoami round trip on each orders any stray push before its reply.
	for i := range xs {
		var who userReply
		if err := xs[i].Call(t.ctx(), "Whoami", &userArgs{}, &who); err != nil {
			return failf("client %d: Whoami: %v", i, err)
		}
		select {
		case m := <-chs[i]:
			return failf("client %d: unexpected push %q", i, m.Payload)
		default:
		}
	}
	// A closed connection leaves the user's set.
	_ = xs[0].Close()
	ok := waitFor(5*time.Second, func() bool {
		err := xs[3].Call(t.ctx(), "Notify", &notifyArgs{User: user, Path: "Note", Method: "Again"}, &r)
		return err == nil && r.Connections == 1
	})
	if !ok {
		return failf("after one of %s's connections closed: Connections %d, want 1", user, r.Connections)
	}
	t.set("users", 2)
	return nil
}

// server_calls_client: the TS server calls a handler "the client registered"
// (Session.CallMe calls back over the caller's connection). A Go client has no
// such handlers and cannot answer: Go's client hands only oneway requests to
// its push channel and matches every other frame to its own pending calls by
// seq; the server's seq (>= 2^63) matches none, so the frame is dropped. The
// checks: the frame arrives (Request, not oneway, seq >= 2^63, the path),
// nothing reaches the push channel, Go calls made meanwhile are unaffected,
// and the server's call ends with TIMEOUT.
func caseServerCallsClient(t *T) error {
	ch := make(chan *protocol.Message, 16)
	x := t.bxclient("Session", t.option(protocol.MsgPack), ch)
	var who userReply
	if err := x.Call(t.ctx(), "Whoami", &userArgs{}, &who); err != nil {
		if noService(err, "Session") {
			return skip("the server has no Session service (TS demo only; Go rpcx servers do not call clients)")
		}
		return failf("Session.Whoami: %v", err)
	}
	var r callMeReply
	done := make(chan error, 1)
	start := time.Now()
	go func() {
		done <- x.Call(t.ctx(), "CallMe", &callMeArgs{Path: "Calc", Method: "Double", Args: 21, TimeoutMs: 600}, &r)
	}()
	// Go calls while the server's call is pending: each gets its own reply.
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var w userReply
			if err := x.Call(context.Background(), "Whoami", &userArgs{}, &w); err != nil || w.User != "" {
				errs <- fmt.Errorf("Whoami during the server's call: %q, %v", w.User, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		return failf("%v", err)
	}
	if err := <-done; err != nil {
		return failf("Session.CallMe: %v", err)
	}
	elapsed := time.Since(start)
	if r.Code != "TIMEOUT" || r.Error == "" {
		return failf("the server's call to a Go client: code %q error %q, want TIMEOUT", r.Code, r.Error)
	}
	if elapsed < 550*time.Millisecond {
		return failf("CallMe returned after %s, before the server's 600 ms call timeout", elapsed)
	}
	var call *frame
	for _, f := range x.rec.inFrames(0) {
		if !f.isResponse() && !f.isHeartbeat() {
			call = f
		}
	}
	if call == nil {
		return failf("no request frame from the server recorded")
	}
	if call.isOneway() || call.seq < 1<<63 || call.path != "Calc" || call.method != "Double" {
		return failf("server call frame: oneway %v seq %d %s.%s, want not oneway, seq >= 2^63, Calc.Double", call.isOneway(), call.seq, call.path, call.method)
	}
	if call.meta[protocol.ServiceError] != "" || call.meta["__ServerTimeout"] != "600" {
		return failf("server call frame metadata %v, want __ServerTimeout=600", call.meta)
	}
	select {
	case m := <-ch:
		return failf("the server's call reached the push channel (%s.%s); Go's client passes only oneway requests", m.ServicePath, m.ServiceMethod)
	default:
	}
	if err := x.Call(t.ctx(), "Whoami", &userArgs{}, &who); err != nil {
		return failf("Whoami after the server's call: %v", err)
	}
	t.set("server_call_ms", elapsed.Milliseconds())
	return nil
}

// watch_long_poll: KV.Watch blocks until another client's KV.Set of the key
// (Go net/rpc's Watch), and returns Changed=false at its timeout.
func caseWatchLongPoll(t *T) error {
	watcher := t.xclient("KV", t.option(protocol.MsgPack))
	setter := t.xclient("KV", t.option(protocol.MsgPack))
	key := fmt.Sprintf("watch-%d", time.Now().UnixNano())
	var g kvReply
	if err := watcher.Call(t.ctx(), "Get", &kvArgs{Key: key}, &g); err != nil {
		if noService(err, "KV") {
			return skip("the server has no KV service (TS demo only)")
		}
		return failf("KV.Get: %v", err)
	}
	type res struct {
		r   kvReply
		err error
		at  time.Time
	}
	done := make(chan res, 1)
	go func() {
		var r kvReply
		err := watcher.Call(t.ctx(), "Watch", &kvArgs{Key: key, Since: g.Version, TimeoutMs: 10000}, &r)
		done <- res{r, err, time.Now()}
	}()
	// Wait until the watch is blocked on the server, then make sure it stays so.
	var w kvReply
	if !waitFor(5*time.Second, func() bool {
		return setter.Call(t.ctx(), "Waiters", &kvArgs{Key: key}, &w) == nil && w.N == 1
	}) {
		return failf("KV.Watch not seen blocked on the server (waiters %d)", w.N)
	}
	select {
	case r := <-done:
		return failf("KV.Watch returned before any Set: %+v %v", r.r, r.err)
	default:
	}
	setAt := time.Now()
	var s kvReply
	if err := setter.Call(t.ctx(), "Set", &kvArgs{Key: key, Value: "v1"}, &s); err != nil {
		return failf("KV.Set: %v", err)
	}
	var r res
	select {
	case r = <-done:
	case <-time.After(5 * time.Second):
		return failf("KV.Watch not released by Set within 5 s")
	}
	if r.err != nil || !r.r.Changed || r.r.Value != "v1" || r.r.Version != s.Version {
		return failf("KV.Watch = %+v, %v; want v1 version %d changed", r.r, r.err, s.Version)
	}
	if r.at.Before(setAt) {
		return failf("KV.Watch returned before the Set")
	}
	// Nothing changes: the watch times out with Changed=false.
	start := time.Now()
	var to kvReply
	if err := watcher.Call(t.ctx(), "Watch", &kvArgs{Key: key, Since: s.Version, TimeoutMs: 300}, &to); err != nil {
		return failf("KV.Watch (timeout): %v", err)
	}
	if to.Changed || to.Version != s.Version || time.Since(start) < 250*time.Millisecond {
		return failf("KV.Watch (timeout) = %+v after %s, want unchanged after ~300 ms", to, time.Since(start))
	}
	// The caller's deadline (__ServerTimeout) ends a watch as well.
	err := watcher.Call(t.ctxTimeout(300*time.Millisecond), "Watch", &kvArgs{Key: key, Since: s.Version, TimeoutMs: 30000}, &to)
	if err == nil {
		return failf("KV.Watch with a 300 ms ctx deadline succeeded")
	}
	if !waitFor(5*time.Second, func() bool {
		return setter.Call(t.ctx(), "Waiters", &kvArgs{Key: key}, &w) == nil && w.N == 0
	}) {
		return failf("the server still holds %d watchers after the caller's deadline", w.N)
	}
	return nil
}
