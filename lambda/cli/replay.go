package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/vpce-guard/vpce-guard/lambda/cloudtrail"
	"github.com/vpce-guard/vpce-guard/lambda/config"
	"github.com/vpce-guard/vpce-guard/lambda/remediate"
)

const replaySynopsis = "[--dry-run] FILE|FOLDER...  (EventBridge events, CloudTrail records or log files, .json or .json.gz; - for standard input)"

func runReplay(ctx context.Context, env Env, args []string) int {
	flags := newFlagSet("replay", env, replaySynopsis)
	dryRun := flags.Bool("dry-run", false, "report what would be rewritten and write nothing")
	paths, err := parseArgs(flags, args)
	if err != nil {
		return usageError(env, "replay", err)
	}
	if len(paths) == 0 {
		return usageError(env, "replay", errors.New("give at least one FILE or FOLDER (or - for standard input)"))
	}
	cfg, err := loadConfig(env)
	if err != nil {
		return usageError(env, "replay", err)
	}
	cfg.DryRun = *dryRun
	if env.NewEC2 == nil || env.Open == nil {
		return usageError(env, "replay", errors.New("no EC2 client or file system configured"))
	}
	r := &replayer{env: env, cfg: cfg, report: newReport(env, "replay"), regions: map[string]*remediate.Remediator{}}
	for _, p := range paths {
		r.replayPath(ctx, p)
	}
	return r.report.status()
}

type replayer struct {
	env     Env
	cfg     config.Config
	report  *report
	regions map[string]*remediate.Remediator
}

// replayPath replays a file, or every .json and .json.gz file under a folder in
// name order.
func (r *replayer) replayPath(ctx context.Context, name string) {
	if name == "-" {
		r.replayStream(ctx, "standard input", r.env.Stdin)
		return
	}
	f, err := r.env.Open(name)
	if err != nil {
		r.report.fail(err)
		return
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		r.report.fail(err)
		return
	}
	if !info.IsDir() {
		r.replayStream(ctx, name, f)
		return
	}
	dir, ok := f.(fs.ReadDirFile)
	if !ok {
		r.report.fail(fmt.Errorf("%s: cannot list this folder", name))
		return
	}
	entries, err := dir.ReadDir(-1)
	if err != nil {
		r.report.fail(err)
		return
	}
	slices.SortFunc(entries, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	for _, e := range entries {
		if e.IsDir() || strings.HasSuffix(e.Name(), ".json") || strings.HasSuffix(e.Name(), ".json.gz") {
			r.replayPath(ctx, filepath.Join(name, e.Name()))
		}
	}
}

// replayStream decodes records one at a time, so a log file of any size is
// replayed in bounded memory, and prints each call's outcomes as they come.
func (r *replayer) replayStream(ctx context.Context, name string, in io.Reader) {
	err := cloudtrail.DecodeLogFile(in, func(call cloudtrail.Call, err error) error {
		if err != nil {
			r.report.fail(fmt.Errorf("%s: %w", name, err))
			return nil
		}
		_, err = r.remediator(call.Region).HandleCall(ctx, call, r.report.run())
		if err != nil {
			r.report.fail(err)
		}
		return ctx.Err()
	})
	if err != nil {
		r.report.fail(fmt.Errorf("%s: %w", name, err))
	}
}

// remediator returns the remediator for the region an event comes from: a
// log file can hold several regions, and each needs its own client.
func (r *replayer) remediator(region string) *remediate.Remediator {
	rem, ok := r.regions[region]
	if !ok {
		rem = remediate.New(&lazyEC2{newEC2: r.env.NewEC2, region: region}, region, r.cfg)
		r.regions[region] = rem
	}
	return rem
}

// lazyEC2 creates its client on first use, so that events needing no AWS call
// (other APIs, failed calls) replay without any AWS configuration.
type lazyEC2 struct {
	newEC2 func(ctx context.Context, region string) (remediate.EC2, string, error)
	region string

	once   sync.Once
	client remediate.EC2
	err    error
}

func (l *lazyEC2) get(ctx context.Context) (remediate.EC2, error) {
	l.once.Do(func() {
		l.client, _, l.err = l.newEC2(ctx, l.region)
		if l.err != nil {
			l.err = fmt.Errorf("EC2 client for region %q: %w", l.region, l.err)
		}
	})
	return l.client, l.err
}

func (l *lazyEC2) DescribeVpcEndpoints(ctx context.Context, in *ec2.DescribeVpcEndpointsInput, optFns ...func(*ec2.Options)) (*ec2.DescribeVpcEndpointsOutput, error) {
	client, err := l.get(ctx)
	if err != nil {
		return nil, err
	}
	return client.DescribeVpcEndpoints(ctx, in, optFns...)
}

func (l *lazyEC2) ModifyVpcEndpoint(ctx context.Context, in *ec2.ModifyVpcEndpointInput, optFns ...func(*ec2.Options)) (*ec2.ModifyVpcEndpointOutput, error) {
	client, err := l.get(ctx)
	if err != nil {
		return nil, err
	}
	return client.ModifyVpcEndpoint(ctx, in, optFns...)
}

func (l *lazyEC2) CreateTags(ctx context.Context, in *ec2.CreateTagsInput, optFns ...func(*ec2.Options)) (*ec2.CreateTagsOutput, error) {
	client, err := l.get(ctx)
	if err != nil {
		return nil, err
	}
	return client.CreateTags(ctx, in, optFns...)
}
