// A separate module: the program of e2e/openapi_test.go, compiled with the
// client that oapi-codegen generates into ./nulsclient at test time.
module nulsclientdemo

go 1.26.0

require github.com/oapi-codegen/runtime v1.8.0

require (
	github.com/apapsch/go-jsonmerge/v2 v2.0.0 // indirect
	github.com/google/uuid v1.6.0 // indirect
)
