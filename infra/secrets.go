package infra

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/config"
	"gopkg.in/yaml.v3"

	"github.com/modelrollouts/modelrollouts/stacks"
	"github.com/modelrollouts/modelrollouts/stacks/stackoutputs"
)

// LabPassphrase is the passphrase hack/lib/pulumi-env.sh gives a stack
// when PULUMI_CONFIG_PASSPHRASE is unset. It is public: good enough for a
// throwaway kind lab, as good as plaintext for anything else.
const LabPassphrase = stackoutputs.LabPassphrase

// refuseLabPassphrase stops an existing cluster's stack whose secrets are
// keyed with LabPassphrase (its encryptionsalt opens with it), before
// anything is registered: a registry password or kubeconfig put in such a
// stack could be read by anyone with the repository. The check is the
// salt itself, so it holds whatever the environment says and however the
// program was started; a stack with another secrets provider (a KMS, the
// Pulumi Cloud service) has no salt and passes.
func refuseLabPassphrase(cfg *stacks.Config, stackFile string) error {
	if cfg.Cluster.Type != stacks.ClusterExisting {
		return nil
	}
	data, err := os.ReadFile(stackFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // no settings file: no passphrase state to test
	}
	if err != nil {
		return err
	}
	var settings struct {
		SecretsProvider string `yaml:"secretsprovider"`
		EncryptionSalt  string `yaml:"encryptionsalt"`
	}
	if err := yaml.Unmarshal(data, &settings); err != nil {
		return fmt.Errorf("%s: %w", stackFile, err)
	}
	if settings.SecretsProvider != "" && settings.SecretsProvider != "passphrase" {
		return nil
	}
	if !saltOpensWith(settings.EncryptionSalt, LabPassphrase) {
		return nil
	}
	return fmt.Errorf("%s: cluster.type is %s, but this stack's secrets are encrypted with the lab's public passphrase %q "+
		"(hack/lib/pulumi-env.sh's default): set PULUMI_CONFIG_PASSPHRASE to a passphrase of your own and run "+
		"`pulumi stack change-secrets-provider passphrase`, or move the stack to a secrets provider "+
		"(`pulumi stack change-secrets-provider awskms://...|gcpkms://...|azurekeyvault://...|hashivault://...`); see docs/github.md",
		stackFile, stacks.ClusterExisting, LabPassphrase)
}

// saltOpensWith tells whether a passphrase stack's encryptionsalt
// ("v1:<salt>:<the word pulumi, encrypted>") was made with phrase, the way
// the Pulumi CLI checks a passphrase: with the SDK's own crypter.
func saltOpensWith(state, phrase string) bool {
	parts := strings.SplitN(state, ":", 3)
	if len(parts) != 3 || parts[0] != "v1" {
		return false
	}
	salt, err := base64.StdEncoding.DecodeString(parts[1])
	if err != nil {
		return false
	}
	got, err := config.NewSymmetricCrypterFromPassphrase(phrase, salt).DecryptValue(context.Background(), parts[2])
	return err == nil && got == "pulumi"
}
