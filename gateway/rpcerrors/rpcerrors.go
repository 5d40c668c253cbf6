package rpcerrors

// The gateway's error codes. Their data (Data) holds the HTTP status the
// same failure gets from /rpc and, for a module's failure, its NULS status,
// code and comment.
const (
	ModuleError         = -32000 // the module answered with a failure
	Unauthorized        = -32001 // the method needs a credential
	Forbidden           = -32003 // the credential may not call it
	UpstreamUnavailable = -32004
	UpstreamTimeout     = -32005
	DataNotFound        = -32006 // what was asked for does not exist (the nuls-api profile)
	BadUpstreamAnswer   = -32007 // the module answered what the gateway cannot read
	BatchTooLarge       = -32008 // the batch's answers together are larger than a batch may carry
	RateLimited         = -32029
)

// Data is the data of the gateway's JSON-RPC errors.
type Data struct {
	// Status is the HTTP status /rpc answers the same failure with.
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	// Method, ResponseStatus, ResponseErrorCode and ResponseComment are
	// the module's failure, as in a Problem.
	Method            string `json:"method,omitempty"`
	ResponseStatus    int    `json:"responseStatus,omitempty"`
	ResponseErrorCode string `json:"responseErrorCode,omitempty"`
	ResponseComment   string `json:"responseComment,omitempty"`
}
