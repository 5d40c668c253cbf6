package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
)

func TestCheckDeclaredParams(t *testing.T) {
	t.Parallel()
	mi := MethodInfo{MethodName: "getBalance", Parameters: []ParameterInfo{
		{ParameterName: "chainId", ParameterType: "int", ParameterValidRange: "[1-65535]"},
		{ParameterName: "address", ParameterType: "String"},
	}}
	tests := []struct {
		name, params string
		declared     bool // CheckDeclaredParams fails on it
		any          bool // CheckParams fails on it too
		param        string
	}{
		{name: "declared", params: `{"chainId":2,"address":"x"}`},
		{name: "version selector", params: `{"chainId":2,"version":1.0}`},
		{name: "empty", params: `{}`},
		{name: "none", params: ``},
		{name: "undeclared", params: `{"chainId":2,"junk":1}`, declared: true, param: "junk"},
		{name: "wrong type", params: `{"chainId":"two"}`, declared: true, any: true, param: "chainId"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := mi.CheckDeclaredParams(json.RawMessage(tt.params))
			var pce *ParamCheckError
			if tt.declared != (err != nil) || (err != nil && (!errors.As(err, &pce) || pce.Param != tt.param)) {
				t.Errorf("CheckDeclaredParams(%s) = %v", tt.params, err)
			}
			if err := mi.CheckParams(json.RawMessage(tt.params)); tt.any != (err != nil) {
				t.Errorf("CheckParams(%s) = %v", tt.params, err)
			}
		})
	}
	// A method listed with no parameters takes none.
	none := MethodInfo{MethodName: "info", Parameters: []ParameterInfo{}}
	if err := none.CheckDeclaredParams(json.RawMessage(`{"a":1}`)); err == nil {
		t.Error("a parameter accepted by a method that declares none")
	}
}

// TestRegistrationLeavesOutKernelCommands: every module answers the kernel
// commands, none announces them (Nulstar's ServiceManager refuses a name
// two modules announce).
func TestRegistrationLeavesOutKernelCommands(t *testing.T) {
	t.Parallel()
	m, err := NewModule(ModuleConfig{Abbreviation: "x"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.Register(Method{Name: "hello", Handler: func(context.Context, *Call) (any, error) { return nil, nil }}); err != nil {
		t.Fatal(err)
	}
	reg := m.Registration(ConnectionInformation{IP: "127.0.0.1", Port: "1"})
	if len(reg.Methods) != 1 || reg.Methods[0].MethodName != "hello" {
		t.Fatalf("RegisterAPI methods %+v, want hello alone", reg.Methods)
	}
}
