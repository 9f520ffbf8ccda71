package main

// codec-thrift.json: request frames whose payload is a thrift struct encoded by rpcx's
// ThriftCodec (SerializeType 4, TBinaryProtocol, no message envelope). Cases live in
// internal/values/thrift.go.

import (
	"github.com/smallnest/rpcx/protocol"

	"github.com/rpcx-node/interop/internal/values"
)

func init() {
	register("codec-thrift.json", func() ([]Vector, error) {
		return caseVectors(values.ThriftVectorCases, protocol.Thrift)
	})
}
