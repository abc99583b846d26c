package remediate_test

import (
	"context"
	"fmt"

	"github.com/vpce-guard/vpce-guard/internal/fakeec2"
	"github.com/vpce-guard/vpce-guard/lambda/cloudtrail"
	"github.com/vpce-guard/vpce-guard/lambda/config"
	"github.com/vpce-guard/vpce-guard/lambda/remediate"
)

// An endpoint created with the default full-access policy gets the template;
// the event of that write then finds it compliant and stops there.
func ExampleRemediator_HandleCall() {
	ec2 := fakeec2.New(fakeec2.Endpoint("vpce-0123456789abcdef0", "com.amazonaws.eu-west-1.logs", "111122223333", fakeec2.DefaultPolicy))
	cfg, _ := config.FromEnv(func(string) string { return "" })
	r := remediate.New(ec2, "eu-west-1", cfg)

	// Each outcome is recorded as soon as its endpoint is done.
	run := remediate.Run{Record: func(o remediate.Outcome) {
		fmt.Println(o.EndpointID, o.Verdict, o.Action, o.Reasons)
	}}
	call := cloudtrail.Call{EventName: "CreateVpcEndpoint", Region: "eu-west-1", EndpointIDs: []string{"vpce-0123456789abcdef0"}}
	for range 2 {
		if _, err := r.HandleCall(context.Background(), call, run); err != nil {
			fmt.Println(err)
			return
		}
	}
	// Output:
	// vpce-0123456789abcdef0 noncompliant rewritten [statement 1 allows * on *, an action outside the template, which allows logs:* on arn:aws:logs:eu-west-1:111122223333:log-group:*]
	// vpce-0123456789abcdef0 compliant none []
}
