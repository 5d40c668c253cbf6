package streamquery

import (
	"errors"
	"net/url"
	"testing"

	"github.com/nuls-gateway/nuls-gateway/bridge"
)

var info = bridge.MethodInfo{MethodName: "getBalance", MethodMinEvent: "2", MethodMinPeriod: "5",
	Parameters: []bridge.ParameterInfo{
		{ParameterName: "chainId", ParameterType: "int"},
		{ParameterName: "amount", ParameterType: "BigInteger"},
		{ParameterName: "rate", ParameterType: "double"},
		{ParameterName: "all", ParameterType: "boolean"},
		{ParameterName: "address", ParameterType: "String"},
		{ParameterName: "list", ParameterType: "List"},
		{ParameterName: "obj", ParameterType: "Map"},
	}}

func TestParams(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		query, want string
	}{
		{"chainId=2&address=NULSd6H&amount=123456789012345678901234567890", `{"address":"NULSd6H","amount":123456789012345678901234567890,"chainId":2}`},
		{"rate=1.5&all=true", `{"all":true,"rate":1.5}`},
		{"list=a&list=b", `{"list":["a","b"]}`},
		{"list=[1,2]&obj={\"k\":1}", `{"list":[1,2],"obj":{"k":1}}`},
		{"address=123", `{"address":"123"}`},
		{"undeclared=7&other=text", `{"other":"text","undeclared":7}`},
		{"params={\"chainId\":2}&chainId=9", `{"chainId":2}`},
		{"eventCounter=2&period=5&range=[1,2]&lastEventId=1-1&ticket=t&chainId=2", `{"chainId":2}`},
	} {
		q, _ := url.ParseQuery(tc.query)
		got, err := Params(q, info, true)
		if err != nil || string(got) != tc.want {
			t.Errorf("%s: %s, %v; want %s", tc.query, got, err, tc.want)
		}
	}
	for _, query := range []string{"chainId=two", "amount=1.5", "rate=x", "all=maybe", "list=[1,", "obj=[1]", "params=[1]", "params={"} {
		q, _ := url.ParseQuery(query)
		var e *Error
		if _, err := Params(q, info, true); !errors.As(err, &e) {
			t.Errorf("%s: %v, want an *Error", query, err)
		}
	}
}

func TestMode(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		query string
		want  Mode
		ok    bool
	}{
		{"", Mode{EventCounter: 1}, false}, // below the method's minimum of 2
		{"eventCounter=2", Mode{EventCounter: 2}, true},
		{"period=5&range=[1,10]", Mode{Period: 5, Range: "[1,10]"}, true},
		{"period=4", Mode{Period: 4}, false},
	} {
		q, _ := url.ParseQuery(tc.query)
		m, err := ParseMode(q)
		if err != nil || m != tc.want {
			t.Fatalf("%q: %+v, %v; want %+v", tc.query, m, err, tc.want)
		}
		if err := CheckMode(info, m); (err == nil) != tc.ok {
			t.Errorf("%q: CheckMode %v, want ok=%v", tc.query, err, tc.ok)
		}
	}
	for _, query := range []string{"eventCounter=-1", "period=x", "range=[2,1"} {
		q, _ := url.ParseQuery(query)
		var e *Error
		if _, err := ParseMode(q); !errors.As(err, &e) {
			t.Errorf("%q: %v, want an *Error", query, err)
		}
	}
	if err := CheckMode(bridge.MethodInfo{MethodName: "x"}, Mode{Period: 5}); err == nil {
		t.Error("a period stream of a method that declares none")
	}
}
