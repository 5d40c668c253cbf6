package bridge

import (
	"encoding/json"
	"strconv"
	"time"
)

// MessageType is the value of the envelope's MessageType field.
type MessageType string

// The message types of the NULS 2 module protocol (V1.4 and the Java code).
const (
	TypeNegotiateConnection         MessageType = "NegotiateConnection"
	TypeNegotiateConnectionResponse MessageType = "NegotiateConnectionResponse"
	TypeRequest                     MessageType = "Request"
	TypeUnsubscribe                 MessageType = "Unsubscribe"
	TypeResponse                    MessageType = "Response"
	TypeAck                         MessageType = "Ack"
	TypeNotification                MessageType = "Notification"
	TypeRegisterCompoundMethod      MessageType = "RegisterCompoundMethod"
	TypeUnregisterCompoundMethod    MessageType = "UnregisterCompoundMethod"
	// TypeRequestOnly is the Java extension: a Request executed with no
	// Response and no Ack. It is never sent to Nulstar, which drops it.
	TypeRequestOnly MessageType = "RequestOnly"
)

// ProtocolVersion is the NULS protocol version this package speaks (D7).
const ProtocolVersion = "0.1"

// Response statuses. Every real peer uses 0 for success (D3); Java modules use
// 65536 for every failure and Nulstar uses 1 to 7.
const (
	StatusSuccess = 0
	StatusFailed  = 65536
)

// Message is one protocol frame: the five-field envelope (D1) and a typed
// payload in MessageData.
type Message struct {
	// MessageID is unique per sender; Responses refer to it as RequestID.
	MessageID string
	// Timestamp is the sending time in milliseconds since the epoch, as a
	// decimal string. Java drops a Request carrying TimeOut when
	// Timestamp+TimeOut is in the past, so it must be milliseconds.
	Timestamp string
	// TimeZone is the sender's UTC offset in whole hours, as a string.
	// Informational only: no peer reads it.
	TimeZone string
	// MessageData is the payload; its type decides MessageType.
	MessageData Payload
}

// Type returns the message type of m's payload.
func (m *Message) Type() MessageType {
	if m.MessageData == nil {
		return ""
	}
	return m.MessageData.MessageType()
}

// Payload is the typed content of MessageData. It is implemented by the
// pointer types of this file.
type Payload interface {
	MessageType() MessageType
}

// NegotiateConnection opens every connection (D7).
type NegotiateConnection struct {
	ProtocolVersion      string
	CompressionAlgorithm string
	// CompressionRate is the zlib level 0-9 the sender wants, kept as text so
	// that a server can refuse a value it cannot parse.
	CompressionRate string
	// Abbreviation names the connection; Java servers need it for
	// subscriptions (docs/protocol.md#java). Omitted from the frame when
	// empty.
	Abbreviation string
}

// NegotiateConnectionResponse answers a NegotiateConnection.
type NegotiateConnectionResponse struct {
	// RequestID is the MessageID of the NegotiateConnection answered.
	RequestID string
	// NegotiationStatus is "1" on success and "0" on failure.
	NegotiationStatus  string
	NegotiationComment string
}

// Accepted reports whether the negotiation succeeded.
func (r *NegotiateConnectionResponse) Accepted() bool { return r.NegotiationStatus == "1" }

// MethodCall is one entry of a Request's RequestMethods object.
type MethodCall struct {
	Method string
	// Params is the JSON object of parameters; nil is sent as {}.
	Params json.RawMessage
}

// Request asks for one or several methods, once or as a subscription.
type Request struct {
	RequestAck bool
	// SubscriptionEventCounter > 0 asks for a Response every N events.
	SubscriptionEventCounter int
	// SubscriptionPeriod > 0 asks for a Response every N seconds.
	SubscriptionPeriod int
	// SubscriptionRange limits pushes to numeric results inside an interval
	// such as "[1000, )". Empty or "0" means no range (D12).
	SubscriptionRange string
	// ResponseMaxSize cuts list results to N items; 0 means unlimited (D13).
	ResponseMaxSize int
	// RequestMethods are the methods to run, in order.
	RequestMethods []MethodCall
	// TimeOut in milliseconds lets a Java peer drop expired work (D19).
	// Zero omits the field.
	TimeOut int64
}

// IsSubscription reports whether r asks for pushes after the first Response.
func (r *Request) IsSubscription() bool {
	return r.SubscriptionEventCounter > 0 || r.SubscriptionPeriod > 0
}

