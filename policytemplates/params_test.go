package policytemplates_test

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/vpce-guard/vpce-guard/policytemplates"
)

func TestParamsValidateAccepts(t *testing.T) {
	t.Parallel()
	tests := []policytemplates.Params{
		{Region: "eu-west-1", AccountID: "111122223333"},
		{Partition: "aws", Region: "eu-west-1", AccountID: "111122223333"},
		{Partition: "aws-cn", Region: "cn-north-1", AccountID: "111122223333"},
		{Partition: "aws-us-gov", Region: "us-gov-west-1", AccountID: "111122223333"},
		{Partition: "aws-iso-b", Region: "us-isob-east-1", AccountID: "111122223333"},
		{Partition: "aws-eusc", Region: "eusc-de-east-1", AccountID: "111122223333"},
		{Region: "ap-southeast-7", AccountID: "000000000000", LogGroupPatterns: []string{
			"/aws/lambda/*", "app-*", "logs-test-allowed", "a?c", "#x.y_z", strings.Repeat("g", 512),
		}},
	}
	for _, p := range tests {
		t.Run(p.Partition+" "+p.Region, func(t *testing.T) {
			t.Parallel()
			if err := p.Validate(); err != nil {
				t.Errorf("Validate(%+v) = %v, want nil", p, err)
			}
		})
	}
}

func TestParamsValidateRejects(t *testing.T) {
	t.Parallel()
	valid := policytemplates.Params{Region: "eu-west-1", AccountID: "111122223333"}
	tests := []struct {
		name   string
		change func(*policytemplates.Params)
		fields []string // every field the error must name
	}{
		{"short account", func(p *policytemplates.Params) { p.AccountID = "12345678901" }, []string{"AccountID"}},
		{"long account", func(p *policytemplates.Params) { p.AccountID = "1111222233334" }, []string{"AccountID"}},
		{"account with letters", func(p *policytemplates.Params) { p.AccountID = "11112222333a" }, []string{"AccountID"}},
		{"account wildcard", func(p *policytemplates.Params) { p.AccountID = "*" }, []string{"AccountID"}},
		{"empty region", func(p *policytemplates.Params) { p.Region = "" }, []string{"Region"}},
		{"upper-case region", func(p *policytemplates.Params) { p.Region = "EU-WEST-1" }, []string{"Region"}},
		{"region without number", func(p *policytemplates.Params) { p.Region = "eu-west" }, []string{"Region"}},
		{"region wildcard", func(p *policytemplates.Params) { p.Region = "eu-*-1" }, []string{"Region"}},
		{"region with colon", func(p *policytemplates.Params) { p.Region = "eu-west-1:x" }, []string{"Region"}},
		{"unknown partition", func(p *policytemplates.Params) { p.Partition = "aws-moon" }, []string{"Partition"}},
		{"partition of another region", func(p *policytemplates.Params) { p.Partition = "aws-cn" }, []string{"Partition"}},
		{"empty pattern", func(p *policytemplates.Params) { p.LogGroupPatterns = []string{"ok", ""} }, []string{"LogGroupPatterns[1]"}},
		{"long pattern", func(p *policytemplates.Params) { p.LogGroupPatterns = []string{strings.Repeat("g", 513)} }, []string{"LogGroupPatterns[0]"}},
		{"quote in pattern", func(p *policytemplates.Params) { p.LogGroupPatterns = []string{`a"b`} }, []string{"LogGroupPatterns[0]"}},
		{"colon in pattern", func(p *policytemplates.Params) { p.LogGroupPatterns = []string{"a:log-stream:*"} }, []string{"LogGroupPatterns[0]"}},
		{"placeholder in pattern", func(p *policytemplates.Params) { p.LogGroupPatterns = []string{"{{account}}"} }, []string{"LogGroupPatterns[0]"}},
		{"space in pattern", func(p *policytemplates.Params) { p.LogGroupPatterns = []string{"a b"} }, []string{"LogGroupPatterns[0]"}},
		{"all at once", func(p *policytemplates.Params) {
			*p = policytemplates.Params{Partition: "x", Region: "y", AccountID: "z", LogGroupPatterns: []string{""}}
		}, []string{"Region", "Partition", "AccountID", "LogGroupPatterns[0]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := valid
			tt.change(&p)
			err := p.Validate()
			if err == nil {
				t.Fatalf("Validate(%+v) = nil, want an error naming %v", p, tt.fields)
			}
			var got []string
			for _, e := range unwrapAll(err) {
				var pe *policytemplates.ParamError
				if errors.As(e, &pe) {
					got = append(got, pe.Field)
					if !strings.Contains(err.Error(), pe.Field) || !strings.Contains(err.Error(), strconv.Quote(pe.Value)) {
						t.Errorf("message %q does not name field %s and value %q", err, pe.Field, pe.Value)
					}
				}
			}
			if !slices.Equal(got, tt.fields) {
				t.Errorf("Validate(%+v) names fields %v, want %v (error: %v)", p, got, tt.fields, err)
			}
		})
	}
}

// unwrapAll returns the errors joined in err, or err alone.
func unwrapAll(err error) []error {
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		return joined.Unwrap()
	}
	return []error{err}
}

func TestPartitionForRegion(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"eu-west-1":       "aws",
		"us-east-1":       "aws",
		"il-central-1":    "aws",
		"cn-north-1":      "aws-cn",
		"cn-northwest-1":  "aws-cn",
		"us-gov-west-1":   "aws-us-gov",
		"us-gov-east-1":   "aws-us-gov",
		"us-iso-east-1":   "aws-iso",
		"us-isob-east-1":  "aws-iso-b",
		"us-isof-south-1": "aws-iso-f",
		"eu-isoe-west-1":  "aws-iso-e",
		"eusc-de-east-1":  "aws-eusc",
		"":                "aws",
	}
	for region, want := range tests {
		t.Run(region, func(t *testing.T) {
			t.Parallel()
			if got := policytemplates.PartitionForRegion(region); got != want {
				t.Errorf("PartitionForRegion(%q) = %q, want %q", region, got, want)
			}
		})
	}
}
