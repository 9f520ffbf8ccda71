package services

import (
	"context"
	"errors"
)

// ErrDivideByZero is returned by every Div method when B == 0.
var ErrDivideByZero = errors.New("divide by zero")

// DivByZeroMarker is the reply value set before Div fails, so the error
// response carries an encoded reply payload.
const DivByZeroMarker = -1

// Arith is the classic rpcx example service (msgpack, JSON).
type Arith struct{}

// Mul sets C = A * B.
func (*Arith) Mul(_ context.Context, args *ArithArgs, reply *ArithReply) error {
	reply.C = args.A * args.B
	return nil
}

// Add sets C = A + B.
func (*Arith) Add(_ context.Context, args *ArithArgs, reply *ArithReply) error {
	reply.C = args.A + args.B
	return nil
}

// Div sets C = A / B; on B == 0 it sets C = -1 and fails with "divide by zero".
func (*Arith) Div(_ context.Context, args *ArithArgs, reply *ArithReply) error {
	if args.B == 0 {
		reply.C = DivByZeroMarker
		return ErrDivideByZero
	}
	reply.C = args.A / args.B
	return nil
}
