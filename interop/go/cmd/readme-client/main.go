// An unchanged Go rpcx client calling Arith.Mul on `npm start`'s server (README.md).
package main

import (
	"context"
	"flag"
	"fmt"
	"log"

	"github.com/smallnest/rpcx/client"
)

type Args struct{ A, B int }

type Reply struct{ C int }

func main() {
	addr := flag.String("addr", "127.0.0.1:8972", "host:port of the rpcx server")
	flag.Parse()

	d, err := client.NewPeer2PeerDiscovery("tcp@"+*addr, "")
	if err != nil {
		log.Fatal(err)
	}
	xc := client.NewXClient("Arith", client.Failtry, client.RandomSelect, d, client.DefaultOption)
	defer xc.Close()

	reply := &Reply{}
	if err := xc.Call(context.Background(), "Mul", &Args{A: 10, B: 20}, reply); err != nil {
		log.Fatal(err)
	}
	fmt.Println("Arith.Mul:", reply.C) // Arith.Mul: 200
}
