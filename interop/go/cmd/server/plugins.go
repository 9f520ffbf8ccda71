package main

import (
	"context"
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smallnest/rpcx/protocol"
	"github.com/smallnest/rpcx/server"
)

// AuthRejectText is the error text of a rejected __AUTH token. rpcx has no
// built-in text: it sends whatever AuthFunc returns, then closes the
// connection.
const AuthRejectText = "invalid token"

func tokenAuth(token string) func(context.Context, *protocol.Message, string) error {
	return func(_ context.Context, _ *protocol.Message, got string) error {
		if got == token {
			return nil
		}
		return errors.New(AuthRejectText)
	}
}

// exitAfterPlugin kills the process right after the nth non-heartbeat
// request is read (PostReadRequest runs on the connection's reader
// goroutine, before auth and dispatch), so that request never gets a reply.
type exitAfterPlugin struct {
	n    uint64
	seen atomic.Uint64
}

func (p *exitAfterPlugin) PostReadRequest(_ context.Context, r *protocol.Message, e error) error {
	if e != nil || r == nil || r.IsHeartbeat() {
		return nil
	}
	if p.seen.Add(1) >= p.n {
		logf("exit-after: request %d (%s.%s) read, exiting with status 3", p.n, r.ServicePath, r.ServiceMethod)
		os.Exit(3)
	}
	return nil
}

// rateLimitPlugin is a server-wide token bucket. Over the limit it returns
// server.ErrReqReachLimit, which rpcx answers with the error
// "request reached rate limit" and keeps the connection open.
type rateLimitPlugin struct {
	mu     sync.Mutex
	rate   float64
	burst  float64
	tokens float64
	last   time.Time
}

func newRateLimitPlugin(rate float64) *rateLimitPlugin {
	burst := rate
	if burst < 1 {
		burst = 1
	}
	return &rateLimitPlugin{rate: rate, burst: burst, tokens: burst, last: time.Now()}
}

func (p *rateLimitPlugin) PostReadRequest(_ context.Context, r *protocol.Message, e error) error {
	if e != nil || r == nil || r.IsHeartbeat() {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	p.tokens += now.Sub(p.last).Seconds() * p.rate
	if p.tokens > p.burst {
		p.tokens = p.burst
	}
	p.last = now
	if p.tokens < 1 {
		return server.ErrReqReachLimit
	}
	p.tokens--
	return nil
}
