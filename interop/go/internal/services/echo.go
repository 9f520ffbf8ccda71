package services

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/smallnest/rpcx/share"
)

// Echo reflects what it receives, for codec, metadata, error and timeout
// tests.
type Echo struct {
	mu     sync.Mutex
	counts map[string]int64
}

// NewEcho returns an Echo with empty counters.
func NewEcho() *Echo { return &Echo{counts: make(map[string]int64)} }

// Bytes echoes a raw payload (SerializeNone; also works as msgpack/JSON bin).
func (*Echo) Bytes(_ context.Context, args *[]byte, reply *[]byte) error {
	*reply = *args
	return nil
}

// Object echoes an Object.
func (*Echo) Object(_ context.Context, args *Object, reply *Object) error {
	*reply = *args
	return nil
}

// Metadata copies every request metadata entry (including reserved keys
// such as __AUTH and __ServerTimeout) into the response metadata.
func (*Echo) Metadata(ctx context.Context, _ *Empty, _ *Empty) error {
	req, _ := ctx.Value(share.ReqMetaDataKey).(map[string]string)
	res, _ := ctx.Value(share.ResMetaDataKey).(map[string]string)
	if res == nil {
		return errors.New("no response metadata map in context")
	}
	for k, v := range req {
		res[k] = v
	}
	return nil
}

// Sleep waits args.Ms milliseconds or until ctx is done (then it returns
// ctx.Err(), e.g. "context deadline exceeded", with the reply as payload).
func (*Echo) Sleep(ctx context.Context, args *SleepArgs, reply *SleepReply) error {
	start := time.Now()
	if dl, ok := ctx.Deadline(); ok {
		reply.HasDeadline = true
		reply.RemainingMs = time.Until(dl).Milliseconds()
	}
	t := time.NewTimer(time.Duration(args.Ms) * time.Millisecond)
	defer t.Stop()
	select {
	case <-t.C:
		reply.SleptMs = time.Since(start).Milliseconds()
		return nil
	case <-ctx.Done():
		reply.SleptMs = time.Since(start).Milliseconds()
		reply.Cancelled = true
		return ctx.Err()
	}
}

// Error fails with args.Text verbatim.
func (*Echo) Error(_ context.Context, args *ErrorArgs, _ *Empty) error {
	return errors.New(args.Text)
}

// Panic panics with args.Text, or, when it is empty, with a nil pointer
// dereference (a runtime error), so tests see rpcx's recovered-panic reply:
// "[service internal error]: <value>, method: Panic, argv: &{Text:...}, stack: ...".
func (*Echo) Panic(_ context.Context, args *ErrorArgs, _ *Empty) error {
	if args.Text == "" {
		var p *ErrorArgs
		return errors.New(p.Text)
	}
	panic(args.Text)
}

// Count increments the counter args.Key and returns its new value. Call it
// oneway, then GetCount, to see that a oneway call ran.
func (e *Echo) Count(_ context.Context, args *CountArgs, reply *CountReply) error {
	e.mu.Lock()
	e.counts[args.Key]++
	reply.Count = e.counts[args.Key]
	e.mu.Unlock()
	return nil
}

// GetCount returns the counter args.Key.
func (e *Echo) GetCount(_ context.Context, args *CountArgs, reply *CountReply) error {
	e.mu.Lock()
	reply.Count = e.counts[args.Key]
	e.mu.Unlock()
	return nil
}

// Via answers "service". The raw handler registered for the same
// path/method (see Register) shadows it, because rpcx consults
// Server.AddHandler routes first; a reply of "service" means the lookup
// order changed.
func (*Echo) Via(_ context.Context, _ *Empty, reply *ViaReply) error {
	reply.Via = "service"
	return nil
}
