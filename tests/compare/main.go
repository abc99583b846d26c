// Command compare runs vpce-guard's audit and Cloud Custodian's
// aws.vpc-endpoint cross-account policy, in one run, against one moto server on
// 127.0.0.1 holding the same N CloudWatch Logs endpoints, and prints a
// Markdown table: wall time, peak memory, API calls, planted broader policies
// flagged and compliant ones wrongly flagged.
//
// Run it with make compare, which installs Cloud Custodian (pinned in
// tests/compare/requirements.txt) into .tools/venv-compare and moto into .venv:
//
//	go run ./tests/compare -n 100,1000 [-md tests/compare/RESULTS.md]
//
// Both tools reach moto through a counting reverse proxy in this process, so
// every request each one makes is counted; the endpoints are created directly
// on moto, before the proxy counts anything.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/vpce-guard/vpce-guard/tests/emulator"
)

const (
	region  = "us-east-1"
	account = "123456789012" // moto's default account
	service = "com.amazonaws." + region + ".logs"
)

// kind is one kind of planted endpoint policy.
type kind struct {
	name    string
	broader bool   // broader than the logs template: must be flagged
	policy  string // "" leaves the policy out: AWS's (and moto's) default full access
}

func stmt(principal, action, resource string) string {
	return fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":%s,"Action":%s,"Resource":%s}]}`,
		principal, action, resource)
}

// kinds returns the mix, planted round-robin; template is the rendered logs
// template.
func kinds(template string) []kind {
	return []kind{
		{"default full access (no policy given)", true, ""},
		{"logs:* on arn:aws:logs:*:*:log-group:*", true, stmt(`"*"`, `"logs:*"`, `"arn:aws:logs:*:*:log-group:*"`)},
		{"resource only: another account's log groups", true, stmt(`"*"`, `"logs:*"`, `"arn:aws:logs:us-east-1:210987654321:log-group:*"`)},
		{"resource only: arn:aws:logs:us-east-1:12345678901?:log-group:*", true, stmt(`"*"`, `"logs:*"`, `"arn:aws:logs:us-east-1:12345678901?:log-group:*"`)},
		{"resource only: log-group:* in any region", true, stmt(`"*"`, `"logs:*"`, `"arn:aws:logs:*:123456789012:log-group:*"`)},
		{"resource only, named principal: role/app on another account's log groups", true, stmt(`{"AWS":"arn:aws:iam::123456789012:role/app"}`, `"logs:*"`, `"arn:aws:logs:us-east-1:210987654321:log-group:*"`)},
		{"the rendered logs template", false, template},
		{"stricter: fewer actions", false, stmt(`"*"`, `["logs:CreateLogStream","logs:PutLogEvents"]`, `"arn:aws:logs:us-east-1:123456789012:log-group:*"`)},
		{"stricter: named principal role/app", false, stmt(`{"AWS":"arn:aws:iam::123456789012:role/app"}`, `"logs:*"`, `"arn:aws:logs:us-east-1:123456789012:log-group:*"`)},
		{"stricter: narrower log groups /app/*", false, stmt(`"*"`, `"logs:*"`, `"arn:aws:logs:us-east-1:123456789012:log-group:/app/*"`)},
	}
}

func main() {
	ns := flag.String("n", "100,1000", "comma list of endpoint counts")
	big := flag.Bool("10000", false, "also run N=10000")
	custodian := flag.String("custodian", ".tools/venv-compare/bin/custodian", "the custodian command")
	md := flag.String("md", "", "also write the Markdown report to this file")
	flag.Parse()
	var counts []int
	for _, s := range strings.Split(*ns, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			fatal(fmt.Errorf("bad -n %q", s))
		}
		counts = append(counts, n)
	}
	if *big {
		counts = append(counts, 10000)
	}
	if err := run(counts, *custodian, *md); err != nil {
		fatal(err)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "compare:", err)
	os.Exit(2)
}

