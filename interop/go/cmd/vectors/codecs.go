package main

import (
	"github.com/rpcx-node/interop/internal/values"
	"github.com/smallnest/rpcx/protocol"
)

func codecFile(st protocol.SerializeType) func() ([]Vector, error) {
	return func() ([]Vector, error) {
		var out []Vector
		for _, c := range values.All() {
			for _, s := range c.Codecs {
				if s != st {
					continue
				}
				v, err := codecVector(c, st)
				if err != nil {
					return nil, err
				}
				out = append(out, v)
			}
		}
		return out, nil
	}
}

func init() {
	register("codec-raw.json", codecFile(protocol.SerializeNone))
	register("codec-json.json", codecFile(protocol.JSON))
	register("codec-msgpack.json", codecFile(protocol.MsgPack))
}
