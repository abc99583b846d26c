package stack_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// cfnValues resolves a template's intrinsic functions to what CloudFormation
// makes of them in one deployed stack: Ref and Fn::GetAtt from the physical
// IDs of its resources, written as AWS documents each type's return values,
// and the parameters and pseudo parameters. A function or attribute it does
// not know is an error, so that a template that starts using one fails the
// test instead of being compared loosely.
type cfnValues struct {
	account, region, stackName string
	resources                  map[string]any    // the template's, by logical ID
	physical                   map[string]string // by logical ID
	params                     map[string]string
}

func (v *cfnValues) resolve(x any) (any, error) {
	switch x := x.(type) {
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			r, err := v.resolve(e)
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	case map[string]any:
		if len(x) == 1 {
			for fn, arg := range x {
				if fn == "Ref" || strings.HasPrefix(fn, "Fn::") {
					return v.intrinsic(fn, arg)
				}
			}
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			r, err := v.resolve(e)
			if err != nil {
				return nil, err
			}
			out[k] = r
		}
		return out, nil
	}
	return x, nil
}

// resolveString is resolve for a value that must end a string.
func (v *cfnValues) resolveString(x any) (string, error) {
	r, err := v.resolve(x)
	if err != nil {
		return "", err
	}
	s, ok := r.(string)
	if !ok {
		return "", fmt.Errorf("%v is not a string", r)
	}
	return s, nil
}

func (v *cfnValues) intrinsic(fn string, arg any) (any, error) {
	switch fn {
	case "Ref":
		name, _ := arg.(string)
		return v.ref(name)
	case "Fn::GetAtt":
		parts, _ := arg.([]any)
		if len(parts) != 2 {
			return nil, fmt.Errorf("Fn::GetAtt %v: want [resource, attribute]", arg)
		}
		id, _ := parts[0].(string)
		attr, _ := parts[1].(string)
		return v.getAtt(id, attr)
	case "Fn::Sub":
		return v.sub(arg)
	case "Fn::Join":
		parts, _ := arg.([]any)
		if len(parts) != 2 {
			return nil, fmt.Errorf("Fn::Join %v: want [delimiter, list]", arg)
		}
		list, err := v.resolve(parts[1])
		if err != nil {
			return nil, err
		}
		items, _ := list.([]any)
		strs := make([]string, len(items))
		for i, item := range items {
			s, ok := item.(string)
			if !ok {
				return nil, fmt.Errorf("Fn::Join of %v", item)
			}
			strs[i] = s
		}
		delimiter, _ := parts[0].(string)
		return strings.Join(strs, delimiter), nil
	}
	return nil, fmt.Errorf("intrinsic function %s: not resolved by this test", fn)
}

func (v *cfnValues) ref(name string) (string, error) {
	switch name {
	case "AWS::AccountId":
		return v.account, nil
	case "AWS::Region":
		return v.region, nil
	case "AWS::Partition":
		return "aws", nil
	case "AWS::URLSuffix":
		return "amazonaws.com", nil
	case "AWS::StackName":
		return v.stackName, nil
	}
	if p, ok := v.params[name]; ok {
		return p, nil
	}
	if id, ok := v.physical[name]; ok {
		return id, nil
	}
	return "", fmt.Errorf("Ref %s: no such parameter, or a resource without a physical ID", name)
}

// getAtt is an attribute as CloudFormation documents it for the type, with
// one exception that moto makes.
func (v *cfnValues) getAtt(id, attr string) (string, error) {
	res, _ := v.resources[id].(map[string]any)
	typ, _ := res["Type"].(string)
	name, err := v.ref(id)
	if err != nil {
		return "", fmt.Errorf("Fn::GetAtt %s.%s: %w", id, attr, err)
	}
	arn := func(service, resource string) string {
		return "arn:aws:" + service + ":" + v.region + ":" + v.account + ":" + resource
	}
	switch typ + "." + attr {
	case "AWS::IAM::Role.Arn":
		return "arn:aws:iam::" + v.account + ":role/" + name, nil
	case "AWS::SQS::Queue.Arn":
		return arn("sqs", name[strings.LastIndexByte(name, '/')+1:]), nil // Ref is the URL
	case "AWS::Lambda::Function.Arn":
		return arn("lambda", "function:"+name), nil
	case "AWS::Events::EventBus.Arn":
		return arn("events", "event-bus/"+name), nil
	case "AWS::Events::EventBus.Name":
		return name, nil
	case "AWS::Logs::LogGroup.Arn":
		// CloudFormation's ends in ":*" (the form that also covers the
		// group's streams); moto's CloudFormation leaves it out (its
		// LogGroup.get_cfn_attribute returns the group's ARN), and that is
		// what it writes into the role's policy.
		return arn("logs", "log-group:"+name), nil
	}
	return "", fmt.Errorf("Fn::GetAtt %s.%s (%s): not resolved by this test", id, attr, typ)
}

