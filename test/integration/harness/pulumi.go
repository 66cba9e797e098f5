package harness

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// DefaultPassphrase encrypts stack secrets in test backends; override with
// PULUMI_CONFIG_PASSPHRASE in the environment.
const DefaultPassphrase = "modelrollouts-integration-tests"

// PulumiEnv returns the environment for the Pulumi CLI / Automation API
// (auto.EnvVars) with everything private to home (use t.TempDir()):
//
//	PULUMI_HOME        home/pulumi-home   (plugins, credentials: never ~/.pulumi)
//	PULUMI_BACKEND_URL file://home/backend (state + .pulumi/locks)
//	PULUMI_CONFIG_PASSPHRASE, PULUMI_SKIP_UPDATE_CHECK=true,
//	PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true (fail fast, never download),
//	PATH               provider dir, CLI dir, then the inherited PATH
//
// The engine prefers a plugin found on PATH, so the built provider is used
// whatever version the SDK asks for.
func (t Tools) PulumiEnv(home string) map[string]string {
	home, _ = filepath.Abs(home)
	pass := os.Getenv("PULUMI_CONFIG_PASSPHRASE")
	if pass == "" {
		pass = DefaultPassphrase
	}
	path := os.Getenv("PATH")
	for _, d := range []string{filepath.Dir(t.Pulumi), t.ProviderKubernetesDir} {
		if d != "" && d != "." {
			path = d + string(os.PathListSeparator) + path
		}
	}
	return map[string]string{
		"PULUMI_HOME":                                 filepath.Join(home, "pulumi-home"),
		"PULUMI_BACKEND_URL":                          "file://" + filepath.Join(home, "backend"),
		"PULUMI_CONFIG_PASSPHRASE":                    pass,
		"PULUMI_SKIP_UPDATE_CHECK":                    "true",
		"PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
		"PULUMI_SKIP_CONFIRMATIONS":                   "true",
		"PATH":                                        path,
	}
}

// PulumiEnv is Tools.PulumiEnv with tools from LoadTools; if they cannot be
// loaded the tool dirs are simply not added to PATH (callers should have
// skipped on LoadTools's error already).
func PulumiEnv(home string) map[string]string {
	t, _ := LoadTools()
	return t.PulumiEnv(home)
}

// EnvList turns an env map into os/exec form appended to os.Environ().
func EnvList(env map[string]string) []string {
	out := os.Environ()
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

// PreparePulumiHome creates the dirs in env (PULUMI_HOME, the file backend)
// and installs the built Kubernetes provider into PULUMI_HOME's plugin cache
// as resource-kubernetes-v<ProviderKubernetesVersion>, offline
// (`pulumi plugin install resource kubernetes <ver> --file <binary>`).
func (t Tools) PreparePulumiHome(ctx context.Context, env map[string]string) error {
	for _, d := range []string{env["PULUMI_HOME"], strings.TrimPrefix(env["PULUMI_BACKEND_URL"], "file://")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	cmd := exec.CommandContext(ctx, t.Pulumi, "plugin", "install", "resource", "kubernetes",
		t.ProviderKubernetesVersion, "--file", t.ProviderKubernetesBinary(), "--non-interactive")
	cmd.Env = EnvList(env)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("pulumi plugin install resource kubernetes %s --file %s: %v\n%s",
			t.ProviderKubernetesVersion, t.ProviderKubernetesBinary(), err, out)
	}
	return nil
}

// ClearStaleLocks removes stack locks left in a file backend by a killed run
// (.pulumi/locks/<org>/<project>/<stack>/<id>.json). backend is a directory
// or a file:// URL. A lock is kept only if its owner is provably alive: same
// host, the pid is a running "pulumi" process that started before the lock
// was written (pids are reused, and every hack/integration/in-netns.sh run has its own
// pid namespace). Returns the removed files.
func ClearStaleLocks(backend string) ([]string, error) {
	root := filepath.Join(strings.TrimPrefix(backend, "file://"), ".pulumi", "locks")
	host, _ := os.Hostname()
	var removed []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		if d.IsDir() || !strings.HasSuffix(path, ".json") {
			return nil
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		var lock struct {
			Pid       int       `json:"pid"`
			Hostname  string    `json:"hostname"`
			Timestamp time.Time `json:"timestamp"`
		}
		if json.Unmarshal(raw, &lock) == nil && lock.Hostname == host && pulumiAlive(lock.Pid, lock.Timestamp) {
			return nil
		}
		if err := os.Remove(path); err != nil {
			return err
		}
		// The file backend keeps blob attributes beside each lock.
		if err := os.Remove(path + ".attrs"); err != nil && !os.IsNotExist(err) {
			return err
		}
		removed = append(removed, path)
		return nil
	})
	return removed, err
}

// pulumiAlive: pid runs a pulumi binary that started no later than since.
func pulumiAlive(pid int, since time.Time) bool {
	if pid <= 0 {
		return false
	}
	comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	if err != nil || !strings.HasPrefix(strings.TrimSpace(string(comm)), "pulumi") {
		return false
	}
	start, ok := procStartTime(pid)
	return !ok || since.IsZero() || !start.After(since.Add(time.Second))
}

// procStartTime reads field 22 of /proc/pid/stat (clock ticks since boot).
func procStartTime(pid int) (time.Time, bool) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return time.Time{}, false
	}
	s := string(stat)
	i := strings.LastIndexByte(s, ')') // comm may contain spaces
	if i < 0 {
		return time.Time{}, false
	}
	fields := strings.Fields(s[i+1:]) // fields[0] is field 3 (state)
	if len(fields) < 20 {
		return time.Time{}, false
	}
	ticks, err := strconv.ParseInt(fields[19], 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	procStat, err := os.ReadFile("/proc/stat")
	if err != nil {
		return time.Time{}, false
	}
	for _, line := range strings.Split(string(procStat), "\n") {
		if v, ok := strings.CutPrefix(line, "btime "); ok {
			btime, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return time.Time{}, false
			}
			const clkTck = 100 // USER_HZ on Linux
			return time.Unix(btime, 0).Add(time.Duration(ticks) * time.Second / clkTck), true
		}
	}
	return time.Time{}, false
}
