package main

// codec-protobuf.json: request frames whose payload is a protobuf message encoded by rpcx's
// PBCodec (SerializeType 2). Cases live in internal/values/pb.go.

import (
	"fmt"
	"reflect"

	"github.com/smallnest/rpcx/protocol"
	"google.golang.org/protobuf/proto"

	"github.com/rpcx-node/interop/internal/values"
)

func init() {
	register("codec-protobuf.json", func() ([]Vector, error) {
		// rpcx-benchmark's filled BenchmarkMessage is documented as a 581-byte message: that is
		// the protobuf payload (args.MarshalTo), not the rpcx frame around it.
		if n := proto.Size(values.BenchmarkMessage()); n != 581 {
			return nil, fmt.Errorf("BenchmarkMessage marshals to %d bytes, want 581", n)
		}
		return caseVectors(values.ProtobufVectorCases, protocol.ProtoBuffer)
	})
}

// caseVectors builds one codec vector per named case (cmd/vectors sorts them by name).
func caseVectors(names []string, st protocol.SerializeType) ([]Vector, error) {
	byName := map[string]values.Case{}
	for _, c := range values.All() {
		byName[c.Name] = c
	}
	out := make([]Vector, 0, len(names))
	for _, name := range names {
		c, ok := byName[name]
		if !ok {
			return nil, fmt.Errorf("case %q is not registered", name)
		}
		v, err := codecVector(c, st)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		// Go's proto.Marshal and thrift's generated Write both range over Go maps.
		if st != protocol.MsgPack && hasMultiMap(reflect.ValueOf(c.Value)) {
			v.Volatile = append(v.Volatile, "payload")
			v.Note = "map with more than one entry: Go writes map entries in Go map order, random per encode; payload bytes vary (length does not)"
		}
		out = append(out, v)
	}
	return out, nil
}
