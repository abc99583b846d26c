package emulator

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

// startTimeout bounds the wait for a process to answer. moto imports a lot of
// Python at start; on a loaded 2-core CI machine that takes seconds.
const startTimeout = 60 * time.Second

// maxLog is how much of a process's output is kept: the end of it, which is
// where a failure shows.
const maxLog = 1 << 20

// printedLog is how much of a log a failed test prints.
const printedLog = 64 << 10

// lastBytes is the end of s, from a line start, at most n bytes.
func lastBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[len(s)-n:]
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return "[… earlier lines left out …]\n" + s
}

// process is a child process in its own process group, with its combined
// output kept in memory.
type process struct {
	name string
	cmd  *exec.Cmd
	out  *tailBuffer
	done chan struct{} // closed when the process has exited
	err  error         // why it exited, once done is closed
}

// startProcess starts cmd, keeping the last keepLog bytes of its output.
func startProcess(name string, cmd *exec.Cmd, keepLog int) (*process, error) {
	p := &process{name: name, cmd: cmd, out: &tailBuffer{max: keepLog}, done: make(chan struct{})}
	// A caller that reads the standard output itself (event-ruler's answers)
	// sets it; everything else goes to the kept output.
	if cmd.Stdout == nil {
		cmd.Stdout = p.out
	}
	cmd.Stderr = p.out
	// A grandchild that outlives the child keeps the output pipe open; do not
	// wait for it after the child has exited.
	cmd.WaitDelay = 2 * time.Second
	setProcessGroup(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// stop kills the process and everything it started (the RIE starts the
// bootstrap), then waits for it.
func (p *process) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	killProcessGroup(p.cmd)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
	}
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// waitReady polls ready until it succeeds, the process exits or the time is up.
func (p *process) waitReady(ctx context.Context, ready func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		if last = ready(ctx); last == nil {
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("%s exited before it was ready (%v); its output:\n%s", p.name, p.err, p.out.String())
		case <-ctx.Done():
			return fmt.Errorf("%s not ready after %v: %v; its output:\n%s", p.name, startTimeout, last, p.out.String())
		case <-tick.C:
		}
	}
}

// httpReady is a readiness check: any HTTP answer from url.
func httpReady(url string) func(context.Context) error {
	client := &http.Client{Timeout: 2 * time.Second}
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	}
}

// tcpReady is a readiness check: something accepts connections at addr.
func tcpReady(addr string) func(context.Context) error {
	return func(ctx context.Context) error {
		var d net.Dialer
		ctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return err
		}
		return c.Close()
	}
}

// freeAddr returns 127.0.0.1 and a port nobody listens on right now, for a
// process that cannot be told to take port 0 and say which it got (the RIE).
// Another process could take the port before ours binds it; the port is
// therefore drawn at random below the kernel's ephemeral range, where the
// kernel never hands out ports on its own (to port-0 listeners such as moto
// and the fault proxies, or to outgoing connections), so only another
// caller of freeAddr could race for it.
func freeAddr() (string, error) {
	low, high := 20000, ephemeralLow()
	for range 50 {
		port := 0
		if high-low >= 1000 {
			port = low + rand.IntN(high-low)
		}
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue
		}
		addr := l.Addr().String()
		return addr, l.Close()
	}
	return "", errors.New("no free port on 127.0.0.1")
}

// ephemeralLow is the first port of the kernel's ephemeral range (Linux's
// default when it cannot be read, 32768).
func ephemeralLow() int {
	data, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err == nil {
		if f := strings.Fields(string(data)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil {
				return n
			}
		}
	}
	return 32768
}

// tailBuffer keeps the last max bytes written to it (roughly: it trims in
// chunks), safe for concurrent writes from a process's stdout and stderr.
type tailBuffer struct {
	mu      sync.Mutex
	buf     []byte
	max     int
	dropped bool
	written int64         // bytes ever written: a position in the output
	grew    chan struct{} // closed, and replaced, at every write
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	b.written += int64(len(p))
	if len(b.buf) > 2*b.max {
		cut := len(b.buf) - b.max
		if i := bytes.IndexByte(b.buf[cut:], '\n'); i >= 0 {
			cut += i + 1
		}
		b.buf = append(b.buf[:0], b.buf[cut:]...)
		b.dropped = true
	}
	if b.grew != nil {
		close(b.grew)
		b.grew = nil
	}
	return len(p), nil
}

// position is where the output ends now.
func (b *tailBuffer) position() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.written
}

// waitFrom waits until the output written since position pos holds want, and
// returns it. It fails when ctx ends first, or when that output no longer
// fits in the buffer.
func (b *tailBuffer) waitFrom(ctx context.Context, pos int64, want string) (string, error) {
	for {
		b.mu.Lock()
		start := int64(len(b.buf)) - (b.written - pos)
		if start < 0 {
			b.mu.Unlock()
			return "", fmt.Errorf("the output since position %d outgrew the %d bytes kept", pos, b.max)
		}
		since := string(b.buf[start:])
		if strings.Contains(since, want) {
			b.mu.Unlock()
			return since, nil
		}
		if b.grew == nil {
			b.grew = make(chan struct{})
		}
		grew := b.grew
		b.mu.Unlock()
		select {
		case <-grew:
		case <-ctx.Done():
			return since, fmt.Errorf("waiting for %q in the output: %w", want, context.Cause(ctx))
		}
	}
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.dropped {
		return "[… earlier output dropped …]\n" + string(b.buf)
	}
	return string(b.buf)
}

// RepoRoot is the root of the vpce-guard module: the directory holding its
// go.mod, found from the working directory (a test runs in its package's
// directory) or, failing that, from this file's location.
func RepoRoot() (string, error) {
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		starts = append(starts, filepath.Dir(file))
	}
	for _, dir := range starts {
		for {
			data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
			if err == nil && strings.Contains(string(data), "module github.com/vpce-guard/vpce-guard\n") {
				return dir, nil
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	return "", errors.New("cannot find the vpce-guard repository (its go.mod) above the working directory")
}
