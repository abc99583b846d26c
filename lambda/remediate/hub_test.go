package remediate_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vpce-guard/vpce-guard/internal/fakeclock"
	"github.com/vpce-guard/vpce-guard/internal/fakeec2"
	"github.com/vpce-guard/vpce-guard/lambda/cloudtrail"
	"github.com/vpce-guard/vpce-guard/lambda/config"
	"github.com/vpce-guard/vpce-guard/lambda/remediate"
)

const (
	memberA = "111111111111"
	memberB = "222222222222"
	noRole  = "333333333333"
)

// A hub acts in each event's own account and region, and an account it
// cannot reach fails that event's endpoints alone, naming account and role.
func TestHubActsInTheEventsAccount(t *testing.T) {
	t.Parallel()
	members := fakeec2.Members{
		memberA + "/eu-west-1": fakeec2.New(fakeec2.Endpoint(endpointID, logs, memberA, fullAccess)),
		memberB + "/eu-west-1": fakeec2.New(fakeec2.Endpoint(endpointID, logs, memberB, fullAccess)),
		memberB + "/us-east-1": fakeec2.New(fakeec2.Endpoint(endpointID, "com.amazonaws.us-east-1.logs", memberB, fullAccess)),
	}
	r := remediate.NewHub(members, defaults(t))
	call := func(account, region string) cloudtrail.Call {
		c := modifyCall(endpointID)
		c.Account, c.Region = account, region
		return c
	}

	outcomes, err := handle(r, context.Background(), call(memberB, "us-east-1"))
	if err != nil || len(outcomes) != 1 || outcomes[0].Action != remediate.Rewritten || outcomes[0].Account != memberB || outcomes[0].Region != "us-east-1" {
		t.Fatalf("member B in us-east-1: %+v, %v; want rewritten there", outcomes, err)
	}
	for key, ec2 := range members {
		want := 0
		if key == memberB+"/us-east-1" {
			want = 1
		}
		if ec2.ModifyCalls() != want {
			t.Errorf("%s: %d writes, want %d", key, ec2.ModifyCalls(), want)
		}
	}
	// The template is the endpoint owner's.
	if now := members[memberB+"/us-east-1"].Policy(endpointID); !strings.Contains(now, "arn:aws:logs:us-east-1:"+memberB+":log-group:") {
		t.Errorf("member B's endpoint holds %s, want member B's template", now)
	}

	outcomes, err = handle(r, context.Background(), call(noRole, "eu-west-1"))
	if err == nil || len(outcomes) != 1 || !strings.Contains(outcomes[0].Error, "role/VpceGuardMember of account "+noRole) ||
		outcomes[0].Account != noRole || !strings.Contains(outcomes[0].Reasons[0], noRole) {
		t.Errorf("an account without the role: %+v, %v; want an error outcome naming the account and role", outcomes, err)
	}
}

// A unit sweeps one account and region; stopped by the cutoff, it says where
// its continuation starts: the first page it did not finish.
func TestSweepUnitResumes(t *testing.T) {
	t.Parallel()
	endpoints, broader := mixedEndpoints(t, 3750) // 3,000 of guarded services: three pages
	fake := fakeec2.New(endpoints...)
	clock := fakeclock.New()
	pages := 0
	fake.BeforeCall(func(action, id string) {
		if action == "DescribeVpcEndpoints" && id == "" {
			pages++
			if pages == 2 {
				clock.Advance(time.Hour) // the cutoff comes while the second page is checked
			}
		}
	})
	cfg := defaults(t)
	cfg.DryRun = true
	r := remediate.NewHub(fakeec2.Members{account + "/eu-west-1": fake}, cfg)
	var outcomes []remediate.Outcome
	run := remediate.Run{Clock: clock, Cutoff: clock.Now().Add(time.Minute), Record: func(o remediate.Outcome) { outcomes = append(outcomes, o) }}
	res, err := r.SweepUnit(context.Background(), account, "eu-west-1", "", remediate.Origin{EventName: "SweepUnit"}, run)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Stopped || !res.Resume || res.NextToken != "1000" || res.Unlisted == false {
		t.Fatalf("result %+v; want a continuation at the second page (the fake's token 1000)", res)
	}
	if len(outcomes) != 2000 {
		t.Errorf("%d outcomes, want the first two pages'", len(outcomes))
	}

	// The continuation, with time enough, finishes from there.
	outcomes = nil
	run.Cutoff = clock.Now().Add(time.Hour)
	res, err = r.SweepUnit(context.Background(), account, "eu-west-1", res.NextToken, remediate.Origin{EventName: "SweepUnit"}, run)
	if err != nil || res.Resume || len(outcomes) != 2000 {
		t.Errorf("continuation: %+v, %v, %d outcomes; want the last two pages, done", res, err, len(outcomes))
	}
	would := 0
	for _, o := range outcomes {
		if o.Action == remediate.WouldRewrite {
			would++
		}
	}
	if would != len(broader)*2/3 {
		t.Errorf("%d would be rewritten in the last two pages, want %d", would, len(broader)*2/3)
	}

	if _, err := r.SweepUnit(context.Background(), noRole, "eu-west-1", "", remediate.Origin{}, remediate.Run{}); err == nil ||
		!strings.Contains(err.Error(), "sweep account "+noRole) {
		t.Errorf("a unit for an account without the role: %v, want an error naming it", err)
	}
	if _, err := r.HandleCall(context.Background(), cloudtrail.Call{Sweep: true}, remediate.Run{}); err == nil {
		t.Error("a hub swept a whole call")
	} else if errors.Is(err, remediate.ErrDeadlineNear) {
		t.Errorf("unexpected error %v", err)
	}
}

// The member role's own write, should it arrive, is labelled vpce-guard's and
// found compliant: no second write.
func TestHubKnowsItsOwnWrites(t *testing.T) {
	t.Parallel()
	fake := fakeec2.New(fakeec2.Endpoint(endpointID, logs, memberA, fullAccess))
	cfg := defaults(t)
	cfg.Hub = &config.Hub{RoleName: fakeec2.MemberRoleName}
	r := remediate.NewHub(fakeec2.Members{memberA + "/eu-west-1": fake}, cfg)
	call := modifyCall(endpointID)
	call.Account = memberA
	if _, err := handle(r, context.Background(), call); err != nil {
		t.Fatal(err)
	}
	call.Caller = cloudtrail.Caller{Type: "AssumedRole", SessionIssuerARN: "arn:aws:iam::" + memberA + ":role/" + fakeec2.MemberRoleName}
	outcomes, err := handle(r, context.Background(), call)
	if err != nil || len(outcomes) != 1 || !outcomes[0].OwnCall || outcomes[0].Verdict != remediate.Compliant || fake.ModifyCalls() != 1 {
		t.Errorf("the member role's write: %+v, %v, %d writes; want our own call, compliant, one write in all", outcomes, err, fake.ModifyCalls())
	}
}
