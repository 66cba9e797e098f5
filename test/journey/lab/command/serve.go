package command

import (
	"fmt"
	"io"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
)

// Serve serves p on 127.0.0.1 and tells the engine its port on stdout, as
// a resource plugin must, then blocks until the engine stops it.
func Serve(p *Provider, stdout io.Writer) error {
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterResourceProviderServer(srv, plugin.NewProviderServer(p))
			return nil
		},
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d\n", handle.Port)
	return <-handle.Done
}
