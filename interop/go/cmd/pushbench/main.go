// Command pushbench is the Go side of the push benchmark (bench/push.ts, issue 13): real rpcx
// v1.9.4 clients (client.NewClient + RegisterServerMessageChan, one per connection, with
// BidirectionalBlock so that no push is dropped and the server feels backpressure) ask the
// server for an endless stream of pushes (Push.Burst in the background: the server calls
// SendMessage in a loop) and count the pushes that arrive in a measured window.
//
// It prints one JSON object: pushes and bytes in the window, the window's length, and the
// first error if any. Run it with GOMAXPROCS=1, as the harness does.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smallnest/rpcx/client"
	"github.com/smallnest/rpcx/protocol"

	"github.com/rpcx-node/interop/internal/services"
)

type result struct {
	Pushes     int64  `json:"pushes"`
	Bytes      int64  `json:"bytes"`
	DurationNs int64  `json:"durationNs"`
	Conns      int    `json:"conns"`
	FirstError string `json:"firstError,omitempty"`
}

var verboseFlag = flag.Bool("v", false, "progress on stderr")

func verbose(format string, a ...any) {
	if *verboseFlag {
		fmt.Fprintf(os.Stderr, time.Now().Format("15:04:05.000 ")+format+"\n", a...)
	}
}

func main() {
	addr := flag.String("addr", "", "server network@host:port or host:port")
	conns := flag.Int("conns", 1, "connections (one client.Client each), each with its own push loop")
	size := flag.Int("size", 100, "push payload bytes (the server appends an 8-byte index to size-8 bytes)")
	warmup := flag.Duration("warmup", 500*time.Millisecond, "warm-up, not measured")
	duration := flag.Duration("duration", 2*time.Second, "measured window")
	flag.Parse()
	if *addr == "" || *size < 8 {
		fmt.Fprintln(os.Stderr, "usage: pushbench -addr host:port [-conns N] [-size B>=8] [-warmup D] [-duration D]")
		os.Exit(2)
	}
	network, address := "tcp", *addr
	if i := strings.Index(address, "@"); i >= 0 {
		network, address = address[:i], address[i+1:]
	}
	var pushes, bytes atomic.Int64
	var firstErr atomic.Value
	fail := func(err error) { firstErr.CompareAndSwap(nil, err.Error()) }
	// Connect every client first, then ask for all the push loops at once: a server busy pushing
	// on some connections (Go with GOMAXPROCS=1 preempts its push goroutines only every 10 ms)
	// would otherwise take seconds to read the next connection's request.
	clients := make([]*client.Client, 0, *conns)
	for i := 0; i < *conns; i++ {
		opt := client.DefaultOption
		opt.SerializeType = protocol.MsgPack
		opt.BidirectionalBlock = true
		c := client.NewClient(opt)
		if err := c.Connect(network, address); err != nil {
			fail(err)
			break
		}
		ch := make(chan *protocol.Message, 1024)
		c.RegisterServerMessageChan(ch)
		clients = append(clients, c)
		go func() {
			for m := range ch {
				if m.MessageStatusType() == protocol.Error {
					return // the connection closed
				}
				pushes.Add(1)
				bytes.Add(int64(len(m.Payload)))
			}
		}()
	}
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			args := &services.PushArgs{Path: "Bench", Method: "Push", Payload: make([]byte, *size-8), Count: 1 << 40}
			if err := c.Call(context.Background(), "Push", "Burst", args, &services.PushReply{}); err != nil {
				fail(err)
			}
		}()
	}
	wg.Wait()
	verbose("started %d push loops", *conns)
	time.Sleep(*warmup)
	p0, b0, t0 := pushes.Load(), bytes.Load(), time.Now()
	time.Sleep(*duration)
	p1, b1, t1 := pushes.Load(), bytes.Load(), time.Now()
	r := result{Pushes: p1 - p0, Bytes: b1 - b0, DurationNs: t1.Sub(t0).Nanoseconds(), Conns: len(clients)}
	if e := firstErr.Load(); e != nil {
		r.FirstError = e.(string)
	}
	// The result first: the harness kills the server, which ends the push loops.
	_ = json.NewEncoder(os.Stdout).Encode(r)
	verbose("measured")
	os.Exit(0)
}
