// Command streambench measures stream throughput as a Go rpcx client against a server with
// the stream service (the Go peer `server -stream`, or the TS bench server): bytes through
// XClient.Stream to the echo handler, and message-stream messages/s from Example.Endless. It
// prints one JSON line per run: {"mode":"bytes","size":16777216,"ms":...,"mbps":...,"cpuMs":...}
// (cpuMs: this process's user+system CPU time during the run, all threads, from getrusage).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"time"

	"github.com/smallnest/rpcx/client"
	rlog "github.com/smallnest/rpcx/log"
	"github.com/smallnest/rpcx/protocol"
	"github.com/smallnest/rpcx/share"

	"github.com/rpcx-node/interop/internal/streams"
)

func main() {
	addr := flag.String("addr", "", "server key tcp@host:port")
	mode := flag.String("mode", "bytes", "bytes | msgs")
	size := flag.Int("size", 16<<20, "bytes: bytes each way; msgs: message payload size")
	count := flag.Int("count", 100000, "msgs: messages")
	runs := flag.Int("runs", 3, "runs")
	readBuf := flag.Int("readbuf", 0, "bytes: read the echo with conn.Read into one reused buffer of this size (0: io.Copy(io.Discard, conn), which reads into a pooled 8 KiB buffer)")
	flag.Parse()
	rlog.SetDummyLogger()
	d, err := client.NewPeer2PeerDiscovery(*addr, "")
	if err != nil {
		fail(err)
	}
	opt := client.DefaultOption
	x := client.NewXClient(share.StreamServiceName, client.Failfast, client.RandomSelect, d, opt)
	defer x.Close()
	data := streams.Content(*size)
	enc := json.NewEncoder(os.Stdout)
	var buf []byte // allocated before timing, as the TS bench's onread buffer
	if *readBuf > 0 {
		buf = make([]byte, *readBuf)
	}
	for r := 0; r < *runs; r++ {
		cpu0 := cpuTime()
		start := time.Now()
		switch *mode {
		case "bytes":
			conn, err := x.Stream(context.Background(), nil)
			if err != nil {
				fail(err)
			}
			go func() {
				_, _ = conn.Write(data)
				_ = conn.(*net.TCPConn).CloseWrite()
			}()
			var n int64
			if *readBuf > 0 {
				for {
					k, rerr := conn.Read(buf)
					n += int64(k)
					if rerr != nil {
						if rerr != io.EOF {
							err = rerr
						}
						break
					}
				}
			} else {
				n, err = io.Copy(io.Discard, conn)
			}
			if err != nil || n != int64(len(data))+8 {
				fail(fmt.Errorf("echo: %d bytes, %v", n, err))
			}
			_ = conn.Close()
			el := time.Since(start)
			cpu := cpuTime() - cpu0
			_ = enc.Encode(map[string]any{"mode": "bytes", "size": *size, "ms": el.Seconds() * 1000, "mbps": float64(*size) / (1 << 20) / el.Seconds(), "cpuMs": cpu.Seconds() * 1000})
		case "msgs":
			c, err := streams.Open(context.Background(), x, "Example", "Endless", protocol.MsgPack, nil)
			if err != nil {
				fail(err)
			}
			if err := c.Send(&struct{ Count, Size int64 }{int64(*count), int64(*size)}); err != nil {
				fail(err)
			}
			_ = c.CloseSend()
			var p streams.Payload
			n := 0
			for {
				if err := c.Recv(&p); err != nil {
					if err == io.EOF {
						break
					}
					fail(err)
				}
				n++
			}
			_ = c.Close()
			if n != *count {
				fail(fmt.Errorf("got %d messages, want %d", n, *count))
			}
			el := time.Since(start)
			cpu := cpuTime() - cpu0
			_ = enc.Encode(map[string]any{"mode": "msgs", "size": *size, "count": *count, "ms": el.Seconds() * 1000, "msgsPerSec": float64(*count) / el.Seconds(), "cpuMs": cpu.Seconds() * 1000})
		}
	}
}

// cpuTime is the process's user+system CPU time so far (all threads).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "streambench:", err)
	os.Exit(1)
}