// result is one tool's run on one N.
type result struct {
	tool        string
	n           int
	wall        time.Duration
	inMoto      time.Duration // waiting on moto, summed over requests
	maxRSSKiB   int64
	calls       map[string]int
	flaggedB    int // planted broader policies flagged
	broader     int
	flaggedC    int // compliant policies wrongly flagged
	compliant   int
	exit        int
	note        string
	perKindFlag map[string]int
}

func run(counts []int, custodian string, mdPath string) error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "vpce-guard-compare-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	guard := filepath.Join(dir, "vpce-guard")
	if err := emulator.BuildRelease(guard, runtime.GOOS, runtime.GOARCH); err != nil {
		return err
	}
	custodianPath, err := filepath.Abs(custodian)
	if err != nil {
		return err
	}
	if _, err := os.Stat(custodianPath); err != nil {
		return fmt.Errorf("custodian: %w (make compare installs it)", err)
	}
	tmpl, err := exec.Command(guard, "render", "--service", "logs", "--account", account, "--region", region).Output()
	if err != nil {
		return fmt.Errorf("render the logs template: %w", err)
	}
	mix := kinds(string(tmpl))

	motoPath, err := emulator.MotoServerPath()
	if err != nil {
		return err
	}
	moto, err := emulator.LaunchMoto(ctx, motoPath)
	if err != nil {
		return err
	}
	defer moto.Close()
	proxy, err := startProxy(moto.URL)
	if err != nil {
		return err
	}
	defer proxy.close()
	fmt.Fprintf(os.Stderr, "moto at %s, counting proxy at %s\n", moto.URL, proxy.url)

	policyFile := filepath.Join(dir, "policy.yml")
	if err := os.WriteFile(policyFile, []byte(custodianPolicy), 0o644); err != nil {
		return err
	}

	var results []result
	for _, n := range counts {
		if err := moto.Reset(ctx); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "N=%d: creating endpoints\n", n)
		planted, err := seed(ctx, moto.URL, n, mix)
		if err != nil {
			return fmt.Errorf("N=%d: seed: %w", n, err)
		}
		fmt.Fprintf(os.Stderr, "N=%d: vpce-guard audit\n", n)
		r, err := runGuard(ctx, guard, dir, proxy, planted, mix)
		if err != nil {
			return fmt.Errorf("N=%d: vpce-guard: %w", n, err)
		}
		r.n = n
		results = append(results, r)
		fmt.Fprintf(os.Stderr, "N=%d: custodian run\n", n)
		r, err = runCustodian(ctx, custodianPath, policyFile, filepath.Join(dir, fmt.Sprintf("c7n-%d", n)), proxy, planted, mix)
		if err != nil {
			return fmt.Errorf("N=%d: custodian: %w", n, err)
		}
		r.n = n
		results = append(results, r)
	}
	report := markdown(results, mix, counts)
	fmt.Print(report)
	if mdPath != "" {
		return os.WriteFile(mdPath, []byte(report), 0o644)
	}
	return nil
}

// custodianPolicy is Cloud Custodian's check: the Logs endpoints whose policy
// grants access outside the account (its cross-account filter), reported
// only (custodian run --dryrun, and no actions).
const custodianPolicy = `policies:
  - name: vpce-logs-cross-account
    resource: aws.vpc-endpoint
    filters:
      - type: value
        key: ServiceName
        value: ` + service + `
      - type: cross-account
`

