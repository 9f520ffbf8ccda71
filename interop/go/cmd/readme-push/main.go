// A Go rpcx bidirectional client receiving pushes from `npm start`'s server (README.md).
package main

import (
	"context"
	"encoding/binary"
	"flag"
	"fmt"
	"log"
	"time"

	"github.com/smallnest/rpcx/client"
	"github.com/smallnest/rpcx/protocol"
)

// PushArgs asks the demo service Push for Count pushes to Path.Method, IntervalMs apart. Each
// push's payload is Payload followed by the push index as 8 big-endian bytes.
type PushArgs struct {
	Path       string
	Method     string
	Payload    []byte
	Count      int
	IntervalMs int
}

type PushReply struct{ Sent int }

func main() {
	addr := flag.String("addr", "127.0.0.1:8972", "host:port of the rpcx server")
	flag.Parse()

	d, err := client.NewPeer2PeerDiscovery("tcp@"+*addr, "")
	if err != nil {
		log.Fatal(err)
	}
	ch := make(chan *protocol.Message, 100)
	xc := client.NewBidirectionalXClient("Push", client.Failtry, client.RandomSelect, d, client.DefaultOption, ch)
	defer xc.Close()

	args := &PushArgs{Path: "news", Method: "tick", Payload: []byte("hello "), Count: 3, IntervalMs: 100}
	if err := xc.Call(context.Background(), "Start", args, &PushReply{}); err != nil {
		log.Fatal(err)
	}
	for range args.Count {
		select {
		case msg := <-ch:
			text, index := msg.Payload[:len(msg.Payload)-8], binary.BigEndian.Uint64(msg.Payload[len(msg.Payload)-8:])
			fmt.Printf("%s.%s: %s%d\n", msg.ServicePath, msg.ServiceMethod, text, index) // news.tick: hello 0
		case <-time.After(5 * time.Second):
			log.Fatal("no push within 5 s")
		}
	}
}
