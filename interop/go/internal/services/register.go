package services

import (
	"github.com/smallnest/rpcx/server"
)

// Services are the registered receivers, for callers that want to look at
// their state (e.g. Echo counters) after registration.
type Services struct {
	Echo *Echo
	Push *Push
}

// Register registers every interop service on srv:
//
//	Arith       Mul, Add, Div         ArithArgs -> ArithReply (msgpack, JSON)
//	Echo        Bytes, Object, Metadata, Sleep, Error, Panic, Count, GetCount, Via
//	Push        Start, Burst, Stop
//	(+ the codec-specific services registered by registerExtra)
//
// and the raw handlers RawArith.Mul/Add/Div (same types as Arith, served
// through Server.AddHandler) and Echo.Via (shadows the service method).
func Register(srv *server.Server) (*Services, error) {
	s := &Services{Echo: NewEcho(), Push: NewPush(srv)}
	for name, rcvr := range map[string]any{
		"Arith": new(Arith),
		"Echo":  s.Echo,
		"Push":  s.Push,
	} {
		if err := srv.RegisterName(name, rcvr, ""); err != nil {
			return nil, err
		}
	}
	if err := registerExtra(srv); err != nil {
		return nil, err
	}
	registerHandlers(srv)
	return s, nil
}