// seed creates a VPC, a subnet and n Logs endpoints directly on moto (not
// through the counting proxy), endpoint i with policy mix[i%len(mix)]; it
// returns the kind index of every endpoint ID.
func seed(ctx context.Context, motoURL string, n int, mix []kind) (map[string]int, error) {
	client := ec2.New(ec2.Options{
		Region:       region,
		BaseEndpoint: aws.String(motoURL),
		Credentials:  credentials.NewStaticCredentialsProvider("testing", "testing", ""),
	})
	vpc, err := client.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})
	if err != nil {
		return nil, err
	}
	subnet, err := client.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: vpc.Vpc.VpcId, CidrBlock: aws.String("10.0.0.0/16")})
	if err != nil {
		return nil, err
	}
	planted := make(map[string]int, n)
	var mu sync.Mutex
	var firstErr error
	work := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				k := i % len(mix)
				in := &ec2.CreateVpcEndpointInput{
					VpcId:           vpc.Vpc.VpcId,
					ServiceName:     aws.String(service),
					VpcEndpointType: types.VpcEndpointTypeInterface,
					SubnetIds:       []string{aws.ToString(subnet.Subnet.SubnetId)},
				}
				if mix[k].policy != "" {
					in.PolicyDocument = aws.String(mix[k].policy)
				}
				out, err := client.CreateVpcEndpoint(ctx, in)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = fmt.Errorf("endpoint %d (%s): %w", i, mix[k].name, err)
				} else if err == nil {
					planted[aws.ToString(out.VpcEndpoint.VpcEndpointId)] = k
				}
				mu.Unlock()
			}
		}()
	}
	for i := 0; i < n; i++ {
		work <- i
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	return planted, nil
}

// baseEnv is the environment of both tools: dummy credentials, the region,
// no instance metadata, and a HOME of its own so no ~/.aws config leaks in.
func baseEnv(home string) []string {
	return []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"AWS_ACCESS_KEY_ID=testing",
		"AWS_SECRET_ACCESS_KEY=testing",
		"AWS_REGION=" + region,
		"AWS_DEFAULT_REGION=" + region,
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE=/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE=/dev/null",
	}
}

// measured runs cmd and returns its wall time, peak resident memory (KiB,
// ru_maxrss of the waited-for process) and exit status.
func measured(cmd *exec.Cmd) (time.Duration, int64, int, error) {
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		return 0, 0, 0, err
	}
	var rss int64
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = int64(ru.Maxrss) // KiB on Linux
	}
	return wall, rss, cmd.ProcessState.ExitCode(), nil
}

func runGuard(ctx context.Context, guard, dir string, proxy *countingProxy, planted map[string]int, mix []kind) (result, error) {
	home := filepath.Join(dir, "home-guard")
	if err := os.MkdirAll(home, 0o755); err != nil {
		return result{}, err
	}
	cmd := exec.CommandContext(ctx, guard, "audit", "--region", region)
	cmd.Env = append(baseEnv(home), "AWS_ENDPOINT_URL_EC2="+proxy.url)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	proxy.reset()
	wall, rss, exit, err := measured(cmd)
	if err != nil {
		return result{}, err
	}
	r := result{tool: "vpce-guard audit", wall: wall, maxRSSKiB: rss, exit: exit}
	r.calls, r.inMoto = proxy.snapshot()
	if exit == 2 {
		return r, fmt.Errorf("exit 2: %s", stderr.String())
	}
	flagged := map[string]bool{}
	seen := 0
	for _, line := range bytes.Split(stdout.Bytes(), []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var o struct {
			EndpointID string `json:"endpointId"`
			Verdict    string `json:"verdict"`
		}
		if err := json.Unmarshal(line, &o); err != nil {
			return r, fmt.Errorf("outcome line %q: %w", line, err)
		}
		seen++
		if o.Verdict == "noncompliant" {
			flagged[o.EndpointID] = true
		}
	}
	if seen != len(planted) {
		r.note = fmt.Sprintf("%d outcomes for %d endpoints", seen, len(planted))
	}
	tally(&r, flagged, planted, mix)
	return r, nil
}

