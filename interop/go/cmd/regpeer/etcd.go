package main

// etcd v3 for regpeer: rpcx-etcd v0.5.0's own register plugin and discovery,
// unchanged (serverplugin.EtcdV3RegisterPlugin, client.NewEtcdV3Discovery).

import (
	"os"
	"time"

	etcdclient "github.com/rpcxio/rpcx-etcd/client"
	"github.com/rpcxio/rpcx-etcd/serverplugin"
	"github.com/smallnest/rpcx/client"
	"github.com/smallnest/rpcx/server"
)

func init() {
	registries["etcd"] = registry{
		serverPlugin: func(hosts []string, basePath, serviceAddress string, updateInterval time.Duration) (server.Plugin, func() error, error) {
			p := &serverplugin.EtcdV3RegisterPlugin{
				ServiceAddress: serviceAddress,
				EtcdServers:    hosts,
				BasePath:       basePath,
				UpdateInterval: updateInterval,
			}
			if err := p.Start(); err != nil {
				return nil, nil, err
			}
			return p, p.Stop, nil
		},
		// allowKeyNotFound is true unless REGPEER_ETCD_ALLOW_KEY_NOT_FOUND=false:
		// with false (rpcx-examples' choice) the constructor fails while the
		// service has no key and an empty List is ignored, so the last server
		// of a service never disappears from a Go client (shared §7.2).
		discovery: func(hosts []string, basePath, servicePath string) (client.ServiceDiscovery, error) {
			allow := os.Getenv("REGPEER_ETCD_ALLOW_KEY_NOT_FOUND") != "false"
			return etcdclient.NewEtcdV3Discovery(basePath, servicePath, hosts, allow, nil)
		},
	}
}
