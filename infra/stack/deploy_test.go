package stack_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"

	"github.com/vpce-guard/vpce-guard/infra/stack"
	"github.com/vpce-guard/vpce-guard/tests/emulator"
	"github.com/vpce-guard/vpce-guard/tests/orgsim"
)

// EnvCDK is the CDK CLI the deploy test runs; make test sets it to the one
// make infra-tools pins.
const EnvCDK = "VPCE_GUARD_CDK"

const (
	// motoAccount is moto's default account, which the CLI's dummy
	// credentials belong to: the single account, and the organization's
	// management account and hub.
	motoAccount = orgsim.HubAccount
	// accountRegion is the CLI's default region, where the single-account
	// stack goes.
	accountRegion = "us-east-1"
	// cliTimeout bounds one CLI run. A deploy, synth included, takes about
	// ten seconds on an idle machine, a few times that on a loaded one.
	cliTimeout = 5 * time.Minute
)

// hubRegions are the organization's member regions, the primary first.
var hubRegions = []string{"eu-west-1", "us-east-1"}

// TestDeployOnMoto runs the pinned CDK CLI against moto as against an
// account: cdk bootstrap, cdk deploy, cdk destroy. Each deployed stack must
// be CREATE_COMPLETE, every resource moto models must exist with the
// synthesized template's properties (the rules' patterns and targets, the
// roles' trust and inline statements, the queues' attributes, the function's
// configuration), nothing else may appear, and cdk destroy must leave the
// retained log groups and nothing else. moto cannot run updates (see
// infra/README.md), so each variant is deployed afresh and destroyed.
//
// The organization's hubs are deployed the same way. moto does not model
// AWS::CloudFormation::StackSet, so the test then does what CloudFormation
// would for the hub's two stack sets, with their properties, through moto's
// StackSets API, and reads the member stacks back in each member account and
// region; after cdk destroy it deletes them, as CloudFormation would.
func TestDeployOnMoto(t *testing.T) {
	t.Parallel()
	root, err := stack.ModuleRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	requireNode(t)
	cli := pinnedCDK(t, root)
	moto := emulator.StartMotoForDeploy(t)
	d := &deployEnv{motoURL: moto.URL, cli: &cdkCLI{path: cli, root: root, trap: startNetworkTrap(t)}}
	d.cli.env = cliEnv(moto.URL, d.cli.trap.URL, filepath.Dir(cli))

	targets := []string{"bootstrap"}
	for _, region := range hubRegions { // accountRegion among them
		targets = append(targets, "aws://"+motoAccount+"/"+region)
	}
	d.cli.run(t, targets...)

	t.Run("account", func(t *testing.T) {
		for _, variant := range []struct {
			name    string
			context []string
		}{
			{"dry run", []string{"-c", stack.KeyDryRun + "=true"}},
			{"defaults", nil},
		} {
			t.Run(variant.name, func(t *testing.T) {
				dep := d.deploy(t, []stackAt{{stack.StackName, accountRegion}}, variant.context...)
				dep.destroy(t)
			})
		}
	})

	t.Run("organization", func(t *testing.T) {
		ctx := t.Context()
		org, _, err := orgsim.Create(ctx, moto.URL, 2, 0)
		if err != nil {
			t.Fatal(err)
		}
		var hubs []stackAt
		for _, region := range hubRegions {
			hubs = append(hubs, stackAt{stack.HubStackName + "-" + region, region})
		}
		dep := d.deploy(t, hubs, "-c", stack.KeyOrganization+"=true", "-c", stack.KeyOrganizationID+"="+org.ID,
			"-c", stack.KeyMemberOUs+"="+org.OU, "-c", stack.KeyMemberRegions+"="+strings.Join(hubRegions, ","))
		members := map[string]inventory{}
		for _, account := range org.Members {
			members[account] = takeInventory(t, ctx, moto.URL, account, hubRegions)
		}
		sets := rollOutStackSets(t, ctx, moto.URL, dep.deployed[0], org)
		checkMembers(t, ctx, moto.URL, sets, org, members)
		dep.destroy(t, func() {
			deleteStackSets(t, ctx, moto.URL, sets, org)
			for _, account := range org.Members {
				if added, removed := takeInventory(t, ctx, moto.URL, account, hubRegions).since(members[account]); len(added)+len(removed) > 0 {
					t.Errorf("member %s after the stack sets' deletion: %v left, %v gone", account, added, removed)
				}
			}
		})
	})
}

