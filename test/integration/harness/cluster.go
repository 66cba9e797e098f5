package harness

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

var startMu sync.Mutex

// Cluster is a running kwok cluster started by hack/integration/kwok-cluster.sh.
type Cluster struct {
	Dir        string         // cluster dir (removed by Stop)
	Kubeconfig string         // admin kubeconfig, server https://127.0.0.1:<port>
	PIDs       map[string]int // component name -> pid, from Dir/cluster.pids
	Kubectl    string         // kubectl binary matching the apiserver
	script     string
}

// ClusterOptions tunes StartClusterWith. Zero values mean the defaults.
type ClusterOptions struct {
	Nodes int       // fake nodes (default 2)
	Name  string    // kwok cluster name (default "modelrollouts")
	Log   io.Writer // where the script's stderr goes (default: kept, shown on error)
	// EnableCRDs are kwok's own kinds served as API resources (e.g. Logs,
	// which makes kwok serve a pod's logs from a file).
	EnableCRDs []string
}

// StartCluster starts a kwok cluster in dir (created if needed; use
// t.TempDir()). It refuses to run outside a loopback-only netns. The
// cluster has a Ready fake node per KWOK_NODES (default 2), the default
// ServiceAccount exists, and webhook admission is disabled.
func StartCluster(ctx context.Context, dir string) (*Cluster, error) {
	return StartClusterWith(ctx, dir, ClusterOptions{})
}

// StartClusterWith is StartCluster with options.
func StartClusterWith(ctx context.Context, dir string, opts ClusterOptions) (*Cluster, error) {
	if err := RequireLoopbackOnlyNetns(); err != nil {
		return nil, err
	}
	tools, err := LoadTools()
	if err != nil {
		return nil, err
	}
	script, err := hackScript("kwok-cluster.sh")
	if err != nil {
		return nil, err
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return nil, err
	}
	// kwokctl picks ports by probing, so two concurrent ups could collide.
	startMu.Lock()
	defer startMu.Unlock()
	c := &Cluster{Dir: dir, Kubectl: tools.Kubectl, script: script}
	cmd := exec.CommandContext(ctx, "bash", script, "up", dir)
	cmd.Env = os.Environ()
	if opts.Nodes > 0 {
		cmd.Env = append(cmd.Env, "KWOK_NODES="+strconv.Itoa(opts.Nodes))
	}
	if opts.Name != "" {
		cmd.Env = append(cmd.Env, "KWOK_CLUSTER_NAME="+opts.Name)
	}
	if len(opts.EnableCRDs) > 0 {
		cmd.Env = append(cmd.Env, "KWOK_ENABLE_CRDS="+strings.Join(opts.EnableCRDs, ","))
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if opts.Log != nil {
		cmd.Stderr = opts.Log
	}
	runErr := cmd.Run()
	c.PIDs, _ = readPIDs(filepath.Join(dir, "cluster.pids"))
	if runErr != nil {
		_ = c.Stop() // kill whatever half-started, by pid
		return nil, fmt.Errorf("hack/integration/kwok-cluster.sh up %s: %v\n%s", dir, runErr, stderr.String())
	}
	c.Kubeconfig = filepath.Join(dir, "kubeconfig")
	if _, err := os.Stat(c.Kubeconfig); err != nil {
		_ = c.Stop()
		return nil, fmt.Errorf("cluster started but %s is missing: %v", c.Kubeconfig, err)
	}
	return c, nil
}

// Env returns KUBECONFIG for child processes (kubectl, the provider).
func (c *Cluster) Env() []string {
	return []string{"KUBECONFIG=" + c.Kubeconfig}
}

// RunKubectl runs kubectl against the cluster and returns combined output.
func (c *Cluster) RunKubectl(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, c.Kubectl, append([]string{"--kubeconfig", c.Kubeconfig}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out, nil
}

// Stop kills the cluster's processes by pid (SIGTERM, clients before etcd,
// SIGKILL after 10 s; typically ~1 s in all) and removes Dir. Safe to call
// twice.
func (c *Cluster) Stop() error {
	if c == nil || c.Dir == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var scriptErr error
	if c.script != "" {
		out, err := exec.CommandContext(ctx, "bash", c.script, "down", c.Dir).CombinedOutput()
		if err != nil {
			scriptErr = fmt.Errorf("hack/integration/kwok-cluster.sh down: %v\n%s", err, out)
		}
	}
	// Belt and braces: anything of ours still alive gets SIGKILL.
	for name, pid := range c.PIDs {
		if ownedBy(pid, c.Dir) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			if scriptErr == nil {
				scriptErr = fmt.Errorf("%s (pid %d) survived kwok-cluster.sh down; killed", name, pid)
			}
		}
	}
	if scriptErr != nil {
		_ = os.RemoveAll(c.Dir)
	}
	return scriptErr
}

// ownedBy reports whether pid is alive and belongs to the cluster in dir
// (its cwd or command line is inside dir), so recycled pids are never hit.
func ownedBy(pid int, dir string) bool {
	if pid <= 0 {
		return false
	}
	if cwd, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid)); err == nil &&
		(cwd == dir || strings.HasPrefix(cwd, dir+"/")) {
		return true
	}
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return err == nil && bytes.Contains(raw, []byte(dir+"/"))
}

func readPIDs(path string) (map[string]int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	pids := map[string]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) != 2 {
			continue
		}
		if pid, err := strconv.Atoi(fields[1]); err == nil {
			pids[fields[0]] = pid
		}
	}
	return pids, sc.Err()
}

// RepoRoot finds the repository root: $MODELROLLOUTS_REPO_ROOT, else the
// nearest parent of the working directory (go test runs in the package dir)
// holding hack/integration/kwok-cluster.sh, else the location of this source file.
func RepoRoot() (string, error) {
	if d := os.Getenv("MODELROLLOUTS_REPO_ROOT"); d != "" {
		return d, nil
	}
	has := func(d string) bool {
		_, err := os.Stat(filepath.Join(d, "hack", "integration", "kwok-cluster.sh"))
		return err == nil
	}
	if wd, err := os.Getwd(); err == nil {
		for d := wd; ; d = filepath.Dir(d) {
			if has(d) {
				return d, nil
			}
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	if _, file, _, ok := runtime.Caller(0); ok {
		if d := filepath.Join(filepath.Dir(file), "..", "..", ".."); has(d) {
			return filepath.Clean(d), nil
		}
	}
	return "", fmt.Errorf("cannot find the repo root (hack/integration/kwok-cluster.sh); set MODELROLLOUTS_REPO_ROOT")
}

func hackScript(name string) (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "hack", "integration", name), nil
}