var subVariable = regexp.MustCompile(`\$\{([^}!][^}]*)\}`)

func (v *cfnValues) sub(arg any) (string, error) {
	format, vars := "", map[string]any{}
	switch a := arg.(type) {
	case string:
		format = a
	case []any:
		if len(a) != 2 {
			return "", fmt.Errorf("Fn::Sub %v: want [string, variables]", arg)
		}
		format, _ = a[0].(string)
		vars, _ = a[1].(map[string]any)
	}
	var errs []error
	out := subVariable.ReplaceAllStringFunc(format, func(m string) string {
		name := m[2 : len(m)-1]
		var s string
		var err error
		if value, ok := vars[name]; ok {
			s, err = v.resolveString(value)
		} else if id, attr, dotted := strings.Cut(name, "."); dotted && !strings.HasPrefix(name, "AWS::") {
			s, err = v.getAtt(id, attr)
		} else {
			s, err = v.ref(name)
		}
		if err != nil {
			errs = append(errs, err)
		}
		return s
	})
	if len(errs) > 0 {
		return "", fmt.Errorf("Fn::Sub %q: %v", format, errs)
	}
	return strings.ReplaceAll(out, "${!", "${"), nil
}

func TestCFNValues(t *testing.T) {
	t.Parallel()
	v := &cfnValues{account: "111122223333", region: "eu-west-1", stackName: "S",
		resources: map[string]any{
			"Role":  map[string]any{"Type": "AWS::IAM::Role"},
			"Queue": map[string]any{"Type": "AWS::SQS::Queue"},
			"Logs":  map[string]any{"Type": "AWS::Logs::LogGroup"},
			"Rule":  map[string]any{"Type": "AWS::Events::Rule"},
		},
		physical: map[string]string{"Role": "S-Role-X", "Queue": "https://sqs.eu-west-1.amazonaws.com/111122223333/S-Queue-Y", "Logs": "S-Logs-Z", "Rule": "S-Rule-W"},
		params:   map[string]string{"Hub": "444455556666"},
	}
	for _, tt := range []struct {
		in   string
		want string // JSON, or the error's start
	}{
		{`{"Ref": "Role"}`, `"S-Role-X"`},
		{`{"Fn::GetAtt": ["Role", "Arn"]}`, `"arn:aws:iam::111122223333:role/S-Role-X"`},
		{`{"Fn::GetAtt": ["Queue", "Arn"]}`, `"arn:aws:sqs:eu-west-1:111122223333:S-Queue-Y"`},
		{`{"Fn::GetAtt": ["Logs", "Arn"]}`, `"arn:aws:logs:eu-west-1:111122223333:log-group:S-Logs-Z"`},
		{`{"Fn::Sub": "arn:${AWS::Partition}:events:${AWS::Region}:${Hub}:event-bus/x ${Role.Arn} ${!Literal}"}`,
			`"arn:aws:events:eu-west-1:444455556666:event-bus/x arn:aws:iam::111122223333:role/S-Role-X ${Literal}"`},
		{`{"Fn::Sub": ["${A}-${AWS::AccountId}", {"A": {"Ref": "Role"}}]}`, `"S-Role-X-111122223333"`},
		{`{"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":x"]]}`, `"arn:aws:x"`},
		{`{"a": [{"Ref": "AWS::StackName"}, 1, true], "Ref2": "Role"}`, `{"a": ["S", 1, true], "Ref2": "Role"}`},
		{`{"Ref": "Nothing"}`, "error: Ref Nothing"},
		{`{"Fn::GetAtt": ["Rule", "Arn"]}`, "error: Fn::GetAtt Rule.Arn"},
		{`{"Fn::If": ["C", 1, 2]}`, "error: intrinsic function Fn::If"},
	} {
		var in, want any
		if err := json.Unmarshal([]byte(tt.in), &in); err != nil {
			t.Fatal(err)
		}
		got, err := v.resolve(in)
		if errPrefix, wantErr := strings.CutPrefix(tt.want, "error: "); wantErr {
			if err == nil || !strings.HasPrefix(err.Error(), errPrefix) {
				t.Errorf("%s: %v, %v; want the error %q", tt.in, got, err, errPrefix)
			}
			continue
		}
		if err := json.Unmarshal([]byte(tt.want), &want); err != nil {
			t.Fatal(err)
		}
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %v, %v; want %s", tt.in, got, err, tt.want)
		}
	}
}