// Methods returns the method names of r in order.
func (r *Request) Methods() []string {
	names := make([]string, len(r.RequestMethods))
	for i, mc := range r.RequestMethods {
		names[i] = mc.Method
	}
	return names
}

// RequestOnly is a Request that must be executed with no Response and no Ack
// (D16).
type RequestOnly struct {
	Request
}

// Unsubscribe stops subscriptions (D5).
type Unsubscribe struct {
	// UnsubscribeMethods holds the MessageIDs of the subscription Requests to
	// stop. Our servers also accept method names.
	UnsubscribeMethods []string
}

// MethodResult is one entry of a Response's ResponseData object.
type MethodResult struct {
	Method string
	Result json.RawMessage
}

// Response answers a Request, or pushes a subscription update.
type Response struct {
	// RequestID is the MessageID of the Request answered.
	RequestID string
	// ResponseProcessingTime is the handling time in milliseconds, or empty
	// when the peer sent none (Java pushes carry null).
	ResponseProcessingTime string
	ResponseStatus         int
	ResponseComment        string
	ResponseMaxSize        int
	// ResponseData holds one result per method, in order; nil is sent as
	// null (what Java sends for an unknown method).
	ResponseData []MethodResult
	// ResponseErrorCode is a machine code such as "err_0021" or "NCN-2";
	// empty on success (sent as null, as Java does).
	ResponseErrorCode string
}

// Succeeded reports whether the Response carries a success status (D3).
func (r *Response) Succeeded() bool { return r.ResponseStatus == StatusSuccess }

// Result returns the result for method and whether it is present.
func (r *Response) Result(method string) (json.RawMessage, bool) {
	for _, mr := range r.ResponseData {
		if mr.Method == method {
			return mr.Result, true
		}
	}
	return nil, false
}

// Ack acknowledges the receipt of a Request (D6).
type Ack struct {
	RequestID string
}

// Notification carries a report to or from a Manager (D8, D15).
type Notification struct {
	// NotificationAck asks the receiver for one Ack.
	NotificationAck     bool
	NotificationType    string
	NotificationComment string
	// NotificationData is a JSON object (documents) or string (Java).
	NotificationData json.RawMessage
}

// CompoundChild is one child method of a compound method: its name and the
// alias of each of its parameters, in order.
type CompoundChild struct {
	Method  string
	Aliases []ParamAlias
}

// ParamAlias maps a child method's parameter to the name the caller of the
// compound method uses for it.
type ParamAlias struct {
	Param string
	Alias string
}

// RegisterCompoundMethod creates a virtual method made of child methods (D14).
type RegisterCompoundMethod struct {
	CompoundMethodName        string
	CompoundMethodDescription string
	CompoundMethods           []CompoundChild
}

// UnregisterCompoundMethod removes a compound method, or every compound method
// of the sender when the name is empty (D14).
type UnregisterCompoundMethod struct {
	UnregisterCompoundMethodName string
}

// MessageType implements Payload.
func (*NegotiateConnection) MessageType() MessageType { return TypeNegotiateConnection }

// MessageType implements Payload.
func (*NegotiateConnectionResponse) MessageType() MessageType { return TypeNegotiateConnectionResponse }

// MessageType implements Payload.
func (*Request) MessageType() MessageType { return TypeRequest }

// MessageType implements Payload.
func (*RequestOnly) MessageType() MessageType { return TypeRequestOnly }

// MessageType implements Payload.
func (*Unsubscribe) MessageType() MessageType { return TypeUnsubscribe }

// MessageType implements Payload.
func (*Response) MessageType() MessageType { return TypeResponse }

// MessageType implements Payload.
func (*Ack) MessageType() MessageType { return TypeAck }

// MessageType implements Payload.
func (*Notification) MessageType() MessageType { return TypeNotification }

// MessageType implements Payload.
func (*RegisterCompoundMethod) MessageType() MessageType { return TypeRegisterCompoundMethod }

// MessageType implements Payload.
func (*UnregisterCompoundMethod) MessageType() MessageType { return TypeUnregisterCompoundMethod }

// NewMessage wraps a payload in an envelope with the given ID, stamped now.
func NewMessage(id string, data Payload) *Message {
	now := time.Now()
	_, offset := now.Zone()
	return &Message{
		MessageID:   id,
		Timestamp:   strconv.FormatInt(now.UnixMilli(), 10),
		TimeZone:    strconv.Itoa(offset / 3600),
		MessageData: data,
	}
}