func runCustodian(ctx context.Context, custodian, policyFile, out string, proxy *countingProxy, planted map[string]int, mix []kind) (result, error) {
	home := out + "-home"
	if err := os.MkdirAll(home, 0o755); err != nil {
		return result{}, err
	}
	cmd := exec.CommandContext(ctx, custodian, "run", "--dryrun", "-s", out, "-r", region,
		"--cache-period", "0", "-f", filepath.Join(home, "c7n.cache"), policyFile)
	// boto3 honours AWS_ENDPOINT_URL (every service) and AWS_ENDPOINT_URL_EC2;
	// custodian also asks STS for the account ID.
	cmd.Env = append(baseEnv(home), "AWS_ENDPOINT_URL="+proxy.url, "AWS_ENDPOINT_URL_EC2="+proxy.url)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	proxy.reset()
	wall, rss, exit, err := measured(cmd)
	if err != nil {
		return result{}, err
	}
	r := result{tool: "custodian run (c7n)", wall: wall, maxRSSKiB: rss, exit: exit}
	r.calls, r.inMoto = proxy.snapshot()
	if exit != 0 {
		return r, fmt.Errorf("exit %d: %s", exit, stderr.String())
	}
	raw, err := os.ReadFile(filepath.Join(out, "vpce-logs-cross-account", "resources.json"))
	if err != nil {
		return r, fmt.Errorf("%w; custodian said: %s", err, stderr.String())
	}
	var resources []struct {
		VpcEndpointID string `json:"VpcEndpointId"`
	}
	if err := json.Unmarshal(raw, &resources); err != nil {
		return r, fmt.Errorf("resources.json: %w", err)
	}
	flagged := map[string]bool{}
	for _, res := range resources {
		flagged[res.VpcEndpointID] = true
	}
	tally(&r, flagged, planted, mix)
	return r, nil
}

func tally(r *result, flagged map[string]bool, planted map[string]int, mix []kind) {
	r.perKindFlag = map[string]int{}
	for id, k := range planted {
		if mix[k].broader {
			r.broader++
		} else {
			r.compliant++
		}
		if !flagged[id] {
			continue
		}
		r.perKindFlag[mix[k].name]++
		if mix[k].broader {
			r.flaggedB++
		} else {
			r.flaggedC++
		}
	}
}

// countingProxy forwards to moto and counts requests by service and action.
type countingProxy struct {
	url string
	srv *http.Server
	mu  sync.Mutex
	by  map[string]int
	// busy is the time spent serving requests (moto's answer included),
	// summed over requests.
	busy time.Duration
}

func startProxy(target string) (*countingProxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &countingProxy{url: "http://" + ln.Addr().String(), by: map[string]int{}}
	rp := httputil.NewSingleHostReverseProxy(u)
	p.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(body))
		p.count(req, body)
		start := time.Now()
		rp.ServeHTTP(w, req)
		p.mu.Lock()
		p.busy += time.Since(start)
		p.mu.Unlock()
	})}
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

// count names a request service:Action from its signature's credential scope
// and its query (Action=) or JSON (X-Amz-Target) protocol.
func (p *countingProxy) count(req *http.Request, body []byte) {
	svc := "?"
	if auth := req.Header.Get("Authorization"); auth != "" {
		if i := strings.Index(auth, "Credential="); i >= 0 {
			parts := strings.Split(strings.SplitN(auth[i+len("Credential="):], ",", 2)[0], "/")
			if len(parts) >= 4 {
				svc = parts[3]
			}
		}
	}
	action := req.Header.Get("X-Amz-Target")
	if action == "" {
		if v, err := url.ParseQuery(string(body)); err == nil && v.Get("Action") != "" {
			action = v.Get("Action")
		} else if a := req.URL.Query().Get("Action"); a != "" {
			action = a
		} else {
			action = req.Method + " " + req.URL.Path
		}
	}
	p.mu.Lock()
	p.by[svc+":"+action]++
	p.mu.Unlock()
}

func (p *countingProxy) reset() {
	p.mu.Lock()
	p.by = map[string]int{}
	p.busy = 0
	p.mu.Unlock()
}

func (p *countingProxy) snapshot() (map[string]int, time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]int, len(p.by))
	for k, v := range p.by {
		out[k] = v
	}
	return out, p.busy
}

