package cloudtrail_test

import (
	"bytes"
	"fmt"

	"github.com/vpce-guard/vpce-guard/lambda/cloudtrail"
)

func ExampleDecode() {
	event := []byte(`{
		"version": "0", "id": "7bf73129-1428-4cd3-a780-95db273d1602",
		"detail-type": "AWS API Call via CloudTrail", "source": "aws.ec2",
		"account": "111122223333", "time": "2024-05-02T10:00:00Z", "region": "eu-west-1",
		"resources": [],
		"detail": {
			"eventID": "0b1c6e1a-1df4-4d1a-9a4f-6f0c2d9a7b11",
			"eventSource": "ec2.amazonaws.com", "eventName": "ModifyVpcEndpoint",
			"requestParameters": {"ModifyVpcEndpointRequest": {
				"VpcEndpointId": {"tag": 1, "content": "vpce-0123456789abcdef0"}, "ResetPolicy": true}},
			"responseElements": {"ModifyVpcEndpointResponse": {"return": true}}
		}
	}`)
	calls, err := cloudtrail.Decode(event)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, c := range calls {
		fmt.Println(c.EventName, c.Account, c.Region, c.EndpointIDs, "reset:", c.ResetsPolicy)
	}
	// Output:
	// ModifyVpcEndpoint 111122223333 eu-west-1 [vpce-0123456789abcdef0] reset: true
}

func ExampleDecodeLogFile() {
	logFile := []byte(`{"Records": [
		{"eventID": "1", "eventSource": "ec2.amazonaws.com", "eventName": "CreateVpcEndpoint",
		 "responseElements": {"CreateVpcEndpointResponse": {"vpcEndpoint": {"vpcEndpointId": "vpce-1a2b3c4d"}}}},
		{"eventID": "2", "eventSource": "ec2.amazonaws.com", "eventName": "DeleteVpcEndpoints"},
		{"eventID": "3", "eventSource": "ec2.amazonaws.com", "eventName": "CreateVpcEndpoint",
		 "errorCode": "Client.UnauthorizedOperation", "responseElements": null},
		{"eventID": "4", "eventName": "CreateVpcEndpoint", "userIdentity": "?"}
	]}`)
	err := cloudtrail.DecodeLogFile(bytes.NewReader(logFile), func(c cloudtrail.Call, err error) error {
		switch {
		case err != nil:
			fmt.Println("unreadable:", err)
		case c.SkipReason != "":
			fmt.Println(c.EventID, "skipped:", c.SkipReason)
		default:
			fmt.Println(c.EventID, "check", c.EndpointIDs)
		}
		return nil
	})
	fmt.Println("done:", err)
	// Output:
	// 1 check [vpce-1a2b3c4d]
	// 2 skipped: event "DeleteVpcEndpoints" is neither CreateVpcEndpoint nor ModifyVpcEndpoint
	// 3 skipped: the call failed with "Client.UnauthorizedOperation"
	// unreadable: Records[3] (eventID "4", eventName "CreateVpcEndpoint"): cloudtrail: malformed input: userIdentity is a JSON string, want an object
	// done: <nil>
}
