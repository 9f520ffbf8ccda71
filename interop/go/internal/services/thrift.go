package services

import (
	"context"

	"github.com/rpcx-node/interop/internal/thriftgen"
)

// ArithThrift is Arith with thrift structs (SerializeType Thrift).
type ArithThrift struct{}

// Mul sets C = A * B.
func (*ArithThrift) Mul(_ context.Context, args *thriftgen.ArithArgs_, reply *thriftgen.ArithReply) error {
	reply.C = args.A * args.B
	return nil
}

// Add sets C = A + B.
func (*ArithThrift) Add(_ context.Context, args *thriftgen.ArithArgs_, reply *thriftgen.ArithReply) error {
	reply.C = args.A + args.B
	return nil
}

// Div sets C = A / B; on B == 0 it sets C = -1 and fails with "divide by zero".
func (*ArithThrift) Div(_ context.Context, args *thriftgen.ArithArgs_, reply *thriftgen.ArithReply) error {
	if args.B == 0 {
		reply.C = DivByZeroMarker
		return ErrDivideByZero
	}
	reply.C = args.A / args.B
	return nil
}

// EchoThrift echoes thrift structs.
type EchoThrift struct{}

// AllTypes echoes a thriftgen.AllTypes.
func (*EchoThrift) AllTypes(_ context.Context, args *thriftgen.AllTypes, reply *thriftgen.AllTypes) error {
	*reply = *args
	return nil
}
