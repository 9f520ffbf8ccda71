// Command protobench measures rpcx v1.9.4's protocol package (Message encode and decode) on
// the frames the TypeScript protocol benchmark (bench/protocol.ts) uses, so both run on the
// same bytes in the same invocation. With -frames it prints those frames as JSON and exits.
package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"testing"

	"github.com/rpcx-node/interop/internal/values"
	"github.com/smallnest/rpcx/protocol"
	"google.golang.org/protobuf/proto"
)

type result struct {
	Name          string  `json:"name"`
	FrameBytes    int     `json:"frameBytes"`
	EncodeNsPerOp float64 `json:"encodeNsPerOp"`
	DecodeNsPerOp float64 `json:"decodeNsPerOp"`
}

func frames() (map[string][]byte, error) {
	raw := protocol.NewMessage()
	raw.SetMessageType(protocol.Request)
	raw.SetSerializeType(protocol.SerializeNone)
	raw.SetSeq(1)
	raw.ServicePath = "Echo"
	raw.ServiceMethod = "Bytes"
	raw.Payload = bytes.Repeat([]byte("0123456789"), 10)

	pb, err := proto.Marshal(values.BenchmarkMessage())
	if err != nil {
		return nil, err
	}
	bm := protocol.NewMessage()
	bm.SetMessageType(protocol.Request)
	bm.SetSerializeType(protocol.ProtoBuffer)
	bm.SetSeq(1)
	bm.ServicePath = "Bench"
	bm.ServiceMethod = "Echo"
	bm.Payload = pb
	return map[string][]byte{"raw100": raw.Encode(), "benchmark581": bm.Encode()}, nil
}

func main() {
	printFrames := flag.Bool("frames", false, "print the frames as JSON {name: hex} and exit")
	flag.Parse()
	fs, err := frames()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if *printFrames {
		out := map[string]string{}
		for k, v := range fs {
			out[k] = hex.EncodeToString(v)
		}
		_ = json.NewEncoder(os.Stdout).Encode(out)
		return
	}
	var results []result
	for _, name := range []string{"raw100", "benchmark581"} {
		frame := fs[name]
		msg := protocol.NewMessage()
		if err := msg.Decode(bytes.NewReader(frame)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		enc := testing.Benchmark(func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				// as rpcx's client and server write: EncodeSlicePointer, then return the buffer
				data := msg.EncodeSlicePointer()
				protocol.PutData(data)
			}
		})
		dec := testing.Benchmark(func(b *testing.B) {
			r := bytes.NewReader(frame)
			for i := 0; i < b.N; i++ {
				r.Reset(frame)
				m := protocol.NewMessage() // rpcx's client decodes into a fresh message per frame
				if err := m.Decode(r); err != nil {
					b.Fatal(err)
				}
			}
		})
		results = append(results, result{name, len(frame), float64(enc.T.Nanoseconds()) / float64(enc.N), float64(dec.T.Nanoseconds()) / float64(dec.N)})
	}
	_ = json.NewEncoder(os.Stdout).Encode(results)
}