// pinnedCDK is the CLI in $VPCE_GUARD_CDK, else the one make infra-tools
// installs in .tools/npm, and must be the version infra/package.json pins.
// A missing CLI fails the test under make test, skips it otherwise.
func pinnedCDK(t *testing.T, root string) string {
	t.Helper()
	cli := os.Getenv(EnvCDK)
	if cli == "" {
		cli = filepath.Join(root, ".tools", "npm", "node_modules", ".bin", "cdk")
	}
	var pkg struct {
		DevDependencies map[string]string `json:"devDependencies"`
	}
	data, err := os.ReadFile(filepath.Join(root, "infra", "package.json"))
	if err == nil {
		err = json.Unmarshal(data, &pkg)
	}
	if err != nil {
		t.Fatalf("infra/package.json: %v", err)
	}
	want := pkg.DevDependencies["aws-cdk"]
	cmd := exec.Command(cli, "--version")
	// The CLI is a Node script (#!/usr/bin/env node): the Node beside it.
	cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(cli)+string(os.PathListSeparator)+os.Getenv("PATH"))
	out, err := cmd.Output()
	if err != nil {
		err = fmt.Errorf("the CDK CLI %s: %v", cli, err)
		if os.Getenv(emulator.EnvRequireEmulators) == "1" {
			t.Fatalf("%v (%s=1: the deploy test must run; make infra-tools installs the CLI)", err, emulator.EnvRequireEmulators)
		}
		t.Skipf("%v; run make test, which installs the CLI in .tools/npm", err)
	}
	if version, _, _ := strings.Cut(strings.TrimSpace(string(out)), " "); version != want {
		t.Fatalf("the CDK CLI %s is %s, want %s (infra/package.json): run make infra-tools", cli, version, want)
	}
	return cli
}

// cliEnv is the environment of every CLI run: this process's without its
// AWS, CDK and proxy settings, then moto as every AWS endpoint, dummy
// credentials, the offline switches, and trap as the proxy of everything
// but 127.0.0.1. nodeBin holds the Node the CLI runs on.
func cliEnv(motoURL, trap, nodeBin string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		k = strings.ToUpper(k)
		if strings.HasPrefix(k, "AWS_") || strings.HasPrefix(k, "CDK_") || strings.HasSuffix(k, "_PROXY") || k == "PATH" {
			continue
		}
		env = append(env, kv)
	}
	return append(env,
		"PATH="+nodeBin+string(os.PathListSeparator)+os.Getenv("PATH"),
		"AWS_ENDPOINT_URL="+motoURL,
		// The template URL the CLI hands CloudFormation. By default it is
		// S3's endpoint, here moto's http://127.0.0.1:PORT/BUCKET/KEY, which
		// moto's CloudFormation reads as the bucket "127" (it takes the
		// bucket from the host's first label unless the host is an
		// amazonaws.com one or holds "localhost"): NoSuchBucket. Nothing
		// fetches this URL; moto only parses it.
		"AWS_ENDPOINT_URL_S3_FOR_CLOUDFORMATION="+strings.Replace(motoURL, "127.0.0.1", "localhost", 1),
		"AWS_ACCESS_KEY_ID=testing", "AWS_SECRET_ACCESS_KEY=testing", "AWS_REGION="+accountRegion,
		"AWS_CONFIG_FILE="+os.DevNull, "AWS_SHARED_CREDENTIALS_FILE="+os.DevNull,
		"AWS_EC2_METADATA_DISABLED=true", "CDK_DISABLE_VERSION_CHECK=true",
		"HTTP_PROXY="+trap, "HTTPS_PROXY="+trap, "NO_PROXY=127.0.0.1",
	)
}

// networkTrap is the proxy of every CLI run: whatever the CLI, the app or
// the Go toolchain under it asks of anything but moto comes here, and is
// refused and recorded.
type networkTrap struct {
	*httptest.Server
	mu    sync.Mutex
	asked []string
}

