// Package lavafmt holds LAVA's conventions shared by the two LAVA-compatible
// front-ends (XML-RPC in core/lavarpc, REST v0.2 in core/lavarest), the
// web pages' results downloads and the notification outbox: a job's log in output.yaml lines, result rows, the
// display forms of ids, visibility, device status and metadata, log paging
// as lavacli reads it, and the fault code and message LAVA answers for each
// refusal of a core/lab operation.
//
// It imports core/lab, core/model and core/results; it must not import
// net/http, a front-end, a store backend or cmd/.
package lavafmt
