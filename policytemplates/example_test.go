package policytemplates_test

import (
	"fmt"

	"github.com/vpce-guard/vpce-guard/policytemplates"
)

func ExampleRender() {
	policy, err := policytemplates.Render(policytemplates.Logs, policytemplates.Params{
		Region:    "eu-west-1",
		AccountID: "111122223333",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(string(policy))
	// Output:
	// {
	//   "Version": "2012-10-17",
	//   "Statement": [
	//     {
	//       "Sid": "AllowOwnLogGroups",
	//       "Effect": "Allow",
	//       "Principal": "*",
	//       "Action": "logs:*",
	//       "Resource": [
	//         "arn:aws:logs:eu-west-1:111122223333:log-group:*"
	//       ]
	//     }
	//   ]
	// }
}

func ExampleTemplateFor() {
	opts := policytemplates.Options{StrictLogs: true}
	for _, service := range []string{
		"com.amazonaws.eu-west-1.logs",
		"com.amazonaws.us-gov-west-1.events-fips",
		"com.amazonaws.eu-west-1.s3",
	} {
		name, region, ok := policytemplates.TemplateFor(service, opts)
		fmt.Printf("%s: %q %q %v\n", service, name, region, ok)
	}
	// Output:
	// com.amazonaws.eu-west-1.logs: "logs-strict" "eu-west-1" true
	// com.amazonaws.us-gov-west-1.events-fips: "events" "us-gov-west-1" true
	// com.amazonaws.eu-west-1.s3: "" "" false
}