func startNetworkTrap(t *testing.T) *networkTrap {
	n := &networkTrap{}
	n.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.mu.Lock()
		n.asked = append(n.asked, r.Method+" "+r.Host)
		n.mu.Unlock()
		http.Error(w, "the deploy test reaches nothing beyond 127.0.0.1", http.StatusForbidden)
	}))
	t.Cleanup(n.Close)
	return n
}

// take returns what was asked since the last call.
func (n *networkTrap) take() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	asked := n.asked
	n.asked = nil
	return asked
}

// cdkCLI runs the CDK CLI in the module root, where cdk.json is.
type cdkCLI struct {
	path, root string
	env        []string
	trap       *networkTrap
}

// run runs the CLI with args to its end and fails t if it fails.
func (c *cdkCLI) run(t *testing.T, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), cliTimeout)
	defer cancel()
	cmd := exec.Command(c.path, args...)
	cmd.Dir, cmd.Env = c.root, c.env
	start := time.Now()
	out, err := emulator.Run(ctx, cmd)
	t.Logf("cdk %s: %v", strings.Join(args, " "), time.Since(start).Round(100*time.Millisecond))
	if asked := c.trap.take(); len(asked) > 0 {
		t.Errorf("cdk %s asked for %v beyond moto", args[0], asked)
	}
	if err != nil {
		if len(out) > 32<<10 {
			out = "[…]" + out[len(out)-32<<10:]
		}
		t.Fatalf("cdk %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// deployEnv is moto, bootstrapped, and the CLI pointed at it.
type deployEnv struct {
	motoURL string
	cli     *cdkCLI
}

// stackAt is a stack's name and region.
type stackAt struct{ name, region string }

// deployment is one cdk deploy, read back from moto.
type deployment struct {
	env      *deployEnv
	out      string // the cloud assembly the CLI synthesized
	before   inventory
	deployed []*motoStack
}

// deploy runs cdk deploy --all with context, which must make stacks, and
// checks them on moto.
func (d *deployEnv) deploy(t *testing.T, stacks []stackAt, context ...string) *deployment {
	t.Helper()
	ctx := t.Context()
	dep := &deployment{env: d, out: t.TempDir(), before: takeInventory(t, ctx, d.motoURL, motoAccount, hubRegions)}
	d.cli.run(t, slices.Concat([]string{"deploy", "--all", "--require-approval", "never", "--output", dep.out}, context)...)
	policies := rolePolicies{}
	var want []string
	for _, s := range stacks {
		m := loadMotoStack(t, ctx, d.motoURL, dep.out, s.name, s.region)
		readBack(t, ctx, d.motoURL, motoAccount, m, policies)
		dep.deployed = append(dep.deployed, m)
		want = append(want, m.inventoryKeys(t, true)...)
	}
	checkRolePolicies(t, ctx, d.motoURL, policies)
	added, removed := takeInventory(t, ctx, d.motoURL, motoAccount, hubRegions).since(dep.before)
	if slices.Sort(want); !slices.Equal(added, want) || len(removed) > 0 {
		t.Errorf("cdk deploy added\n%v\nwant the stacks' resources moto models\n%v\nand removed %v", added, want, removed)
	}
	return dep
}

// destroy runs cdk destroy on the deployment's assembly, then after (if
// any), and checks that of everything deployed only the log groups remain.
func (dep *deployment) destroy(t *testing.T, after ...func()) {
	t.Helper()
	dep.env.cli.run(t, "destroy", "--all", "--force", "--app", dep.out)
	for _, f := range after {
		f()
	}
	var want []string
	for _, m := range dep.deployed {
		for _, id := range m.ofType("AWS::Logs::LogGroup") {
			want = append(want, "log-group "+m.values.region+" "+m.values.physical[id])
		}
	}
	slices.Sort(want)
	added, removed := takeInventory(t, t.Context(), dep.env.motoURL, motoAccount, hubRegions).since(dep.before)
	if !slices.Equal(added, want) || len(removed) > 0 {
		t.Errorf("after cdk destroy, left\n%v\nwant the retained log groups alone\n%v\nand gone %v", added, want, removed)
	}
}

// stackSet is a hub's AWS::CloudFormation::StackSet, as rolled out.
type stackSet struct {
	name, callAs, template string
	params                 map[string]string
	ous, regions           []string
}

// rollOutStackSets does for the hub's AWS::CloudFormation::StackSet
// resources what CloudFormation would: a CreateStackSet and, per instance
// group, a CreateStackInstances, with the resource's properties, in the
// hub's account and region.
func rollOutStackSets(t *testing.T, ctx context.Context, motoURL string, hub *motoStack, org *orgsim.Org) []stackSet {
	t.Helper()
	cfn := cloudformation.NewFromConfig(orgsim.Config(motoURL, motoAccount, hub.values.region))
	var sets []stackSet
	for _, id := range hub.ofType("AWS::CloudFormation::StackSet") {
		// moto gave them no physical ID; their properties need none.
		p := hub.properties(t, id)
		set := stackSet{name: p["StackSetName"].(string), callAs: p["CallAs"].(string), template: p["TemplateBody"].(string), params: map[string]string{}}
		in := &cloudformation.CreateStackSetInput{
			StackSetName: aws.String(set.name), Description: aws.String(p["Description"].(string)),
			TemplateBody: aws.String(set.template), CallAs: cfntypes.CallAs(set.callAs),
			PermissionModel: cfntypes.PermissionModels(p["PermissionModel"].(string)),
		}
		for _, c := range p["Capabilities"].([]any) {
			in.Capabilities = append(in.Capabilities, cfntypes.Capability(c.(string)))
		}
		auto := p["AutoDeployment"].(map[string]any)
		in.AutoDeployment = &cfntypes.AutoDeployment{Enabled: aws.Bool(auto["Enabled"].(bool)),
			RetainStacksOnAccountRemoval: aws.Bool(auto["RetainStacksOnAccountRemoval"].(bool))}
		for _, param := range p["Parameters"].([]any) {
			kv := param.(map[string]any)
			key, value := kv["ParameterKey"].(string), kv["ParameterValue"].(string)
			set.params[key] = value
			in.Parameters = append(in.Parameters, cfntypes.Parameter{ParameterKey: aws.String(key), ParameterValue: aws.String(value)})
		}
		for _, k := range sortedKeys(p) {
			if !slices.Contains([]string{"StackSetName", "Description", "TemplateBody", "CallAs", "PermissionModel", "Capabilities",
				"AutoDeployment", "Parameters", "OperationPreferences", "StackInstancesGroup"}, k) {
				t.Errorf("stack set %s: property %s not played", set.name, k)
			}
		}
		if _, err := cfn.CreateStackSet(ctx, in); err != nil {
			t.Fatalf("create stack set %s: %v", set.name, err)
		}
		prefs := p["OperationPreferences"].(map[string]any)
		for _, g := range p["StackInstancesGroup"].([]any) {
			group := g.(map[string]any)
			for _, r := range group["Regions"].([]any) {
				set.regions = append(set.regions, r.(string))
			}
			for _, ou := range group["DeploymentTargets"].(map[string]any)["OrganizationalUnitIds"].([]any) {
				set.ous = append(set.ous, ou.(string))
			}
			if _, err := cfn.CreateStackInstances(ctx, &cloudformation.CreateStackInstancesInput{
				StackSetName: aws.String(set.name), CallAs: cfntypes.CallAs(set.callAs), Regions: set.regions,
				DeploymentTargets: &cfntypes.DeploymentTargets{OrganizationalUnitIds: set.ous},
				OperationPreferences: &cfntypes.StackSetOperationPreferences{
					RegionConcurrencyType:      cfntypes.RegionConcurrencyType(prefs["RegionConcurrencyType"].(string)),
					MaxConcurrentPercentage:    aws.Int32(int32(prefs["MaxConcurrentPercentage"].(float64))),
					FailureTolerancePercentage: aws.Int32(int32(prefs["FailureTolerancePercentage"].(float64))),
				},
			}); err != nil {
				t.Fatalf("create the instances of stack set %s: %v", set.name, err)
			}
		}
		if !slices.Equal(set.ous, []string{org.OU}) {
			t.Errorf("stack set %s targets %v, want the organization's OU %s", set.name, set.ous, org.OU)
		}
		sets = append(sets, set)
	}
	if len(sets) != 2 {
		t.Fatalf("%d stack sets in the primary hub, want 2", len(sets))
	}
	return sets
}

// checkMembers reads the member stacks back in every member account and
// region of their stack sets. before is each member's inventory before the
// rollout.
func checkMembers(t *testing.T, ctx context.Context, motoURL string, sets []stackSet, org *orgsim.Org, before map[string]inventory) {
	t.Helper()
	for _, account := range org.Members {
		added, removed := takeInventory(t, ctx, motoURL, account, hubRegions).since(before[account])
		policies := rolePolicies{}
		var want []string
		for _, set := range sets {
			var template struct{ Resources map[string]any }
			if err := json.Unmarshal([]byte(set.template), &template); err != nil {
				t.Fatalf("the template of stack set %s: %v", set.name, err)
			}
			for _, region := range set.regions {
				m := &motoStack{name: set.name, values: &cfnValues{account: account, region: region, stackName: set.name,
					resources: template.Resources, physical: map[string]string{}, params: set.params}}
				if err := memberPhysicalIDs(m); err != nil {
					t.Errorf("member %s %s/%s: %v", account, region, set.name, err)
					continue
				}
				readBack(t, ctx, motoURL, account, m, policies)
				want = append(want, m.inventoryKeys(t, false)...)
			}
		}
		checkRolePolicies(t, ctx, motoURL, policies)
		if slices.Sort(want); !slices.Equal(added, want) || len(removed) > 0 {
			t.Errorf("member %s: the stack sets added\n%v\nwant\n%v\nand removed %v", account, added, want, removed)
		}
	}
}

// memberPhysicalIDs fills in the physical IDs of m's resources. moto keeps
// a service-managed instance's stack out of the member's CloudFormation, so
// there is nothing to list; but the member templates name their roles and
// rules, and the names are the physical IDs.
func memberPhysicalIDs(m *motoStack) error {
	v := m.values
	nameProperty := map[string]string{"AWS::IAM::Role": "RoleName", "AWS::Events::Rule": "Name"}
	for _, id := range sortedKeys(v.resources) {
		typ := resourceType(v.resources[id])
		props, _ := v.resources[id].(map[string]any)["Properties"].(map[string]any)
		if typ == "AWS::IAM::Policy" {
			continue // named by its PolicyName
		}
		named, ok := props[nameProperty[typ]]
		if !ok {
			return fmt.Errorf("%s (%s) has no name: not found by this test", id, typ)
		}
		name, err := v.resolveString(named)
		if err != nil {
			return fmt.Errorf("the name of %s: %w", id, err)
		}
		v.physical[id] = name
	}
	return nil
}

// deleteStackSets does what CloudFormation would on deleting the stack set
// resources: delete their instances, then the sets. moto deletes instances
// by account only (it ignores DeploymentTargets, which AWS requires for
// service-managed sets, and where AWS refuses Accounts), so the members are
// named for it.
func deleteStackSets(t *testing.T, ctx context.Context, motoURL string, sets []stackSet, org *orgsim.Org) {
	t.Helper()
	cfn := cloudformation.NewFromConfig(orgsim.Config(motoURL, motoAccount, hubRegions[0]))
	var errs []error
	for _, set := range sets {
		_, err := cfn.DeleteStackInstances(ctx, &cloudformation.DeleteStackInstancesInput{StackSetName: aws.String(set.name),
			CallAs: cfntypes.CallAs(set.callAs), Regions: set.regions, RetainStacks: aws.Bool(false),
			DeploymentTargets: &cfntypes.DeploymentTargets{OrganizationalUnitIds: set.ous}, Accounts: org.Members})
		if err == nil {
			_, err = cfn.DeleteStackSet(ctx, &cloudformation.DeleteStackSetInput{StackSetName: aws.String(set.name), CallAs: cfntypes.CallAs(set.callAs)})
		}
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		t.Errorf("delete the stack sets: %v", err)
	}
}
