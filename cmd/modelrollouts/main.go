// Command modelrollouts is the Pulumi program's entry point (Pulumi.yaml
// points here); the program itself is package infra.
package main

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/modelrollouts/modelrollouts/infra"
)

func main() { pulumi.Run(infra.Program) }
