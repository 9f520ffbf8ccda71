package services

import (
	"context"

	"google.golang.org/protobuf/proto"

	"github.com/rpcx-node/interop/internal/pb"
)

// ArithPB is Arith with protobuf messages (SerializeType ProtoBuffer).
type ArithPB struct{}

// Mul sets C = A * B.
func (*ArithPB) Mul(_ context.Context, args *pb.ArithArgs, reply *pb.ArithReply) error {
	reply.C = args.A * args.B
	return nil
}

// Add sets C = A + B.
func (*ArithPB) Add(_ context.Context, args *pb.ArithArgs, reply *pb.ArithReply) error {
	reply.C = args.A + args.B
	return nil
}

// Div sets C = A / B; on B == 0 it sets C = -1 and fails with "divide by zero".
func (*ArithPB) Div(_ context.Context, args *pb.ArithArgs, reply *pb.ArithReply) error {
	if args.B == 0 {
		reply.C = DivByZeroMarker
		return ErrDivideByZero
	}
	reply.C = args.A / args.B
	return nil
}

// Bench is the rpcx-benchmark service.
type Bench struct{}

// Echo replies with the request, Field1 = "OK" and Field2 = 100, as the
// Go rpcx benchmark server does.
func (*Bench) Echo(_ context.Context, args *pb.BenchmarkMessage, reply *pb.BenchmarkMessage) error {
	args.Field1 = proto.String("OK")
	args.Field2 = proto.Int32(100)
	proto.Merge(reply, args)
	return nil
}

// EchoPB echoes protobuf messages.
type EchoPB struct{}

// AllTypes echoes a pb.AllTypes.
func (*EchoPB) AllTypes(_ context.Context, args *pb.AllTypes, reply *pb.AllTypes) error {
	proto.Merge(reply, args)
	return nil
}