func (p *countingProxy) close() { _ = p.srv.Close() }

func machine() string {
	cpu := "unknown CPU"
	if raw, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(raw), "\n") {
			if strings.HasPrefix(line, "model name") {
				cpu = strings.TrimSpace(strings.SplitN(line, ":", 2)[1])
				break
			}
		}
	}
	mem := "unknown memory"
	if raw, err := os.ReadFile("/proc/meminfo"); err == nil {
		f := strings.Fields(strings.SplitN(string(raw), "\n", 2)[0])
		if len(f) >= 2 {
			if kb, err := strconv.ParseFloat(f[1], 64); err == nil {
				mem = fmt.Sprintf("%.1f GiB RAM", kb/1024/1024)
			}
		}
	}
	return fmt.Sprintf("%s/%s, %d CPUs (nproc), %s, %s", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), cpu, mem)
}

func markdown(results []result, mix []kind, counts []int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Machine: %s  \n", machine())
	fmt.Fprintf(&b, "Date: %s\n\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	b.WriteString("| N | tool | wall time | of which waiting on moto | wall time without moto | peak memory (maxrss) | API calls | broader flagged | compliant wrongly flagged | exit | note |\n")
	b.WriteString("|---:|---|---:|---:|---:|---:|---|---:|---:|---:|---|\n")
	for _, r := range results {
		total := 0
		var parts []string
		for k, v := range r.calls {
			total += v
			parts = append(parts, fmt.Sprintf("%s ×%d", k, v))
		}
		sort.Strings(parts)
		fmt.Fprintf(&b, "| %d | %s | %.2f s | %.2f s | %.2f s | %.1f MiB | %d (%s) | %d / %d | %d / %d | %d | %s |\n",
			r.n, r.tool, r.wall.Seconds(), r.inMoto.Seconds(), (r.wall - r.inMoto).Seconds(), float64(r.maxRSSKiB)/1024, total, strings.Join(parts, ", "),
			r.flaggedB, r.broader, r.flaggedC, r.compliant, r.exit, r.note)
	}
	// The ceiling is the wall-time ratio a client would reach if it took no
	// time at all besides moto's answers to vpce-guard's calls.
	b.WriteString("\nRatios (Cloud Custodian ÷ vpce-guard):\n\n| N | wall time | ceiling: c7n's wall time ÷ moto's time answering vpce-guard | wall time without moto | peak memory |\n|---:|---:|---:|---:|---:|\n")
	for i := 0; i+1 < len(results); i += 2 {
		g, c := results[i], results[i+1]
		fmt.Fprintf(&b, "| %d | %.1f× | %.1f× | %.1f× | %.1f× |\n", g.n, c.wall.Seconds()/g.wall.Seconds(), c.wall.Seconds()/g.inMoto.Seconds(),
			(c.wall-c.inMoto).Seconds()/(g.wall-g.inMoto).Seconds(), float64(c.maxRSSKiB)/float64(g.maxRSSKiB))
	}
	fmt.Fprintf(&b, "\nFlagged, by planted kind (each kind is planted round-robin, endpoint i gets kind i mod %d):\n\n| kind | broader than template |", len(mix))
	for _, n := range counts {
		fmt.Fprintf(&b, " N=%d planted | vpce-guard | c7n |", n)
	}
	b.WriteString("\n|---|---|")
	for range counts {
		b.WriteString("---:|---:|---:|")
	}
	b.WriteString("\n")
	for k, m := range mix {
		fmt.Fprintf(&b, "| %s | %v |", m.name, m.broader)
		for i, n := range counts {
			planted := n / len(mix)
			if k < n%len(mix) {
				planted++
			}
			fmt.Fprintf(&b, " %d | %d | %d |", planted, results[2*i].perKindFlag[m.name], results[2*i+1].perKindFlag[m.name])
		}
		b.WriteString("\n")
	}
	return b.String()
}
