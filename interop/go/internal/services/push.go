package services

import (
	"context"
	"encoding/binary"
	"errors"
	"log"
	"net"
	"sync"
	"time"

	"github.com/smallnest/rpcx/server"
)

// Push makes the server send messages to the calling connection with
// Server.SendMessage (Request + oneway + SerializeNone, server-wide seq).
// Each push payload is args.Payload followed by the 8-byte big-endian push
// index (0, 1, 2, ...).
type Push struct {
	srv *server.Server

	mu      sync.Mutex
	running map[net.Conn]map[*int]context.CancelFunc
}

// NewPush returns a Push bound to srv.
func NewPush(srv *server.Server) *Push {
	return &Push{srv: srv, running: make(map[net.Conn]map[*int]context.CancelFunc)}
}

// Start sends args.Count pushes, args.IntervalMs apart, in the background
// (reply Sent = 0) or, with BeforeReply, before replying (Sent = Count).
func (p *Push) Start(ctx context.Context, args *PushArgs, reply *PushReply) error {
	return p.start(ctx, args, time.Duration(args.IntervalMs)*time.Millisecond, reply)
}

// Burst is Start without any interval.
func (p *Push) Burst(ctx context.Context, args *PushArgs, reply *PushReply) error {
	return p.start(ctx, args, 0, reply)
}

// Stop cancels the background push loops of the calling connection.
func (p *Push) Stop(ctx context.Context, _ *Empty, reply *StopReply) error {
	conn, err := connOf(ctx)
	if err != nil {
		return err
	}
	p.mu.Lock()
	for _, cancel := range p.running[conn] {
		cancel()
		reply.Stopped++
	}
	delete(p.running, conn)
	p.mu.Unlock()
	return nil
}

func connOf(ctx context.Context) (net.Conn, error) {
	conn, ok := ctx.Value(server.RemoteConnContextKey).(net.Conn)
	if !ok || conn == nil {
		return nil, errors.New("no connection in context")
	}
	return conn, nil
}

func (p *Push) start(ctx context.Context, args *PushArgs, interval time.Duration, reply *PushReply) error {
	conn, err := connOf(ctx)
	if err != nil {
		return err
	}
	a := *args
	if a.BeforeReply {
		n, err := p.send(context.Background(), conn, &a, interval)
		reply.Sent = n
		return err
	}
	loopCtx, cancel := context.WithCancel(context.Background())
	key := new(int)
	p.mu.Lock()
	if p.running[conn] == nil {
		p.running[conn] = make(map[*int]context.CancelFunc)
	}
	p.running[conn][key] = cancel
	p.mu.Unlock()
	go func() {
		defer func() {
			cancel()
			p.mu.Lock()
			if m := p.running[conn]; m != nil {
				delete(m, key)
				if len(m) == 0 {
					delete(p.running, conn)
				}
			}
			p.mu.Unlock()
		}()
		if n, err := p.send(loopCtx, conn, &a, interval); err != nil {
			log.Printf("push to %s stopped after %d of %d: %v", conn.RemoteAddr(), n, a.Count, err)
		}
	}()
	return nil
}

// send writes the pushes and returns how many were written.
func (p *Push) send(ctx context.Context, conn net.Conn, a *PushArgs, interval time.Duration) (int, error) {
	for i := 0; i < a.Count; i++ {
		if i > 0 && interval > 0 {
			t := time.NewTimer(interval)
			select {
			case <-ctx.Done():
				t.Stop()
				return i, nil
			case <-t.C:
			}
		} else if ctx.Err() != nil {
			return i, nil
		}
		data := make([]byte, len(a.Payload)+8)
		copy(data, a.Payload)
		binary.BigEndian.PutUint64(data[len(a.Payload):], uint64(i))
		meta := make(map[string]string, len(a.Metadata))
		for k, v := range a.Metadata {
			meta[k] = v
		}
		if err := p.srv.SendMessage(conn, a.Path, a.Method, meta, data); err != nil {
			return i, err
		}
	}
	return a.Count, nil
}
