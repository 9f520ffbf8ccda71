package services

import (
	"github.com/smallnest/rpcx/server"
)

// registerExtra registers the protobuf and thrift services. rpcx decodes
// arguments with the request's codec into the method's Go type, so each
// codec that needs generated types gets its own service:
//
//	ArithPB     Mul, Add, Div   pb.ArithArgs -> pb.ArithReply          (protobuf)
//	ArithThrift Mul, Add, Div   thriftgen.ArithArgs_ -> thriftgen.ArithReply (thrift)
//	Bench       Echo            pb.BenchmarkMessage -> pb.BenchmarkMessage (protobuf)
//	EchoPB      AllTypes        pb.AllTypes -> pb.AllTypes              (protobuf)
//	EchoThrift  AllTypes        thriftgen.AllTypes -> thriftgen.AllTypes (thrift)
func registerExtra(srv *server.Server) error {
	for name, rcvr := range map[string]any{
		"ArithPB":     new(ArithPB),
		"ArithThrift": new(ArithThrift),
		"Bench":       new(Bench),
		"EchoPB":      new(EchoPB),
		"EchoThrift":  new(EchoThrift),
	} {
		if err := srv.RegisterName(name, rcvr, ""); err != nil {
			return err
		}
	}
	return nil
}
