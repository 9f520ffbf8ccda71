package services

import (
	"context"

	"github.com/smallnest/rpcx/server"
)

// registerHandlers adds the raw handlers (Server.AddHandler). rpcx looks
// them up before service methods.
func registerHandlers(srv *server.Server) {
	arith := new(Arith)
	for method, fn := range map[string]func(*ArithArgs, *ArithReply) error{
		"Mul": func(a *ArithArgs, r *ArithReply) error { return arith.Mul(context.Background(), a, r) },
		"Add": func(a *ArithArgs, r *ArithReply) error { return arith.Add(context.Background(), a, r) },
		"Div": func(a *ArithArgs, r *ArithReply) error { return arith.Div(context.Background(), a, r) },
	} {
		srv.AddHandler("RawArith", method, func(ctx *server.Context) error {
			var args ArithArgs
			if err := ctx.Bind(&args); err != nil {
				return err
			}
			var reply ArithReply
			if err := fn(&args, &reply); err != nil {
				// A raw handler error reply has no payload (unlike Arith.Div).
				return err
			}
			return ctx.Write(&reply)
		})
	}
	srv.AddHandler("Echo", "Via", func(ctx *server.Context) error {
		return ctx.Write(&ViaReply{Via: "handler"})
	})
}
